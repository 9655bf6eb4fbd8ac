"""The assessment's response blocks (ipledge.risk.assess) recomputed from the paths with plain numpy.

One assessment per case (2,000 paths, fixed seed, no escalation); the same simulation is run again from the
same seed and every number of the valuation, pipeline and credit blocks is recomputed directly: means,
percentiles, the share of paths worth nothing, PD and its constant-hazard annual rate 1 − (1 − PD)^(1/T),
EL rates, the expected launch year, the histogram. Also the small helpers on hand-made inputs.
"""
from __future__ import annotations

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from risk_helpers import case

from ipledge.risk import assess as A
from ipledge.risk.credit import run_credit
from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import simulate
from ipledge.valuation.scorecard import score_request

PATHS = {"paths": 2000, "seed": 11}


def close(name, got, want, rel=1e-12, abs_=1e-9, **inputs):
    assert got is not None and math.isclose(got, want, rel_tol=rel, abs_tol=abs_), (
        f"{name}: inputs {inputs}: expected {want!r}, got {got!r}, tolerance rel {rel} abs {abs_}")


def assessed(name):
    req = case(name, simulation=PATHS)
    out = A.assess(req, escalate=False)
    ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
    sim = simulate(req, ipc, load_posterior(), n=PATHS["paths"])
    return name, req, out, sim


# One test per case checks every block: the assessment runs once, inside the test (a shared fixture would
# credit the engine code it runs to the first test only, and tools/mutation.py selects tests by that).
@pytest.mark.parametrize("name", ["oncology_antibody_phase2", "small_molecule_phase1"])
def test_response_blocks_are_recomputed_from_the_same_paths(name):
    run = assessed(name)
    check_valuation_block(run)
    check_credit_block(run)
    check_pipeline_block(run)


def test_a_marketed_product_has_positive_low_percentiles_recomputed_too():
    """Pipeline cases are worth 0 on most paths, so their p5 is 0 whatever the percentile: a marketed product
    is positive on every path and pins the low percentiles of the value and of each year's cash flow."""
    name, req, out, sim = run = assessed("generic_small_molecule_marketed")
    assert np.percentile(sim.pv, 5) > 0 and np.percentile(sim.ip_cf[:, 0], 5) > 0, "needs positive low tails"
    check_valuation_block(run)


def check_valuation_block(assessed):
    name, req, out, sim = assessed
    v, pv = out["valuation"], sim.pv
    close("appraised_value", v["appraised_value"], float(pv.mean()), case=name)
    for q in (5, 50, 95):
        close(f"p{q}", v[f"p{q}"], float(np.percentile(pv, q)), case=name)
    close("prob_zero", v["prob_zero"], float(np.mean(pv <= 0)), case=name)
    assert (v["paths"], v["horizon_years"]) == (2000, sim.T), (v["paths"], v["horizon_years"])
    close("mc_std_error", v["mc_std_error"], float(pv.std(ddof=1) / math.sqrt(pv.size)), rel=1e-9, case=name)
    flows = v["cash_flows"]
    assert [f["year"] for f in flows] == list(req.as_of.year + np.arange(1, sim.T + 1)), flows[:2]
    for t in range(sim.T):
        col = sim.ip_cf[:, t]
        close(f"cash flow mean year {t + 1}", flows[t]["mean"], float(col.mean()), case=name)
        close(f"cash flow p95 year {t + 1}", flows[t]["p95"], float(np.percentile(col, 95)), case=name)
        close(f"cash flow p5 year {t + 1}", flows[t]["p5"], float(np.percentile(col, 5)), case=name)
    close("abandonment_probability", v["abandonment_probability"], float(sim.development.abandoned.mean()))


def check_credit_block(assessed):
    name, req, out, sim = assessed
    run = run_credit(sim, req, [req.loan.amount])
    c, T, amount = out["credit"], req.loan.term_years, req.loan.amount
    pd_ = float(run.defaulted[0].mean())
    el = float(run.loss[0].mean())
    close("pd", c["pd"], pd_, case=name)
    close("pd_annual", c["pd_annual"], 1 - (1 - pd_) ** (1 / T), case=name, term=T)
    close("expected_loss_rate", c["expected_loss_rate"], el / amount, case=name)
    close("expected_loss_rate_annual", c["expected_loss_rate_annual"], 1 - (1 - el / amount) ** (1 / T), case=name)
    bank = c["bank_expected_loss"]
    close("bank_expected_loss_rate", c["bank_expected_loss_rate"], bank / amount, case=name)
    close("bank_expected_loss_rate_annual", c["bank_expected_loss_rate_annual"],
          1 - (1 - bank / amount) ** (1 / T), case=name)
    assert c["maturity_years"] == T and c["expected_loss_basis"] == req.policy.expected_loss_basis
    assert pd_ > 0, f"{name}: the case must default on some paths for this test to mean anything"


def check_pipeline_block(assessed):
    name, req, out, sim = assessed
    p = out["pipeline"]
    launch = sim.launch_time[sim.approved]
    assert p["expected_launch_year"] == req.as_of.year + math.ceil(float(np.median(launch))), (
        name, p["expected_launch_year"], np.median(launch))
    close("simulated_p_approval", p["simulated_p_approval"], float(sim.approved.mean()), case=name)
    assert p["stage"] == req.product.stage
    rec = out["recommendation"]
    assert rec["paths"] == 2000 and "paths_note" not in rec, rec.get("paths_note")
    assert len(out["id"]) == 32 and int(out["id"], 16) >= 0, out["id"]
    assert A.assess(req, escalate=False, assessment_id="a-1")["id"] == "a-1"


def test_an_approved_product_has_a_certain_approval_and_its_own_launch_year():
    req = case("generic_small_molecule_marketed", simulation=PATHS)
    p = A.assess(req, escalate=False)["pipeline"]
    assert p["p_approval"] == {"mean": 1.0, "hdi_90": [1.0, 1.0]} and p["transitions"] == {}, p
    assert p["expected_launch_year"] == req.product.launch_year, p


def test_value_histogram_counts_zero_positive_and_tail_paths():
    pv = np.r_[np.zeros(3), np.arange(1.0, 101.0)]         # 3 worthless paths, values 1..100
    h = A.value_histogram(pv, bins=4)
    top = float(np.percentile(np.arange(1.0, 101.0), 99))   # 99.01
    assert h["zero"] == 3 and h["paths"] == 103, h
    assert h["edges"] == pytest.approx([0.0, top / 4, top / 2, 3 * top / 4, top]), h["edges"]
    assert h["counts"] == [24, 25, 25, 25] and h["above"] == 1, h      # 100 > 99.01 is counted above
    assert h["mean"] == pytest.approx(pv.mean()), h
    empty = A.value_histogram(np.zeros(5))
    assert empty["counts"] == [] and empty["edges"] == [] and empty["zero"] == 5 and empty["above"] == 0, empty
    # 1..101: the 99th percentile is the data point 100 itself, which is binned (the top edge is included)
    at_top = A.value_histogram(np.arange(1.0, 102.0), bins=4)
    assert at_top["edges"][-1] == 100.0 and sum(at_top["counts"]) == 100 and at_top["above"] == 1, at_top
    default = A.value_histogram(np.arange(1.0, 102.0))
    assert len(default["counts"]) == 30 and len(default["edges"]) == 31, "30 bins unless told otherwise"
    assert default["edges"] == pytest.approx([100.0 * i / 30 for i in range(31)]), default["edges"]


def test_remaining_economic_life_is_the_mean_protected_years_on_the_market():
    sim = NS(n=4, approved=np.array([True, True, False, True]), launch_time=np.array([-1.0, 2.0, np.inf, 3.0]),
             exclusivity_end=np.array([8.0, 5.0, 9.0, 2.0]))
    got = A.gbt42748_derived(sim)["remaining_economic_life"]
    assert got["value"] == round((8.0 + 3.0 + 0.0) / 3, 2), got              # launched before today: from today
    assert "3 of 4 paths" in got["source"], got["source"]
    # on the market = approved AND launched: an approved path that never launches (launch beyond any horizon)
    # and a rejected path with a launch time recorded count for neither the life nor the number of paths
    odd = NS(n=3, approved=np.array([True, True, False]), launch_time=np.array([1.0, np.inf, 1.0]),
             exclusivity_end=np.array([5.0, 9.0, 7.0]))
    got = A.gbt42748_derived(odd)["remaining_economic_life"]
    assert got["value"] == 4.0 and "1 of 3 paths" in got["source"], got
    none = A.gbt42748_derived(NS(n=2, approved=np.array([False, False]), launch_time=np.full(2, np.inf),
                                 exclusivity_end=np.zeros(2)))
    assert none["remaining_economic_life"]["value"] == 0.0, none


def test_path_cap_and_small_formatters(monkeypatch):
    for env, want in [("500", 1000), ("300000", 200_000), ("50000", 50_000)]:
        monkeypatch.setenv("IPLEDGE_MAX_PATHS", env)
        assert A.max_paths() == want, (env, A.max_paths())
    monkeypatch.setenv("IPLEDGE_MAX_PATHS", "many")
    with pytest.raises(ValueError, match="IPLEDGE_MAX_PATHS"):
        A.max_paths()
    monkeypatch.delenv("IPLEDGE_MAX_PATHS")
    assert A.max_paths() == 200_000
    assert A.pct_pp(0.0123) == "1.2 pp" and A.pct_pp(0.1) == "10.0 pp", (A.pct_pp(0.0123), A.pct_pp(0.1))
    assert A.pct_pp(math.inf) == "undefined (flat limit)"
    assert A.finite(2.5) == 2.5 and A.finite(math.inf) is None and A.finite(math.nan) is None


def test_paths_are_raised_fourfold_up_to_the_cap_while_the_ltv_error_is_too_large(monkeypatch):
    import dataclasses

    from ipledge.risk.params import DEFAULT_PARAMS

    monkeypatch.setenv("IPLEDGE_MAX_PATHS", "5000")
    req = case("oncology_biologic_phase3_cashrich", simulation={"paths": 1000, "seed": 3})
    strict = dataclasses.replace(DEFAULT_PARAMS, ltv_se_limit=0.0)       # no error is small enough
    rec = A.assess(req, params=strict)["recommendation"]
    assert rec["ltv_std_error"] > 0, "the answer must carry a Monte Carlo error (capacity-bound: the appraisal's)"
    assert rec["paths"] == 5000, rec["paths"]
    assert "at 4,000 paths exceeds" in rec["paths_note"] and "re-run at 5,000 paths" in rec["paths_note"], rec
    assert rec["paths_note"].endswith("at 5,000 paths (IPLEDGE_MAX_PATHS)"), rec["paths_note"]
