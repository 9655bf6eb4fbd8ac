"""RFC 9457 problem details: every 4xx/5xx of the API is ``application/problem+json``.

``type`` is ``about:blank`` for a plain HTTP error (the title is then the status phrase) and a
``urn:ipledge:problem:<slug>`` URI for the problems this API defines. Validation problems add
``errors: [{"field", "message", "type"}]`` with the field paths of :mod:`ipledge.valuation.errors`.
No handler ever puts a traceback or an exception's internals in a response.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus

from flask import Flask, Response, request
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ipledge.api.requestlog import current_request_id
from ipledge.valuation.errors import field_errors

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ipledge.api")


def problem_type(slug: str) -> str:
    return f"urn:ipledge:problem:{slug}"


class LimitStoreUnavailable(Exception):
    """The shared counter store of the rate limits (ipledge.api.limits) could not be reached."""


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, slug: str | None = None, detail: str | None = None, *,
                 title: str | None = None, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None, **extra):
        super().__init__(detail or slug or str(status))
        self.status = int(status)
        self.slug = slug
        self.detail = detail
        self.title = title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(status: int, *, slug: str | None = None, title: str | None = None,
                     detail: str | None = None, errors: list[dict] | None = None,
                     headers: dict[str, str] | None = None, **extra) -> Response:
    body: dict = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or _phrase(status),
        "status": status,
        "detail": detail or _phrase(status),
    }
    try:
        body["instance"] = request.path
        body["request_id"] = request.environ.get("ipledge.request_id") or current_request_id.get()
    except RuntimeError:  # outside a request
        pass
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def validation_problem(errors: list[dict], detail: str | None = None) -> Response:
    n = len(errors)
    if detail is None:
        first = errors[0] if errors else {"field": "(body)", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}" + (f" (and {n - 1} more)" if n > 1 else "")
    return problem_response(422, slug="validation-error", title="Request validation failed",
                            detail=detail, errors=errors)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(e: Problem):
        if e.slug == "validation-error" and e.errors is not None:
            resp = validation_problem(e.errors, e.detail)
        else:
            resp = problem_response(e.status, slug=e.slug, title=e.title, detail=e.detail,
                                    errors=e.errors, **e.extra)
        for k, v in e.headers.items():
            resp.headers[k] = v
        return resp

    from ipledge.api.store import IdempotencyMismatch

    @app.errorhandler(IdempotencyMismatch)
    def _idempotency_reused(e):
        # also when two different bodies race on one key: the loser learns it here, never as a 500
        return problem_response(422, slug="idempotency-key-reused", title="Idempotency-Key reused",
                                detail="this Idempotency-Key was already used with a different request body")

    @app.errorhandler(ValidationError)
    def _validation(e: ValidationError):
        return validation_problem(field_errors(e))

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        status = e.code or 500
        headers = {}
        if status == 405 and getattr(e, "valid_methods", None):
            headers["Allow"] = ", ".join(e.valid_methods)
        slug, detail = None, None
        if status == 413:
            slug = "payload-too-large"
            limit = app.config.get("MAX_CONTENT_LENGTH")
            detail = f"the request body exceeds the limit of {limit} bytes" if limit else None
        elif status == 429:
            slug = "rate-limited"
            detail = f"rate limit exceeded ({getattr(e, 'description', '')}); retry after the Retry-After delay"
            retry = _retry_after_seconds()
            if retry is not None:
                headers["Retry-After"] = str(retry)
        elif status == 404:
            detail = "no such resource"
        elif status == 405:
            detail = f"method {request.method} is not allowed here"
        return problem_response(status, slug=slug, detail=detail, headers=headers)

    @app.errorhandler(OperationalError)
    def _database_down(e: OperationalError):
        log.error("database unavailable on %s %s: %s", request.method, request.path, type(e).__name__)
        return problem_response(503, slug="database-unavailable", title="Service unavailable",
                                detail="the database is unavailable; nothing was stored; retry later",
                                headers={"Retry-After": "5"})

    @app.errorhandler(DBAPIError)
    def _database_error(e: DBAPIError):
        # Permission denied, a dropped connection, a read-only database: the operator must act, the
        # client can only retry. Anything else from the driver is a bug: 500 (logged, no parameters).
        if not dependency_failure(e):
            return _unexpected(e)
        log.error("database refused %s %s: %s (sqlstate %s)", request.method, request.path,
                  type(getattr(e, "orig", e)).__name__, getattr(getattr(e, "orig", None), "sqlstate", "-"))
        return problem_response(503, slug="database-unavailable", title="Service unavailable",
                                detail="the database refused the operation; nothing was stored; retry later",
                                headers={"Retry-After": "5"})

    for exc in limit_store_errors():
        @app.errorhandler(exc)
        def _limit_store_down(e):
            log.error("rate-limit store unavailable on %s %s: %s", request.method, request.path, type(e).__name__)
            return problem_response(503, slug="limit-store-unavailable", title="Service unavailable",
                                    detail="the rate-limit store (Redis) is unavailable; nothing was done; "
                                           "retry later", headers={"Retry-After": "5"})

    @app.after_request
    def _api_headers(resp):
        if request.path.startswith("/v1/") and resp.mimetype in ("application/json", PROBLEM_JSON):
            resp.headers.setdefault("Cache-Control", "no-store")  # credit data: never cached by proxies
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", content_security_policy())
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault("Referrer-Policy", "no-referrer")
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        # Logged with the traceback on the server; the client gets a plain 500 and nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, detail="internal error; the request was not completed")


def content_security_policy() -> str:
    """Same-origin scripts only (an inline script needs this request's nonce); styles may be inline
    (the report embeds its CSS, the meters set a width); images from the page or data: URIs."""
    from flask import g

    nonce = g.get("csp_nonce")
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return ("default-src 'self'; " f"script-src {script}; " "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def csp_nonce() -> str:
    """A nonce for this response's inline script (put in the CSP by the after-request hook)."""
    import secrets

    from flask import g

    if g.get("csp_nonce") is None:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


#: SQLSTATE classes of a database the client can only wait for: connection (08), resources (53),
#: operator intervention (57), permission denied (42501), read-only transaction (25006)
_DEPENDENCY_SQLSTATES = ("08", "53", "57", "42501", "25006")


def dependency_failure(e: Exception) -> bool:
    """True when a database error is the database's state, not the request (→ 503 + Retry-After)."""
    from sqlalchemy.exc import InterfaceError, OperationalError as SaOperational

    if isinstance(e, (SaOperational, InterfaceError)) or getattr(e, "connection_invalidated", False):
        return True
    orig = getattr(e, "orig", None)
    state = getattr(orig, "sqlstate", None) or ""
    if any(state.startswith(p) for p in _DEPENDENCY_SQLSTATES):
        return True
    text = str(orig or "").lower()
    return "readonly database" in text or "permission denied" in text


def limit_store_errors() -> tuple[type[BaseException], ...]:
    """Exceptions of an unreachable rate-limit store (Redis when configured, the embedded file store)."""
    out: list[type[BaseException]] = []
    try:
        import redis.exceptions

        out.append(redis.exceptions.RedisError)
    except ImportError:  # pragma: no cover - the redis extra is not installed
        pass
    from limits.errors import StorageError

    out.append(StorageError)
    out.append(LimitStoreUnavailable)
    return tuple(out)


def _retry_after_seconds() -> int | None:
    """Seconds until the breached Flask-Limiter window resets (the header is also set by the limiter)."""
    import math
    import time

    from flask import current_app

    try:
        cur = current_app.extensions["ipledge_limiter"].current_limit
        if cur is None:
            return None
        return max(1, int(math.ceil(cur.reset_at - time.time())))
    except Exception:  # pragma: no cover - storage unreachable: the limiter's own header still applies
        return None
