"""Blueprint /v1. One small module per resource; a new module only needs importing below.

Views are thin: read the HTTP request, call :mod:`ipledge.api.service`, shape the HTTP response.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading

from flask import Blueprint, Response, request

bp = Blueprint("v1", __name__, url_prefix="/v1")
_OPS: dict | None = None


def _placeholders(path: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def response_model(method: str, rule: str, status: int):
    """The response model an operation declares for ``status`` (None for a non-model body)."""
    global _OPS
    from ipledge.api.openapi import OPERATIONS

    if _OPS is None or len(_OPS) != len(OPERATIONS):
        _OPS = {(op.method, _placeholders(op.path)): op for op in OPERATIONS}
    op = _OPS.get((method.lower(), _placeholders(rule)))
    model = op.responses.get(status, (None, ""))[0] if op else None
    return None if model is None or isinstance(model, dict) else model


@bp.after_request
def _check_response(resp: Response) -> Response:
    """Every JSON answer of /v1 against its operation's response model (extra fields forbidden): a field
    missing from the OpenAPI document fails here (a 500 in production, a failed test before that)."""
    if resp.mimetype == "application/json" and request.url_rule is not None and not resp.direct_passthrough:
        model = response_model(request.method, request.url_rule.rule, resp.status_code)
        if model is not None:
            data = resp.get_data()
            key = (model, hashlib.sha256(data).digest())
            if key not in _CHECKED:   # a cached document (GET /v1/model: 130 kB, 7 ms) is checked once
                from ipledge.api.responses import check

                check(model, json.loads(data))
                with _CHECKED_LOCK:
                    _CHECKED[key] = None
                    while len(_CHECKED) > 64:
                        _CHECKED.pop(next(iter(_CHECKED)))
    return resp


_CHECKED: dict = {}   # (model, SHA-256 of the body) of bodies that passed, oldest first
_CHECKED_LOCK = threading.Lock()


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
