"""/v1/openapi.json is generated from the pydantic models; the docs page works offline."""
from __future__ import annotations

import re

import pytest

from ipledge.api.responses import AssessmentResponse
from ipledge.valuation.schema import PledgeRequest


def test_openapi_is_generated_from_models(api_client):
    r = api_client.get("/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    spec = r.get_json()
    assert spec["openapi"].startswith("3.1")
    schemas = spec["components"]["schemas"]
    # request: every field of the pydantic model, extra fields forbidden
    req = schemas["PledgeRequest"]
    assert set(req["properties"]) == set(PledgeRequest.model_fields)
    assert req["additionalProperties"] is False
    assert set(schemas["AssessmentResponse"]["properties"]) == set(AssessmentResponse.model_fields)
    paths = spec["paths"]
    for path, method in [("/v1/assessments", "post"), ("/v1/assessments", "get"), ("/v1/assessments/{id}", "get"),
                         ("/v1/valuations", "post"), ("/v1/model", "get"), ("/v1/health", "get"),
                         ("/v1/openapi.json", "get")]:
        assert method in paths[path], (path, method)
    post = paths["/v1/assessments"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PledgeRequest")
    assert "201" in post["responses"] and "422" in post["responses"]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert paths["/v1/health"]["get"]["security"] == []
    assert post["security"] == [{"bearerAuth": []}]
    # every $ref resolves
    import json

    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec))):
        assert ref in schemas, ref


def test_docs_page_is_offline(api_client):
    r = api_client.get("/v1/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert not [a for a in assets if "//" in a], "docs must not load anything from a CDN"
    for a in assets:
        asset = api_client.get(a)
        assert asset.status_code == 200, a
        assert len(asset.data) > 10_000
        asset.close()
    assert "/v1/openapi.json" in html


# --- issue 16: a document generators trust ------------------------------------------------------

JSON_BOUND = {"Ge": ("minimum", max), "Gt": ("exclusiveMinimum", max), "Le": ("maximum", min),
              "Lt": ("exclusiveMaximum", min)}


def _spec(client) -> dict:
    r = client.get("/v1/openapi.json")
    assert r.status_code == 200
    return r.get_json()


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _leaves(spec: dict, schema: dict) -> list[dict]:
    """The non-null alternatives of a property schema, following anyOf, items and map values."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        return [leaf for arm in schema["anyOf"] for leaf in _leaves(spec, arm)]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _leaves(spec, schema["items"])
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        return _leaves(spec, schema["additionalProperties"])
    return [] if schema.get("type") == "null" else [schema]


def _bounds_of(annotation, metadata) -> dict[str, list[float]]:
    """{annotated_types class name: values} found in a field's metadata and its type's Annotated parts."""
    import typing

    from pydantic.fields import FieldInfo

    found: dict[str, list[float]] = {}

    def take(items):
        for m in items:
            if isinstance(m, FieldInfo):
                take(m.metadata)
            elif type(m).__name__ in JSON_BOUND:
                found.setdefault(type(m).__name__, []).append(getattr(m, type(m).__name__.lower()))

    def walk(tp):
        if typing.get_origin(tp) is typing.Annotated:
            take(tp.__metadata__)
            walk(tp.__origin__)
        for arg in typing.get_args(tp):
            walk(arg)

    take(metadata)
    walk(annotation)
    return found


def _request_models():
    """Every model a request body is made of (the registered operations' bodies and what they nest)."""
    import typing

    from pydantic import BaseModel

    from ipledge.api.openapi import OPERATIONS

    seen: dict[str, type] = {}

    def visit(tp):
        if typing.get_origin(tp) is typing.Annotated:
            return visit(tp.__origin__)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp.__name__ in seen:
                return
            seen[tp.__name__] = tp
            for f in tp.model_fields.values():
                visit(f.annotation)
        for arg in typing.get_args(tp):
            visit(arg)

    for op in OPERATIONS:
        if op.request is not None:
            visit(op.request)
    return seen


def test_numeric_bounds_are_json_schema_keywords(api_client):
    import json

    spec = _spec(api_client)
    text = json.dumps(spec["components"])
    bad = [(name, prop, key) for name, s in spec["components"]["schemas"].items()
           for prop, p in s.get("properties", {}).items()
           for leaf in _leaves(spec, p) for key in ("ge", "le", "gt", "lt") if key in leaf]
    assert not bad, f"pydantic constraint names instead of JSON Schema keywords: {bad[:10]} ({len(bad)} in all)"
    assert '"ge":' not in text and '"le":' not in text
    checked = 0
    for name, model in _request_models().items():
        schema = spec["components"]["schemas"].get(name)
        if schema is None or "properties" not in schema:
            continue
        for fname, f in model.model_fields.items():
            bounds = _bounds_of(f.annotation, f.metadata)
            if not bounds:
                continue
            leaves = [leaf for leaf in _leaves(spec, schema["properties"][f.alias or fname])
                      if leaf.get("type") in ("number", "integer")]
            assert leaves, (name, fname, schema["properties"][f.alias or fname])
            for kind, values in bounds.items():
                keyword, tightest = JSON_BOUND[kind]
                for leaf in leaves:
                    assert leaf.get(keyword) == tightest(values), (
                        f"{name}.{fname}: expected {keyword}={tightest(values)} (from {kind} {values}), got {leaf}")
                    checked += 1
    assert checked >= 70, f"only {checked} bounds checked: the walk over the request models is broken"


def _is_numeric(spec: dict, prop: dict) -> bool:
    types = [leaf.get("type") for leaf in _leaves(spec, prop)]
    return bool(types) and all(t in ("number", "integer") for t in types)


def test_every_property_has_a_description_and_every_number_a_unit(api_client):
    from ipledge.valuation.units import UNITS

    spec = _spec(api_client)
    units = {f"Unit: {u.text}." for u in UNITS}
    missing, no_unit, n = [], [], 0
    for name, s in spec["components"]["schemas"].items():
        for prop, p in s.get("properties", {}).items():
            n += 1
            d = p.get("description") or ""
            if not d.strip():
                missing.append(f"{name}.{prop}")
            elif _is_numeric(spec, p) and not any(u in d for u in units):
                no_unit.append(f"{name}.{prop}: {d!r}")
    assert n > 400, n
    assert not missing, f"{len(missing)} of {n} properties without a description: {missing}"
    assert not no_unit, f"numeric properties whose description names no unit: {no_unit}"


def test_servers_and_an_example_per_route(api_client):
    import jsonschema_rs

    spec = _spec(api_client)
    assert spec["servers"] and all("url" in s for s in spec["servers"])
    missing = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                if "example" not in body:
                    missing.append(f"{method} {path} request")
                else:
                    _validator(spec, body["schema"], jsonschema_rs).validate(body["example"])
            for status, resp in op["responses"].items():
                media = resp.get("content", {}).get("application/json")
                if status.startswith("2") and media and "$ref" in media["schema"]:
                    if "example" not in media:
                        missing.append(f"{method} {path} {status}")
                    else:   # kept in sync: a real response (tests/openapi_conformance.py) that still validates
                        errors = [e.message for e in _validator(spec, media["schema"], jsonschema_rs)
                                  .iter_errors(media["example"])]
                        assert not errors, (method, path, status, errors[:5])
    assert not missing, f"no example for: {missing} (regenerate: python tests/openapi_conformance.py)"


def _validator(spec: dict, schema: dict, jsonschema_rs):
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def test_every_operation_answers_what_the_document_describes(api_app, api_key_factory):
    """A real request to each of the document's operations; every body must validate against the
    documented schema of its status and media type, with no field the schema does not describe."""
    import jsonschema_rs
    from openapi_conformance import exercise
    from schema_walk import undocumented

    client = api_app.test_client()
    _, key = api_key_factory()
    spec = _spec(client)
    recorded = exercise(client, key)
    ops = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert ops == set(recorded), f"not exercised: {ops - set(recorded)}; not documented: {set(recorded) - ops}"
    failures = []
    for (method, path), rows in sorted(recorded.items()):
        op = spec["paths"][path][method]
        assert any(200 <= s < 300 for s, _, _ in rows), (method, path, rows)
        for status, media, body in rows:
            resp = op["responses"].get(str(status), op["responses"]["default"])
            content = resp.get("content", {})
            assert media in content, f"{method} {path} {status}: {media} not documented ({list(content)})"
            schema = content[media]["schema"]
            if path == "/v1/openapi.json" or not isinstance(body, (dict, list)):
                continue
            errors = [e.message for e in _validator(spec, schema, jsonschema_rs).iter_errors(body)]
            extra = undocumented(spec, schema, body)
            if errors or extra:
                failures.append(f"{method.upper()} {path} {status}: errors {errors[:3]}, undocumented {sorted(extra)}")
    assert not failures, "\n".join(failures)
    statuses = {(m, p): [s for s, _, _ in rows] for (m, p), rows in recorded.items()}
    assert 409 in statuses[("post", "/v1/book/risk")] and 404 in statuses[("post", "/v1/loans")], statuses


def test_range_errors_say_the_unit(api_client, api_key_factory):
    """The API's problem+json and the CLI's one-line message read the unit from the field's metadata."""
    from pydantic import ValidationError

    from api_helpers import auth, pledge, problem
    from ipledge.valuation.errors import one_line

    _, key = api_key_factory()
    p = problem(api_client.post("/v1/valuations", json=pledge(1000, product__profit_margin=35), headers=auth(key)),
                422)
    err = p["errors"][0]
    assert err == {"field": "product.profit_margin", "type": "less_than_equal",
                   "message": "must be a fraction between 0 and 1; 0.35 means 35% (got 35)"}, err
    try:
        PledgeRequest.model_validate(pledge(1000, loan__amount=0))
    except ValidationError as e:
        assert one_line(e) == "loan.amount: must be an amount in CNY between 0.01 and 1,000,000,000,000 (got 0)"
    else:
        raise AssertionError("loan.amount 0 validated")


def test_cross_field_rules_in_the_document_match_the_validators(api_client):
    """The if/then rules of Patent, Product and Sharing (valuation/schema.py) refuse what the validators
    refuse, and every bundled case is valid under the document."""
    from pathlib import Path

    import jsonschema_rs
    from pydantic import ValidationError

    from ipledge.api.examples import example_request
    from ipledge.valuation.cases import load_case

    spec = _spec(api_client)
    v = _validator(spec, {"$ref": "#/components/schemas/PledgeRequest"}, jsonschema_rs)
    cases = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "cases").glob("*.yaml"))
    assert len(cases) >= 10
    for f in cases:
        errors = [e.message for e in v.iter_errors(load_case(f).model_dump(mode="json"))]
        assert not errors, (f.name, errors[:3])
    for change, what in [(lambda b: b["patents"][0].pop("grant_date"), "granted without grant_date"),
                         (lambda b: b["sharing"].update(caps={"per_loan": 1e6}), "caps without scheme custom"),
                         (lambda b: b["sharing"].update(scheme="custom"), "scheme custom without shares"),
                         (lambda b: b["product"].update(stage="approved"), "approved without launch_year"),
                         (lambda b: b["patents"][0].update(kind="utility_model", term_extension_years=1),
                          "term extension of a utility model"),
                         (lambda b: b["product"].update(development_cost={"phase1": 1e6}), "cost of a completed phase"),
                         (lambda b: b["patents"][0].update(jurisdictions=["CN", "CN"]), "repeated jurisdiction")]:
        body = example_request()
        change(body)
        with pytest.raises(ValidationError):
            PledgeRequest.model_validate(body)
        assert not v.is_valid(body), f"the document accepts {what}"
