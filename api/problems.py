"""RFC 9457 problem details: every 4xx/5xx of the API is ``application/problem+json``.

``type`` is ``about:blank`` for a plain HTTP error (the title is then the status phrase) and a
``urn:ipledge:problem:<slug>`` URI for the problems this API defines. Validation problems add
``errors: [{"field", "message", "type"}]`` with the field paths of :mod:`valuation.errors`.
No handler ever puts a traceback or an exception's internals in a response.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus

from flask import Flask, Response, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from valuation.errors import field_errors

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ipledge.api")


def problem_type(slug: str) -> str:
    return f"urn:ipledge:problem:{slug}"


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

    @app.after_request
    def _api_headers(resp):
        if request.path.startswith("/v1/") and resp.mimetype in ("application/json", PROBLEM_JSON):
            resp.headers.setdefault("Cache-Control", "no-store")  # credit data: never cached by proxies
            resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        # Logged with the traceback on the server; the client gets a plain 500 and nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, detail="internal error; the request was not completed")


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
