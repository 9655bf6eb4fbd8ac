"""OpenAPI 3.1 document generated from the pydantic models.

Component schemas come from pydantic (``models_json_schema``: JSON Schema 2020-12, which is what
OpenAPI 3.1 uses). Operations are declared next to their views with :func:`operation`, so a new
route module documents itself by decorating its views; nothing else needs editing.

The path/operation part is a small hand-rolled registry rather than a framework (flask-openapi3,
spectree): those own the view signatures and request parsing, while this API needs its own strict
JSON parsing (NaN, depth, duplicate keys) and problem+json errors in front of pydantic. Reconsidered
for issue 16: apispec would only wrap the pydantic schemas this module already places (it has no
pydantic plugin of its own); flask-smorest is built on marshmallow, a second schema language beside
pydantic (two sources for one field); spectree validates bodies in its own decorator. None adds what
the issue asks for, which comes from the models themselves: bounds as JSON Schema keywords (a strict
float schema in valuation/schema.py), units in the descriptions (valuation/units.py), and every JSON
response checked against the model its operation declares here (api/routes/__init__.py).

The document also carries ``servers`` and, per operation, a request example and a real response
example (``openapi_examples.json``, regenerated from engine runs by ``python tests/openapi_conformance.py``).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ipledge.api import responses as R
from ipledge.valuation.schema import SCHEMA_VERSION, PledgeRequest

REF = "#/components/schemas/{model}"
#: one real response per operation and status, from engine runs (written by
#: ``python tests/openapi_conformance.py``; tests/test_api_openapi.py checks each against its schema)
EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")
SERVERS = [{"url": "/", "description": "The server this document is served from (paths start with /v1)"}]


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI template, e.g. /v1/assessments/{id}
    summary: str
    operation_id: str
    tags: list[str]
    description: str = ""
    request: type[BaseModel] | None = None
    request_example: Any = None
    responses: dict[int, tuple[type[BaseModel] | dict | None, str]] = field(default_factory=dict)
    parameters: list[dict] = field(default_factory=list)
    auth: bool = True
    idempotent_post: bool = False
    errors: tuple[int, ...] = ()


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, summary: str, *, tags: list[str], request: type[BaseModel] | None = None,
              request_example: Any = None, responses: dict | None = None, parameters: list[dict] | None = None,
              auth: bool = True, idempotent_post: bool = False, errors: tuple[int, ...] = (),
              description: str = ""):
    """Declare a view's OpenAPI operation (registered once, at import of the route module)."""

    def deco(fn):
        op = Operation(method=method.lower(), path=path, summary=summary, operation_id=fn.__name__, tags=tags,
                       description=description, request=request, request_example=request_example,
                       responses=responses or {}, parameters=parameters or [], auth=auth,
                       idempotent_post=idempotent_post, errors=errors)
        if not any(o.method == op.method and o.path == op.path for o in OPERATIONS):
            OPERATIONS.append(op)
        fn._ipledge_public = not auth
        return fn

    return deco


_ERROR_TEXT = {
    400: "Malformed JSON (syntax, NaN/Infinity, duplicate keys, nesting too deep)",
    401: "Missing, malformed, unknown or revoked API key",
    404: "No such record for this tenant",
    409: "Conflict with the current state: another request changed the same record at the same time (retry), "
         "or, for POST /v1/book/risk, your institution has no open loans",
    413: "Request body larger than 1 MB",
    415: "Body is not application/json",
    422: "Validation failed; `errors` lists the field paths",
    429: "A limit of the tenant (requests, simulation work, heavy requests in flight, unfinished jobs) or of "
         "the client address (failed authentications) was reached; see Retry-After",
    503: "A dependency (database, rate-limit store, model) is unavailable, or a shared queue is full; "
         "see Retry-After",
}


def _problem_response(desc: str) -> dict:
    return {"description": desc,
            "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}


def _models() -> list[type[BaseModel]]:
    out = [PledgeRequest, R.Problem]
    for op in OPERATIONS:
        if op.request is not None:
            out.append(op.request)
        out.extend(m for m, _ in op.responses.values() if isinstance(m, type))
    seen, uniq = set(), []
    for m in out:
        if m not in seen:
            seen.add(m)
            uniq.append(m)
    return uniq


@functools.lru_cache(maxsize=1)
def response_examples() -> dict:
    """{"<method> <path>": {"<status>": body}} of :data:`EXAMPLES_FILE` ({} when absent)."""
    if not EXAMPLES_FILE.exists():
        return {}
    return json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4)
def _components(version: str, max_paths: int | None = None) -> dict:
    models = _models()
    requests = {op.request for op in OPERATIONS if op.request is not None} | {PledgeRequest}
    pairs = [(m, "validation" if m in requests else "serialization") for m in models]
    _, top = models_json_schema(pairs, ref_template=REF)
    defs = top.get("$defs", {})
    paths = defs.get("Simulation", {}).get("properties", {}).get("paths")
    if paths is not None and max_paths is not None and max_paths < paths["maximum"]:
        # this server's bound (IPLEDGE_MAX_PATHS): the document tells a client what it will accept
        paths["maximum"] = max_paths
        paths["description"] += f" This server accepts at most {max_paths:,} (IPLEDGE_MAX_PATHS)."
        if paths.get("default", 0) > max_paths:   # the default is refused here: the client must give paths
            paths.pop("default")
            defs["Simulation"].setdefault("required", []).append("paths")
            defs["PledgeRequest"].setdefault("required", []).append("simulation")
    scenario = defs.get("PledgeRequest", {}).get("properties", {}).get("scenario")
    if scenario is not None:
        # over HTTP only the built-in scenarios are accepted (api/bodies.py; the CLI also reads files)
        from ipledge.scenarios.loader import builtin_names

        scenario["anyOf"] = [{"enum": sorted(builtin_names())}, {"type": "null"}]
        scenario["description"] = scenario["description"].rstrip(".") + ". Over HTTP: a built-in name."
    return defs


def build_spec(version: str = "0", max_paths: int | None = None) -> dict:
    """The OpenAPI 3.1 document of every registered operation (``max_paths``: this server's bound on
    ``simulation.paths`` when below the schema's)."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        item: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": op.tags,
        }
        if op.description:
            item["description"] = op.description
        params = list(op.parameters)
        if op.idempotent_post:
            params.append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Retry-safe key: a replay returns the first response and stores nothing new; "
                               "the same key with another body answers 422.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
            })
        if params:
            item["parameters"] = params
        if op.request is not None:
            media: dict[str, Any] = {"schema": {"$ref": REF.format(model=op.request.__name__)}}
            if op.request_example is not None:
                media["example"] = op.request_example
            item["requestBody"] = {"required": True, "content": {"application/json": media}}
        responses: dict[str, Any] = {}
        examples = response_examples().get(f"{op.method} {op.path}", {})
        for status, (model, desc) in sorted(op.responses.items()):
            r: dict[str, Any] = {"description": desc}
            if isinstance(model, dict):  # {media type: JSON schema} for non-model bodies
                r["content"] = {media: {"schema": schema} for media, schema in model.items()}
            elif model is not None:
                media = {"schema": {"$ref": REF.format(model=model.__name__)}}
                if str(status) in examples:
                    media["example"] = examples[str(status)]
                r["content"] = {"application/json": media}
            responses[str(status)] = r
        codes = set(op.errors)
        if op.auth:
            codes |= {401, 429}
            item["security"] = [{"bearerAuth": []}]
        else:
            item["security"] = []
        if op.request is not None:
            codes |= {400, 413, 415, 422}
        for status in sorted(codes):
            responses[str(status)] = _problem_response(_ERROR_TEXT.get(status, "Error"))
            if status == 429:
                responses["429"]["headers"] = {"Retry-After": {
                    "description": "Seconds until the limit's window resets", "schema": {"type": "integer"}}}
        if op.idempotent_post:
            for status in [s for s in responses if s.startswith("2")]:
                responses[status]["headers"] = {"Idempotent-Replayed": {
                    "description": "`true` when this is the stored response of an earlier request with the "
                                   "same Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}}
                if op.path == "/v1/assessments":
                    responses[status]["headers"]["Location"] = {
                        "description": "URL of the stored assessment", "schema": {"type": "string"}}
        responses["default"] = _problem_response("Unexpected error (problem details, never a stack trace)")
        item["responses"] = responses
        paths.setdefault(op.path, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ipledge API",
            "version": version,
            "description": (
                "Valuation and lending decisions for pledges of biopharma patents. Request schema "
                f"{SCHEMA_VERSION}. Authenticate with `Authorization: Bearer <key>` (create one with "
                "`ipledge keys create --tenant NAME`). Errors are RFC 9457 problem details."
            ),
        },
        "servers": SERVERS,
        "paths": paths,
        "components": {
            "schemas": _components(version, max_paths),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "API key from `ipledge keys create`"}},
        },
    }
