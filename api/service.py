"""What the views do, without Flask request handling: validate, run the engine, store, replay.

Views stay thin (parse the HTTP request, call one function here, shape the HTTP response).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass

from ipledge.api import compute
from ipledge.api.bodies import parse_pledge
from ipledge.api.problems import Problem
from ipledge.api.responses import round_money
from ipledge.api.store import IdempotencyMismatch, Principal, Store, StoredResponse, canonical_hash, new_id


@dataclass
class Result:
    status: int
    body: str  # JSON text
    replayed: bool = False
    resource_id: str | None = None


def _json_default(o):
    if hasattr(o, "item"):  # numpy scalar
        return o.item()
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def to_json_ready(obj) -> dict:
    """Round-trip through JSON so what is stored, returned and replayed are the same document."""
    return json.loads(json.dumps(obj, default=_json_default, allow_nan=False))


def finite_or_none(obj):
    """Replace NaN/Infinity by None (for documents that may carry missing diagnostics)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if hasattr(obj, "item"):
        return finite_or_none(obj.item())
    return obj


def loaded_posterior():
    """The pipeline posterior this worker loaded at start-up; 503 problem if it could not be loaded."""
    from flask import current_app

    model = current_app.extensions["ipledge_model"]
    if model.posterior is None:
        raise Problem(503, "model-unavailable", model.error or "the pipeline model is not loaded",
                      title="Model unavailable")
    return model.posterior


def check_idempotency(store: Store, principal: Principal, endpoint: str, key: str | None,
                raw: object) -> tuple[tuple[str, str, str] | None, StoredResponse | None]:
    if key is None:
        return None, None
    # the hash is of the parsed request (callers pass it) with numbers normalised, so a retry that
    # writes 20000000 for 20000000.0, reorders keys or spells out a default is the same request
    idem = (endpoint, key, canonical_hash(normalise_numbers(raw)))
    return idem, store.find_idempotent(principal, *idem)  # IdempotencyMismatch -> 422 (ipledge.api.problems)


def parsed(req) -> dict:
    """What an Idempotency-Key is bound to: the fields the client set, as parsed (defaults it left out
    are not part of it, so a request without ``as_of`` retried after midnight is still the same)."""
    return req.model_dump(mode="json", exclude_unset=True)


def normalise_numbers(obj):
    """Integral floats as ints, recursively (JSON does not distinguish 2e7 from 20000000)."""
    if isinstance(obj, float) and obj.is_integer() and abs(obj) < 2**63:
        return int(obj)
    if isinstance(obj, dict):
        return {k: normalise_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [normalise_numbers(v) for v in obj]
    return obj


def result_from_stored(s: StoredResponse) -> Result:
    return Result(s.status_code, s.body, replayed=s.replayed, resource_id=s.resource_id)


def assessment_document(req, *, assessment_id: str, created_at: dt.datetime, posterior=None, runner=None) -> dict:
    """The stored document of an assessment; creation and replay (GET .../replay) compute it this one way."""
    from ipledge.risk.assess import assess

    # in the worker's engine process when there is one (ipledge.api.compute); replay calls it in-process, the same way
    run = runner or (lambda fn, *a, **k: fn(*a, **k))
    # round-trip through JSON: what is stored, returned and replayed are the same document
    doc = to_json_ready(run(assess, req, assessment_id=assessment_id, created_at=created_at, posterior=posterior))
    round_money(doc)                 # amounts to the fen (api/responses.py ASSESSMENT_MONEY)
    return doc


def create_assessment(store: Store, principal: Principal, raw: object, idem_key: str | None) -> Result:
    """Validate, assess, and commit the assessment + audit record (+ idempotency record) before returning."""
    from ipledge.api.limits import heavy_work

    req = parse_pledge(raw)
    idem, prior = check_idempotency(store, principal, "POST /v1/assessments", idem_key, parsed(req))
    if prior is not None:
        return result_from_stored(prior)
    assessment_id = new_id()
    created_at = dt.datetime.now(dt.timezone.utc)
    try:
        with heavy_work(req.simulation.paths) as background:
            response = assessment_document(
                req, assessment_id=assessment_id, created_at=created_at,
                runner=lambda fn, *a, **k: compute.call(fn, *a, background=background, **k))
    except ValueError as e:
        if req.scenario is None:
            raise
        # the engine's documented answer to an unknown scenario name
        raise Problem(422, "validation-error", errors=[{
            "field": "scenario", "message": str(e), "type": "value_error"}]) from None
    stored = store.save_assessment(principal, req.model_dump(mode="json"), response, idem)
    return result_from_stored(stored)


def value_request(store: Store, principal: Principal, raw: object, idem_key: str | None) -> Result:
    """The `scores` object of a pledge request (nothing stored unless an Idempotency-Key is given)."""
    from ipledge.valuation.scorecard import score_request

    req = parse_pledge(raw)
    idem, prior = check_idempotency(store, principal, "POST /v1/valuations", idem_key, parsed(req))
    if prior is not None:
        return result_from_stored(prior)
    body = json.dumps(to_json_ready(score_request(req)), ensure_ascii=False)
    if idem is None:
        return Result(200, body)
    return result_from_stored(store.save_response(principal, idem, 200, body))


def get_assessment(store: Store, principal: Principal, assessment_id: str) -> Result:
    body = store.get_assessment(principal, assessment_id)
    if body is None:
        # same answer for "absent" and "another tenant's": no existence oracle
        raise Problem(404, "not-found", f"no assessment {assessment_id!r}", title="Not found")
    return Result(200, body, resource_id=assessment_id)


MAX_LIMIT = 100
ULID = "[0-9A-HJKMNP-TV-Z]{26}"
#: a page cursor is the id (a ULID) of the last item of the previous page; the pattern is in the
#: OpenAPI document, so every cursor it allows is one the API reads (earlier versions sent the id in
#: base64url: still read)
CURSOR_PARAM = {"name": "cursor", "in": "query", "required": False,
                "description": "`next_cursor` of the previous page (opaque)",
                "schema": {"type": "string", "pattern": f"^{ULID}$"}}


def _decode_cursor(cursor: str) -> str:
    import base64
    import binascii
    import re

    if re.fullmatch(ULID, cursor):
        return cursor
    try:
        pad = "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(cursor + pad).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = ""
    if not re.fullmatch(ULID, value):
        raise Problem(422, "validation-error", errors=[{
            "field": "cursor", "message": "not a cursor returned by this API", "type": "value_error"}])
    return value


def _encode_cursor(last_id: str) -> str:
    return last_id


def list_assessments(store: Store, principal: Principal, limit_arg: str | None, cursor: str | None) -> Result:
    limit = 20
    if limit_arg is not None:
        # ASCII digits only: str.isdigit() accepts '²' and '①', which int() then refuses
        if not re.fullmatch(r"[0-9]{1,4}", limit_arg) or not 1 <= int(limit_arg) <= MAX_LIMIT:
            raise Problem(422, "validation-error", errors=[{
                "field": "limit", "message": f"must be an integer 1..{MAX_LIMIT}", "type": "value_error"}])
        limit = int(limit_arg)
    before = _decode_cursor(cursor) if cursor is not None else None
    rows = store.list_assessments(principal, limit + 1, before)
    page, more = rows[:limit], len(rows) > limit
    body = {"items": page, "next_cursor": _encode_cursor(page[-1]["id"]) if more and page else None}
    return Result(200, json.dumps(body, ensure_ascii=False))
