"""Flask app factory of the ipledge API.

``create_app(config)`` wires storage (migrated on first use), authentication, the per-key rate
limit, problem+json errors and the /v1 blueprint, and loads the pipeline posterior once (per
gunicorn worker) so requests never load or compile a model.

Configuration (``config`` dict overrides the environment):

==========================  ======================================  =====================================
key                         environment                             default
==========================  ======================================  =====================================
DATABASE_URL                DATABASE_URL / IPLEDGE_DB (sqlite path)  sqlite ./instance/ipledge.db (WAL)
IPLEDGE_DB_SCHEMA           IPLEDGE_DB_SCHEMA                       (PostgreSQL search_path; tests)
RATELIMIT_STORAGE_URI       REDIS_URL / IPLEDGE_LIMITS_DB           ipledge-file://<database>.limits (shared)
IPLEDGE_RATE_LIMIT          IPLEDGE_RATE_LIMIT                      120 per minute (per tenant)
IPLEDGE_WORK_LIMIT ...      see api/limits.py                       simulation work, concurrency, page budget
IPLEDGE_PAGE_RATE_LIMIT     IPLEDGE_PAGE_RATE_LIMIT                 20 per minute (page POSTs, per client address)
IPLEDGE_PAGE_PATHS          (config only)                           5000 paths per page assessment
IPLEDGE_PAGE_MAX_PATHS      (config only)                           20000 paths at most on the page
IPLEDGE_MAX_PATHS           IPLEDGE_MAX_PATHS                       200000 (schema maximum)
MAX_CONTENT_LENGTH          -                                       1 MB (413 beyond)
IPLEDGE_MIGRATE             -                                       True (upgrade the schema at start)
IPLEDGE_LOAD_MODEL          -                                       True (load the posterior at start)
==========================  ======================================  =====================================
"""
from __future__ import annotations

import json
import logging
import os
import threading
from importlib import metadata

from flask import Flask

log = logging.getLogger("ipledge.api")

MAX_BODY = 1024 * 1024


class ModelHolder:
    """The pipeline posterior loaded at app creation, and its `model show` document (built once)."""

    def __init__(self, load: bool = True):
        self.posterior = None
        self.error: str | None = None
        self._doc: str | None = None
        self._lock = threading.Lock()
        if load:
            try:
                from ipledge.risk.posterior import load_posterior

                self.posterior = load_posterior()
                import ipledge.risk.assess  # noqa: F401  (import the engine now, not on the first request)
            except Exception as e:  # the service still answers; /v1/model says 503 with the reason
                self.error = f"pipeline posterior not loaded: {e}"
                log.warning(self.error)

    @property
    def model_version(self) -> str | None:
        return self.posterior.model_version if self.posterior is not None else None

    def document(self) -> str | None:
        if self.posterior is None:
            return None
        with self._lock:
            if self._doc is None:
                from ipledge.api.service import finite_or_none

                self._doc = json.dumps(finite_or_none(self.posterior.show()), ensure_ascii=False)
            return self._doc


def _version() -> str:
    try:
        return metadata.version("ipledge")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0"


def default_config() -> dict:
    env = os.environ
    redis_url = env.get("REDIS_URL")
    return {
        "DATABASE_URL": env.get("DATABASE_URL"),
        "IPLEDGE_DB_SCHEMA": env.get("IPLEDGE_DB_SCHEMA"),
        "RATELIMIT_STORAGE_URI": redis_url or None,  # None: the embedded file store (ipledge.api.limits)
        "IPLEDGE_RATE_LIMIT": env.get("IPLEDGE_RATE_LIMIT", "120 per minute"),
        "IPLEDGE_WORK_LIMIT": env.get("IPLEDGE_WORK_LIMIT", "60000000 per minute"),
        "IPLEDGE_TENANT_CONCURRENCY": int(env.get("IPLEDGE_TENANT_CONCURRENCY", "2")),
        "IPLEDGE_PAGE_WORK_LIMIT": env.get("IPLEDGE_PAGE_WORK_LIMIT", "2000000 per minute"),
        "IPLEDGE_PAGE_GLOBAL_WORK_LIMIT": env.get("IPLEDGE_PAGE_GLOBAL_WORK_LIMIT", "6000000 per minute"),
        "IPLEDGE_PAGE_CONCURRENCY": int(env.get("IPLEDGE_PAGE_CONCURRENCY", "1")),
        "IPLEDGE_PAGE_QUEUE": int(env.get("IPLEDGE_PAGE_QUEUE", "2")),
        "IPLEDGE_PAGE_QUEUE_WAIT_S": float(env.get("IPLEDGE_PAGE_QUEUE_WAIT_S", "10")),
        "IPLEDGE_AUTH_FAIL_LIMIT": env.get("IPLEDGE_AUTH_FAIL_LIMIT", "30 per minute"),
        "IPLEDGE_PORTFOLIO_QUEUE": int(env.get("IPLEDGE_PORTFOLIO_QUEUE", "4")),
        # the page needs no key and one submission runs ~25 assessments: bound it per client address
        "IPLEDGE_PAGE_RATE_LIMIT": env.get("IPLEDGE_PAGE_RATE_LIMIT", "20 per minute"),
        "IPLEDGE_MAX_PATHS": int(env.get("IPLEDGE_MAX_PATHS", "200000")),
        "MAX_CONTENT_LENGTH": MAX_BODY,
        "IPLEDGE_MIGRATE": True,
        "IPLEDGE_LOAD_MODEL": True,
        "JSON_SORT_KEYS": False,
    }


def create_app(config: dict | None = None) -> Flask:
    from ipledge.api.auth import init_auth
    from ipledge.api.limits import init_limits
    from ipledge.api.problems import register_error_handlers
    from ipledge.api.limits import default_storage_uri
    from ipledge.api.requestlog import RequestLog
    from ipledge.api.routes import bp
    from ipledge.api.routes.readiness import page  # the self-assessment page at / (no key)
    from ipledge.api.store import Store

    app = Flask(__name__.rpartition(".")[0], static_folder="static", static_url_path="/static")
    app.config.update(default_config())
    app.config.update(config or {})
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = default_storage_uri(app.config["DATABASE_URL"])
    app.wsgi_app = RequestLog(app.wsgi_app)  # request id + redacted access log around everything

    store = Store(app.config["DATABASE_URL"], schema=app.config.get("IPLEDGE_DB_SCHEMA"))
    if app.config["IPLEDGE_MIGRATE"]:
        store.migrate()
    app.extensions["ipledge_store"] = store
    app.extensions["ipledge_version"] = _version()
    app.extensions["ipledge_model"] = ModelHolder(load=app.config["IPLEDGE_LOAD_MODEL"])

    register_error_handlers(app)
    init_auth(app)  # before the limiter: it counts per authenticated key
    init_limits(app, page)
    app.register_blueprint(bp)
    app.register_blueprint(page)
    return app
