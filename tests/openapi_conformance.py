"""Real requests to every operation of /v1/openapi.json, for the conformance test (tests/test_api_openapi.py).

``exercise(client, key)`` answers {(method, path template): [(status, media type, body), ...]}: one real
response per operation (a few operations more than one), from engine runs at ``PATHS`` paths.
"""
from __future__ import annotations

import time

from api_helpers import auth, pledge

PATHS = 1000


def _wait_job(client, url: str, key: str, timeout: float = 120):
    t0 = time.monotonic()
    while True:
        r = client.get(url, headers=auth(key))
        if r.get_json()["status"] in ("done", "failed") or time.monotonic() - t0 > timeout:
            return r
        time.sleep(0.2)


def exercise(client, key: str) -> dict:
    from loan_helpers import case_request

    out: dict = {}

    def rec(method, template, resp):
        body = resp.get_json(silent=True) if resp.mimetype.endswith("json") else resp.get_data(as_text=True)
        out.setdefault((method, template), []).append((resp.status_code, resp.mimetype, body))
        return resp

    h = auth(key)
    rec("get", "/v1/health", client.get("/v1/health"))
    rec("get", "/v1/health/ready", client.get("/v1/health/ready"))
    rec("get", "/v1/openapi.json", client.get("/v1/openapi.json"))
    rec("get", "/v1/docs", client.get("/v1/docs"))
    rec("get", "/v1/model", client.get("/v1/model", headers=h))
    rec("get", "/v1/model", client.get("/v1/model?region=china", headers=h))
    rec("get", "/v1/scenarios", client.get("/v1/scenarios", headers=h))
    rec("post", "/v1/valuations", client.post("/v1/valuations", json=pledge(PATHS), headers=h))
    # an approval (booked below) and a decline; the approval case carries sharing and evidence
    approve = case_request("oncology_biologic_phase3_cashrich", PATHS, amount=2.0e7)
    a = rec("post", "/v1/assessments", client.post("/v1/assessments", json=approve, headers=h)).get_json()
    rec("post", "/v1/assessments", client.post("/v1/assessments", json=pledge(PATHS), headers=h))
    rec("get", "/v1/assessments/{id}", client.get(f"/v1/assessments/{a['id']}", headers=h))
    rec("get", "/v1/assessments", client.get("/v1/assessments?limit=1", headers=h))
    rec("get", "/v1/assessments/{id}/replay", client.get(f"/v1/assessments/{a['id']}/replay", headers=h))
    rec("post", "/v1/assessments/{id}/stress", client.post(f"/v1/assessments/{a['id']}/stress",
                                                          json={"scenarios": ["vbp_price_cut"]}, headers=h))
    rec("post", "/v1/readiness", client.post("/v1/readiness", json=pledge(PATHS), headers=h))
    blocked = case_request("existing_pledge_generic", PATHS)   # knock-outs: blockers and their fixes
    rec("post", "/v1/readiness", client.post("/v1/readiness?ltv_basis=scenarios", json=blocked, headers=h))
    r = rec("post", "/v1/portfolio/stress", client.post("/v1/portfolio/stress", json={
        "pledges": [approve, pledge(PATHS)], "simulation": {"paths": PATHS, "seed": 5, "chunk_paths": 500}},
        headers=h))
    rec("get", "/v1/portfolio/stress/{job_id}", _wait_job(client, r.headers["Location"], key))
    # no open loans yet: the book's risk is a 409; a loan from an unknown assessment a 404
    rec("post", "/v1/book/risk", client.post("/v1/book/risk", json={}, headers=h))
    rec("post", "/v1/loans", client.post("/v1/loans", json={"assessment_id": "01JABCDEFGHJKMNPQRSTVWXYZ0",
                                                            "amount": 1.0e6, "drawdown_date": approve["as_of"]},
                                         headers=h))
    # loans: book, an event that raises alerts, an on-demand revaluation, reads
    loan = rec("post", "/v1/loans", client.post("/v1/loans", json={
        "assessment_id": a["id"], "amount": 2.0e7, "drawdown_date": approve["as_of"], "reference": "T-1"},
        headers=h)).get_json()
    rec("get", "/v1/loans", client.get("/v1/loans", headers=h))
    ev = rec("post", "/v1/loans/{id}/events", client.post(f"/v1/loans/{loan['id']}/events", json={
        "type": "phase_result", "date": approve["as_of"], "stage": "phase3", "outcome": "failed"}, headers=h)).get_json()
    rec("post", "/v1/loans/{id}/revaluations", client.post(f"/v1/loans/{loan['id']}/revaluations", json={
        "as_of": approve["as_of"]}, headers=h))
    rec("get", "/v1/loans/{id}", client.get(f"/v1/loans/{loan['id']}", headers=h))
    vid = ev["valuation"]["id"]
    rec("get", "/v1/loans/{id}/valuations/{valuation_id}",
        client.get(f"/v1/loans/{loan['id']}/valuations/{vid}", headers=h))
    rec("get", "/v1/alerts", client.get("/v1/alerts", headers=h))
    alerts = client.get("/v1/alerts", headers=h).get_json()["items"]
    if alerts:
        rec("post", "/v1/alerts/{id}/ack", client.post(f"/v1/alerts/{alerts[0]['id']}/ack",
                                                      json={"note": "guarantee requested"}, headers=h))
    r = rec("post", "/v1/book/risk", client.post("/v1/book/risk", json={
        "simulation": {"paths": PATHS, "seed": 7}}, headers=h))
    rec("get", "/v1/book/risk/{job_id}", _wait_job(client, r.headers["Location"], key))
    # problem+json answers
    rec("post", "/v1/assessments", client.post("/v1/assessments", json=pledge(PATHS, product__profit_margin=35),
                                              headers=h))
    rec("get", "/v1/assessments/{id}", client.get("/v1/assessments/nope", headers=h))
    return out


def trimmed(doc, keep: int = 3, longer_than: int = 40):
    """``doc`` with every list longer than ``longer_than`` cut to its first ``keep`` items (the model's
    400-row tables, a histogram's edges): still a real response, and still valid (no schema sets a
    minimum above ``keep`` on such a list; the test re-validates every example)."""
    if isinstance(doc, dict):
        return {k: trimmed(v, keep, longer_than) for k, v in doc.items()}
    if isinstance(doc, list):
        items = doc[:keep] if len(doc) > longer_than else doc
        return [trimmed(v, keep, longer_than) for v in items]
    return doc


def examples_from(recorded: dict) -> dict:
    """{"<method> <path>": {"<status>": body}}: the first JSON 2xx body of each operation, trimmed."""
    out: dict = {}
    for (method, template), rows in sorted(recorded.items()):
        if template == "/v1/openapi.json":
            continue
        for status, media, body in rows:
            if 200 <= status < 300 and media == "application/json":
                out.setdefault(f"{method} {template}", {}).setdefault(str(status), trimmed(body))
    return out


def main() -> None:
    """Write api/openapi_examples.json from real runs on a throw-away SQLite database."""
    import json
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from ipledge.api import create_app
    from ipledge.api.openapi import EXAMPLES_FILE

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/examples.db", "IPLEDGE_RATE_LIMIT": "100000 per minute",
                          "RATELIMIT_STORAGE_URI": "memory://"})
        key = app.extensions["ipledge_store"].create_key("examples")[1]
        examples = examples_from(exercise(app.test_client(), key))
        app.extensions["ipledge_store"].dispose()
    EXAMPLES_FILE.write_text(json.dumps(examples, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{EXAMPLES_FILE}: {len(examples)} operations, {EXAMPLES_FILE.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
