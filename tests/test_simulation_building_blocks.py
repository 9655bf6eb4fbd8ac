"""The building blocks of the simulation (ipledge.risk.simulate) against closed forms and brute force.

- the sales ramp F(x) = ∫_0^x min(1, a/ytp) da against a fine midpoint rule, and the accrual per period
  (split at the exclusivity end E) against the same integral over [t-1, min(t, E)];
- the term-extension rule (Patent Law art. 42: extension only for a patent in force at approval, effective
  term after approval at most 14 years), patent by patent;
- discount factors, Beta parameters, lognormal quantile fit, expected launch, success events, the horizon,
  stage means (mean of a lognormal = median x exp(sigma^2 / 2)) written out by hand;
- the expected accrual over unresolved patent outcomes (ipledge.risk.collateral) against enumerating all 2^p
  outcomes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from ipledge.risk import simulate as sm
from ipledge.risk.collateral import expected_accrual
from ipledge.risk.durations import phase_duration_medians
from ipledge.risk.params import DEFAULT_PARAMS


def ramp_by_quadrature(x, ytp, steps=20_000):
    if x <= 0:
        return 0.0
    a = (np.arange(steps) + 0.5) * (x / steps)
    return float(np.minimum(1.0, a / ytp).sum() * (x / steps)) if ytp > 0 else x


@pytest.mark.parametrize("ytp", [0.0, 0.7, 3.0])
def test_ramp_integral_is_the_integral_of_the_ramp(ytp):
    xs = np.array([-1.0, 0.0, 0.3, 0.7, 1.9, 3.0, 5.5])
    got = sm.ramp_integral(xs.copy(), ytp)
    for x, g in zip(xs, got):
        want = ramp_by_quadrature(x, ytp)
        assert math.isclose(g, want, abs_tol=1e-6), f"F({x}) with ytp={ytp}: expected {want}, got {g}, tol 1e-6"


def test_accrual_per_period_is_the_ramp_integral_split_at_exclusivity_end():
    launch = np.array([0.4, 1.0, 2.3, 0.0, 6.5, 0.0, 0.2])
    excl = np.array([3.6, 0.5, 7.0, 2.0, 9.5, 0.6, 6.5])  # E before launch, in the first year, at an edge, past T
    T, ytp = 6, 1.5
    acc_in, acc_after = sm.accrued_sales(launch, excl, T, ytp)
    for i in range(launch.size):
        for t in range(1, T + 1):
            a, b = t - 1.0, float(t)
            total = ramp_by_quadrature(b - launch[i], ytp) - ramp_by_quadrature(a - launch[i], ytp)
            cut = min(max(excl[i], a), b)
            before = ramp_by_quadrature(cut - launch[i], ytp) - ramp_by_quadrature(a - launch[i], ytp)
            got = (acc_in[i, t - 1], acc_after[i, t - 1])
            assert math.isclose(got[0], before, abs_tol=1e-6) and math.isclose(got[1], total - before, abs_tol=1e-6), (
                f"launch {launch[i]}, E {excl[i]}, period {t}: expected (in, after) {(before, total - before)}, "
                f"got {got}, tolerance 1e-6")


def test_exclusivity_end_applies_the_extension_rule_patent_by_patent():
    patents = NS(base=np.array([10.0, 6.0, 12.0, 20.0]), extension=np.array([4.0, 5.0, 0.0, 3.0]))
    launch = np.array([2.0, 8.0, 1.0, np.inf, 5.0, 1.0])          # the last: 14-year cap leaves no room
    alive = np.array([[True, True, False, True, True, False], [True, True, True, True, False, False],
                      [False, False, False, False, True, False], [False, False, False, False, False, True]])
    got = sm.exclusivity_given_launch(patents, alive, launch, shift=-0.5)
    for i in range(launch.size):
        ends = []
        for b, e, a in zip(patents.base, patents.extension, alive[:, i]):
            if not a:
                continue
            ext = min(e, max(0.0, launch[i] + 14 - b)) if b > launch[i] else 0.0
            ends.append(b + ext)
        want = max(max(ends, default=0.0) - 0.5, 0.0)
        assert math.isclose(got[i], want, abs_tol=1e-12), (
            f"path {i} (launch {launch[i]}): expected {want}, got {got[i]}, tolerance 1e-12")
    none = sm.exclusivity_given_launch(NS(base=np.zeros(0), extension=np.zeros(0)), np.zeros((0, 2), bool), [1.0, 2.0])
    assert np.array_equal(none, [0.0, 0.0]), none
    assert got[5] == pytest.approx(19.5), "launch + 14 < expiry: no extension"
    left = sm.info_years_left(patents, alive, np.full(6, 1.0), launch, -0.5)
    assert np.allclose(left, got - 1.0), left


def test_discount_factors_beta_parameters_and_years():
    assert np.allclose(sm.discount_factors(0.1, [0.5, 1.0, 2.0]), [1.1 ** -0.5, 1 / 1.1, 1 / 1.21], rtol=1e-15)
    got = sm.discount_factors(np.array([0.0, 0.2]), [1.0, 2.0])
    assert np.allclose(got, [[1.0, 1.0], [1 / 1.2, 1 / 1.44]], rtol=1e-15), got
    assert sm.beta_ab(0.3, 10.0) == pytest.approx((3.0, 7.0), rel=1e-12)
    a, b = sm.beta_ab(0.0, 4.0)                                   # mean kept inside (0, 1)
    assert a == pytest.approx(4e-6) and b == pytest.approx(4 * (1 - 1e-6)), (a, b)
    a, b = sm.beta_ab(1.0, 4.0)
    assert b == pytest.approx(4e-6) and a == pytest.approx(4 * (1 - 1e-6)), (a, b)
    assert sm.years_from(dt.date(2026, 1, 1), dt.date(2027, 1, 1)) == pytest.approx(365 / 365.25, rel=1e-15)


def test_lognormal_fit_with_a_zero_low_quantile_uses_the_median_and_the_high_one():
    mu, sigma = sm.lognormal_from_quantiles(0.0, 100.0, 300.0)
    assert mu == pytest.approx(math.log(100.0)) and sigma == pytest.approx(math.log(3.0) / 1.2815515655446004)
    assert sm.lognormal_from_quantiles(5.0, 0.0, 9.0) == (-math.inf, 0.0)
    mu, sigma = sm.lognormal_from_quantiles(50.0, 100.0, 400.0)   # not symmetric: least squares
    assert mu == pytest.approx(math.log(50 * 100 * 400) / 3)
    assert sigma == pytest.approx(math.log(8) / (2 * 1.2815515655446004))


def test_expected_launch_is_time_left_in_the_stage_plus_the_later_stages():
    means = np.array([1.5, 2.0, 3.0])
    t, k, tau = np.array([1.0, 2.0, 4.0, 3.0]), np.array([0, 1, 2, 1]), np.array([0.5, 0.5, 1.0, 2.5])
    want = [1 + 1.0 + 5.0, 2 + 1.5 + 3.0, 4 + 2.0 + 0.0, 3 + 0.0 + 3.0]      # floor at 0 on the last
    assert np.allclose(sm.expected_launch(t, k, tau, means), want), sm.expected_launch(t, k, tau, means)


def test_success_events_flag_the_year_of_each_passed_transition():
    comp = np.array([[0.5, 1.2, 3.0], [2.0, 2.5, 9.0], [0.1, 0.2, 0.3]])
    passed = np.array([[True, True, False], [True, True, True], [False, False, False]])
    got = sm._success_events(comp, passed, 3, 3)
    want = np.array([[True, True, False], [False, True, True], [False, False, False]])   # year t: t-1 < time <= t
    assert np.array_equal(got, want), got


def test_horizon_covers_exclusivity_and_the_loan():
    patents = NS(horizon_end=lambda: 8.2)
    req = NS(loan=NS(term_years=3.0))
    assert sm.horizon_years(req, patents, DEFAULT_PARAMS) == 14                 # ceil(8.2 + 5)
    assert sm.horizon_years(NS(loan=NS(term_years=20.0)), NS(horizon_end=lambda: 1.0), DEFAULT_PARAMS) == 21
    assert sm.horizon_years(req, NS(horizon_end=lambda: 40.0), DEFAULT_PARAMS) == 30             # the cap
    earlier = dataclasses.replace(DEFAULT_PARAMS, exclusivity_shift_years=-2.0)
    assert sm.horizon_years(req, patents, earlier) == 12                                         # ceil(6.2 + 5)


def test_stage_means_are_lognormal_means_and_half_the_current_stage():
    req = NS(product=NS(stage="phase2", therapeutic_area="oncology"))
    med = phase_duration_medians("oncology", DEFAULT_PARAMS.duration_sigma)
    boost = math.exp(0.5 * DEFAULT_PARAMS.duration_sigma ** 2)
    want = [0.5 * med["phase2"] * boost, med["phase3"] * boost, med["filed"] * boost]
    assert np.allclose(sm.stage_means(req, DEFAULT_PARAMS), want, rtol=1e-12), sm.stage_means(req, DEFAULT_PARAMS)
    assert sm.stage_means(NS(product=NS(stage="approved", therapeutic_area="oncology")), DEFAULT_PARAMS).size == 0
    stressed = dataclasses.replace(DEFAULT_PARAMS, duration_scale=2.0, extra_delay_years=1.0)
    want2 = [2 * want[0] + 1.0, 2 * want[1], 2 * want[2]]        # medians are read at the same sigma
    assert np.allclose(sm.stage_means(req, stressed), want2, rtol=1e-12), sm.stage_means(req, stressed)


def test_expected_accrual_over_unresolved_patents_equals_enumerating_their_outcomes():
    patents = NS(base=np.array([6.0, 8.0, 4.5]), extension=np.array([2.0, 0.0, 3.0]),
                 survive_p=np.array([0.5, 0.3, 0.8]))
    T, ytp = 12, 2.0
    launch = np.array([0.5, 3.0, 6.0])
    res = NS(launch_time=launch, market_rows=np.arange(3), T=T, years_to_peak=ytp,
             params=NS(exclusivity_shift_years=0.0))
    got = expected_accrual(res, patents, np.arange(3))
    want = np.zeros((3, T))
    for outcome in itertools.product([False, True], repeat=3):
        prob = np.prod([s if o else 1 - s for s, o in zip(patents.survive_p, outcome)])
        alive = np.array(outcome)[:, None].repeat(3, 1)
        E = sm.exclusivity_given_launch(patents, alive, launch)
        want += prob * sm.accrued_sales(launch, E, T, ytp)[0]
    assert np.allclose(got, want, atol=1e-12), f"expected\n{want}\ngot\n{got}"


# --------------------------------------------------------------------------------------------
# Whole simulations, small: identities that hold exactly on every path

from risk_helpers import case, fixed_posterior  # noqa: E402

from ipledge.risk.development import ip_cost_share  # noqa: E402
from ipledge.risk.posterior import load_posterior  # noqa: E402


def test_patent_table_keeps_usable_patents_with_their_survival_odds():
    base = case("biologic_phase3_coowned").model_dump(mode="json")
    p0 = base["patents"][0]
    pats = [dict(p0, id="C", status="invalidated"),                                       # dropped
            dict(p0, id="A", status="pending", grant_date=None, invalidation="pending"),   # both pending
            dict(p0, id="B", kind="utility_model", filing_date="2020-01-01", term_extension_years=0),
            dict(p0, id="D", filing_date="2004-01-01"),                                   # expired: dropped
            dict(p0, id="E", filing_date="2007-05-01", term_extension_years=0)]           # half a year left
    req = case("biologic_phase3_coowned", patents=pats)
    t = sm.PatentTable.from_request(req, DEFAULT_PARAMS)
    g, inv = DEFAULT_PARAMS.grant_probability, DEFAULT_PARAMS.invalidation_probability
    assert np.allclose(t.survive_p, [g["invention"] * (1 - inv["invention"]), 1.0, 1.0]), t.survive_p
    assert t.uncertain.tolist() == [True, False, False] and t.extension.tolist() == [3.0, 0.0, 0.0], t
    want_e = (dt.date(2027, 4, 30) - req.as_of).days / 365.25                          # 0.5 years: still usable
    assert t.base[2] == pytest.approx(want_e, abs=1e-12), (t.base, want_e)
    want_b = (dt.date(2029, 12, 31) - req.as_of).days / 365.25                        # utility model: 10 years
    assert t.base[1] == pytest.approx(want_b, abs=1e-12), (t.base, want_b)
    assert t.horizon_end() == pytest.approx(max(t.base[0] + 3.0, t.base[1])), t.horizon_end()
    none = sm.PatentTable(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, bool))
    assert none.horizon_end() == 0.0, "no usable patent: exclusivity ends today"


def test_every_launched_kept_path_earns_the_ip_share_of_its_sales_before_exclusivity_ends():
    # a cost at filing that a few late paths do not find worth paying (0.3% abandon at seed 5)
    req = case("biologic_phase3_coowned", product={"development_cost": {"filed": 1.6e9}},
               simulation={"paths": 3000, "seed": 5})
    sim = sm.simulate(req, 0.3, load_posterior(), n=3000)
    ab = sim.development.abandoned
    assert ab.any() and (~ab & sim.approved).any(), "the case must have abandoned and launched paths"
    assert not sim.sales[ab].any() and not sim.ip_cf[ab].any(), "an abandoned programme earns nothing"
    assert not sim.pv_after[ab].any(), "nor anything after exclusivity"
    u = np.arange(1, sim.T + 1)
    for i in np.flatnonzero(~ab & sim.approved)[:200]:
        before = (u <= sim.exclusivity_end[i]) & (sim.sales[i] > 0)
        got = sim.ip_cf[i, before] / sim.sales[i, before]
        assert np.allclose(got, sim.ip_share, rtol=1e-12), (i, got[:3], sim.ip_share)
    assert np.all(sim.launch_period[~sim.approved] == sim.T + 1), "never approved: launch after the horizon"
    assert sim.years.tolist() == list(range(req.as_of.year + 1, req.as_of.year + sim.T + 1)), sim.years[:3]


def test_a_filed_product_pays_its_last_cost_on_every_path_when_going_on_is_worth_it():
    """One phase left (filed): the holder decides today on the mean, so every path's value falls by
    the IP's part of the cost, exactly (same seed, same paths)."""
    free = case("biologic_phase3_coowned", product={"stage": "filed", "development_cost": {"filed": 0.0}},
                simulation={"paths": 2000, "seed": 3})
    cost = 3.0e7
    paid = case("biologic_phase3_coowned", product={"stage": "filed", "development_cost": {"filed": cost}},
                simulation={"paths": 2000, "seed": 3})
    post = fixed_posterior()
    a, b = sm.simulate(free, 0.3, post, n=2000), sm.simulate(paid, 0.3, post, n=2000)
    share = ip_cost_share(a.ip_share, free.product.profit_margin)
    assert a.pv.mean() > cost * share, "going on must be worth the cost for this test"
    assert np.allclose(a.pv - b.pv, cost * share, rtol=1e-12), (cost * share, (a.pv - b.pv)[:3])


def test_trial_durations_scale_with_the_stress_and_the_rate_shift_is_floored_at_zero():
    req = case("oncology_antibody_phase2", simulation={"paths": 1000, "seed": 9})
    post = fixed_posterior()
    base = sm.simulate(req, 0.3, post, n=500)
    slow = sm.simulate(req, 0.3, post, dataclasses.replace(DEFAULT_PARAMS, duration_scale=2.0), n=500)
    assert np.allclose(slow.completion_times, 2.0 * base.completion_times, rtol=1e-12), "durations x 2"
    r = req.policy.discount_rate
    shift = np.linspace(-2 * r, r, 500)
    moved = sm.simulate(req, 0.3, post, n=500, path_draws={"discount_shift": shift})
    rate = np.maximum(r + shift, 0.0)
    assert np.allclose(moved.rate, rate, atol=1e-15) and (moved.rate == 0).any(), moved.rate[:3]
    t = np.arange(1, moved.T + 1)
    assert np.allclose(moved.discount, (1 + rate[:, None]) ** -(t - 0.5), rtol=1e-12)
    short = sm.simulate(req, 0.3, post, n=1000, collateral_years=1)
    assert short.collateral.shape == (1000, 2) and short.success_events.shape == (1000, 1), "years 0..1 only"
    for s in (base, moved):                  # value after exclusivity = the eroded sales after E, discounted
        rows = s.market_rows
        d = s.discount[rows] if s.discount.ndim == 2 else s.discount[None, :]
        after = (s.sales[rows] - s.ip_cf[rows] / s.ip_share) * d * s.ip_share
        assert np.allclose(s.pv_after[rows], after.sum(axis=1), rtol=1e-9, atol=1e-3), "pv_after"
    launch = sm.approved_launch_time(NS(as_of=dt.date(2026, 1, 1), product=NS(launch_year=2024)), DEFAULT_PARAMS)
    assert launch == pytest.approx((dt.date(2024, 7, 1) - dt.date(2026, 1, 1)).days / 365.25, abs=1e-15), launch
    assert sm.patent_outcomes(NS(base=np.zeros(0)), None, 4).shape == (0, 4)
    one = sm.SimResult.mc_std_error.fget(NS(pv=np.array([5.0]), n=1))
    assert one == 0.0, f"one path: no standard error, got {one}"
    two = sm.SimResult.mc_std_error.fget(NS(pv=np.array([1.0, 3.0]), n=2))
    assert two == pytest.approx(math.sqrt(2.0) / math.sqrt(2.0)), two                  # sd 1.414, / sqrt(2)


def test_the_vbp_event_comes_after_a_geometric_wait_from_the_first_exposed_year():
    req = case("generic_small_molecule_marketed", simulation={"paths": 1000, "seed": 2})
    h = DEFAULT_PARAMS.vbp_hazard[req.product.vbp_exposure]
    assert 0 < h < 1, h
    u = np.linspace(0.0005, 0.9995, 1000)
    sim = sm.simulate(req, 0.3, fixed_posterior(), n=1000, path_draws={"vbp_u": u})
    first = np.maximum(sim.launch_period, 1)
    wait = np.maximum(np.ceil(np.log(1 - u) / np.log(1 - h)), 1)           # P(wait = w) = h (1 - h)^(w - 1)
    assert np.array_equal(sim.vbp_period, first - 1 + wait.astype(int)), (sim.vbp_period[:5], (first - 1 + wait)[:5])


def test_the_vbp_cut_applies_from_the_event_year_on():
    req = case("generic_small_molecule_marketed", simulation={"paths": 1000, "seed": 2})
    u = np.linspace(0.0005, 0.9995, 1000)
    cut = np.full(1000, 0.4)
    hit = sm.simulate(req, 0.3, fixed_posterior(), n=1000, path_draws={"vbp_u": u, "vbp_cut": cut})
    quiet = dataclasses.replace(DEFAULT_PARAMS, vbp_hazard={**DEFAULT_PARAMS.vbp_hazard,
                                                            req.product.vbp_exposure: 0.0})
    base = sm.simulate(req, 0.3, fixed_posterior(), quiet, n=1000)
    t = np.arange(1, hit.T + 1)
    ok = base.sales > 0
    ratio = np.where(ok, hit.sales / np.where(ok, base.sales, 1.0), 1.0)
    want = np.where(t[None, :] >= hit.vbp_period[:, None], 0.6, 1.0)
    assert (hit.vbp_period <= hit.T).any(), "some events must fall within the horizon"
    assert np.allclose(ratio[ok], want[ok], rtol=1e-12), "price x (1 - cut) from the event year on, not after"
