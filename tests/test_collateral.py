"""Collateral value without look-ahead (issue 10; DESIGN §8.8).

A buyer of the pledged rights at year t knows the stage reached and the time spent in it, but not
whether the trials still running will succeed. So among paths sharing a state group at t, those that
will later fail and those that will later be approved must carry the same mean collateral, up to
Monte Carlo error. A regressor that leaks the path's own future (such as an exclusivity end that
applies the term-extension cap to the path's own future launch date, with no extension on failed
paths) splits the two.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from risk_helpers import case

from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import simulate

PATHS = 20_000
Z_TOL = 4.0           # standard errors: a two-sided 4-sigma band (false alarm ~6e-5 per comparison)
MIN_GROUP = 300       # paths on each side of a comparison, so the normal approximation holds


def _groups(sim, t):
    """(mask, label) per pre-launch state group at year t: same stage reached, not failed, not launched."""
    failed = sim.failure_time <= t
    launched = sim.launch_period <= t
    done = (sim.completion_times <= t).sum(axis=1)
    pre = ~failed & ~launched
    for g in np.unique(done[pre]):
        yield pre & (done == g), f"t={t} stage+{int(g)}"


NO_COST = {"phase2": 0.0, "phase3": 0.0, "filed": 0.0}


@pytest.mark.parametrize("name, product", [
    ("biologic_phase3_coowned", {}),                       # with its default cost to complete
    ("oncology_antibody_phase2", {"development_cost": NO_COST}),   # without: else abandoned, all 0
])
def test_paths_that_will_fail_and_paths_that_will_succeed_share_their_collateral(name, product):
    req = case(name, product=product)
    ipc = 0.3
    sim = simulate(req, ipc, load_posterior(), n=PATHS)
    compared = 0
    for t in range(1, sim.collateral.shape[1]):
        V = sim.collateral[:, t]
        for grp, label in _groups(sim, t):
            fail, succ = grp & ~sim.approved, grp & sim.approved
            nf, ns = int(fail.sum()), int(succ.sum())
            if min(nf, ns) < MIN_GROUP:
                continue
            mf, ms = V[fail].mean(), V[succ].mean()
            se = math.sqrt(V[fail].var(ddof=1) / nf + V[succ].var(ddof=1) / ns)
            tol = Z_TOL * se + 1e-6 * max(abs(ms), 1.0)
            assert abs(mf - ms) <= tol, (
                f"{name} {label}: mean collateral of paths that will fail {mf:,.0f} vs that will be "
                f"approved {ms:,.0f} (n={nf}/{ns}); |difference| {abs(mf - ms):,.0f} > tolerance "
                f"{tol:,.0f} ({Z_TOL} s.e.): the collateral sees the path's own future")
            compared += 1
    assert compared >= 2, f"{name}: only {compared} state groups large enough to compare"


def test_launched_collateral_is_the_remaining_in_exclusivity_value_in_cny_of_year_t():
    """Deterministic marketed product: V_t = Σ_{u>t} CF_u (1+r)^-(u-1/2-t) × (1+inflation)^t, flows to E only."""
    from risk_helpers import fixed_posterior

    from ipledge.risk.params import DEFAULT_PARAMS

    req = case("anaesthetic_injectable", product={"vbp_exposure": "none", "years_to_peak": 0,
                                                   "peak_sales": {"p10": 1e8, "p50": 1e8, "p90": 1e8}})
    sim = simulate(req, 0.25, fixed_posterior(), n=500, collateral_years=4)
    r, infl = req.policy.discount_rate, DEFAULT_PARAMS.inflation
    u = np.arange(1, sim.T + 1)
    cf = sim.ip_cf[0]
    assert np.all(cf[u > sim.exclusivity_end[0] + 1] == 0), "no IP cash flow after exclusivity end"
    for t in range(1, 5):
        want = (cf[u > t] * (1 + r) ** -(u[u > t] - 0.5 - t)).sum() * (1 + infl) ** t
        got = sim.collateral[0, t]
        assert got == pytest.approx(want, rel=1e-9), f"t={t}: expected {want:,.0f}, got {got:,.0f}"


ROW_KEYS = {"case", "scenario", "year", "lsm", "nested", "std_error", "deviation", "within"}


def _failures(doc):
    return [r for r in doc["rows"] if not r["within"]]


def test_collateral_check_document_shape():
    from benchmarks.collateral_check import run

    doc = run(cases=["anaesthetic_injectable"], scenarios=["base"], quick=True)
    assert set(doc) == {"rows", "all_within", "worst", "foresight"}, sorted(doc)
    assert doc["rows"] and all(set(r) == ROW_KEYS for r in doc["rows"]), doc["rows"][:1]
    assert set(doc["foresight"][0]) == {"case", "el_rate", "el_rate_perfect_foresight"}
    assert doc["all_within"], _failures(doc)


@pytest.mark.slow
def test_nested_simulation_agrees_with_the_regression_on_two_cases():
    """Issue 10 'Done when': regression value within 3 MC s.e. (or 2% of today's value) of nested
    simulation, every stress scenario and year to maturity (quick sizes: 60 states x 600 inner paths)."""
    from benchmarks.collateral_check import run

    doc = run(cases=["biologic_phase3_coowned", "anaesthetic_injectable"], quick=True)
    assert doc["all_within"], f"rows outside tolerance: {_failures(doc)}"
    fs = {f["case"]: f for f in doc["foresight"]}
    bio = fs["biologic_phase3_coowned"]
    # perfect foresight puts zero collateral on exactly the failing (defaulting) paths: it overstates
    assert bio["el_rate_perfect_foresight"] > bio["el_rate"], bio


def test_a_default_in_a_part_year_period_reads_the_collateral_known_before_it():
    """A 2.5-year loan's last period ends at 2.5: a default then is valued with what a buyer knew at the end of
    year 2 (and a programme failed by 2.5 is worth 0), never with year 3's value, which holds news of (2.5, 3]."""
    from ipledge.risk.credit import news_times, run_credit

    req = case("biologic_phase3_coowned", loan={"term_years": 2.5})
    sim = simulate(req, 0.3, load_posterior(), n=4000, seed=7)
    amount = 30e6
    run = run_credit(sim, req, [amount])
    failed_at, _ = news_times(sim)
    h = req.policy.liquidation_haircut
    last = run.default_period[0] == 3
    assert last.sum() >= 20, f"only {int(last.sum())} defaults in the part-year period: the test needs more"
    seen = np.where(failed_at <= 2.5, 0.0, sim.collateral[:, 2] * (1 - h))
    expected = np.maximum(run.ead[0] - seen, 0.0)[last]
    got = run.loss[0][last]
    bad = np.flatnonzero(~np.isclose(got, expected, rtol=1e-12, atol=1e-6))
    assert bad.size == 0, (
        f"{bad.size} of {int(last.sum())} part-year defaults: loss got {got[bad[:3]]} expected {expected[bad[:3]]} "
        f"(EAD less the year-2 collateral after a {h:.0%} haircut); year-3 collateral "
        f"{sim.collateral[last][bad[:3], 3]}")
    # the period-3 loss differs from what year 3's value would give: the test can tell the two apart
    wrong = np.maximum(run.ead[0] - np.where(failed_at <= 2.5, 0.0, sim.collateral[:, 3] * (1 - h)), 0.0)[last]
    assert not np.allclose(wrong, expected), "year-2 and year-3 collateral give the same losses: no power"
