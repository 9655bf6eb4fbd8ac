"""Walk a JSON document against an OpenAPI 3.1 / JSON Schema 2020-12 schema and list the fields the
schema does not describe (used by the conformance test in tests/test_api_openapi.py)."""
from __future__ import annotations


def _resolve(spec: dict, schema: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _arms(spec: dict, schema: dict) -> list[dict]:
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [a for arm in schema[key] for a in _arms(spec, arm)]
    return [schema]


def undocumented(spec: dict, schema: dict, doc, path: str = "") -> set[str]:
    """Dotted paths (``[]`` for list items) of the keys of ``doc`` no schema property describes.

    A key counts as described when an object schema lists it in ``properties`` or declares
    ``additionalProperties`` (a schema, or ``true``: an open map whose keys are data, such as a scenario's
    parameter paths; its property description says what the keys are). A bare ``{"type": "object"}``
    describes no key."""
    out: set[str] = set()
    arms = _arms(spec, schema)
    if any(not set(a) & {"type", "properties", "items", "additionalProperties", "enum", "const"} for a in arms):
        return out   # an explicit any-value schema ({}): e.g. a scenario's shock, a replay's differing value
    if isinstance(doc, dict):
        objs = [a for a in arms if a.get("type") == "object" or "properties" in a or "additionalProperties" in a]
        for k, v in doc.items():
            sub = [a["properties"][k] for a in objs if k in a.get("properties", {})]
            if not sub:
                sub = [a["additionalProperties"] if isinstance(a["additionalProperties"], dict) else {}
                       for a in objs if a.get("additionalProperties") not in (None, False)]
            if not sub:
                out.add(f"{path}.{k}" if path else k)
                continue
            best = min((undocumented(spec, s, v, f"{path}.{k}" if path else k) for s in sub), key=len)
            out |= best
    elif isinstance(doc, list):
        items = [a["items"] for a in arms if isinstance(a.get("items"), dict)]
        for v in doc:
            if items:
                out |= min((undocumented(spec, s, v, f"{path}[]") for s in items), key=len)
    return out
