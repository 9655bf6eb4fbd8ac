"""Shared pytest fixtures. Keep each fixture general; add yours in its own section."""
from __future__ import annotations

import os
import uuid

import pytest

# ---------------------------------------------------------------------------------------------
# External services: PostgreSQL and Redis on this machine (skipped cleanly when absent)

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _pg_url() -> str:
    url = os.environ.get("DATABASE_URL") or ""
    if not url.startswith(("postgres://", "postgresql")):
        url = DEFAULT_PG_URL
    from ipledge.api.store import database_url

    return database_url(url)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL ($DATABASE_URL if it names one, else localhost/test); skips if none."""
    import sqlalchemy as sa

    url = _pg_url()
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as e:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        pytest.skip(f"PostgreSQL not reachable at {sa.make_url(url).render_as_string(hide_password=True)}: "
                    f"{type(e).__name__}")
    return url


@pytest.fixture(scope="session")
def pg_schema(postgres_url):
    """A fresh PostgreSQL schema for this test run, dropped (CASCADE) at the end."""
    import sqlalchemy as sa

    name = f"ipledge_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis ($REDIS_URL, else localhost:6379); skips if none."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {url}: {type(e).__name__}")
    return url


# ---------------------------------------------------------------------------------------------
# API (api/): an app per test on SQLite (tmp) and on PostgreSQL (the run's schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def api_db_config(request, tmp_path) -> dict:
    """App config selecting the database: a fresh SQLite file, or the run's PostgreSQL schema."""
    if request.param == "sqlite":
        return {"DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    return {"DATABASE_URL": request.getfixturevalue("postgres_url"),
            "IPLEDGE_DB_SCHEMA": request.getfixturevalue("pg_schema")}


@pytest.fixture
def api_app(api_db_config):
    """A Flask app of the API with a generous rate limit (limits have their own tests)."""
    from ipledge.api import create_app

    app = create_app({**api_db_config, "IPLEDGE_RATE_LIMIT": "100000 per minute",
                      "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True,
                      # issue 15's work budgets and concurrency caps: lifted too (tests/test_api_hardening.py)
                      "IPLEDGE_WORK_LIMIT": "1000000000000 per minute", "IPLEDGE_TENANT_CONCURRENCY": 1000,
                      "IPLEDGE_AUTH_FAIL_LIMIT": "100000 per minute", "IPLEDGE_PAGE_CONCURRENCY": 1000,
                      "IPLEDGE_PAGE_WORK_LIMIT": "1000000000000 per minute",
                      "IPLEDGE_PAGE_GLOBAL_WORK_LIMIT": "1000000000000 per minute"})
    yield app
    app.extensions["ipledge_store"].dispose()


@pytest.fixture
def api_client(api_app):
    return api_app.test_client()


@pytest.fixture
def api_key_factory(api_app):
    """make(tenant=None) -> (tenant, key): a new key for a new (or the given) tenant."""

    def make(tenant: str | None = None) -> tuple[str, str]:
        tenant = tenant or f"bank-{uuid.uuid4().hex[:8]}"
        _, key = api_app.extensions["ipledge_store"].create_key(tenant)
        return tenant, key

    return make


# ---------------------------------------------------------------------------------------------
# Pipeline model (issue 13): a developer's `ipledge model use` record must not reach the tests


@pytest.fixture(autouse=True, scope="session")
def _isolated_ipledge_home(tmp_path_factory):
    """$IPLEDGE_HOME (where `ipledge model use` records the served posterior) in a temp dir per run."""
    old = os.environ.get("IPLEDGE_HOME")
    os.environ["IPLEDGE_HOME"] = str(tmp_path_factory.mktemp("ipledge_home"))
    yield
    if old is None:
        os.environ.pop("IPLEDGE_HOME", None)
    else:
        os.environ["IPLEDGE_HOME"] = old
