"""Strict reading of JSON request bodies, before pydantic sees them.

Python's ``json`` accepts NaN/Infinity, silently keeps the last of duplicate keys and recurses without
bound; a lending API must refuse all three. Problems are raised as :class:`ipledge.api.problems.Problem`.
"""
from __future__ import annotations

import json
import re

from flask import current_app, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from ipledge.api.problems import Problem
from ipledge.valuation.errors import field_errors
from ipledge.valuation.schema import PledgeRequest

MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON (non-finite numbers are not allowed)")


def _finite_float(text: str) -> float:
    import math

    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"number {text[:40]} is out of range")
    return v


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def check_depth(raw: bytes, limit: int = MAX_DEPTH) -> None:
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    depth = 0
    for m in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise Problem(400, "malformed-json", f"JSON nested deeper than {limit} levels",
                              title="Malformed JSON")
        else:
            depth -= 1


def read_json() -> object:
    """The request body as a JSON value; 415/400/413 problems otherwise."""
    mt = request.mimetype or ""
    if mt != "application/json" and not (mt.startswith("application/") and mt.endswith("+json")):
        raise Problem(415, "unsupported-media-type", "send the body as application/json",
                      title="Unsupported media type")
    raw = request.get_data(cache=True)  # raises 413 when Content-Length is past MAX_CONTENT_LENGTH
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is None and len(raw) >= limit:
        # chunked upload: werkzeug stops reading at the limit instead of failing
        raise RequestEntityTooLarge()
    if not raw.strip():
        raise Problem(400, "malformed-json", "the request body is empty", title="Malformed JSON")
    check_depth(raw)
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                          object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise Problem(400, "malformed-json", "the body is not UTF-8", title="Malformed JSON") from None
    except json.JSONDecodeError as e:
        raise Problem(400, "malformed-json", f"{e.msg} at line {e.lineno} column {e.colno}",
                      title="Malformed JSON") from None
    except (ValueError, RecursionError) as e:
        msg = str(e) if isinstance(e, ValueError) else "JSON nested too deeply"
        raise Problem(400, "malformed-json", msg, title="Malformed JSON") from None


def parse_pledge(obj: object) -> PledgeRequest:
    """Validate a pledge request and apply this server's bound on simulation paths."""
    try:
        req = PledgeRequest.model_validate(obj)
    except ValidationError as e:
        raise Problem(422, "validation-error", errors=field_errors(e)) from None
    if req.scenario is not None:  # over HTTP only built-in scenarios (no file paths), on every endpoint
        from ipledge.scenarios.loader import builtin_names

        known = builtin_names()
        if req.scenario not in known:
            raise Problem(422, "validation-error", errors=[{
                "field": "scenario", "message": f"unknown scenario {req.scenario!r}; built-ins: "
                                                f"{', '.join(sorted(known))}", "type": "value_error"}])
    max_paths = int(current_app.config["IPLEDGE_MAX_PATHS"])
    if req.simulation.paths > max_paths:
        raise Problem(422, "validation-error", errors=[{
            "field": "simulation.paths", "message": f"must be at most {max_paths} on this server",
            "type": "less_than_equal"}])
    return req


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise Problem(422, "validation-error", errors=[{
            "field": "Idempotency-Key", "message": "must be 1..255 visible ASCII characters",
            "type": "string_pattern_mismatch"}])
    return key
