"""A lender's live book (issue 17): a loan walked from drawdown to recovery on SQLite and PostgreSQL,
every step audited and tenant-isolated; event validation; idempotency; append-only tables."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from api_helpers import auth, problem
from loan_helpers import assess, book, case_request, event, loan_counts

DRIVER_TOL = 1e-6   # the drivers' changes add up to the total change (float sums of a few terms)


def _check_drivers(val: dict) -> None:
    for k in ("collateral_value", "pd", "expected_loss"):
        total = val["change"][k]
        parts = sum(d[k] for d in val["drivers"])
        assert abs(parts - total) <= DRIVER_TOL * max(1.0, abs(total)), (k, val["drivers"], "expected", total)


def test_loan_walk_drawdown_to_recovery(api_app, api_client, api_key_factory):
    """drawdown -> phase failure -> alert -> acknowledgement -> default -> recovery."""
    _, key = api_key_factory()
    _, other = api_key_factory()
    a = assess(api_client, key, case_request("biologic_phase3_coowned"))
    # booked inside the 30% default LTV cap (CNY 100m on a value of about 400m), so the LTV alert is news
    # on the failure and not already raised at booking
    loan = book(api_client, key, a["id"], 1.0e8, reference="IPL-1")
    lid, v0 = loan["id"], loan["latest_valuation"]
    assert v0["reason"] == "booking" and v0["seq"] == 0 and v0["balance"] == 1.0e8
    assert v0["collateral_value"] > 0 and v0["ltv"] == pytest.approx(1.0e8 / v0["collateral_value"], rel=1e-12)
    assert v0["ltv"] <= 0.30 and "ltv_above" not in {al["trigger"] for al in loan.get("alerts", [])}, v0
    assert loan["monitoring"]["sources"]["value_drop"] == "assumption"

    # phase failure: the collateral is worth nothing, the borrower's odds fall, a knock-out appears
    out = event(api_client, key, lid, {"type": "phase_result", "date": "2026-11-20", "stage": "phase3",
                                       "outcome": "failed"})
    v1 = out["valuation"]
    assert v1["collateral_value"] == 0 and v1["ltv"] is None and v1["pd"] > v0["pd"], (v0, v1)
    assert "no_revenue_path" in v1["knockouts"]
    _check_drivers(v1)
    assert [d["driver"] for d in v1["drivers"]] == ["time", "phase_result"]
    triggers = {al["trigger"]: al for al in out["alerts"]}
    assert {"ltv_above", "value_down", "knockout"} <= set(triggers), triggers
    assert triggers["value_down"]["numbers"]["previous"] == v0["collateral_value"]
    assert triggers["ltv_above"]["action"] == "top_up_collateral"
    assert triggers["knockout"]["action"] == "call_loan"

    r = api_client.get("/v1/alerts?status=open", headers=auth(key))
    listed = r.get_json()["items"]
    assert {x["id"] for x in listed} == {al["id"] for al in out["alerts"]}
    assert all(x["loan_id"] == lid and x["status"] == "open" for x in listed)

    # tenant isolation: the other tenant sees the same 404 as for a missing id
    missing = "01" + "0" * 24
    for method, path, body in [("get", f"/v1/loans/{lid}", None), ("post", f"/v1/loans/{lid}/events",
                                                                   {"type": "default", "date": "2026-11-21"}),
                               ("post", f"/v1/loans/{lid}/revaluations", {"as_of": "2026-11-21"}),
                               ("get", f"/v1/loans/{lid}/valuations/{v1['id']}", None),
                               ("post", f"/v1/alerts/{listed[0]['id']}/ack", {})]:
        theirs = getattr(api_client, method)(path, json=body, headers=auth(other))
        mine = getattr(api_client, method)(path.replace(lid, missing).replace(listed[0]["id"], missing),
                                           json=body, headers=auth(other))
        d1, d2 = problem(theirs, 404), problem(mine, 404)
        assert (d1["type"], d1["title"]) == (d2["type"], d2["title"]), (path, d1, d2)
    assert api_client.get("/v1/alerts", headers=auth(other)).get_json()["items"] == []
    assert api_client.get("/v1/loans", headers=auth(other)).get_json()["items"] == []
    assert api_client.get(f"/v1/assessments/{a['id']}/replay", headers=auth(other)).status_code == 404

    # acknowledgement: once, audited once
    first = triggers["knockout"]["id"]
    r = api_client.post(f"/v1/alerts/{first}/ack", json={"note": "loan called"}, headers=auth(key))
    assert r.status_code == 200 and r.get_json()["status"] == "acknowledged" and r.get_json()["note"] == "loan called"
    again = api_client.post(f"/v1/alerts/{first}/ack", headers=auth(key))
    assert again.status_code == 200 and again.get_json()["acknowledged_at"] == r.get_json()["acknowledged_at"]
    still_open = {x["id"] for x in api_client.get("/v1/alerts?status=open", headers=auth(key)).get_json()["items"]}
    assert first not in still_open and len(still_open) == len(out["alerts"]) - 1

    # default, then a recovery through the guarantee
    d_out = event(api_client, key, lid, {"type": "default", "date": "2026-11-25"})
    d = d_out["valuation"]
    assert d["status"] == "defaulted" and d["pd"] == 1.0
    assert d["expected_loss"] == pytest.approx(1.0e8, rel=1e-12)      # collateral worth 0: the whole balance
    # PD 1 on default: a rise of more than 10 points when the failure left it lower (it was 0.77 at 100m)
    assert {al["trigger"] for al in d_out["alerts"]} <= {"pd_up"}, d_out["alerts"]
    rec_out = event(api_client, key, lid, {"type": "recovery", "date": "2026-11-28", "amount": 5.0e7,
                                           "channel": "guarantee"})
    rec = rec_out["valuation"]
    assert rec["balance"] == 5.0e7 and rec["expected_loss"] == pytest.approx(5.0e7, rel=1e-12)
    _check_drivers(rec)

    detail = api_client.get(f"/v1/loans/{lid}", headers=auth(key)).get_json()
    assert [e["type"] for e in detail["events"]] == ["phase_result", "default", "recovery"]
    assert [v["seq"] for v in detail["valuations"]] == [0, 1, 2, 3] and detail["status"] == "defaulted"
    doc = api_client.get(f"/v1/loans/{lid}/valuations/{rec['id']}", headers=auth(key)).get_json()
    assert doc["as_of"] == "2026-11-28" and doc["seed"] == a["seed"] and doc["id"] == rec["id"]
    from ipledge.api.responses import AssessmentResponse

    AssessmentResponse.model_validate(doc)

    # every step audited, under the tenant's key
    from ipledge.api.store_loans import LoanStore

    trail = LoanStore(api_app.extensions["ipledge_store"]).loan_audit(lid)
    actions = [t["action"] for t in trail]
    assert actions.count("loan.create") == 1 and actions.count("loan.event") == 3
    assert actions.count("loan.revalue") == 4 and actions.count("alert.ack") == 1
    raised = len(loan.get("alerts", [])) + len(out["alerts"]) + len(d_out["alerts"]) + len(rec_out["alerts"])
    assert actions.count("alert.raise") == raised
    assert {t["key_id"] for t in trail} == {key.split("_")[1]}
    assert len({t["tenant_id"] for t in trail}) == 1


def test_loan_tables_are_append_only(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    a = assess(api_client, key, case_request("anaesthetic_injectable"))
    lid = book(api_client, key, a["id"], 1.0e7)["id"]
    event(api_client, key, lid, {"type": "repayment", "date": "2026-11-10", "amount": 1.0e6})
    eng = api_app.extensions["ipledge_store"].engine
    for sql in ("UPDATE loans SET amount = 1", "DELETE FROM loan_events", "UPDATE loan_valuations SET pd = 0",
                "DELETE FROM loans"):
        with pytest.raises(sa.exc.DBAPIError):
            with eng.begin() as c:
                c.execute(sa.text(sql))


BAD_EVENTS = [
    ("unknown type", {"type": "rumour", "date": "2026-11-10"}, "type"),
    ("no type", {"date": "2026-11-10"}, "type"),
    ("no date", {"type": "default"}, "date"),
    ("bad date", {"type": "default", "date": "10/11/2026"}, "date"),
    ("future date", {"type": "default", "date": "2999-01-01"}, "date"),
    ("before drawdown", {"type": "default", "date": "2026-11-01"}, "date"),
    ("extra field", {"type": "default", "date": "2026-11-10", "why": "x"}, "why"),
    ("stage not a stage", {"type": "phase_result", "date": "2026-11-10", "stage": "phase9", "outcome": "reached"},
     "stage"),
    ("stage not later", {"type": "phase_result", "date": "2026-11-10", "stage": "phase1", "outcome": "reached"},
     "stage"),
    ("failed another stage", {"type": "phase_result", "date": "2026-11-10", "stage": "phase2", "outcome": "failed"},
     "stage"),
    ("vbp before launch", {"type": "vbp_selected", "date": "2026-11-10", "cut": 0.5}, "type"),
    ("cut above 1", {"type": "vbp_selected", "date": "2026-11-10", "cut": 1.5}, "cut"),
    ("cut a string", {"type": "vbp_selected", "date": "2026-11-10", "cut": "0.5"}, "cut"),
    ("unknown patent", {"type": "fee_payment_missed", "date": "2026-11-10", "patent_id": "CN0"}, "patent_id"),
    ("bad outcome", {"type": "invalidation_decided", "date": "2026-11-10", "patent_id": "CN0", "outcome": "won"},
     "outcome"),
    ("repay too much", {"type": "repayment", "date": "2026-11-10", "amount": 1.0e12}, "amount"),
    ("negative repayment", {"type": "repayment", "date": "2026-11-10", "amount": -5}, "amount"),
    ("recovery before default", {"type": "recovery", "date": "2026-11-10", "amount": 5, "channel": "guarantee"},
     "type"),
    ("bad channel", {"type": "recovery", "date": "2026-11-10", "amount": 5, "channel": "luck"}, "channel"),
    ("launch year far", {"type": "approval", "date": "2026-11-10", "launch_year": 2030}, "launch_year"),
    ("not an object", ["default"], "(body)"),
]


@pytest.fixture
def sqlite_loan(tmp_path):
    from ipledge.api import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}", "IPLEDGE_RATE_LIMIT": "100000 per minute",
                      "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True})
    client = app.test_client()
    _, key = app.extensions["ipledge_store"].create_key("bank-v")
    a = assess(client, key, case_request("biologic_phase3_coowned"))
    lid = book(client, key, a["id"], 1.0e8)["id"]
    yield app, client, key, lid
    app.extensions["ipledge_store"].dispose()


@pytest.mark.parametrize("name, body, field", BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_bad_event_is_422_naming_the_field_and_stores_nothing(sqlite_loan, name, body, field):
    app, client, key, lid = sqlite_loan
    before = loan_counts(app)
    r = client.post(f"/v1/loans/{lid}/events", json=body, headers=auth(key, **{"Idempotency-Key": name.replace(" ", "-")}))
    doc = problem(r, 422)
    assert field in [e["field"] for e in doc["errors"]], (body, doc)
    assert loan_counts(app) == before


def test_event_idempotency(sqlite_loan):
    app, client, key, lid = sqlite_loan
    body = {"type": "repayment", "date": "2026-11-10", "amount": 1.0e6}
    first = client.post(f"/v1/loans/{lid}/events", json=body, headers=auth(key, **{"Idempotency-Key": "k1"}))
    assert first.status_code == 201
    after = loan_counts(app)
    again = client.post(f"/v1/loans/{lid}/events", json=body, headers=auth(key, **{"Idempotency-Key": "k1"}))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data() and loan_counts(app) == after
    other = client.post(f"/v1/loans/{lid}/events", json={**body, "amount": 2.0e6},
                        headers=auth(key, **{"Idempotency-Key": "k1"}))
    problem(other, 422)
    assert loan_counts(app) == after


def test_booking_validation_and_paging(sqlite_loan):
    app, client, key, lid = sqlite_loan
    _, stranger = app.extensions["ipledge_store"].create_key("bank-w")
    foreign = assess(client, stranger, case_request("anaesthetic_injectable"))
    base = client.get("/v1/assessments", headers=auth(key)).get_json()["items"][-1]["id"]
    stressed = assess(client, key, {**case_request("anaesthetic_injectable"), "scenario": "adverse"})
    before = loan_counts(app)
    # another tenant's assessment is a missing one: 404, as GET /v1/assessments/{id} (issue 16: was 422)
    doc = problem(client.post("/v1/loans", json={"assessment_id": foreign["id"], "amount": 1e6,
                                                 "drawdown_date": "2026-11-05"}, headers=auth(key)), 404)
    assert foreign["id"] in doc["detail"], doc
    for body, field in [({"assessment_id": stressed["id"], "amount": 1e6, "drawdown_date": "2026-11-05"},
                         "assessment_id"),
                        ({"assessment_id": base, "amount": 1e6, "drawdown_date": "2026-10-31"}, "drawdown_date"),
                        ({"assessment_id": base, "amount": 1e6, "drawdown_date": "2999-01-01"}, "drawdown_date"),
                        ({"assessment_id": "x", "amount": 0, "drawdown_date": "2026-11-05"}, "amount"),
                        ({"assessment_id": "x", "amount": 1e6, "drawdown_date": "2026-13-01"}, "drawdown_date"),
                        ({"assessment_id": "x", "amount": 1e6, "drawdown_date": "2026-11-05",
                          "monitoring": {"value_drop": 2}}, "monitoring.value_drop")]:
        doc = problem(client.post("/v1/loans", json=body, headers=auth(key)), 422)
        assert field in [e["field"] for e in doc["errors"]], (body, doc)
    assert loan_counts(app) == before
    ids = [lid] + [book(client, key, base, 1e6 * (i + 1))["id"] for i in range(2)]
    page1 = client.get("/v1/loans?limit=2", headers=auth(key)).get_json()
    page2 = client.get(f"/v1/loans?limit=2&cursor={page1['next_cursor']}", headers=auth(key)).get_json()
    assert [x["id"] for x in page1["items"] + page2["items"]] == sorted(ids, reverse=True)
    assert page2["next_cursor"] is None
    problem(client.get("/v1/loans?limit=0", headers=auth(key)), 422)
    problem(client.get("/v1/alerts?status=closed", headers=auth(key)), 422)


def test_on_demand_revaluation_is_reproducible(sqlite_loan):
    """Same facts, same date, same seed: the same numbers, a zero change and no alert."""
    app, client, key, lid = sqlite_loan
    r1 = client.post(f"/v1/loans/{lid}/revaluations", json={"as_of": "2026-11-30"}, headers=auth(key))
    r2 = client.post(f"/v1/loans/{lid}/revaluations", json={"as_of": "2026-11-30"}, headers=auth(key))
    assert r1.status_code == r2.status_code == 201, r1.get_data(as_text=True)
    v1, v2 = r1.get_json()["valuation"], r2.get_json()["valuation"]
    for k in ("collateral_value", "pd", "expected_loss", "ltv"):
        assert v1[k] == v2[k], k
        assert v2["change"][k] == 0
    assert r2.get_json()["alerts"] == []
    problem(client.post(f"/v1/loans/{lid}/revaluations", json={"as_of": "2026-11-06"}, headers=auth(key)), 422)
    assert client.post(f"/v1/loans/{lid}/revaluations", headers=auth(key)).status_code == 201  # today, no body


def test_revalue_cli(sqlite_loan):
    import json

    from click.testing import CliRunner

    from ipledge.cli.main import main
    from ipledge.api.store_loans import LoanStore

    app, client, key, lid = sqlite_loan
    url = app.config["DATABASE_URL"]
    r = CliRunner().invoke(main, ["revalue", lid, "--as-of", "2026-11-30", "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    v = json.loads(r.stdout)["valuation"]
    assert v["reason"] == "on_demand" and v["as_of"] == "2026-11-30" and v["drivers"][0]["driver"] == "time"
    trail = LoanStore(app.extensions["ipledge_store"]).loan_audit(lid)
    assert trail[-1]["action"] == "loan.revalue" and trail[-1]["key_id"] == "cli"
    for args, text in [([lid, "--as-of", "2026-11-06"], "as_of: must not be before"), (["nope"], "no loan")]:
        r = CliRunner().invoke(main, ["revalue", *args, "--database-url", url])
        assert r.exit_code == 2 and text in r.output, r.output


def test_concurrent_events_on_one_loan(sqlite_loan):
    """Appends race on the loan's sequence: each answers 201, 409 (retry) or 429 (the tenant's in-flight cap
    on heavy requests, issue 15), never 5xx; no gap, no twin."""
    from concurrent.futures import ThreadPoolExecutor

    app, _, key, lid = sqlite_loan

    def post(i):
        with app.test_client() as c:
            return c.post(f"/v1/loans/{lid}/events", json={"type": "repayment", "date": "2026-11-10",
                                                           "amount": 1.0e5 * (i + 1)}, headers=auth(key)).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(post, range(4)))
    assert set(codes) <= {201, 409, 429} and 201 in codes, codes
    detail = app.test_client().get(f"/v1/loans/{lid}", headers=auth(key)).get_json()
    assert [e["seq"] for e in detail["events"]] == list(range(codes.count(201)))
    assert [v["seq"] for v in detail["valuations"]] == list(range(codes.count(201) + 1))


def test_openapi_documents_every_new_route(api_client):
    from ipledge.api.responses import AlertOut, LoanOut, LoanValuation

    spec = api_client.get("/v1/openapi.json").get_json()
    for path, method, status in [("/v1/loans", "post", "201"), ("/v1/loans", "get", "200"),
                                 ("/v1/loans/{id}", "get", "200"), ("/v1/loans/{id}/events", "post", "201"),
                                 ("/v1/loans/{id}/revaluations", "post", "201"),
                                 ("/v1/loans/{id}/valuations/{valuation_id}", "get", "200"),
                                 ("/v1/alerts", "get", "200"), ("/v1/alerts/{id}/ack", "post", "200"),
                                 ("/v1/book/risk", "post", "202"), ("/v1/book/risk/{job_id}", "get", "200"),
                                 ("/v1/assessments/{id}/replay", "get", "200")]:
        op = spec["paths"][path][method]
        assert status in op["responses"] and op["security"] == [{"bearerAuth": []}], (path, method)
    assert "Loan-Input" not in spec["components"]["schemas"], "a new model must not rename the request's Loan"
    events = spec["components"]["schemas"]["EventBody"]
    assert {r["$ref"].rsplit("/", 1)[1] for r in events["oneOf"]} >= {"PhaseResult", "Recovery", "VbpSelected"}
    for model in (LoanOut, LoanValuation, AlertOut):
        assert set(model.model_fields) <= set(spec["components"]["schemas"][model.__name__]["properties"])


def test_a_revaluation_is_priced_like_an_assessment(sqlite_loan):
    """Each event re-runs two assessments: it is charged to the tenant's work budget (issue 15) as
    2 x paths, so under a budget of 1,500 path-runs (where one 1,000-path assessment fits) an event of
    this 1,000-path loan is refused with 429 and nothing is stored."""
    app, client, key, lid = sqlite_loan
    app.config["IPLEDGE_WORK_LIMIT"] = "1500 per minute"
    before = loan_counts(app)
    r = client.post(f"/v1/loans/{lid}/events", json={"type": "repayment", "date": "2026-11-10", "amount": 1.0e5},
                    headers=auth(key))
    assert r.status_code == 429, r.get_data(as_text=True)
    assert loan_counts(app) == before
    app.config["IPLEDGE_WORK_LIMIT"] = "60000000 per minute"
    event(client, key, lid, {"type": "repayment", "date": "2026-11-10", "amount": 1.0e5})
