"""Nested-simulation check of the collateral regression (issue 10; DESIGN §8.8).

As the Open Source Risk Engine validates its regression exposures: for every bundled case
(scenarios/cases/*.yaml), the base run and every stress scenario (scenarios/stress/*.yaml), and every
year t up to the loan's maturity, take a sample of outer states at t (paths of the deployed 10,000-path
simulation that are still alive at t), re-simulate the future of each state with the same laws and the
same abandonment rule (inner paths), and compare the state's conditional value with the value the
least-squares regression gave it.

What a state is (the information set of :mod:`ipledge.risk.collateral`): before launch, the stage reached, the
time spent in it, the transitions already passed (posterior draws re-weighted by their likelihood
Π p_j, Bayes), the patent outcomes if resolved; after launch, the launch date, the peak, the VBP event
so far and its cut, the patent outcomes if resolved. Nothing about the path's own future is used.

Per row (case, scenario, year), over the sampled states i: ``lsm`` and ``nested`` are the mean values;
``deviation`` = sqrt(mean_i (lsm_i - nested_i)²), the root-mean-square error of the regression state
by state (a mean alone cannot see look-ahead: the group intercepts make the means agree even when
the regression splits paths by their future); ``std_error`` = sqrt(mean_i se_i²) with se_i² the inner
Monte Carlo variance of the nested value plus the regression's own estimation variance at that state
(residual variance of its group × leverage) — about what ``deviation`` is when the regression is
unbiased state by state. ``within``:
deviation ≤ 3 × std_error, or ≤ 2% of today's appraised value. ``foresight``: the bank-free EL rate
with the regression's collateral and with perfect foresight (each path's own future as its value).

A case worth 0 under its default cost to complete (abandoned; value 0 in every row) is also
checked with its trials paid for, as ``<case>+no_cost``, so the pipeline regression is exercised.

``python -m benchmarks.collateral_check [--json] [--quick] [--cases a,b] [--scenarios x,y]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import ndtr, ndtri

from ipledge.risk.collateral import collateral_values, live_states, realised_remaining
from ipledge.risk.credit import DebtSchedule, financing_draws, run_credit
from ipledge.risk.durations import phase_duration_medians
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import STAGES, load_posterior
from ipledge.risk.simulate import (
    N_TRANSITIONS, PatentTable, accrued_sales, beta_ab, exclusivity_given_launch, expected_launch,
    info_years_left, lognormal_from_quantiles, simulate,
)
from ipledge.valuation.cases import load_case
from ipledge.valuation.scorecard import score_request

CASES_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "cases"
STRESS_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "stress"
OUTER_PATHS = 10_000        # as deployed (request default)
STATES, INNER = 200, 2_000  # outer states per (case, scenario, year) x inner paths per state
QUICK_STATES, QUICK_INNER = 60, 600
Z_WITHIN = 3.0              # deviation within 3 Monte Carlo standard errors ...
REL_WITHIN = 0.02           # ... or within 2% of today's appraised value
CHUNK_PATHS = 60_000        # inner paths simulated at once (memory: a few (paths x years) arrays)
POOL = 20_000               # posterior draws and current-stage durations to resample from
SEED = 20_261_101


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES_DIR.glob("*.yaml"))


def scenario_names() -> list[str]:
    return ["base"] + sorted(p.stem for p in STRESS_DIR.glob("*.yaml"))


@dataclasses.dataclass
class Laws:
    """What the inner simulation draws from: the request's and the parameters' laws."""

    req: object
    params: object
    sim: object
    patents: PatentTable
    h: float
    post_pool: np.ndarray     # (POOL, K) success probabilities of the remaining transitions
    medians: np.ndarray       # (K,) lognormal medians of the remaining stages
    stage0_pool: np.ndarray   # (POOL*10,) time left in the current stage at as_of (U·D + delay)
    resolved_from: int


def make_laws(req, params, post, sim, rng) -> Laws:
    prod = req.product
    s = STAGES.index(prod.stage)
    K = N_TRANSITIONS - s
    patents = PatentTable.from_request(req, params)
    pool = post.sample(prod.therapeutic_area, prod.modality, STAGES[0], POOL, rng)[:, s:]
    pool = np.clip(pool * params.success_scale, 0.0, 1.0)
    if K:
        med = phase_duration_medians(prod.therapeutic_area, params.duration_sigma)
        medians = np.array([med[st] for st in STAGES[s:-1]]) * params.duration_scale
        z = rng.standard_normal(POOL * 10)
        stage0 = medians[0] * np.exp(params.duration_sigma * z) * rng.random(POOL * 10) + params.extra_delay_years
    else:
        medians, stage0 = np.zeros(0), np.zeros(0)
    resolved_from = params.patent_resolution_years if patents.uncertain.any() else 0
    return Laws(req, params, sim, patents, params.vbp_hazard[prod.vbp_exposure], pool, medians, stage0,
                resolved_from)


def _vbp(laws, first_exposed, m, rng):
    """Period of the VBP event (first exposed period + geometric wait) and the cut, for m inner paths."""
    h, p = laws.h, laws.params
    T = laws.sim.T
    ca, cb = beta_ab(p.vbp_cut_mean, p.vbp_cut_concentration)
    cut = rng.beta(ca, cb, m)
    if h <= 0:
        return np.full(m, T + 1), cut
    wait = np.ceil(np.log1p(-rng.random(m)) / math.log1p(-h)) if h < 1 else np.ones(m)
    return first_exposed - 1 + np.maximum(wait, 1), cut


def _ip_pv(laws, launch, excl, peak, vbp_period, cut, t):
    """PV at as_of of the IP cash flows accrued before E in periods after t (mid-year discounting)."""
    sim = laws.sim
    T = sim.T
    u = np.arange(1, T + 1, dtype=float)
    acc_in, _ = accrued_sales(launch, excl, T, sim.years_to_peak)
    price = np.where(u[None, :] >= vbp_period[:, None], 1.0 - cut[:, None], 1.0)
    cf = peak[:, None] * acc_in * price * sim.ip_share
    cf[:, :t] = 0.0
    return cf @ sim.discount


def _inner_launched(laws, i, t, N, rng):
    """(N,) PV at as_of of what a launched state i at t goes on to earn."""
    sim, pat = laws.sim, laws.patents
    L = np.full(N, sim.launch_time[i])
    alive = _alive(laws, i, t, N, rng)
    excl = exclusivity_given_launch(pat, alive, L, laws.params.exclusivity_shift_years)
    if sim.vbp_period[i] <= t:
        vp, cut = np.full(N, sim.vbp_period[i]), np.full(N, sim.vbp_cut[i])
    else:
        vp, cut = _vbp(laws, np.full(N, t + 1), N, rng)
    return _ip_pv(laws, L, excl, np.full(N, sim.peak[i]), vp, cut, t)


def _alive(laws, i, t, N, rng):
    """(p, N) patent outcomes: the state's own once resolved, else drawn from their probabilities."""
    pat = laws.patents
    if pat.base.size == 0:
        return np.zeros((0, N), bool)
    if t >= laws.resolved_from:
        return np.repeat(laws.sim.patent_alive[:, i:i + 1], N, axis=1)
    return rng.random((pat.base.size, N)) < pat.survive_p[:, None]


def _inner_pre_launch(laws, i, t, N, rng):
    """(N,) PV at as_of of what a pre-launch state i at t goes on to earn, less the costs it pays."""
    sim, p, req = laws.sim, laws.params, laws.req
    K = laws.medians.size
    comp = sim.completion_times[i]
    k = int((comp <= t).sum())
    tau = t - comp[k - 1] if k > 0 else float(t)
    # posterior draws given the transitions passed (Bayes: weight Π_{j<k} p_j)
    w = np.prod(laws.post_pool[:, :k], axis=1) if k else np.ones(laws.post_pool.shape[0])
    pr = laws.post_pool[rng.choice(w.size, size=N, p=w / w.sum())]
    # time left in the current stage, given it has lasted tau
    if k == 0:
        left0 = laws.stage0_pool[laws.stage0_pool > t]
        rem = rng.choice(left0, size=N) - t
    else:
        mu, sg = math.log(laws.medians[k]), p.duration_sigma
        lo = ndtr((math.log(tau) - mu) / sg) if tau > 0 else 0.0
        u = lo + (1.0 - lo) * rng.random(N)
        rem = np.exp(mu + sg * ndtri(np.clip(u, 1e-300, 1 - 1e-16))) - tau
    dur = np.empty((N, K - k))
    dur[:, 0] = rem
    if K - k > 1:
        dur[:, 1:] = laws.medians[k + 1:] * np.exp(p.duration_sigma * rng.standard_normal((N, K - k - 1)))
    completion = t + np.cumsum(dur, axis=1)
    passed = np.logical_and.accumulate(rng.random((N, K - k)) < pr[:, k:], axis=1)
    approved = passed[:, -1]
    launch = np.where(approved, completion[:, -1], np.inf)
    alive = _alive(laws, i, t, N, rng)
    # the holder's rule at each later phase start (same fitted rule as the outer simulation)
    pol = sim.development.policy
    go_on = np.ones(N, bool)
    cost_pv = np.zeros(N)
    r = float(sim.rate)
    for j in range(k + 1, K):
        reached = passed[:, j - k - 1] & go_on
        s = completion[:, j - k - 1]
        if pol.costs[j] <= 0:
            continue
        lh = expected_launch(s, np.full(N, j), 0.0, sim.stage_means)
        left = info_years_left(laws.patents, alive, s, lh, p.exclusivity_shift_years)
        ok = pol.goes_on(j, s, left, s >= laws.resolved_from)
        cost_pv += np.where(reached & ok, pol.costs[j] * (1.0 + r) ** -s, 0.0)
        go_on &= ~reached | ok
    value = -cost_pv
    rows = np.flatnonzero(approved & go_on & (np.ceil(launch) <= sim.T))
    if rows.size:
        L = launch[rows]
        excl = exclusivity_given_launch(laws.patents, alive[:, rows], L, p.exclusivity_shift_years)
        mu, sigma = lognormal_from_quantiles(req.product.peak_sales.p10, req.product.peak_sales.p50,
                                             req.product.peak_sales.p90)
        peak = np.exp(mu + sigma * rng.standard_normal(rows.size)) if np.isfinite(mu) else np.zeros(rows.size)
        vp, cut = _vbp(laws, np.maximum(np.ceil(L), 1), rows.size, rng)
        value[rows] += _ip_pv(laws, L, excl, peak, vp, cut, t)
    return value


def nested_values(laws, t: int, idx: np.ndarray, N: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(mean, s.e.) of the conditional value at the end of year t of each state ``idx``, CNY of year t."""
    sim = laws.sim
    D_t = (1.0 + float(sim.rate)) ** -t
    infl = (1.0 + laws.params.inflation) ** t
    mean, se = np.zeros(idx.size), np.zeros(idx.size)
    for a, i in enumerate(idx):
        if sim.launch_period[i] <= t:
            v = _inner_launched(laws, i, t, N, rng) / D_t
            mean[a] = v.mean()
        else:
            v = _inner_pre_launch(laws, i, t, N, rng) / D_t
            mean[a] = max(v.mean(), 0.0)        # the buyer may abandon at once
        se[a] = v.std(ddof=1) / math.sqrt(N)
    return mean * infl, se * infl


def foresight_el(sim, req) -> tuple[float, float]:
    """Bank-free EL rate at the requested amount: regression collateral vs perfect foresight."""
    Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
    u = financing_draws(sim, Tm)
    Y = sim.collateral.shape[1] - 1
    cols = np.arange(Y + 1)
    pf = np.maximum(realised_remaining(sim, Y), 0.0) * (1.0 + sim.params.inflation) ** cols[:, None]
    pf *= live_states(sim, PatentTable.from_request(req, sim.params), cols)
    pf[0] = sim.collateral[:, 0]
    el = run_credit(sim, req, [req.loan.amount], u).summary(0)["expected_loss_rate"]
    pf_sim = dataclasses.replace(sim, collateral=np.ascontiguousarray(pf).T)
    el_pf = run_credit(pf_sim, req, [req.loan.amount], u).summary(0)["expected_loss_rate"]
    return el, el_pf


def without_costs(req):
    """The case with its remaining trials already paid for (development_cost 0 for every phase left)."""
    d = req.model_dump(mode="json")
    left = STAGES[STAGES.index(req.product.stage):-1]
    d["product"]["development_cost"] = {k: 0.0 for k in left}
    return type(req).model_validate(d)


def check_case(name: str, scenarios: list[str], states: int, inner: int, post, base_req=None):
    """Rows and foresight of one case; also whether its base run is worth 0 because it is abandoned."""
    from ipledge.risk.assess import shocked

    base_req = base_req or load_case(CASES_DIR / f"{name}.yaml")
    rows, foresight, abandoned_all = [], None, False
    for scen in scenarios:
        req, params = (base_req, DEFAULT_PARAMS) if scen == "base" else shocked(base_req, scen)[1:]
        d = req.model_dump(mode="json")
        d["simulation"]["paths"] = OUTER_PATHS
        req = type(req).model_validate(d)
        ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
        sim = simulate(req, ipc, post, params)
        rng = np.random.default_rng([SEED, len(rows)])
        laws = make_laws(req, params, post, sim, rng)
        if scen == "base":
            abandoned_all = bool(sim.appraised_value <= 0 and sim.development.abandoned.any())
            el, el_pf = foresight_el(sim, req)
            foresight = {"case": name, "el_rate": el, "el_rate_perfect_foresight": el_pf}
        v0 = sim.appraised_value
        Y = sim.collateral.shape[1] - 1
        live = live_states(sim, laws.patents, np.arange(Y + 1))
        lsm_again, lsm_se = collateral_values(sim, laws.patents, laws.h, Y, with_se=True)
        assert np.array_equal(lsm_again, sim.collateral), "collateral_values is not reproducible"
        for t in range(1, Y + 1):
            cand = np.flatnonzero(live[t])
            if cand.size == 0:
                rows.append({"case": name, "scenario": scen, "year": t, "lsm": 0.0, "nested": 0.0,
                             "std_error": 0.0, "deviation": 0.0, "within": True})
                continue
            idx = rng.choice(cand, size=min(states, cand.size), replace=False)
            nested, se = nested_values(laws, t, idx, inner, rng)
            lsm = sim.collateral[idx, t]
            se2 = se ** 2 + lsm_se[idx, t] ** 2
            dev = float(np.sqrt(np.mean((lsm - nested) ** 2)))
            std_error = float(np.sqrt(np.mean(se2)))
            within = dev <= Z_WITHIN * std_error or dev <= REL_WITHIN * v0
            rows.append({"case": name, "scenario": scen, "year": t, "lsm": float(lsm.mean()),
                         "nested": float(nested.mean()), "std_error": std_error, "deviation": dev,
                         "within": bool(within)})
    return rows, foresight, abandoned_all


def run(cases=None, scenarios=None, quick: bool = False) -> dict:
    post = load_posterior()
    states, inner = (QUICK_STATES, QUICK_INNER) if quick else (STATES, INNER)
    rows, fs = [], []
    for c in cases or case_names():
        r, f, abandoned_all = check_case(c, scenarios or scenario_names(), states, inner, post)
        rows += r
        fs += [f] if f else []
        if abandoned_all:
            # every row compares 0 with 0: check the pipeline regression on the same case with its
            # trials paid for, labelled "<case>+no_cost"
            r, f, _ = check_case(f"{c}+no_cost", scenarios or scenario_names(), states, inner, post,
                                 without_costs(load_case(CASES_DIR / f"{c}.yaml")))
            rows += r
            fs += [f] if f else []
    worst = max(rows, key=lambda r: r["deviation"] / max(Z_WITHIN * r["std_error"], 1e-300)) if rows else None
    return {"rows": rows, "all_within": all(r["within"] for r in rows), "worst": worst, "foresight": fs}


def _table(doc: dict) -> str:
    out = [f"{'case':28} {'scenario':20} {'yr':>2} {'lsm m':>10} {'nested m':>10} {'s.e. m':>8} {'dev m':>8}  ok"]
    for r in doc["rows"]:
        out.append(f"{r['case']:28} {r['scenario']:20} {r['year']:>2} {r['lsm'] / 1e6:10.2f} "
                   f"{r['nested'] / 1e6:10.2f} {r['std_error'] / 1e6:8.3f} {r['deviation'] / 1e6:8.3f}  "
                   f"{'yes' if r['within'] else 'NO'}")
    w = doc["worst"]
    if w:
        out.append(f"worst: {w['case']} / {w['scenario']} / year {w['year']}: deviation "
                   f"{w['deviation'] / 1e6:.3f}m vs s.e. {w['std_error'] / 1e6:.3f}m")
    out.append(f"all within: {doc['all_within']}")
    for f in doc["foresight"]:
        out.append(f"foresight {f['case']:28} EL rate {f['el_rate']:.4%}  perfect foresight "
                   f"{f['el_rate_perfect_foresight']:.4%}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.collateral_check", description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_STATES} states x {QUICK_INNER} inner paths")
    ap.add_argument("--cases", help="comma-separated case names (default: every bundled case)")
    ap.add_argument("--scenarios", help="comma-separated scenario names, 'base' for none (default: all)")
    a = ap.parse_args(argv)
    cases = a.cases.split(",") if a.cases else None
    scen = a.scenarios.split(",") if a.scenarios else None
    unknown = sorted(set(cases or []) - set(case_names())) + sorted(set(scen or []) - set(scenario_names()))
    if unknown:
        print(f"error: unknown case or scenario: {', '.join(unknown)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    doc = run(cases, scen, a.quick)
    print(json.dumps(doc, indent=1) if a.json else _table(doc))
    print(f"{len(doc['rows'])} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0 if doc["all_within"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
