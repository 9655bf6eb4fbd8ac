"""GET /v1/scenarios, POST /v1/assessments/{id}/stress, portfolio stress jobs (issue 6)."""
from __future__ import annotations

import time

import pytest

from ipledge.api.examples import example_request
from api_helpers import auth, problem
from risk_helpers import case

PATHS = 1000




@pytest.fixture
def stored(api_client, api_key_factory):
    tenant, key = api_key_factory()
    r = api_client.post("/v1/assessments", json=example_request(paths=PATHS), headers=auth(key))
    assert r.status_code == 201, r.get_data(as_text=True)
    return key, r.get_json()


def test_list_scenarios(api_client, api_key_factory):
    _, key = api_key_factory()
    r = api_client.get("/v1/scenarios", headers=auth(key))
    assert r.status_code == 200, r.get_data(as_text=True)
    names = {s["name"] for s in r.get_json()}
    assert {"vbp_price_cut", "funding_winter", "adverse", "severely_adverse"} <= names, names
    assert all(s["sources"] and s["set"] for s in r.get_json())
    assert api_client.get("/v1/scenarios").status_code == 401


def test_stress_stored_assessment(api_client, stored):
    key, doc = stored
    r = api_client.post(f"/v1/assessments/{doc['id']}/stress", json={"scenarios": ["vbp_price_cut",
                                                                                 "liquidation_stress"]},
                        headers=auth(key))
    assert r.status_code == 200, r.get_data(as_text=True)
    rows = r.get_json()
    assert [x["scenario"] for x in rows] == ["base", "vbp_price_cut", "liquidation_stress"]
    for x in rows:
        assert {"scenario", "appraised_value", "pd", "expected_loss_rate", "ltv", "decision"} <= set(x)
    # the base row is the stored assessment re-run with the same seed and paths
    assert rows[0]["appraised_value"] == pytest.approx(doc["valuation"]["appraised_value"], rel=1e-12), \
        (rows[0]["appraised_value"], doc["valuation"]["appraised_value"])
    assert rows[2]["appraised_value"] == rows[0]["appraised_value"]
    r = api_client.post(f"/v1/assessments/{doc['id']}/stress", json={"all": True}, headers=auth(key))
    assert r.status_code == 200 and len(r.get_json()) == 11, r.get_data(as_text=True)


def test_stress_other_tenant_404_and_bad_bodies_422(api_client, api_key_factory, stored):
    key, doc = stored
    _, other = api_key_factory()
    problem(api_client.post(f"/v1/assessments/{doc['id']}/stress", json={"all": True}, headers=auth(other)), 404)
    problem(api_client.post("/v1/assessments/NOPE/stress", json={"all": True}, headers=auth(key)), 404)
    p = problem(api_client.post(f"/v1/assessments/{doc['id']}/stress", json={"scenarios": ["nope"]},
                                headers=auth(key)), 422)
    assert p["errors"][0]["field"] == "scenarios[0]" and "unknown scenario" in p["errors"][0]["message"], p
    problem(api_client.post(f"/v1/assessments/{doc['id']}/stress", json={}, headers=auth(key)), 422)
    problem(api_client.post(f"/v1/assessments/{doc['id']}/stress", json={"all": True, "x": 1},
                            headers=auth(key)), 422)


def _book(n=3, paths=1000) -> dict:
    pledges = [case("medical_consumable_utility").model_dump(mode="json"),
               case("oncology_antibody_phase2").model_dump(mode="json"),
               case("anaesthetic_injectable").model_dump(mode="json")][:n]
    return {"pledges": pledges, "simulation": {"paths": paths, "seed": 5, "chunk_paths": 500}}


def test_portfolio_job_lifecycle(api_client, api_key_factory):
    _, key = api_key_factory()
    _, other = api_key_factory()
    r = api_client.post("/v1/portfolio/stress", json=_book(), headers=auth(key))
    assert r.status_code == 202, r.get_data(as_text=True)
    job = r.get_json()
    assert job["status"] in ("queued", "running") and r.headers["Location"].endswith(job["job_id"])
    deadline = time.time() + 60
    while True:
        g = api_client.get(f"/v1/portfolio/stress/{job['job_id']}", headers=auth(key))
        assert g.status_code == 200, g.get_data(as_text=True)
        state = g.get_json()
        if state["status"] in ("done", "failed") or time.time() > deadline:
            break
        time.sleep(0.1)
    assert state["status"] == "done", state
    res = state["result"]
    assert res["n_loans"] == 3 and res["paths"] == 1000
    assert res["es_99"] >= res["var_99"] >= res["expected_loss"] >= 0, res
    problem(api_client.get(f"/v1/portfolio/stress/{job['job_id']}", headers=auth(other)), 404)


def test_portfolio_job_validation(api_client, api_key_factory, api_app):
    _, key = api_key_factory()
    p = problem(api_client.post("/v1/portfolio/stress", json={"pledges": []}, headers=auth(key)), 422)
    assert p["errors"], p
    bad = _book()
    bad["pledges"][0]["loan"]["amount"] = -1
    p = problem(api_client.post("/v1/portfolio/stress", json=bad, headers=auth(key)), 422)
    assert "pledges[0]" in p["errors"][0]["message"], p
    api_app.config["IPLEDGE_MAX_PORTFOLIO_CELLS"] = 2000
    p = problem(api_client.post("/v1/portfolio/stress", json=_book(), headers=auth(key)), 422)
    assert p["errors"][0]["field"] == "simulation.paths", p
