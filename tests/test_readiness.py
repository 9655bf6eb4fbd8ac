"""Financing readiness (issue 7): ipledge.risk.readiness, POST /v1/readiness, the page endpoints, the report CLI.

Engine runs use the fixed test posterior and 1,000 paths.
"""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from ipledge.risk.assess import assess
from ipledge.risk.readiness import readiness
from risk_helpers import case, fixed_posterior
from ipledge.scenarios.loader import builtin_names
from ipledge.valuation.schema import PledgeRequest
from ipledge.valuation.scorecard import score_request

PATHS = 1000
POST = fixed_posterior()


def small(name: str, **updates) -> PledgeRequest:
    return case(name, simulation={"paths": PATHS, "seed": 11}, **updates)


@pytest.fixture(scope="module")
def pledged():
    req = small("existing_pledge_generic")
    return req, readiness(req, POST)


@pytest.fixture(scope="module")
def tcm():
    req = small("tcm_formulation")
    return req, readiness(req, POST)


# --- independent re-computation of a gain ------------------------------------------------------
def set_path(data: dict, path: str, value) -> None:
    """Set 'patents[1].fees_paid' or 'sharing.shares' in a request dict (written for the test)."""
    tokens = re.findall(r"[^.\[\]]+", path)
    node = data
    for t in tokens[:-1]:
        node = node[int(t)] if t.isdigit() else node[t]
    last = tokens[-1]
    node[int(last) if last.isdigit() else last] = value


def apply_changes(req: PledgeRequest, changes: dict) -> PledgeRequest:
    data = req.model_dump(mode="json")
    for path, value in changes.items():
        set_path(data, path, value)
    return PledgeRequest.model_validate(data)


def lendable(resp: dict) -> float:
    kos = [k for c in ("rights_certainty", "competitive_contribution", "revenue_potential")
           for k in resp["scores"][c]["knockouts"]]
    return 0.0 if kos else resp["recommendation"]["max_loan"]


def check_gains(req: PledgeRequest, result: dict) -> None:
    by_key = {a["action"]: a for a in result["actions"]}
    assert result["actions"], "expected at least one applicable action"
    for a in result["actions"]:
        assert a["changes"], f"{a['action']} changes nothing in the request"
        before_req = req if a["measured_on"] == "case" else apply_changes(req, by_key[a["measured_on"]]["changes"])
        after_req = apply_changes(before_req, a["changes"])
        assert after_req.simulation == req.simulation  # same seed and paths: common random numbers
        before, after = assess(before_req, posterior=POST), assess(after_req, posterior=POST)
        assert a["max_loan_before"] == pytest.approx(lendable(before), abs=1e-6), a["action"]
        assert a["max_loan_after"] == pytest.approx(lendable(after), abs=1e-6), a["action"]
        assert a["gain"] == pytest.approx(lendable(after) - lendable(before), abs=1e-6), a["action"]
        assert a["ltv_after"] == pytest.approx(after["recommendation"]["ltv"], abs=1e-12)
        assert a["decision_after"] == after["recommendation"]["decision"]


def test_gain_equals_difference_of_two_same_seed_assessments(tcm):
    check_gains(*tcm)


def test_gains_with_blockers_are_measured_after_clearing_them(pledged):
    req, result = pledged
    check_gains(req, result)
    on_top = [a for a in result["actions"] if a["measured_on"] == "clear_all_blockers"]
    assert on_top, "improvement actions should be measured on the cleared case"
    combo = next(a for a in result["actions"] if a["action"] == "clear_all_blockers")
    assert all(a["max_loan_before"] == combo["max_loan_after"] for a in on_top)


def test_actions_are_ranked_by_gain(tcm, pledged):
    for _, result in (tcm, pledged):
        gains = [round(a["gain"], 2) for a in result["actions"]]
        assert gains == sorted(gains, reverse=True)
        assert [a["rank"] for a in result["actions"]] == list(range(1, len(gains) + 1))


def test_knockout_case_lists_blockers_with_their_fix(pledged):
    req, result = pledged
    expected = {k["code"]: k for c in ("rights_certainty", "competitive_contribution", "revenue_potential")
                for k in score_request(req)[c]["knockouts"]}
    assert {b["code"] for b in result["blockers"]} == {"existing_pledge", "fees_unpaid"} == set(expected)
    for b in result["blockers"]:
        assert b["fix"] == expected[b["code"]]["fix"] and b["fix"]
        assert b["message"] == expected[b["code"]]["message"]
        assert b["patents"] == list(expected[b["code"]]["patents"]) and b["patents"]
    assert result["financeable_amount"] == 0
    assert result["readiness_score"] <= 40
    assert result["assessment"]["recommendation"]["decision"] == "decline"
    keys = {a["action"] for a in result["actions"]}
    assert {"pay_fees", "release_pledge", "clear_all_blockers"} <= keys
    combo = next(a for a in result["actions"] if a["action"] == "clear_all_blockers")
    assert combo["blockers_after"] == [] and combo["gain"] > 0
    single = {a["action"]: a for a in result["actions"]}
    assert single["pay_fees"]["blockers_after"] == ["existing_pledge"]  # one fix alone is not enough


def test_missing_co_owner_consent_is_a_blocker_with_its_action():
    req = small("tcm_formulation")
    data = req.model_dump(mode="json")
    data["patents"][0]["co_owner_consent"] = False
    req = PledgeRequest.model_validate(data)
    result = readiness(req, POST, ltv_points=2)
    assert [b["code"] for b in result["blockers"]] == ["co_owner_consent_missing"]
    assert "consent" in result["blockers"][0]["fix"].lower()
    act = next(a for a in result["actions"] if a["action"] == "co_owner_consent")
    assert act["changes"] == {"patents[0].co_owner_consent": True}
    assert act["max_loan_before"] == 0 and act["blockers_after"] == []
    assert act["gain"] == pytest.approx(lendable(assess(apply_changes(req, act["changes"]), posterior=POST)))
    assert act["gain"] > 0 and act["rank"] == 1


def test_expiry_before_maturity_offers_a_shorter_loan():
    req = small("medical_consumable_utility", loan={"term_years": 8})  # utility model expires 2030-11-15
    result = readiness(req, POST, ltv_points=2)
    assert [b["code"] for b in result["blockers"]] == ["expires_before_maturity"]
    act = next(a for a in result["actions"] if a["action"] == "shorten_term")
    assert act["changes"] == {"loan.term_years": 4.0} and act["blockers_after"] == [] and act["gain"] > 0
    check_gains(req, result)


def test_only_applicable_actions(tcm):
    keys = {a["action"] for a in tcm[1]["actions"]}
    # scheme none -> the city schemes and a guarantee; approved product -> no next stage; nothing to fix
    # the current city schemes only (issue 11): the legacy 5311 / 55 modes cannot be joined any more
    assert {"join_guangzhou_2023", "join_zhongshan", "join_zhuhai", "join_shenzhen", "add_guarantee"} <= keys
    assert not keys & {"join_guangzhou_5311", "join_guangzhou_55"}, keys
    assert not keys & {"next_stage", "pay_fees", "release_pledge", "co_owner_consent", "grant_pending"}
    r = readiness(small("anaesthetic_injectable"), POST, ltv_points=2)  # guangzhou_5311 already
    keys = {a["action"] for a in r["actions"]}
    assert not any(k.startswith("join_") for k in keys) and "add_guarantee" not in keys
    r = readiness(small("oncology_antibody_phase2"), POST, ltv_points=2)  # phase2, a pending patent
    keys = {a["action"] for a in r["actions"]}
    assert {"next_stage", "grant_pending"} <= keys
    nxt = next(a for a in r["actions"] if a["action"] == "next_stage")
    assert nxt["changes"] == {"product.stage": "phase3"}


def test_shapes_range_and_determinism(tcm):
    req, result = tcm
    for key in ("readiness_score", "blockers", "ltv_range", "actions", "assessment"):
        assert key in result
    assert 0 <= result["readiness_score"] <= 100
    for a in result["actions"]:
        assert {"action", "description", "max_loan_before", "max_loan_after", "gain", "ltv_after",
                "decision_after"} <= set(a)
    lr = result["ltv_range"]
    assert lr["p10"] <= lr["p50"] <= lr["p90"] and lr["basis"] and lr["runs"] == 17
    assert lr["p10"] <= max(p["ltv"] for p in lr["points"]) and lr["p90"] >= min(p["ltv"] for p in lr["points"])
    # the IP-value histogram comes from the assessment's own paths
    assert result["value_histogram"]["mean"] == pytest.approx(result["assessment"]["valuation"]["appraised_value"])
    assert result["value_histogram"]["paths"] == PATHS
    again = readiness(req, POST)
    assert [(a["action"], a["gain"]) for a in again["actions"]] == [(a["action"], a["gain"]) for a in result["actions"]]
    assert again["ltv_range"]["p50"] == lr["p50"]


def test_ltv_range_over_stress_scenarios():
    names = builtin_names()
    if not names:
        pytest.skip("no built-in stress scenario installed")
    r = readiness(small("anaesthetic_injectable"), POST, ltv_basis="scenarios")
    assert r["ltv_range"]["kind"] == "scenarios" and r["ltv_range"]["runs"] == len(names) + 1
    assert [p["label"] for p in r["ltv_range"]["points"]][1:] == names


def test_charts_render_inline_svg(tcm):
    from ipledge.reports.charts import readiness_svgs

    svgs = readiness_svgs(tcm[1])
    assert {"value", "fan", "scores"} <= set(svgs)
    for s in svgs.values():
        assert s.startswith("<svg") and "<title>" in s and "</svg>" in s


# --- HTTP ----------------------------------------------------------------------------------------
@pytest.fixture
def app(api_app):
    holder = api_app.extensions["ipledge_model"]
    holder.posterior, holder.error = POST, None
    return api_app


def page_body(name: str = "tcm_formulation") -> dict:
    return small(name).model_dump(mode="json")


def store_counts(app) -> dict:
    store = app.extensions["ipledge_store"]
    return {t: store.count(t) for t in ("assessments", "audit_log", "idempotency_keys")}


def test_v1_readiness_needs_a_key_and_answers_the_shape(app, api_key_factory):
    client = app.test_client()
    assert client.post("/v1/readiness", json=page_body()).status_code == 401
    _, key = api_key_factory()
    resp = client.post("/v1/readiness", json=page_body("existing_pledge_generic"),
                       headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert {b["code"] for b in body["blockers"]} == {"existing_pledge", "fees_unpaid"}
    assert body["assessment"]["recommendation"]["decision"] == "decline"
    bad = page_body()
    bad["patents"][0]["grant_date"] = "1990-01-01"
    resp = client.post("/v1/readiness", json=bad, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == ["patents[0].grant_date"]
    resp = client.post("/v1/readiness?ltv_basis=nope", json=page_body(), headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "ltv_basis"


def test_page_needs_no_key_and_stores_nothing(app):
    client = app.test_client()
    before = store_counts(app)
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for name in ("anaesthetic_injectable", "tcm_formulation", "existing_pledge_generic", "pending_only"):
        assert f'data-example="{name}"' in html
    assert 'id="assess"' in html and 'id="results"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from a CDN
    resp = client.post("/self-assessment", json=page_body())
    assert resp.status_code == 200
    body = resp.get_json()
    assert 'id="ltv"' in body["html"] and body["html"].count("<svg") >= 3
    bad = page_body()
    bad["loan"]["amount"] = None
    resp = client.post("/self-assessment", json=bad)
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "loan.amount"
    big = page_body()
    big["simulation"]["paths"] = 50_000
    resp = client.post("/self-assessment", json=big)
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "simulation.paths"
    html_report = client.post("/self-assessment/report.html", json=page_body())
    assert html_report.status_code == 200 and "attachment" in html_report.headers["Content-Disposition"]
    pdf = client.post("/self-assessment/report.pdf", json=page_body())
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert store_counts(app) == before


# --- CLI -----------------------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch):
    import ipledge.risk.posterior

    monkeypatch.setattr(ipledge.risk.posterior, "load_posterior", lambda path=None: POST)
    from ipledge.cli.main import main

    return lambda *args: CliRunner().invoke(main, list(args))


def test_report_cli_html_and_pdf(cli, tmp_path):
    out = tmp_path / "report.html"
    res = cli("report", "existing_pledge_generic", "-o", str(out), "--paths", str(PATHS))
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") >= 3 and "Methodology" in html and "Rights certainty" in html
    assert "existing_pledge" in html and "Repay and release" in html
    assert "<script" not in html and "<link" not in html and not re.search(r'(src|href)="https?:', html)
    pdf = tmp_path / "report.pdf"
    res = cli("report", str(tmp_path.parent / "nope.yaml"), "-o", str(pdf))
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    case_file = tmp_path / "case.yaml"
    case_file.write_text((__import__("pathlib").Path(__file__).parent.parent / "scenarios" / "cases"
                          / "tcm_formulation.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    res = cli("report", str(case_file), "-o", str(pdf), "--paths", str(PATHS))
    assert res.exit_code == 0, res.output
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000


@pytest.mark.parametrize("args", [("no_such_case", "-o", "r.html"), ("tcm_formulation", "-o", "r.txt"),
                                  ("tcm_formulation", "-o", "r.html", "--paths", "10")])
def test_report_cli_bad_input_is_one_line_exit_2(cli, tmp_path, args):
    args = [a if not a.startswith("r.") else str(tmp_path / a) for a in args]
    res = cli("report", *args)
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1


# --- issue 14: only actions with an effect are listed; the rest say why --------------------------------
def test_actions_carry_their_effect_and_the_reason_of_no_effect(tcm, pledged):
    from ipledge.risk.readiness import NO_EFFECT

    for req, result in (tcm, pledged):
        seen_none = False
        for a in result["actions"]:
            changed_amount = round(a["max_loan_after"] - a["max_loan_before"], 2) != 0
            changed_decision = a["decision_after"] != a["decision_before"]
            want = "amount" if changed_amount else "decision" if changed_decision else "none"
            assert a["effect"] == want, (a["action"], a["effect"], want)
            if want == "none":
                seen_none = True
                assert a["no_effect"] in NO_EFFECT, a
            else:
                assert a["no_effect"] is None and not seen_none, "actions with an effect come first"
    # tcm is approved at the policy cap: joining a city scheme cannot raise the amount, and says so
    joins = [a for a in tcm[1]["actions"] if a["action"].startswith("join_")]
    assert joins and all(a["effect"] == "none" and a["no_effect"] == "policy_cap" for a in joins), joins
    # paying the fees alone leaves the other blocker: no effect, because a blocking item remains
    pay = next(a for a in pledged[1]["actions"] if a["action"] == "pay_fees")
    assert pay["effect"] == "none" and pay["no_effect"] == "blockers_remain"


def test_max_loan_range_varies_with_the_inputs_or_says_it_is_degenerate(tcm):
    ml = tcm[1]["ltv_range"]["max_loan"]
    assert ml["p10"] < ml["p90"] and not ml["degenerate"], ml   # at the cap, the amount moves with the value
    r = readiness(small("oncology_antibody_phase2"), POST, ltv_points=4)
    ml = r["ltv_range"]["max_loan"]
    assert ml["degenerate"] == (round(ml["max"] - ml["min"], 2) == 0)
    # the engine's binding constraint (issue 11), knockout while a blocker stands, or no_value
    assert r["binding"] == r["assessment"]["recommendation"]["binding_constraint"] or r["binding"] in (
        "knockout", "no_value"), (r["binding"], r["assessment"]["recommendation"]["binding_constraint"])
    from ipledge.reports.labels import BINDING

    assert r["binding"] in BINDING or r["binding"].startswith("party:"), r["binding"]
