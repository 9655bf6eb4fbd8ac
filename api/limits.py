"""Rate limit per API key with Flask-Limiter (memory storage by default, Redis when REDIS_URL is set).

One limiter per app (Flask-Limiter keeps its storage on the instance). The limit applies to the
authenticated /v1 views; public views (health, OpenAPI, docs) are exempt. The self-assessment page's
POSTs (no key, each one a few dozen assessments) have their own limit per client address. A breach answers 429
problem+json with ``Retry-After`` (seconds until the window resets).
"""
from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _rate_key() -> str:
    p = g.get("principal")
    return f"key:{p.key_id}" if p is not None else f"ip:{get_remote_address()}"


def _exempt() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return view is None or getattr(view, "_ipledge_public", False) or request.endpoint == "static"


def storage_uri(config: dict) -> str:
    return config.get("RATELIMIT_STORAGE_URI") or "memory://"


def init_limits(app: Flask) -> Limiter:
    limiter = Limiter(
        key_func=_rate_key,
        # one budget per key across all routes (default_limits would count each route separately)
        application_limits=[app.config["IPLEDGE_RATE_LIMIT"]],
        application_limits_exempt_when=_exempt,
        storage_uri=storage_uri(app.config),
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "ipledge"),
        headers_enabled=False,  # Retry-After is set on the 429 only (api.problems)
        strategy="fixed-window",
    )
    limiter.init_app(app)
    page_limit = app.config.get("IPLEDGE_PAGE_RATE_LIMIT")
    if page_limit:
        from api.routes.readiness import page

        # POSTs only: loading the page and its assets stays free
        limiter.limit(page_limit, key_func=lambda: f"page:{get_remote_address()}", methods=["POST"])(page)
    app.extensions["ipledge_limiter"] = limiter
    return limiter
