"""Cash-flow Monte Carlo against closed forms, published structure and its own promises (DESIGN §8).

Reference values come from closed forms; seeds are fixed; a failure prints inputs, expected, got and
the tolerance.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from risk_helpers import case, fixed_posterior

from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import lognormal_from_quantiles, simulate


def check(name, got, expected, tol, **inputs):
    assert abs(got - expected) <= tol, (
        f"{name}: inputs={inputs} expected={expected!r} got={got!r} tolerance={tol!r}")


def marketed(**product):
    """A marketed product with deterministic sales: one granted invention expiring 2036-06-30."""
    base = {"stage": "approved", "launch_year": 2018, "years_to_peak": 0,
            "peak_sales": {"p10": 1e8, "p50": 1e8, "p90": 1e8}, "vbp_exposure": "none",
            "profit_margin": 0.4, "ip_contribution": 0.25, "royalty_rate": None, "modality": "small_molecule"}
    base.update(product)
    req = case("anaesthetic_injectable", product=base)
    data = req.model_dump(mode="json")
    data["patents"] = [{"id": "CN1", "kind": "invention", "status": "granted", "filing_date": "2016-07-01",
                        "grant_date": "2019-01-10", "jurisdictions": ["CN"]}]
    return type(req).model_validate(data)


def test_lognormal_fit_recovers_symmetric_quantiles():
    mu, sigma = lognormal_from_quantiles(2e8, 6e8, 1.8e9)
    check("mu", mu, math.log(6e8), 1e-12)
    check("sigma", sigma, math.log(3) / 1.2815515655446004, 1e-12)
    assert lognormal_from_quantiles(5e7, 5e7, 5e7)[1] == 0.0


def test_marketed_deterministic_cash_flow_is_peak_margin_contribution_in_exclusivity():
    """Issue 10: the IP value stops at exclusivity end; what follows is reported apart, eroded."""
    req = marketed()
    sim = simulate(req, 0.25, fixed_posterior(), n=4000)
    expected = 1e8 * 0.4 * 0.25
    excl = sim.exclusivity_end[0]                       # 2036-06-30 in years from 2026-11-01
    in_excl = np.arange(1, sim.T + 1) <= math.floor(excl)
    assert in_excl.sum() == 9
    np.testing.assert_allclose(sim.ip_cf[:, in_excl], expected, rtol=1e-12,
                               err_msg=f"in-exclusivity IP cash flow, expected {expected}")
    frac = excl - math.floor(excl)                      # share of the straddling year before expiry
    straddle = math.floor(excl)                         # its column
    np.testing.assert_allclose(sim.ip_cf[:, straddle], expected * frac, rtol=1e-9,
                               err_msg="the year of expiry counts only its share before expiry")
    assert np.all(sim.ip_cf[:, straddle + 1:] == 0), "no IP cash flow in the appraisal after expiry"
    # mid-year discounting: the value is the sum of the flows at (1 + r)^-(t - 1/2)
    r = req.policy.discount_rate
    t = np.arange(1, sim.T + 1)
    np.testing.assert_allclose(sim.discount, (1 + r) ** -(t - 0.5), rtol=1e-12)
    pv_expected = expected * ((1 + r) ** -(t[in_excl] - 0.5)).sum() + expected * frac * (1 + r) ** -(straddle + 0.5)
    check("appraised value", sim.appraised_value, pv_expected, 1e-6 * pv_expected)
    # after expiry the mean cash flow falls by the mean erosion (0.80 for small molecules)
    m = DEFAULT_PARAMS.erosion_mean["small_molecule"]
    after_pv = expected * (1 - frac) * (1 + r) ** -(straddle + 0.5) + expected * ((1 + r) ** -(t[straddle + 1:] - 0.5)).sum()
    se = sim.pv_after.std() / math.sqrt(sim.n)
    check("value after exclusivity", sim.value_after_exclusivity, after_pv * (1 - m), 4 * se + 1e-6,
          erosion_mean=m)


def test_sales_accrue_from_the_launch_date():
    """Issue 10: a launch mid-year earns only that year's fraction, on the ramp integrated from launch."""
    req = marketed(launch_year=2027, years_to_peak=4)        # launch 2027-07-01: 0.66 years after as_of
    sim = simulate(req, 0.25, fixed_posterior(), n=200)
    L = float(sim.launch_time[0])
    F = lambda x: np.where(np.maximum(x, 0) < 4, np.maximum(x, 0) ** 2 / 8, np.maximum(x, 0) - 2)  # noqa: E731
    want = 1e8 * (F(np.arange(1, 4) - L) - F(np.arange(0, 3) - L))
    np.testing.assert_allclose(sim.sales[0, :3], want, rtol=1e-9,
                               err_msg=f"launch at {L:.3f} years, ytp 4: expected {want}")
    assert sim.sales[0, 0] < 0.05 * 1e8, "the launch year must not get a full year at ramp age 1"


def test_royalty_replaces_profit_split():
    req = marketed(royalty_rate=0.08)
    sim = simulate(req, 0.25, fixed_posterior(), n=1000)
    check("royalty cash flow", float(sim.ip_cf[0, 0]), 1e8 * 0.08, 1e-6)


def test_phase3_probability_of_zero_value_is_one_minus_probability_of_approval():
    post = load_posterior()
    req = case("biologic_phase3_coowned")
    sim = simulate(req, 0.3, post, n=20000)
    p = post.p_approval(req.product.therapeutic_area, req.product.modality, "phase3")["mean"]
    got = float((sim.ip_cf.sum(axis=1) <= 0).mean())   # no IP cash flow (pv itself can be < 0: costs paid, then failure)
    se = math.sqrt(p * (1 - p) / sim.n)
    check("P(no IP cash flow)", got, 1 - p, 4 * se, stage="phase3", area=req.product.therapeutic_area)


def test_vbp_event_lowers_value_and_none_exposure_is_untouched():
    post = fixed_posterior()
    none = simulate(marketed(vbp_exposure="none"), 0.25, post, n=3000)
    high = simulate(marketed(vbp_exposure="high"), 0.25, post, n=3000)
    assert high.appraised_value < none.appraised_value
    assert (none.vbp_period > none.T).all(), "vbp_exposure none must never draw a VBP event"


def test_collateral_of_a_pre_launch_state_is_one_value_for_all_its_paths():
    """No look-ahead, in a form least squares cannot guarantee (issue 12 replaced the group-mean check,
    which a per-group intercept makes true whatever the model): on a phase III programme with every
    patent granted, the paths still in the stage under way at as_of share one information set at each
    year t (stage, time in it = t, the same rights), so they must carry ONE collateral value, and it is
    the mean of what they go on to earn: Σ_{u>t} CF_u (1+r)^-(u-1/2-t), restated in CNY of year t by
    (1+inflation)^t (discounting by hand). Launched paths are valued given their own state (peak, rights):
    their mean agrees with what they go on to earn within Monte Carlo error."""
    req = case("biologic_phase3_coowned")
    sim = simulate(req, 0.3, load_posterior(), n=20000, collateral_years=5)
    r, infl = req.policy.discount_rate, DEFAULT_PARAMS.inflation
    u = np.arange(1, sim.T + 1)
    assert not np.any(sim.development.policy.costs[1:] > 0), "no cost after the current phase: realised = cash flows"
    gone = np.minimum(sim.failure_time, sim.development.abandon_time)
    for t in range(1, 6):
        realised = (sim.ip_cf[:, u > t] @ ((1 + r) ** -(u[u > t] - 0.5 - t))) * (1 + infl) ** t
        V = sim.collateral[:, t]
        assert np.all(V[gone <= t] == 0), f"t={t}: failed or abandoned paths must have no collateral value"
        alive = gone > t
        grp = alive & (sim.launch_period > t) & ((sim.completion_times <= t).sum(axis=1) == 0)
        assert grp.sum() >= 250, f"t={t}: only {int(grp.sum())} paths still in phase III"
        spread = float(V[grp].max() - V[grp].min())
        check(f"t={t} spread of the collateral among paths with one information set", spread, 0.0,
              1e-9 * float(V[grp].mean()), paths=int(grp.sum()))
        check(f"t={t} collateral of the phase III state vs its paths' mean realised value",
              float(V[grp].mean()), float(realised[grp].mean()), 1e-6 * float(realised[grp].mean()))
        launched = alive & (sim.launch_period <= t)
        if launched.sum() >= 300:
            se = float(realised[launched].std(ddof=1) / math.sqrt(launched.sum()))
            check(f"launched t={t}", float(V[launched].mean()), float(realised[launched].mean()), 4 * se,
                  paths=int(launched.sum()))


def test_collateral_does_not_see_the_paths_own_future():
    """Two launched paths identical up to t but with a different future VBP draw get the same value."""
    req = marketed(vbp_exposure="high", years_to_peak=0)
    sim = simulate(req, 0.25, fixed_posterior(), n=4000)
    t = 2
    not_hit = sim.vbp_period > t
    later_hit = not_hit & (sim.vbp_period <= sim.T)
    never_hit = not_hit & (sim.vbp_period > sim.T)
    a, b = np.flatnonzero(later_hit)[0], np.flatnonzero(never_hit)[0]
    # same peak (deterministic), same exclusivity (no uncertain patents): states are equal at t
    assert sim.collateral[a, t] == pytest.approx(sim.collateral[b, t], rel=1e-12)


def test_same_seed_same_paths_and_other_seed_differs():
    req = case("biologic_phase3_coowned")
    post = load_posterior()
    a = simulate(req, 0.3, post, n=2000)
    b = simulate(req, 0.3, post, n=2000)
    c = simulate(req, 0.3, post, n=2000, seed=8)
    np.testing.assert_array_equal(a.pv, b.pv)
    np.testing.assert_array_equal(a.collateral, b.collateral)
    assert not np.array_equal(a.pv, c.pv)


def test_mc_standard_error_shrinks_as_one_over_sqrt_paths():
    req = case("biologic_phase3_coowned")
    post = load_posterior()
    small = simulate(req, 0.3, post, n=4000).mc_std_error
    large = simulate(req, 0.3, post, n=64000).mc_std_error
    check("s.e. ratio 4k/64k", small / large, 4.0, 0.4, expected_law="1/sqrt(n)")


def test_earlier_stage_never_raises_value_on_common_paths():
    """Stage draws are aligned across stages, so an earlier stage is the later one plus hurdles."""
    post = load_posterior()
    later = simulate(case("oncology_antibody_phase2", product={"stage": "phase3"}), 0.3, post, n=3000)
    earlier = simulate(case("oncology_antibody_phase2", product={"stage": "phase2"}), 0.3, post, n=3000)
    assert earlier.approved.sum() <= later.approved.sum()
    assert earlier.appraised_value < later.appraised_value


def test_allocator_tuning_applies_once_and_changes_no_result():
    from ipledge.risk.runtime import tune_allocator

    req = case("oncology_antibody_phase2")
    before = simulate(req, 0.3, fixed_posterior(), n=1000).pv
    assert tune_allocator() in (True, False)      # False only off glibc
    assert tune_allocator() == tune_allocator()   # idempotent (applied once)
    np.testing.assert_array_equal(simulate(req, 0.3, fixed_posterior(), n=1000).pv, before)
