"""The pieces of the collateral model (ipledge.risk.collateral) against direct computations.

- reverse cumulative sums against explicit sums over u > t;
- the grouped least-squares fit (one coefficient set per group, by pseudo-inverse) against numpy's lstsq
  group by group, and its standard errors against s² · x'(X'X)⁺x with s² = RSS / (n − rank);
- the launched paths' closed form V_t = (1/D_t) Σ_{u>t} d_u A_u [hit ? (1−cut) : (1−c̄) + c̄(1−h)^(u−t)]
  against a double loop over t and u;
- the PV of development costs still to pay after t, and the live states, against loops.
Inputs are synthetic arrays with fixed seeds.
"""
from __future__ import annotations

import itertools
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from ipledge.risk import collateral
from ipledge.risk import simulate as sm


def test_tail_sums_are_the_sums_over_later_years():
    x = np.random.default_rng(1).normal(size=(6, 3))
    for years in (0, 2, 6):
        got = collateral.tail_sums_upto(x, years)
        want = np.array([[sum(x[u - 1, j] for u in range(t + 1, 7)) for j in range(3)]
                         for t in range(years + 1)])
        assert got.shape == (years + 1, 3) and np.allclose(got, want, atol=1e-12), (
            f"years={years}: expected {want}, got {got}")


def test_today_gets_a_discount_factor_of_one():
    d = np.array([0.9, 0.8])
    assert np.array_equal(collateral.with_today(d), [1.0, 0.9, 0.8])
    got = collateral.with_today(np.array([[0.9, 0.8], [0.7, 0.6]]))
    assert np.array_equal(got, [[1.0, 0.9, 0.8], [1.0, 0.7, 0.6]]), got


def grouped_problem(seed=3, n=400, groups=5):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    tau = rng.uniform(0, 10, n)
    feats = np.stack([np.ones(n), tau, tau ** 2])
    y = 5 + 2 * tau - 0.3 * tau ** 2 + 3 * g + rng.normal(0, 1 + g, n)
    tau_const = np.where(g == 1, 4.0, tau)           # group 1: tau constant -> collinear with the intercept
    feats_c = np.stack([np.ones(n), tau_const, tau_const ** 2])
    return y, feats, feats_c, g


@pytest.mark.parametrize("collinear", [False, True])
def test_grouped_least_squares_matches_lstsq_group_by_group(collinear):
    y, feats, feats_c, g = grouped_problem()
    X = feats_c if collinear else feats
    n_groups = 7                                            # two groups have no observation
    fitted, se = collateral._lsm_fit(y, X, g, n_groups, with_se=True)
    plain = collateral._lsm_fit(y, X, g, n_groups)
    assert np.array_equal(plain, fitted), "with_se must not change the fitted values"
    for k in np.unique(g):
        rows = g == k
        Xk = X[:, rows].T
        beta, *_ = np.linalg.lstsq(Xk, y[rows], rcond=None)
        want = Xk @ beta
        rank = np.linalg.matrix_rank(Xk)
        s2 = ((y[rows] - want) ** 2).sum() / (rows.sum() - rank)
        lev = np.einsum("ij,jk,ik->i", Xk, np.linalg.pinv(Xk.T @ Xk), Xk)
        want_se = np.sqrt(s2 * lev)
        assert np.allclose(fitted[rows], want, rtol=1e-7, atol=1e-7), (
            f"group {k} (collinear={collinear}): fitted differs from lstsq by "
            f"{np.abs(fitted[rows] - want).max():.3g}, tolerance 1e-7")
        assert np.allclose(se[rows], want_se, rtol=1e-6, atol=1e-9), (
            f"group {k}: se expected {want_se[:3]}, got {se[rows][:3]}, tolerance rel 1e-6")


def launched_res(h_hit_seed=5, n=6, T=7, per_path_discount=False):
    rng = np.random.default_rng(h_hit_seed)
    r = 0.08
    t = np.arange(1, T + 1)
    d, D = (1 + r) ** -(t - 0.5), (1 + r) ** -t.astype(float)
    if per_path_discount:
        rates = rng.uniform(0.03, 0.12, n)
        d = (1 + rates[:, None]) ** -(t[None, :] - 0.5)
        D = (1 + rates[:, None]) ** -t[None, :].astype(float)
    rows = np.array([0, 2, 3, 5])
    return NS(market_rows=rows, T=T, discount=d, discount_end=D, params=NS(vbp_cut_mean=0.5),
              vbp_period=rng.integers(1, T + 3, n), vbp_cut=rng.uniform(0.2, 0.7, n),
              peak=rng.uniform(50, 150, n), ip_share=0.3, market_in=rng.uniform(0, 1, (rows.size, T)),
              launch_period=np.zeros(n, int))


@pytest.mark.parametrize("h", [0.0, 0.15])
@pytest.mark.parametrize("per_path", [False, True])
def test_launched_values_are_the_closed_form_summed_year_by_year(h, per_path):
    res = launched_res(per_path_discount=per_path)
    if h == 0:
        res.vbp_period[:] = res.T + 1          # no VBP hazard: no event on any path
    Y = 5
    got = collateral._launched_values(res, None, 0, h, Y)
    c_bar = res.params.vbp_cut_mean
    for a, i in enumerate(res.market_rows):
        d = res.discount[i] if per_path else res.discount
        D = np.r_[1.0, res.discount_end[i] if per_path else res.discount_end]
        for t in range(Y + 1):
            hit = res.vbp_period[i] <= t
            total = 0.0
            for u in range(t + 1, res.T + 1):
                cf = res.peak[i] * res.ip_share * res.market_in[a, u - 1] * d[u - 1]
                total += cf * ((1 - res.vbp_cut[i]) if hit else (1 - c_bar) + c_bar * (1 - h) ** (u - t))
            want = total / D[t]
            assert math.isclose(got[a, t], want, rel_tol=1e-10, abs_tol=1e-10), (
                f"path {i}, t={t}, h={h}, per-path discount={per_path}: expected {want}, got {got[a, t]}")


def test_costs_after_t_are_the_discounted_costs_of_phases_starting_later():
    rng = np.random.default_rng(11)
    n, K, Y, r = 8, 3, 4, 0.07
    comp = np.sort(rng.uniform(0, 6, (n, K)), axis=1)
    comp[0, 0] = 2.0                               # a phase starting exactly at the end of year 2: after t=1 only
    paid = rng.random((n, K)) < 0.7
    paid[0, 1] = True
    costs = np.array([5.0, 20.0, 0.0])
    res = NS(n=n, completion_times=comp, rate=r, development=NS(paid=paid, policy=NS(costs=costs)))
    got = collateral._future_costs(res, Y)
    for t in range(Y + 1):
        for i in range(n):
            start = comp[i, 0]                     # phase 1 starts when phase 0 completes
            want = costs[1] * paid[i, 1] * (1 + r) ** -start if start > t else 0.0
            assert math.isclose(got[t, i], want, rel_tol=1e-12, abs_tol=1e-12), (t, i, got[t, i], want)
    free = NS(n=n, completion_times=comp, rate=r, development=NS(paid=paid, policy=NS(costs=np.array([5.0, 0, 0]))))
    assert not collateral._future_costs(free, Y).any(), "no cost after today: nothing to subtract"
    two = NS(n=n, completion_times=comp[:, :2], rate=r, development=NS(paid=paid[:, :2], policy=NS(costs=costs[:2])))
    assert np.allclose(collateral._future_costs(two, Y), got, rtol=1e-12), "two phases left: the same cost of phase 1"


@pytest.mark.parametrize("resolve", [2, 7])
def test_live_states_follow_failure_and_the_rights_in_force(resolve):
    n = 4
    res = NS(n=n, params=NS(patent_resolution_years=resolve), launch_period=np.array([1, 9, 9, 3]),
             exclusivity_end=np.array([5.0, 0.0, 0.0, 2.5]), failure_time=np.array([np.inf, 3.0, np.inf, np.inf]),
             development=NS(abandon_time=np.array([np.inf, np.inf, 4.0, np.inf])),
             patent_alive=np.array([[True, True, False, True], [False, True, False, False]]))
    patents = NS(base=np.array([6.0, 3.5]), uncertain=np.array([True, False]))
    cols = np.arange(9)
    got = collateral.live_states(res, patents, cols)
    gone = np.minimum(res.failure_time, res.development.abandon_time)
    alive_end = np.where(res.patent_alive, patents.base[:, None], 0.0).max(axis=0)
    for t in cols:
        for i in range(n):
            if t < resolve:                  # outcomes not resolved: the rights may be in force
                rights = True
            elif res.launch_period[i] <= t:
                rights = res.exclusivity_end[i] > t
            else:
                rights = alive_end[i] > t
            want = gone[i] > t and rights
            assert got[t, i] == want, f"t={t}, path {i}: expected live={want}, got {got[t, i]}"
    certain = NS(base=patents.base, uncertain=np.array([False, False]))
    assert not collateral.live_states(res, certain, np.array([1]))[0, 2], "no rights in force from t=0 when certain"
    assert not collateral.live_states(res, certain, np.array([0]))[0, 2], "not even at t=0: nothing is pending"


def test_realised_remaining_value_is_the_discounted_later_cash_flow_less_later_costs_in_money_of_t():
    rng = np.random.default_rng(17)
    n, T, Y, r = 5, 6, 4, 0.09
    t = np.arange(1, T + 1)
    rows = np.array([1, 2, 4])
    ip_cf = np.zeros((n, T))
    ip_cf[rows] = rng.uniform(0, 50, (rows.size, T))
    comp = np.sort(rng.uniform(0, 5, (n, 2)), axis=1)
    costs = np.array([0.0, 30.0])
    paid = np.ones((n, 2), bool)
    res = NS(n=n, T=T, market_rows=rows, ip_cf=ip_cf, discount=(1 + r) ** -(t - 0.5), discount_end=(1 + r) ** -t,
             completion_times=comp, rate=r, development=NS(paid=paid, policy=NS(costs=costs)))
    got = collateral.realised_remaining(res, Y)
    for y in range(Y + 1):
        for i in range(n):
            flows = sum(ip_cf[i, u - 1] * (1 + r) ** -(u - 0.5) for u in range(y + 1, T + 1))
            cost = costs[1] * (1 + r) ** -comp[i, 0] if comp[i, 0] > y else 0.0
            want = (flows - cost) * (1 + r) ** y
            assert math.isclose(got[y, i], want, rel_tol=1e-12, abs_tol=1e-9), (
                f"t={y}, path {i}: expected {want}, got {got[y, i]}")


@pytest.mark.parametrize("resolved_from", [1, 2])
@pytest.mark.parametrize("h, early_hit", [(0.0, False), (0.2, True), (0.2, False)])
def test_before_the_patents_resolve_a_launched_path_is_valued_on_the_expected_exclusivity(h, early_hit, resolved_from):
    """Paths launched while the patent outcomes are pending (resolution after 2 years) carry, until then,
    the closed form on the accrual averaged over all 2^p outcomes; from year 2 on, their own accrual.
    ``early_hit``: the two paths launched in year 1 are hit by VBP at 0 and 1; else at 3 and never (the
    expected future cut then enters every year before resolution)."""
    res = launched_res(per_path_discount=False)
    T, rows = res.T, res.market_rows
    res.launch_time = np.array([0.5, 9.0, 1.2, 0.2, 9.0, 3.5])
    res.launch_period = np.ceil(res.launch_time).astype(int)
    res.years_to_peak = 1.0
    res.params = NS(vbp_cut_mean=0.5, exclusivity_shift_years=0.0)
    if h == 0:
        res.vbp_period[:] = T + 1
    elif early_hit:
        res.vbp_period[[0, 3]] = [0, 1]                 # hit before the outcomes are known
    else:
        res.vbp_period[[0, 3]] = [3, T + 1]             # not hit while the outcomes are pending
    patents = NS(base=np.array([3.0, 5.5]), extension=np.array([2.0, 0.0]), survive_p=np.array([0.6, 0.5]))
    L = res.launch_time[rows]
    expected = np.zeros((rows.size, T))
    for outcome in itertools.product([False, True], repeat=2):
        prob = np.prod([s if o else 1 - s for s, o in zip(patents.survive_p, outcome)])
        E = sm.exclusivity_given_launch(patents, np.array(outcome)[:, None].repeat(rows.size, 1), L)
        expected += prob * sm.accrued_sales(L, E, T, res.years_to_peak)[0]
    Y = 4
    got = collateral._launched_values(res, patents, resolved_from, h, Y)
    D = np.r_[1.0, res.discount_end]
    for a, i in enumerate(rows):
        for t in range(Y + 1):
            acc = expected[a] if (res.launch_period[i] <= resolved_from - 1 and t < resolved_from) else res.market_in[a]
            hit = res.vbp_period[i] <= t
            total = sum(res.peak[i] * res.ip_share * acc[u - 1] * res.discount[u - 1]
                        * ((1 - res.vbp_cut[i]) if hit else (1 - 0.5) + 0.5 * (1 - h) ** (u - t))
                        for u in range(t + 1, T + 1))
            want = total / D[t]
            assert math.isclose(got[a, t], want, rel_tol=1e-10, abs_tol=1e-10), (
                f"path {i} (launch {res.launch_time[i]}), t={t}, h={h}: expected {want}, got {got[a, t]}")


def test_collateral_and_its_standard_error_are_the_real_values_restated_in_money_of_year_t():
    """Inflation enters only the restatement: same paths, V_t(i) = V_t(0) x (1 + i)^t, and so the s.e."""
    import dataclasses

    from risk_helpers import case

    from ipledge.risk.params import DEFAULT_PARAMS
    from ipledge.risk.posterior import load_posterior

    req = case("biologic_phase3_coowned", simulation={"paths": 2000, "seed": 2})
    out = {}
    for infl in (0.0, 0.05):
        prm = dataclasses.replace(DEFAULT_PARAMS, inflation=infl)
        res = sm.simulate(req, 0.3, load_posterior(), prm, n=2000)
        patents = sm.PatentTable.from_request(req, prm)
        out[infl] = collateral.collateral_values(res, patents, prm.vbp_hazard[req.product.vbp_exposure], 4,
                                                 with_se=True)
    (v0, se0), (v1, se1) = out[0.0], out[0.05]
    grow = 1.05 ** np.arange(5)
    assert np.allclose(v1, v0 * grow, rtol=1e-12), np.abs(v1 - v0 * grow).max()
    assert np.allclose(se1, se0 * grow, rtol=1e-12), np.abs(se1 - se0 * grow).max()
    assert (se0[:, 1:] > 0).any() and not se0[:, 0].any(), "regression values carry an s.e., today's none"


def extension_capped_case(pending: bool, paths: int, seed: int):
    """Phase III biologic whose core patent expires ~15 years out with 5 years of compensation asked: the
    14-years-after-approval cap binds, so the exclusivity end (and the years left a buyer sees) moves with
    the launch date; with ``pending`` the second patent is still to be granted (resolved after 2 years)."""
    from risk_helpers import case

    pats = case("biologic_phase3_coowned").model_dump(mode="json")["patents"]
    pats[0] = dict(pats[0], filing_date="2021-11-15", term_extension_years=5)
    if pending:
        pats[1] = dict(pats[1], status="pending", grant_date=None)
    return case("biologic_phase3_coowned", simulation={"paths": paths, "seed": seed}, patents=pats)


@pytest.mark.parametrize("pending", [True, False])
def test_the_value_at_year_t_does_not_depend_on_how_many_later_years_are_valued(pending):
    """What a buyer pays at t uses what is known at t: valuing years 0..2 or 0..5 gives the same first three
    columns (the regression is fitted year by year; a pending patent resolves after 2 years)."""
    from risk_helpers import case

    from ipledge.risk.params import DEFAULT_PARAMS
    from ipledge.risk.posterior import load_posterior

    req = extension_capped_case(pending, paths=2000, seed=4)
    res = sm.simulate(req, 0.3, load_posterior(), n=2000)
    patents = sm.PatentTable.from_request(req, DEFAULT_PARAMS)
    h = DEFAULT_PARAMS.vbp_hazard[req.product.vbp_exposure]
    short, long_ = (collateral.collateral_values(res, patents, h, y) for y in (2, 5))
    assert patents.uncertain.any() == pending, patents.uncertain
    assert (short[:, 1:] > 0).any(), "some collateral must be positive for this test to mean anything"
    assert np.allclose(short, long_[:, :3], rtol=1e-9, atol=1e-6), (
        f"pending={pending}: largest difference {np.abs(short - long_[:, :3]).max():.3g} CNY, tolerance 1e-9 rel")


def short_and_pending_case(second_filing: str):
    """The core patent of extension_capped_case still to be granted, the second one granted but short
    (its term ends ``second_filing`` + 20 years - 1 day): on the paths where the core is not granted only
    the short term is left, so the rights before and after resolution, and the years left, differ by path."""
    from risk_helpers import case

    pats = case("biologic_phase3_coowned").model_dump(mode="json")["patents"]
    pats[0] = dict(pats[0], filing_date="2021-11-15", term_extension_years=5, status="pending", grant_date=None)
    pats[1] = dict(pats[1], filing_date=second_filing, grant_date="2012-03-05")
    return case("biologic_phase3_coowned", simulation={"paths": 3000, "seed": 6}, patents=pats)


def regression_case(variant: str):
    """(request, params, years valued) of each variant of the documented-regression check."""
    import dataclasses

    from risk_helpers import case

    from ipledge.risk.params import DEFAULT_PARAMS

    if variant in ("pending", "certain"):
        return extension_capped_case(variant == "pending", paths=3000, seed=6), DEFAULT_PARAMS, 4
    if variant == "shift +15.3 y":         # generic entry long after expiry: 29.3..30.6 years left, clipped at 30
        prm = dataclasses.replace(DEFAULT_PARAMS, exclusivity_shift_years=15.3)
        return extension_capped_case(False, paths=3000, seed=6), prm, 4
    if variant == "short 1.5 y":           # the short term ends before resolution (2 years)
        return short_and_pending_case("2008-05-01"), DEFAULT_PARAMS, 4
    if variant == "short 3.5 y":           # at t = 3 the short term has half a year left
        return short_and_pending_case("2010-05-01"), DEFAULT_PARAMS, 4
    if variant == "short 4.0 y":           # ends 2030-11-01, 1461 days = exactly 4.0 years after as_of
        return short_and_pending_case("2010-11-02"), DEFAULT_PARAMS, 4
    # a horizon of 8 years capped below the patents' terms, slow trials and a filing cost: pre-launch paths
    # are live up to the horizon, valued to its end (T) with their standard errors
    prm = dataclasses.replace(DEFAULT_PARAMS, max_horizon_years=8, duration_scale=2.5)
    req = case("biologic_phase3_coowned", product={"development_cost": {"phase3": 0.0, "filed": 1.0e6}},
               simulation={"paths": 3000, "seed": 6})
    return req, prm, 8


@pytest.mark.parametrize("variant", ["pending", "certain", "shift +15.3 y", "short 1.5 y", "short 3.5 y", "short 4.0 y",
                                     "capped horizon"])
def test_pre_launch_collateral_is_the_documented_regression_fitted_group_by_group(variant):
    """Least-squares Monte Carlo as the module docstring states it, refitted here with numpy's lstsq: at each
    year t and stage reached, the realised remaining value on 1, τ, τ² (τ = years in the stage; since as_of
    for the stage under way) and, once the patents are resolved, the exclusivity years left (0..30) under
    the extension rule at the launch date expected then; floored at 0, 0 where the path is not live,
    restated in money of year t. The sample at t: not launched, not failed or abandoned, rights in force
    (before resolution any patent's term, after it a surviving patent's term must run past t); no regression
    at the horizon T, where the value is 0 (and so its standard error)."""
    from ipledge.risk.posterior import load_posterior

    req, prm, Y = regression_case(variant)
    res = sm.simulate(req, 0.3, load_posterior(), prm, n=3000)
    patents = sm.PatentTable.from_request(req, prm)
    assert Y <= res.T, (Y, res.T)
    got, se = collateral.collateral_values(res, patents, prm.vbp_hazard[req.product.vbp_exposure], Y,
                                           with_se=True)
    pending = bool(patents.uncertain.any())
    if Y == res.T:
        assert not got[:, Y].any() and not se[:, Y].any(), "nothing is left at the horizon: value and s.e. 0"
        assert (se[:, Y - 1] > 0).any(), "the year before the horizon is a regression value"
    realised = collateral.realised_remaining(res, Y)
    live = collateral.live_states(res, patents, np.arange(Y + 1))
    resolved_from = prm.patent_resolution_years if pending else 0
    gone = np.minimum(res.failure_time, res.development.abandon_time)
    base_any = patents.base.max()
    base_alive = np.where(res.patent_alive, patents.base[:, None], 0.0).max(axis=0)
    comp = res.completion_times
    checked = 0
    for t in range(1, min(Y, res.T - 1) + 1):
        rights = base_any > t if t < resolved_from else base_alive > t
        pre = (res.launch_period > t) & (gone > t) & rights
        k = (comp <= t).sum(axis=1)
        last = np.where(comp <= t, comp, 0.0).max(axis=1)
        tau = np.where(k > 0, t - last, t)
        for stage in np.unique(k[pre]):
            rows = np.flatnonzero(pre & (k == stage))
            cols = [np.ones(rows.size), tau[rows], tau[rows] ** 2]
            if t >= resolved_from:
                hat = sm.expected_launch(np.full(rows.size, float(t)), k[rows], tau[rows], res.stage_means)
                left = sm.info_years_left(patents, res.patent_alive[:, rows], np.full(rows.size, float(t)), hat,
                                          prm.exclusivity_shift_years)
                cols.append(np.clip(left, 0.0, 30.0))
            X = np.stack(cols, axis=1)
            beta, *_ = np.linalg.lstsq(X, realised[t, rows], rcond=None)
            want = np.maximum(X @ beta, 0.0) * live[t, rows] * (1 + prm.inflation) ** t
            scale = max(np.abs(realised[t, rows]).max(), 1.0)
            assert np.allclose(got[rows, t], want, rtol=0, atol=1e-7 * scale), (
                f"{variant}, t={t}, stage+{stage} ({rows.size} paths): largest difference "
                f"{np.abs(got[rows, t] - want).max():.4g} CNY, tolerance {1e-7 * scale:.3g}")
            checked += rows.size
    assert checked > 1000, f"only {checked} pre-launch path-years checked"


def test_a_patent_term_ending_exactly_at_a_year_end_is_not_in_force_then():
    """Expiry 1461 days (exactly 4.0 years of 365.25 days) after as_of: in force at the end of year 3, not
    at the end of year 4 (the term must run past t); after launch the exclusivity end is read the same way."""
    res = NS(n=2, params=NS(patent_resolution_years=2), launch_period=np.array([9, 2]),
             exclusivity_end=np.array([0.0, 4.0]), failure_time=np.array([np.inf, np.inf]),
             development=NS(abandon_time=np.array([np.inf, np.inf])), patent_alive=np.array([[True, True]]))
    patents = NS(base=np.array([4.0]), uncertain=np.array([False]))
    got = collateral.live_states(res, patents, np.arange(6))
    want = np.array([[t < 4, t < 4] for t in range(6)])
    assert np.array_equal(got, want), f"expected\n{want}\ngot\n{got}"


def test_values_launched_before_resolution_do_not_depend_on_how_many_later_years_are_valued():
    """Resolution after 3 years, collateral valued for 1 or 2 years only: the paths launched in year 1
    carry the expected-exclusivity value in every year valued, the same numbers as valuing 4 years."""
    res = launched_res(per_path_discount=False)
    res.launch_time = np.array([0.5, 9.0, 1.2, 0.2, 9.0, 3.5])
    res.launch_period = np.ceil(res.launch_time).astype(int)
    res.years_to_peak = 1.0
    res.params = NS(vbp_cut_mean=0.5, exclusivity_shift_years=0.0)
    res.vbp_period[[0, 3]] = [4, res.T + 1]
    patents = NS(base=np.array([3.0, 5.5]), extension=np.array([2.0, 0.0]), survive_p=np.array([0.6, 0.5]))
    early = [a for a, i in enumerate(res.market_rows) if res.launch_period[i] <= 1]
    assert len(early) == 2, early
    full = collateral._launched_values(res, patents, 3, 0.2, 4)
    for Y in (1, 2):
        got = collateral._launched_values(res, patents, 3, 0.2, Y)
        assert got.shape == (res.market_rows.size, Y + 1), got.shape
        assert np.allclose(got[early], full[early, :Y + 1], rtol=1e-12), (
            f"Y={Y}: expected {full[early, :Y + 1]}, got {got[early]}")
    own = collateral._launched_values(res, patents, 0, 0.2, 4)      # resolved from today: their own accrual
    assert not np.allclose(own[early, :3], full[early, :3]), "the expected and own accrual must differ here"


def test_grouped_least_squares_does_not_depend_on_the_units_of_the_regressors():
    """tau in units of 10^4 years (tau^2 then ~1e-6): the fitted values are those of the unit-free fit."""
    y, feats, _, g = grouped_problem()
    ref = collateral._lsm_fit(y, feats, g, 7)
    small = feats * np.array([1.0, 1e-4, 1e-8])[:, None]
    got = collateral._lsm_fit(y, small, g, 7)
    assert np.allclose(got, ref, rtol=1e-8, atol=1e-8), np.abs(got - ref).max()


def test_standard_errors_of_an_exact_fit_and_of_a_group_with_one_residual_degree_of_freedom():
    """A group whose y is exactly quadratic in tau: s.e. 0. A group of 4 observations and 3 regressors:
    s² = RSS / 1. A group of 3 (an exact fit): 0."""
    rng = np.random.default_rng(23)
    sizes = {0: 60, 1: 4, 2: 3, 3: 50}
    g = np.concatenate([np.full(m, k) for k, m in sizes.items()])
    tau = rng.uniform(0, 8, g.size)
    X = np.stack([np.ones(g.size), tau, tau ** 2])
    y = 100 + 20 * tau - 3 * tau ** 2 + np.where(g == 0, 0.0, rng.normal(0, 5, g.size))
    fitted, se = collateral._lsm_fit(y, X, g, 4, with_se=True)
    for k, m in sizes.items():
        rows = g == k
        Xk = X[:, rows].T
        beta, *_ = np.linalg.lstsq(Xk, y[rows], rcond=None)
        rss = float(((y[rows] - Xk @ beta) ** 2).sum())
        dof = max(m - 3, 1)
        lev = np.einsum("ij,jk,ik->i", Xk, np.linalg.pinv(Xk.T @ Xk), Xk)
        want = np.sqrt(max(rss, 0.0) / dof * lev) if k in (1, 3) else np.zeros(m)
        tol = 1e-6 if k in (1, 3) else 1e-4     # exact fits: the RSS is y'y - b'X'y, rounding ~1e-12 of y'y
        assert np.allclose(se[rows], want, rtol=1e-6, atol=tol), (
            f"group {k} ({m} observations, dof {dof}): expected s.e. {want[:4]}, got {se[rows][:4]}")
    assert se[g == 1].min() > 0.1, "the 4-observation group must have a residual"


@pytest.mark.parametrize("costs", [[5.0, 0.0, 20.0], [5.0, 0.5, 20.0], [5.0, 0.5, 0.0]])
def test_future_costs_of_free_cheap_and_later_phases(costs):
    """A free phase before a costed one, and a phase costing under CNY 1: each later phase k is paid at its
    start (the completion of phase k-1) when that is after the end of year t."""
    rng = np.random.default_rng(29)
    n, K, Y, r = 8, 3, 4, 0.07
    comp = np.sort(rng.uniform(0, 6, (n, K)), axis=1)
    paid = rng.random((n, K)) < 0.8
    costs = np.array(costs)
    res = NS(n=n, completion_times=comp, rate=r, development=NS(paid=paid, policy=NS(costs=costs)))
    got = collateral._future_costs(res, Y)
    for t in range(Y + 1):
        for i in range(n):
            want = sum(costs[k] * paid[i, k] * (1 + r) ** -comp[i, k - 1] for k in range(1, K) if comp[i, k - 1] > t)
            assert math.isclose(got[t, i], want, rel_tol=1e-12, abs_tol=1e-12), (
                f"costs {costs.tolist()}, t={t}, path {i}: expected {want}, got {got[t, i]}")
    assert got.any(), "some cost must be due after today"


def test_without_a_vbp_hazard_the_expected_cut_does_not_enter_the_collateral():
    """No hazard: no event can come, so the mean cut c̄ must not enter the value, bit for bit (the closed
    form is Σ d_u A_u / D_t itself, not (1 - c̄) Σ + c̄ Σ); also before a pending patent resolves."""
    import dataclasses

    from risk_helpers import case, fixed_posterior

    from ipledge.risk.params import DEFAULT_PARAMS

    base = case("anaesthetic_injectable")
    pats = base.model_dump(mode="json")["patents"]
    pats = [pats[0], dict(pats[0], id="CN-PENDING", status="pending", grant_date=None, filing_date="2022-03-01")]
    req = case("anaesthetic_injectable", product={"vbp_exposure": "none"}, patents=pats,
               simulation={"paths": 1000, "seed": 12})
    out = []
    for c_bar in (0.53, 0.2):
        prm = dataclasses.replace(DEFAULT_PARAMS, vbp_cut_mean=c_bar)
        res = sm.simulate(req, 0.3, fixed_posterior(), prm, n=1000, collateral_years=4)
        patents = sm.PatentTable.from_request(req, prm)
        assert patents.uncertain.any() and res.market_rows.size == 1000
        out.append(collateral.collateral_values(res, patents, 0.0, 4))
    assert (out[0][:, 1:] > 0).all(), "every launched path carries collateral"
    assert np.array_equal(out[0], out[1]), np.abs(out[0] - out[1]).max()
