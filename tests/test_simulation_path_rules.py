"""Per-path rules of the simulation (ipledge.risk.simulate, ipledge.risk.launch) checked path by path.

Each expectation is written out from the rule in the module docstrings, not from the engine's helpers:
the failure time is the completion of the first transition failed; the launch period is ceil(launch time)
(a launch before today keeps its period <= 0), T + 1 once past the horizon; the market rows are the kept
paths approved and launched within the horizon, and a launch in the horizon's last year earns that year's
part of the ramp; the value with a per-path discount rate; the success odds scaled by a stress and clipped
at 1; the peak and VBP draws on their own streams (no draw where it cannot matter); the lognormal fit and
the patent table at their boundaries; the term-extension rule for one launch date shared by every path.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from risk_helpers import case, fixed_posterior

from ipledge.risk import simulate as sm
from ipledge.risk.params import DEFAULT_PARAMS

Z90 = 1.2815515655446004
NO_COST = {"phase2": 0.0, "phase3": 0.0, "filed": 0.0}


def stream(seed: int, index: int, name: str) -> np.random.Generator:
    """The component stream as the simulate docstring states it: child ``index`` of SeedSequence(seed)
    spawned into one child per component, in the fixed order of STREAMS."""
    assert sm.STREAMS[index] == name, sm.STREAMS
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(8)[index]))


def ramp(x: float, ytp: float, steps: int = 20_000) -> float:
    """∫_0^x min(1, a / ytp) da by the midpoint rule."""
    if x <= 0:
        return 0.0
    a = (np.arange(steps) + 0.5) * (x / steps)
    return float(np.minimum(1.0, a / ytp).sum() * (x / steps))


# -- the lognormal fit and the patent table at their boundaries ------------------------------------

def test_lognormal_fit_of_quantiles_below_one_yuan():
    """The fit is in logs: quantiles below CNY 1 (negative logs) are fitted like any others."""
    mu, sigma = sm.lognormal_from_quantiles(0.2, 0.5, 1.0)        # least squares on the three logs
    want = (math.log(0.2 * 0.5 * 1.0) / 3, math.log(1.0 / 0.2) / (2 * Z90))
    assert (mu, sigma) == pytest.approx(want, rel=1e-12), f"expected {want}, got {(mu, sigma)}"
    mu, sigma = sm.lognormal_from_quantiles(0.0, 0.5, 2.0)        # p10 = 0: on p50 and p90 only
    want = (math.log(0.5), math.log(4.0) / Z90)
    assert (mu, sigma) == pytest.approx(want, rel=1e-12), f"expected {want}, got {(mu, sigma)}"


def test_a_patent_expiring_today_is_not_usable_and_one_expiring_tomorrow_is():
    base = case("biologic_phase3_coowned")                        # as_of 2026-11-01
    p0 = base.model_dump(mode="json")["patents"][0]
    # invention: the term ends the day before the 20th anniversary of filing
    today = dict(p0, id="T", filing_date="2006-11-02", grant_date="2010-01-04", term_extension_years=0)
    tomorrow = dict(p0, id="M", filing_date="2006-11-03", grant_date="2010-01-04", term_extension_years=0)
    req = case("biologic_phase3_coowned", patents=[today, tomorrow])
    t = sm.PatentTable.from_request(req, DEFAULT_PARAMS)
    want = 1 / 365.25
    assert t.base.size == 1 and t.base[0] == pytest.approx(want, abs=1e-12), (
        f"expiry 2026-11-01 (= as_of) dropped, 2026-11-02 kept at {want:.6f} years: got {t.base}")


# -- the stage path: failure, launch, the horizon's last year ---------------------------------------

def stretched_phase2(paths=4000, seed=21):
    """Phase II oncology, no development cost (nothing abandoned), trials 4x as long: launches spread
    over the whole horizon and past it."""
    req = case("oncology_antibody_phase2", product={"development_cost": NO_COST},
               simulation={"paths": paths, "seed": seed})
    params = dataclasses.replace(DEFAULT_PARAMS, duration_scale=4.0)
    return req, params, sm.simulate(req, 0.3, fixed_posterior(), params, n=paths)


def test_the_failure_time_is_the_completion_of_the_first_transition_failed():
    req, params, sim = stretched_phase2()
    comp, passed = sim.completion_times, sim.passed
    K = comp.shape[1]
    assert K == 3, K
    for i in range(sim.n):
        failed = [j for j in range(K) if not passed[i, j]]
        want = comp[i, failed[0]] if failed else math.inf
        assert sim.failure_time[i] == want, (
            f"path {i}: passed {passed[i].tolist()}, completions {comp[i].tolist()}: expected failure at {want}, "
            f"got {sim.failure_time[i]}")
    first = (~passed).argmax(axis=1)
    assert {0, 1, 2} <= set(first[~sim.approved].tolist()), "paths must fail at each of the three transitions"


def test_launch_periods_market_rows_and_sales_of_a_launch_in_the_horizons_last_year():
    req, params, sim = stretched_phase2()
    T, L = sim.T, sim.launch_time
    want = np.where(sim.approved, np.minimum(np.ceil(L), T + 1), T + 1)
    assert np.array_equal(sim.launch_period, want), "launch period = ceil(launch time), T + 1 past the horizon"
    late = sim.approved & (L > T + 1)
    last = sim.approved & (sim.launch_period == T)
    assert late.sum() >= 20 and last.sum() >= 20, (int(late.sum()), int(last.sum()))
    assert not sim.development.abandoned.any()
    rows = np.flatnonzero(sim.approved & (sim.launch_period <= T))
    assert np.array_equal(sim.market_rows, rows), "market rows: approved and launched within the horizon"
    ytp, share = req.product.years_to_peak, sim.ip_share
    r = req.policy.discount_rate
    for i in np.flatnonzero(last)[:40]:
        E = sim.exclusivity_end[i]
        assert E <= T - 1, f"exclusivity ends {E:.2f}, before the last year (horizon: E + 5 years)"
        # the part of year T after launch, all of it after exclusivity end: eroded sales, no IP cash flow
        want_sales = sim.peak[i] * ramp(T - L[i], ytp) * (1 - sim.erosion[i])
        check = [(sim.sales[i, T - 1], want_sales),
                 (sim.pv_after[i], want_sales * share * (1 + r) ** -(T - 0.5))]
        for got, exp in check:
            assert got == pytest.approx(exp, rel=1e-6), (
                f"path {i} launching at {L[i]:.4f} (year T = {T}): expected {exp:,.2f}, got {got:,.2f}")
        assert not sim.sales[i, :T - 1].any(), "nothing before the launch year"
        assert not sim.ip_cf[i].any() and sim.pv[i] == 0.0, "nothing before exclusivity end"
    assert not sim.sales[late].any() and not sim.pv_after[late].any(), "a launch past the horizon earns nothing"


def test_an_approved_product_keeps_its_past_launch_period_and_has_no_transition_left():
    req = case("anaesthetic_injectable", simulation={"paths": 1000, "seed": 3})          # launched 2020-07-01
    sim = sm.simulate(req, 0.3, fixed_posterior(), n=500)
    L = (dt.date(2020, 7, 1) - req.as_of).days / 365.25
    assert np.allclose(sim.launch_time, L, atol=1e-12)
    assert np.all(sim.launch_period == math.ceil(L)) and math.ceil(L) <= -5, (
        f"launch {L:.3f} years from as_of: period {math.ceil(L)} expected, got {np.unique(sim.launch_period)}")
    assert sim.completion_times.shape == (500, 0) and sim.passed.shape == (500, 0), (
        sim.completion_times.shape, sim.passed.shape)
    assert sim.development.paid.shape == (500, 0), sim.development.paid.shape
    assert np.all(sim.failure_time == np.inf) and sim.approved.all()


def test_collateral_and_success_events_cover_the_loan_term_by_default():
    for term, years in ((3.0, 3), (2.5, 3), (1.0, 1)):
        req = case("oncology_antibody_phase2", loan={"term_years": term}, simulation={"paths": 1000, "seed": 1})
        sim = sm.simulate(req, 0.3, fixed_posterior(), n=300)
        got = (sim.collateral.shape, sim.success_events.shape)
        assert got == ((300, years + 1), (300, years)), f"term {term}: expected years 0..{years}, got {got}"


# -- values: a per-path discount rate; costs below one yuan --------------------------------------

def test_the_value_of_each_path_discounts_at_its_own_rate():
    """path_draws discount_shift: PV_i = Σ_t CF_it (1 + max(r + shift_i, 0))^-(t - 1/2) (no cost to pay)."""
    req = case("generic_small_molecule_marketed", simulation={"paths": 1000, "seed": 4})
    r = req.policy.discount_rate
    shift = np.linspace(-1.5 * r, 2 * r, 400)
    sim = sm.simulate(req, 0.3, fixed_posterior(), n=400, path_draws={"discount_shift": shift})
    assert 0 < sim.ip_share < 1, sim.ip_share
    t = np.arange(1, sim.T + 1)
    rate = np.maximum(r + shift, 0.0)
    flat = sm.simulate(req, 0.3, fixed_posterior(), n=400)
    moved = 0
    for i in range(400):
        want = sum(sim.ip_cf[i, u - 1] * (1.0 + rate[i]) ** -(u - 0.5) for u in t)
        assert sim.pv[i] == pytest.approx(want, rel=1e-10), (
            f"path {i}, rate {rate[i]:.4f}: expected PV {want:,.0f}, got {sim.pv[i]:,.0f}")
        moved += abs(sim.pv[i] - flat.pv[i]) > 1e-3 * flat.pv[i]
    assert moved > 300, f"the rate must move the value on most paths ({moved})"


def test_a_cost_below_one_yuan_is_still_paid():
    """Filed product, one phase left: a filed cost of CNY 2 (IP's share ~0.6) lowers every path's value
    by exactly that share (compare test_a_filed_product_pays_its_last_cost_on_every_path...)."""
    post = fixed_posterior()
    sims = {}
    for cost in (0.0, 2.0):
        req = case("biologic_phase3_coowned", product={"stage": "filed", "development_cost": {"filed": cost}},
                   simulation={"paths": 1000, "seed": 3})
        sims[cost] = sm.simulate(req, 0.3, post, n=500)
    from ipledge.risk.development import ip_cost_share

    share = ip_cost_share(sims[0.0].ip_share, req.product.profit_margin)
    assert 2.0 * share < 1.0, share
    diff = sims[0.0].pv - sims[2.0].pv
    assert np.allclose(diff, 2.0 * share, rtol=0, atol=1e-6), (2.0 * share, diff[:3])


# -- stress scaling of the success odds ------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.6, 1.5])
def test_scaled_success_odds_give_the_product_of_the_scaled_clipped_phase_probabilities(scale):
    """Phase II with fixed odds 0.3, 0.6, 0.9 (phase II→III, III→filing, filing→approval): a stress scales
    each and clips it to [0, 1] (x 1.5: 0.45, 0.9, 1.35 → 1), P(approval) = the product; each transition
    passes with its own scaled odds among the paths that reach it."""
    n = 40_000
    req = case("oncology_antibody_phase2", product={"development_cost": NO_COST},
               simulation={"paths": n, "seed": 13})
    params = dataclasses.replace(DEFAULT_PARAMS, success_scale=scale)
    post = fixed_posterior()
    sim = sm.simulate(req, 0.3, post, params, n=n, collateral_years=1)
    p = [min(1.0, max(0.0, q * scale)) for q in (0.3, 0.6, 0.9)]
    want = math.prod(p)
    got = float(sim.approved.mean())
    tol = 4 * math.sqrt(want * (1 - want) / n)
    assert abs(got - want) <= tol, f"scale {scale}: P(approval) expected {want:.4f} (phases {p}), got {got:.4f}, tol {tol:.4f}"
    reached = np.ones(n, bool)
    for j, pj in enumerate(p):
        m = int(reached.sum())
        gj = float(sim.passed[reached, j].mean())
        tj = 4 * math.sqrt(pj * (1 - pj) / m) + 1e-12
        assert abs(gj - pj) <= tj, f"scale {scale}, transition {j}: expected {pj}, got {gj:.4f} of {m}, tol {tj:.4f}"
        reached = sim.passed[:, j]
    table = post.transition_table(req.product.therapeutic_area, req.product.modality, req.product.stage,
                                  scale=scale)
    assert np.allclose(table[:, 0], p, atol=1e-12), (table[:, 0], p)


# -- the draws: peak and VBP streams --------------------------------------------------------------

def test_the_peak_of_each_path_is_the_lognormal_quantile_of_its_peak_stream_draw():
    req = case("oncology_antibody_phase2", simulation={"paths": 1000, "seed": 17})
    sim = sm.simulate(req, 0.3, fixed_posterior(), n=300)
    ps = req.product.peak_sales
    logs = np.log([ps.p10, ps.p50, ps.p90])
    mu, sigma = logs.mean(), (logs[2] - logs[0]) / (2 * Z90)
    z = stream(17, 3, "peak").standard_normal(300)
    want = np.exp(mu + sigma * z)
    assert np.allclose(sim.peak, want, rtol=1e-12), (sim.peak[:3], want[:3])


def test_without_a_vbp_hazard_no_vbp_draw_is_made_and_no_event_falls_in_the_horizon():
    req = case("oncology_antibody_phase2", simulation={"paths": 1000, "seed": 5})      # vbp_exposure none
    assert DEFAULT_PARAMS.vbp_hazard[req.product.vbp_exposure] == 0.0
    sim = sm.simulate(req, 0.3, fixed_posterior(), n=300)
    assert np.all(sim.vbp_period == sim.T + 1), np.unique(sim.vbp_period)
    assert not sim.vbp_cut.any(), "no event can happen: the cut is 0"
    fresh = stream(5, 6, "vbp").random(4)
    assert np.array_equal(sim.streams["vbp"].random(4), fresh), "the vbp stream must be left as it was"


def test_given_vbp_timings_leave_the_cuts_as_drawn_and_a_certain_event_hits_in_the_first_year():
    req = case("generic_small_molecule_marketed", simulation={"paths": 1000, "seed": 8})
    post = fixed_posterior()
    plain = sm.simulate(req, 0.3, post, n=500)
    u = np.linspace(0.001, 0.999, 500)
    timed = sm.simulate(req, 0.3, post, n=500, path_draws={"vbp_u": u})
    assert np.array_equal(timed.vbp_cut, plain.vbp_cut), "the cuts follow the timing uniforms on the stream"
    s = stream(8, 6, "vbp")
    u_own = s.random(500)
    h = DEFAULT_PARAMS.vbp_hazard[req.product.vbp_exposure]
    wait = np.maximum(np.ceil(np.log1p(-u_own) / np.log1p(-h)), 1)
    assert np.array_equal(plain.vbp_period, np.maximum(plain.launch_period, 1) - 1 + wait.astype(int))
    certain = dataclasses.replace(DEFAULT_PARAMS, vbp_hazard={**DEFAULT_PARAMS.vbp_hazard, "high": 1.0})
    sure = sm.simulate(req, 0.3, post, certain, n=500)
    assert np.array_equal(sure.vbp_period, np.maximum(sure.launch_period, 1)), "h = 1: the event in year 1"


# -- the term-extension rule with one launch date for all paths -------------------------------------

def test_one_launch_date_shared_by_every_path_and_a_patent_expiring_at_launch():
    """``launch`` broadcasts against the paths of ``alive``; a patent expiring exactly at approval is no
    longer in force then and gets no extension (Patent Law art. 42 §3)."""
    patents = NS(base=np.array([10.0, 6.0]), extension=np.array([4.0, 3.0]))
    alive = np.array([[True, False, True], [True, True, False]])
    for launch in (5.0, np.array([5.0])):
        got = sm.exclusivity_given_launch(patents, alive, launch)
        assert got.shape == (3,) and np.allclose(got, [14.0, 9.0, 14.0]), (launch, got)
    at = sm.exclusivity_given_launch(patents, alive, np.array([6.0, 6.0, 6.0]))
    assert np.allclose(at, [14.0, 6.0, 14.0]), f"patent 2 expires at the launch date: no extension, got {at}"
