"""The full assessment: reproducibility, decision rules and the response contract (DESIGN §5, §9)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from risk_helpers import CASES, case

from ipledge.cli.main import main
from ipledge.risk.assess import assess

PATHS = {"paths": 2000, "seed": 7}


def strip_identity(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("id", "created_at")}


def test_same_request_and_seed_give_identical_output_and_record_both():
    req = case("biologic_phase3_coowned", simulation=PATHS)
    a, b = assess(req), assess(req)
    assert json.dumps(strip_identity(a), sort_keys=True) == json.dumps(strip_identity(b), sort_keys=True)
    assert a["seed"] == 7 and a["model_version"].startswith("pipeline-v2-") and a["params_hash"]
    other = assess(case("biologic_phase3_coowned", simulation={"paths": 2000, "seed": 8}))
    assert other["valuation"]["appraised_value"] != a["valuation"]["appraised_value"]


def test_knockout_declines_and_lends_nothing_but_says_what_clearing_it_allows():
    r = assess(case("existing_pledge_generic", simulation=PATHS))
    rec = r["recommendation"]
    assert rec["decision"] == "decline"
    assert rec["max_loan"] == 0.0 and rec["ltv"] == 0.0 and rec["required_guarantee_share"] is None
    assert rec["risk_supported_max_loan"] > 0, "the risk-supported amount is still reported"
    codes = {k["code"] for card in ("rights_certainty", "competitive_contribution", "revenue_potential")
             for k in r["scores"][card]["knockouts"]}
    assert {"existing_pledge", "fees_unpaid"} <= codes
    assert any("existing_pledge" in x for x in rec["reasons"]) and len(rec["conditions"]) >= 2


def test_approve_when_the_request_fits_under_the_max_loan():
    r = assess(case("anaesthetic_injectable", simulation=PATHS))
    rec = r["recommendation"]
    assert r["credit"]["pd"] == 0.0
    assert rec["decision"] == "approve"
    assert rec["max_loan"] >= case("anaesthetic_injectable").loan.amount
    assert rec["required_guarantee_share"] == 0.0


def test_too_large_a_request_gets_a_smaller_amount_as_condition():
    base = case("anaesthetic_injectable", simulation=PATHS)
    r0 = assess(base)
    big = case("anaesthetic_injectable", simulation=PATHS, loan={"amount": 2.5 * r0["recommendation"]["max_loan"]})
    rec = assess(big)["recommendation"]
    assert rec["decision"] == "approve_with_conditions"
    assert any(c.startswith("Reduce the amount") for c in rec["conditions"]), rec["conditions"]
    assert rec["requested_ltv"] > rec["ltv"]


def test_risk_sharing_rows_follow_the_funds_cap_path_by_path():
    """Replaces "rows sum to EL" (true by construction, issue 12). Guangzhou 2023: the fund takes 50%
    of each bad loan's loss up to CNY 10m, the bank the rest; by hand from the loss paths of the same
    simulation (same seed and paths, the assessment's IP contribution). CNY 50m on the phase III
    biologic loses more than CNY 20m on some paths, so the cap binds there."""
    import numpy as np

    from ipledge.risk.credit import run_credit
    from ipledge.risk.posterior import load_posterior
    from ipledge.risk.simulate import simulate

    req = case("biologic_phase3_coowned", simulation=PATHS, sharing={"scheme": "guangzhou_2023"},
               loan={"amount": 5e7})
    r = assess(req, escalate=False)
    sim = simulate(req, r["scores"]["competitive_contribution"]["ip_contribution"], load_posterior())
    assert sim.appraised_value == pytest.approx(r["valuation"]["appraised_value"], rel=1e-12), "same paths"
    loss = run_credit(sim, req, [req.loan.amount]).loss[0]
    fund = np.minimum(0.5 * loss, 1e7)
    assert (0.5 * loss > 1e7).sum() >= 20, "the cap must bind on some paths"
    rows = {row["party"]: row["expected_loss"] for row in r["risk_sharing"]}
    for party, want in (("fund", fund.mean()), ("bank", (loss - fund).mean())):
        assert rows[party] == pytest.approx(want, rel=1e-9), (
            f"{party}: expected {want:,.0f} (fund 50% capped at CNY 10m per loan), got {rows[party]:,.0f}")
    assert r["credit"]["bank_expected_loss"] == pytest.approx((loss - fund).mean(), rel=1e-9)


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown scenario 'no_such'"):
        assess(case("anaesthetic_injectable", simulation=PATHS, scenario="no_such"))


@pytest.mark.parametrize("name", sorted(p.stem for p in CASES.glob("*.yaml")))
def test_cli_assess_gives_a_decision_with_reasons_for_every_example(name):
    res = CliRunner().invoke(main, ["assess", str(CASES / f"{name}.yaml"), "--json", "--paths", "2000"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)
    assert r["recommendation"]["decision"] in ("approve", "approve_with_conditions", "decline")
    assert r["recommendation"]["reasons"] and r["valuation"]["cash_flows"]
    for key in ("id", "created_at", "as_of", "model_version", "seed", "scenario", "scores", "pipeline",
                "valuation", "credit", "recommendation", "risk_sharing"):
        assert key in r, f"{name}: response lacks {key}"


def test_cli_assess_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((CASES / "anaesthetic_injectable.yaml").read_text().replace("term_years: 2 ", "term_years: 30 "))
    res = CliRunner().invoke(main, ["assess", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "loan.term_years" in res.output and len(res.output.strip().splitlines()) == 1
