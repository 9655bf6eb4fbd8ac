"""Blueprint /v1. One small module per resource; a new module only needs importing below.

Views are thin: read the HTTP request, call :mod:`ipledge.api.service`, shape the HTTP response.
"""
from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("v1", __name__, url_prefix="/v1")


def json_response(body: str, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(body, status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def result_response(result, location: str | None = None) -> Response:
    headers = {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    if location:
        headers["Location"] = location
    return json_response(result.body, result.status, headers)


from ipledge.api.routes import assessments, health, meta, model, readiness, stress, valuations  # noqa: E402,F401
from ipledge.api.routes import alerts, book, loans, replay  # noqa: E402,F401  (issue 17)
