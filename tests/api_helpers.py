"""Helpers shared by the API tests (headers, problem+json checks)."""
from __future__ import annotations

import contextlib
import uuid


def pledge(paths: int, **changes) -> dict:
    """The example request at ``paths`` with ``changes`` applied (``a__b__0__c=v`` sets a.b[0].c)."""
    from ipledge.api.examples import example_request

    b = example_request(paths=paths)
    for dotted, value in changes.items():
        node = b
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node[p]
        node[parts[-1]] = value
    return b


def auth(key: str, **extra) -> dict:
    return {"Authorization": f"Bearer {key}", **extra}


def problem(resp, status: int) -> dict:
    """The problem+json document of a response that must have ``status``."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json", resp.mimetype
    return resp.get_json(force=True)


@contextlib.contextmanager
def isolated_store(api_db_config: dict, sqlite_path=None):
    """A Store on a database of its own, for migration tests.

    PostgreSQL: a fresh schema, dropped afterwards. SQLite: ``sqlite_path`` if given, else the
    configured database."""
    import sqlalchemy as sa

    from ipledge.api.store import Store

    url, schema, admin = api_db_config["DATABASE_URL"], None, None
    if api_db_config.get("IPLEDGE_DB_SCHEMA"):
        schema = f"ipledge_mig_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    elif sqlite_path is not None:
        url = f"sqlite:///{sqlite_path}"
    store = Store(url, schema=schema)
    try:
        yield store
    finally:
        store.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
