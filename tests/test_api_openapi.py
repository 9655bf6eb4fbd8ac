"""/v1/openapi.json is generated from the pydantic models; the docs page works offline."""
from __future__ import annotations

import re

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
