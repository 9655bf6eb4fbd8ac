"""The rules of ipledge.risk.assess that the response blocks do not show by themselves, each on its boundary.

- the guarantee share (credit_block): offered only when the bank's expected-loss limit is the ONLY limit that
  fails and a guarantor would take the loss within its fee (EL rate ≤ fee, equality included); 0 when nothing
  fails, whatever the fee; None otherwise. The share is worked out by hand: the smallest whole percent g with
  (1 − g) × bank EL rate ≤ limit, the rate annualised as 1 − (1 − EL / amount)^(1/T) from the loss paths;
- the bank's expected loss is 0 when the bank takes no share of the loss;
- the progress callback: (step, done, total) in order, done rising by one, ending at done == total;
- the escalation rule: re-run while the LTV standard error EXCEEDS the limit (an error exactly at the limit
  stops), and the note says "still ..." only when it still exceeds it;
- a stress scenario that makes the case invalid is a ScenarioError naming the scenario and the field;
- the options of assess are keyword-only; the share of paths worth nothing counts only values ≤ 0.

One simulation of 2,000 paths (fixed seed) serves every guarantee case: the limits and the guarantor's fee do
not enter the simulation or the loss paths, only the checks.
"""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from risk_helpers import case

from ipledge.risk import assess as A
from ipledge.risk.credit import ltv_search, run_credit
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import simulate
from ipledge.scenarios.loader import ScenarioError
from ipledge.valuation.scorecard import score_request

PATHS = {"paths": 2000, "seed": 11}
# biologic_phase3_coowned, the bank alone (scheme none): at CNY 50m over 3 years the bank's annual EL rate is
# 2.82%, the annual PD 6.6%; a bank limit of 2% fails, the total-EL and PD limits below pass
LOOSE = {"max_expected_loss": 0.02, "max_total_expected_loss": 0.20, "max_pd_annual": 0.50}


def with_fee(fee: float):
    return dataclasses.replace(DEFAULT_PARAMS, party_limits={**DEFAULT_PARAMS.party_limits, "guarantor": fee})


def test_a_guarantee_is_offered_only_when_the_bank_limit_alone_fails_and_within_the_guarantors_fee():
    base = case("biologic_phase3_coowned", simulation=PATHS, sharing={"scheme": "none"}, policy=LOOSE)
    ipc = score_request(base)["competitive_contribution"]["ip_contribution"]
    sim = simulate(base, ipc, load_posterior(), n=PATHS["paths"])
    run = run_credit(sim, base, [base.loan.amount])
    ltv = ltv_search(sim, base, params=DEFAULT_PARAMS)
    amount, T = base.loan.amount, base.loan.term_years
    rate = 1 - (1 - float(run.loss[0].mean()) / amount) ** (1 / T)      # the bank takes every loss
    raw = 100 * (1 - 0.02 / rate)
    assert 0.02 < rate < 0.05 and abs(raw - round(raw)) > 1e-3, f"fixture moved: bank EL rate {rate}, share {raw}%"
    share = math.ceil(raw) / 100                                       # 29.09% -> 30%

    def block(fee, **policy):
        req = case("biologic_phase3_coowned", simulation=PATHS, sharing={"scheme": "none"}, policy={**LOOSE, **policy})
        credit, checks, guarantee = A.credit_block(req, sim, run, ltv, with_fee(fee))
        return credit, {c["limit"] for c in checks if not c["passed"]}, guarantee

    credit, failed, got = block(0.05)
    assert credit["expected_loss_rate_annual"] == pytest.approx(rate, rel=1e-12), (credit, rate)
    assert failed == {"bank_el"}, failed
    assert got == share, f"only bank_el fails, EL {rate:.4%} within a 5% fee: expected share {share}, got {got}"
    el_rate = credit["expected_loss_rate_annual"]
    _, failed, got = block(el_rate)                                    # EL exactly at the fee: still taken
    assert failed == {"bank_el"} and got == share, f"fee == EL rate {el_rate!r}: expected {share}, got {got}"
    _, failed, got = block(0.01)                                       # above the fee: no guarantor takes it
    assert failed == {"bank_el"} and got is None, f"fee 1% < EL {rate:.4%}: expected None, got {got}"
    _, failed, got = block(0.05, max_pd_annual=0.05)                   # the PD limit fails too
    assert failed == {"bank_el", "pd"} and got is None, f"bank_el and pd fail: expected None, got {got} ({failed})"
    _, failed, got = block(0.01, max_expected_loss=0.05)               # nothing fails: 0 whatever the fee
    assert failed == set() and got == 0.0, f"every limit holds, fee 1% < EL {rate:.4%}: expected 0.0, got {got}"


def test_the_bank_expected_loss_is_zero_when_the_bank_takes_no_share():
    req = case("biologic_phase3_coowned", simulation=PATHS,
               sharing={"scheme": "custom", "shares": {"guarantor": 1.0}})
    credit = A.assess(req, escalate=False)["credit"]
    assert credit["expected_loss"] > 0, "the loan must lose something for the test to mean anything"
    got = (credit["bank_expected_loss"], credit["bank_expected_loss_rate"], credit["bank_expected_loss_rate_annual"])
    assert got == (0.0, 0.0, 0.0), f"guarantor takes 100%: expected the bank's EL, rate, annual rate 0, got {got}"


def recorder():
    calls = []
    return calls, lambda step, done, total: calls.append((step, done, total))


def check_counts(calls):
    done = [c[1] for c in calls]
    assert done == list(range(len(calls))) and calls[-1] == ("done", calls[-1][2], calls[-1][2]), calls


def test_progress_reports_each_step_in_order_and_ends_at_the_total():
    calls, progress = recorder()
    A.assess(case("oncology_biologic_phase3_cashrich", simulation=PATHS), escalate=False, progress=progress)
    want = [("scores", 0, 4), ("simulate 2,000 paths", 1, 4), ("credit", 2, 4), ("ltv search", 3, 4), ("done", 4, 4)]
    assert calls == want, f"expected {want}\n got {calls}"
    check_counts(calls)


def test_an_ltv_error_exactly_at_the_limit_stops_the_escalation(monkeypatch):
    """The capacity-bound phase III case (seed 3): LTV standard error 2.0 pp at 1,000 paths, 1.02 pp at 4,000.
    With the limit set to the 4,000-path error exactly, 1,000 paths exceed it, 4,000 do not: the run stops
    there (not at the 16,000-path cap) and the note ends with a full stop, not with "still ...".
    The 4,000-path error is read from a run at 4,000 paths: the same seed gives the same paths."""
    monkeypatch.setenv("IPLEDGE_MAX_PATHS", "16000")
    at_4000 = A.assess(case("oncology_biologic_phase3_cashrich", simulation={"paths": 4000, "seed": 3}),
                       escalate=False)["recommendation"]["ltv_std_error"]
    calls, progress = recorder()
    req = case("oncology_biologic_phase3_cashrich", simulation={"paths": 1000, "seed": 3})
    limit = dataclasses.replace(DEFAULT_PARAMS, ltv_se_limit=at_4000)
    rec = A.assess(req, params=limit, progress=progress)["recommendation"]
    assert rec["ltv_std_error"] == at_4000 and at_4000 > 0, (rec["ltv_std_error"], at_4000)
    assert rec["paths"] == 4000, f"error == limit {at_4000!r} at 4,000 paths: expected a stop there, got {rec['paths']}"
    note = rec["paths_note"]
    assert note.endswith("re-run at 4,000 paths.") and "still" not in note, note
    want = [("scores", 0, 4), ("simulate 1,000 paths", 1, 4), ("credit", 2, 4), ("ltv search", 3, 4),
            ("simulate 4,000 paths", 4, 7), ("credit", 5, 7), ("ltv search", 6, 7), ("done", 7, 7)]
    assert calls == want, f"expected {want}\n got {calls}"


def test_a_scenario_that_makes_the_case_invalid_is_a_scenario_error_naming_the_field(tmp_path):
    path = tmp_path / "long_loans.yaml"
    path.write_text("name: long_loans\ndescription: every loan runs 30 years\nset:\n  loan.term_years: 30\n")
    with pytest.raises(ScenarioError) as err:
        A.shocked(case("anaesthetic_injectable"), str(path))
    text = str(err.value)
    assert text.startswith("scenario 'long_loans' makes the case invalid: ") and "loan.term_years" in text, text
    assert err.value.__cause__ is None and err.value.__suppress_context__, "one message, not a chained traceback"


def test_the_options_of_assess_are_keyword_only():
    with pytest.raises(TypeError):
        A.assess(case("anaesthetic_injectable", simulation=PATHS), "an-id")


def test_the_share_of_paths_worth_nothing_counts_only_values_at_or_below_zero():
    """A hand-made simulation: 4 paths worth 0, 0.5, 2 and 10 yuan (one year of cash flows)."""
    pv = np.array([0.0, 0.5, 2.0, 10.0])
    sim = NS(pv=pv, ip_cf=np.array([[0.0], [0.5], [2.0], [10.0]]), years=np.array([2026]), mc_std_error=2.2, n=4,
             T=1, ip_share=0.5, value_after_exclusivity=0.0,
             development=NS(cost_pv=np.zeros(4), abandoned=np.zeros(4, bool)))
    v = A._valuation_block(sim, {})
    assert v["prob_zero"] == 0.25, f"values {pv.tolist()}: expected 1 of 4 worth nothing, got {v['prob_zero']}"
    assert v["histogram"]["zero"] == 1 and len(v["histogram"]["counts"]) == 30, v["histogram"]
