"""Vectorised Monte Carlo of pipeline, sales, IP cash flows and IP value (DESIGN §8).

All paths at once: arrays are (paths × years); Python loops run only over the few transitions,
patents or years, never over paths. Period t = 1..T is the year ending ``as_of + t`` years and is
labelled with calendar year ``as_of.year + t``.

Units and timing (issue 10): everything is in **real** terms, today's CNY — peak sales and development
costs are given in today's prices and the discount rate is a real rate (DiMasi 2016's 10.5% is real);
the collateral is restated in CNY of year t (``ipledge.risk.params`` ``inflation``) only where it meets the
nominal loan. Cash flows accrue through the year and are discounted mid-year, ``(1 + r)^-(t - 1/2)``;
a value at the end of year t uses ``(1 + r)^-t``; a phase cost paid at time s uses ``(1 + r)^-s``.

Equations (DESIGN §8, numbers and sources in :mod:`ipledge.risk.params`):

1. Stage path: success probability per remaining transition from one posterior draw per path; success
   ``U < p``; durations lognormal whose mean is the published mean of the area (median
   ``mean·exp(-sigma²/2)``); the current stage has a uniform fraction of its duration left. The first
   failure stops all cash flow.
2. Launch: ``L`` = sum of remaining durations (years from as_of). Approved products: 1 July of
   ``launch_year`` (assumption ``approved_launch_month``).
3. Peak sales lognormal fitted by least squares to the log of p10/p50/p90 (sigma 0 when equal); sales
   accrue from the launch date at the rate ``peak × min(1, age / years_to_peak)``, so period t gets
   ``peak × [F(t - L) - F(t - 1 - L)]`` with ``F(x) = ∫_0^x min(1, a/ytp) da`` (the launch year only its
   fraction).
4. Exclusivity end E per path: latest expiry among patents in force on the path (a pending patent is
   granted with its grant probability, a patent under invalidation survives with 1 - p(invalidated));
   term extension only for a patent still in force at approval, capped at 14 years after approval.
   The IP value counts cash flows up to E only; what the product earns after E (``sales × (1 -
   erosion)``, erosion ~ Beta) is reported apart as the value after exclusivity.
5. VBP: annual hazard h from the first launched year (one event, drawn by inversion of the geometric
   law so that a higher hazard gives an earlier event on the same path); price × (1 - cut), cut ~ Beta.
6. IP cash flow = sales × royalty_rate, or sales × profit_margin × ip_contribution.
7. IP value today = Σ_t CF_t (1 + r)^-(t - 1/2) less the remaining development cost, with the option to
   abandon at each phase start (:mod:`ipledge.risk.development`; never negative on average).
8. Collateral value at each year: :mod:`ipledge.risk.collateral` (conditional expectation, no look-ahead).

Random streams: one SeedSequence from the request seed, spawned into one child per component in a fixed
order, so changing one input (stage, VBP exposure, a loan amount) leaves every other draw unchanged
(common random numbers).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ipledge.risk.development import Development, fit_abandonment, ip_cost_share, no_costs, remaining_phase_costs
from ipledge.risk.durations import phase_duration_medians
from ipledge.risk.launch import (accrued_sales, exclusivity_given_launch, expected_launch,  # noqa: F401
                                 info_years_left, ramp_integral)
from ipledge.risk.params import DEFAULT_PARAMS, ModelParams
from ipledge.risk.posterior import STAGES, PipelinePosterior
from ipledge.valuation.schema import PledgeRequest
from ipledge.valuation.terms import DAYS_PER_YEAR, base_expiry

Z90 = 1.2815515655446004  # standard normal 90% quantile
STREAMS = ("posterior", "success", "duration", "peak", "patents", "erosion", "vbp", "credit")
N_TRANSITIONS = len(STAGES) - 1


def rng_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per component, from a single seed (reproducible, CRN-friendly)."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(c)) for name, c in zip(STREAMS, children)}


def transition_streams(stream: np.random.Generator, first: int) -> list[np.random.Generator]:
    """One generator per transition ``first``..N_TRANSITIONS-1, children of ``stream``'s seed sequence.

    Transition j always draws from child j, whatever the stage: an earlier stage shares its later
    hurdles' draws with a later stage on every path (common random numbers), and a transition already
    passed costs nothing (no child generator, no draw). The parent's own stream is left as it was."""
    ss = stream.bit_generator.seed_seq
    # child j exactly as ss.spawn(N_TRANSITIONS)[j] makes it, without making the ones not needed
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        ss.entropy, spawn_key=ss.spawn_key + (j,), pool_size=ss.pool_size))) for j in range(first, N_TRANSITIONS)]


def lognormal_from_quantiles(p10: float, p50: float, p90: float) -> tuple[float, float]:
    """(mu, sigma) of a lognormal fitted by least squares to log p10, log p50, log p90.

    With z = (-z90, 0, z90): mu = mean of the logs, sigma = (log p90 - log p10) / (2 z90); exact when
    the quantiles are symmetric in logs. p10 = 0 (a fat lower tail) fits on p50 and p90 only.
    """
    if p50 <= 0:
        return -math.inf, 0.0
    if p10 <= 0:
        return math.log(p50), (math.log(p90) - math.log(p50)) / Z90
    logs = np.log([p10, p50, p90])
    return float(logs.mean()), float((logs[2] - logs[0]) / (2 * Z90))


def beta_ab(mean: float, concentration: float) -> tuple[float, float]:
    mean = min(max(mean, 1e-6), 1 - 1e-6)
    return mean * concentration, (1 - mean) * concentration


def years_from(as_of: dt.date, d: dt.date) -> float:
    return (d - as_of).days / DAYS_PER_YEAR


@dataclass
class PatentTable:
    """Per-patent expiry facts in years from as_of, for the per-path exclusivity draw."""

    base: np.ndarray          # statutory expiry
    extension: np.ndarray     # term compensation asked for (years)
    survive_p: np.ndarray     # probability the patent is (or becomes) an enforceable right
    uncertain: np.ndarray     # True where the outcome is resolved only later (pending grant or invalidation)

    @classmethod
    def from_request(cls, req: PledgeRequest, params: ModelParams) -> "PatentTable":
        base, ext, surv, unc = [], [], [], []
        for p in req.patents:
            if p.status in ("lapsed", "invalidated"):
                continue
            end = years_from(req.as_of, base_expiry(p.kind, p.filing_date))
            if end <= 0:
                continue
            s = 1.0
            if p.status == "pending":
                s *= params.grant_probability[p.kind]
            if p.invalidation == "pending":
                s *= 1.0 - params.invalidation_probability[p.kind]
            base.append(end)
            ext.append(p.term_extension_years if p.kind == "invention" else 0.0)
            surv.append(s)
            unc.append(s < 1.0)
        return cls(np.array(base), np.array(ext), np.array(surv), np.array(unc, dtype=bool))

    def horizon_end(self) -> float:
        """Latest possible exclusivity end (years from as_of); 0 with no usable patent."""
        return float((self.base + self.extension).max()) if self.base.size else 0.0


@dataclass
class SimResult:
    """Everything the credit model and the report need, as arrays over paths (and years)."""

    n: int
    T: int
    years: np.ndarray            # (T,) calendar labels
    discount: np.ndarray         # (T,) mid-year (1+r)^-(t-1/2); (n, T) with a per-path rate (path_draws)
    discount_end: np.ndarray     # (T,) or (n, T): end-of-year (1+r)^-t
    rate: float | np.ndarray     # real discount rate (scalar, or (n,) with path_draws)
    sales: np.ndarray            # (n, T) product sales, CNY (0 once abandoned)
    ip_cf: np.ndarray            # (n, T) IP cash flow up to exclusivity end, CNY
    pv: np.ndarray               # (n,) IP value today: flows to E less development cost (policy applied)
    pv_after: np.ndarray         # (n,) PV of the IP share of what the product earns after E
    collateral: np.ndarray       # (n, T+1) value at the end of period t; column 0 = today
    launch_period: np.ndarray    # (n,) int; > T when never launched within the horizon
    launch_time: np.ndarray      # (n,) years from as_of (inf when not approved)
    approved: np.ndarray         # (n,) bool
    failure_time: np.ndarray     # (n,) years from as_of of the failed transition (inf if none)
    success_events: np.ndarray   # (n, Y) bool, a transition succeeded in year t (Y = maturity)
    completion_times: np.ndarray  # (n, K) years at which each remaining transition resolves
    passed: np.ndarray           # (n, K) bool, transition j passed (and all before it)
    exclusivity_end: np.ndarray  # (n,) years from as_of (approved paths: with the extension their launch earns)
    patent_alive: np.ndarray     # (p, n) bool, patent i is (or becomes) an enforceable right on the path
    stage_means: np.ndarray      # (K,) expected years in each remaining stage (the current one: left)
    peak: np.ndarray             # (n,) peak sales draw
    vbp_period: np.ndarray       # (n,) period of the VBP event (> T: none)
    vbp_cut: np.ndarray          # (n,) cut on the event
    erosion: np.ndarray          # (n,) LOE erosion draw
    ip_share: float              # royalty rate or margin × contribution
    market_rows: np.ndarray      # (r,) paths that launch within the horizon (and are not abandoned)
    market_in: np.ndarray        # (r, T) years' worth of peak sales accrued before E in each period
    development: Development     # costs paid, abandonment, the fitted exercise rule
    years_to_peak: float
    modality: str
    params: ModelParams
    streams: dict

    @property
    def appraised_value(self) -> float:
        return float(self.pv.mean())

    @property
    def value_after_exclusivity(self) -> float:
        return float(self.pv_after.mean())

    @property
    def mc_std_error(self) -> float:
        return float(self.pv.std(ddof=1) / math.sqrt(self.n)) if self.n > 1 else 0.0


def horizon_years(req: PledgeRequest, patents: PatentTable, params: ModelParams) -> int:
    end = patents.horizon_end() + params.exclusivity_shift_years + params.horizon_after_exclusivity_years
    loan = math.ceil(req.loan.term_years - 1e-9)
    return int(min(params.max_horizon_years, max(math.ceil(end), loan + 1, 1)))


def approved_launch_time(req: PledgeRequest, params: ModelParams) -> float:
    """Years from as_of to the launch of an approved product (mid-year of ``launch_year``)."""
    return years_from(req.as_of, dt.date(req.product.launch_year, params.approved_launch_month, 1))


def _pipeline(req, posterior, params, streams, n, T):
    """Success flags, completion times and launch time of the remaining transitions.

    Per transition (one contiguous row of n paths each); ``completion`` and ``passed`` are returned
    as (n, K) views of those (K, n) rows."""
    prod = req.product
    s = STAGES.index(prod.stage)
    K = N_TRANSITIONS - s
    if K == 0:
        # nothing left to pass: no pipeline draw would be used, so none is made (the posterior,
        # success and duration streams serve nothing else)
        launch_t = np.full(n, approved_launch_time(req, params))
        empty = np.zeros((n, 0))
        return empty, empty.astype(bool), launch_t, np.ones(n, bool), np.full(n, np.inf)
    # transition j draws its success uniform and duration normal from its own child streams, so an
    # earlier stage shares its later hurdles' draws with a later stage on every path
    rows = posterior.sample_rows(n, streams["posterior"])
    u_gen = transition_streams(streams["success"], s)
    z_gen = transition_streams(streams["duration"], s)
    left = streams["duration"].random(n)
    table = posterior.transition_table(prod.therapeutic_area, prod.modality, prod.stage,
                                       region=req.pipeline.region, scale=params.success_scale)
    med = phase_duration_medians(prod.therapeutic_area, params.duration_sigma)
    medians = [med[st] * params.duration_scale for st in STAGES[s:-1]]
    sigma = params.duration_sigma
    completion = np.empty((K, n))
    passed = np.empty((K, n), bool)
    for j in range(K):
        d = z_gen[j].standard_normal(n)
        d *= sigma
        np.exp(d, out=d)
        d *= medians[j]
        if j == 0:
            d *= left
            d += params.extra_delay_years
        else:
            d += completion[j - 1]
        completion[j] = d
        np.less(u_gen[j].random(n), table[j].take(rows), out=passed[j])
        if j:
            passed[j] &= passed[j - 1]
    approved = passed[-1]
    launch_t = np.where(approved, completion[-1], np.inf)
    fail_time = np.full(n, np.inf)                 # completion of the first transition failed
    for j in range(K - 1, -1, -1):
        fail_time = np.where(passed[j], fail_time, completion[j])
    return completion.T, passed.T, launch_t, approved, fail_time


def stage_means(req: PledgeRequest, params: ModelParams) -> np.ndarray:
    """(K,) expected years in each remaining stage; the current one: the expected time it has left."""
    prod = req.product
    s = STAGES.index(prod.stage)
    if s >= N_TRANSITIONS:
        return np.zeros(0)
    means = phase_duration_medians(prod.therapeutic_area, params.duration_sigma)
    shrink = math.exp(-0.5 * params.duration_sigma ** 2)
    m = np.array([means[st] / shrink for st in STAGES[s:-1]]) * params.duration_scale
    m[0] = 0.5 * m[0] + params.extra_delay_years        # uniform fraction left, plus any stressed delay
    return m


def _success_events(completion, passed, n, periods):
    """(n, periods) flags: a transition succeeded during year t (what lifts refinancing odds that year).

    Returned as an (n, periods) view of (periods, n) rows: the credit model reads one year at a time."""
    succ = np.zeros((periods + 1, n), bool)
    cols = np.arange(n)
    for j in range(completion.shape[1]):
        per = np.ceil(completion[:, j])
        ok = passed[:, j] & (per <= periods)
        succ[per[ok].astype(np.int64), cols[ok]] = True
    return succ[1:].T


def patent_outcomes(patents: PatentTable, streams, n) -> np.ndarray:
    """(p, n) bool: patent i is (or becomes) an enforceable right on the path (grant / invalidation draws)."""
    if patents.base.size == 0:
        return np.zeros((0, n), bool)
    u = streams["patents"].random((n, patents.base.size))
    alive = np.empty((patents.base.size, n), bool)     # C order, patents first: a row per patent, fast max over them
    np.less(u.T, patents.survive_p[:, None], out=alive)
    return alive


def discount_factors(rate, times) -> np.ndarray:
    """(1 + r)^-times for a scalar rate, or per path for an (n,) rate (broadcast on the last axis)."""
    r = np.asarray(rate, float)
    if r.ndim == 0:
        return (1.0 + float(r)) ** -np.asarray(times, float)
    return (1.0 + r)[:, None] ** -np.asarray(times, float)[None, :]


def simulate(req: PledgeRequest, ip_contribution: float, posterior: PipelinePosterior,
             params: ModelParams = DEFAULT_PARAMS, n: int | None = None, seed: int | None = None,
             path_draws: dict[str, np.ndarray] | None = None, collateral_years: int | None = None) -> SimResult:
    """Simulate ``n`` paths (default ``req.simulation.paths``) from ``seed`` (default the request's).

    ``path_draws`` (optional, used by :mod:`ipledge.risk.portfolio` for common factors) replaces per-path inputs,
    each an (n,) array: ``discount_shift`` added to ``policy.discount_rate`` on each path (``discount``
    is then (n, T)), ``vbp_u`` the uniform timing the VBP event, ``vbp_cut`` the cut. The streams are
    drawn as usual either way, so every other draw is unchanged.

    ``collateral_years``: collateral and success events cover years 0..Y, by default the loan's maturity
    (the only years the credit model reads); cash flows and values always run to the full horizon.
    """
    from ipledge.risk.collateral import collateral_values

    n = int(n or req.simulation.paths)
    streams = rng_streams(req.simulation.seed if seed is None else seed)
    prod = req.product
    patents = PatentTable.from_request(req, params)
    T = horizon_years(req, patents, params)
    t = np.arange(1, T + 1, dtype=float)
    r = req.policy.discount_rate
    draws = path_draws or {}
    if draws.get("discount_shift") is not None:
        rate = np.maximum(r + np.asarray(draws["discount_shift"], float), 0.0)
    else:
        rate = float(r)
    discount = discount_factors(rate, t - 0.5)
    discount_end = discount_factors(rate, t)

    completion, passed, launch_t, approved, fail_time = _pipeline(req, posterior, params, streams, n, T)
    Y = collateral_years if collateral_years is not None else math.ceil(req.loan.term_years - 1e-9)
    Y = max(1, min(int(Y), T))       # years the credit model reads: events and collateral up to maturity
    succ_ev = _success_events(completion, passed, n, Y)
    launch_period = np.where(approved, np.ceil(np.minimum(launch_t, T + 1)), T + 1).astype(np.int64)
    if prod.stage != "approved":
        launch_period = np.maximum(launch_period, 1)

    mu, sigma = lognormal_from_quantiles(prod.peak_sales.p10, prod.peak_sales.p50, prod.peak_sales.p90)
    # each component has its own stream: a draw that cannot change the result (no sales, no VBP
    # hazard, a factor-model draw in its place) is not made, and every other draw stays the same
    peak = np.exp(mu + sigma * streams["peak"].standard_normal(n)) if np.isfinite(mu) else np.zeros(n)

    alive = patent_outcomes(patents, streams, n)
    excl = exclusivity_given_launch(patents, alive, launch_t, params.exclusivity_shift_years)
    ea, eb = beta_ab(params.erosion_mean[prod.modality], params.erosion_concentration)
    erosion = streams["erosion"].beta(ea, eb, n)

    h = params.vbp_hazard[prod.vbp_exposure]
    u_vbp = cut = None
    if draws.get("vbp_u") is not None:
        u_vbp = np.asarray(draws["vbp_u"], float)
    elif h > 0:
        u_vbp = streams["vbp"].random(n)
    if draws.get("vbp_cut") is not None:
        cut = np.asarray(draws["vbp_cut"], float)
    elif h > 0:
        if draws.get("vbp_u") is not None:
            streams["vbp"].random(n)       # the timing uniforms precede the cuts on the stream
        ca, cb = beta_ab(params.vbp_cut_mean, params.vbp_cut_concentration)
        cut = streams["vbp"].beta(ca, cb, n)
    else:
        cut = np.zeros(n)                  # no event can happen: the cut is never applied
    first_exposed = np.maximum(launch_period, 1)
    if h > 0:
        wait = np.ceil(np.log1p(-u_vbp) / math.log1p(-h)) if h < 1 else np.ones(n)
        vbp_period = first_exposed - 1 + np.maximum(wait, 1).astype(np.int64)
    else:
        vbp_period = np.full(n, T + 1, dtype=np.int64)

    # sales only on paths that reach the market within the horizon (the others stay 0)
    ytp = prod.years_to_peak
    rows = np.flatnonzero(approved & (launch_period <= T))
    acc_in, acc_after = accrued_sales(launch_t[rows], excl[rows], T, ytp)
    price = np.where(t[None, :] >= vbp_period[rows, None], 1.0 - cut[rows, None], 1.0)
    pk = peak[rows, None]
    ip_share = prod.royalty_rate if prod.royalty_rate is not None else prod.profit_margin * ip_contribution
    pp = price
    pp *= pk                                             # peak × price, then × accrual before / after E
    s_in = pp * acc_in
    s_after = acc_after
    s_after *= pp
    s_after *= 1.0 - erosion[rows, None]
    d_rows = discount if discount.ndim == 1 else discount[rows]
    pv_in = np.zeros(n)
    pv_after = np.zeros(n)
    if discount.ndim == 1:
        pv_in[rows], pv_after[rows] = (s_in @ discount) * ip_share, (s_after @ discount) * ip_share
    else:
        pv_in[rows] = (s_in * d_rows).sum(axis=1) * ip_share
        pv_after[rows] = (s_after * d_rows).sum(axis=1) * ip_share

    means = stage_means(req, params)
    dev = _development(req, params, patents, alive, completion, passed, means, pv_in, ip_share, rate, n)
    keep = ~dev.abandoned[rows]
    sales = np.zeros((n, T))
    ip_cf = np.zeros((n, T))
    s_after += s_in                                      # product sales: before E, plus eroded after
    if keep.all():
        sales[rows] = s_after
        ip_cf[rows] = s_in * ip_share
    else:
        rows, acc_in = rows[keep], acc_in[keep]
        sales[rows] = s_after[keep]
        ip_cf[rows] = s_in[keep] * ip_share
    pv_after[dev.abandoned] = 0.0

    res = SimResult(
        n=n, T=T, years=req.as_of.year + np.arange(1, T + 1), discount=discount, discount_end=discount_end,
        rate=rate, sales=sales, ip_cf=ip_cf, pv=dev.value, pv_after=pv_after, collateral=np.empty((0, 0)),
        launch_period=launch_period, launch_time=launch_t, approved=approved, failure_time=fail_time,
        success_events=succ_ev, completion_times=completion, passed=passed, exclusivity_end=excl,
        patent_alive=alive, stage_means=means, peak=peak, vbp_period=vbp_period, vbp_cut=cut,
        erosion=erosion, ip_share=ip_share, market_rows=rows, market_in=acc_in,
        development=dev, years_to_peak=ytp, modality=prod.modality, params=params, streams=streams,
    )
    res.collateral = collateral_values(res, patents, h, Y)
    return res


def _development(req, params, patents, alive, completion, passed, means, pv_in, ip_share, rate, n):
    """Costs and the abandonment rule on the simulated paths (:mod:`ipledge.risk.development`)."""
    K = completion.shape[1]
    costs = remaining_phase_costs(req, params) * ip_cost_share(ip_share, req.product.profit_margin)
    if K == 0:                    # (no positive cost: fit_abandonment returns no_costs itself)
        return no_costs(n, K, pv_in)
    starts = np.concatenate([np.zeros((n, 1)), completion[:, :-1]], axis=1)
    reached = np.concatenate([np.ones((n, 1), bool), passed[:, :-1]], axis=1)
    resolved_from = params.patent_resolution_years if patents.uncertain.any() else 0
    resolved = starts >= resolved_from
    years_left = np.zeros((n, K))
    for k in np.flatnonzero(costs[1:] > 0) + 1:   # a rule only where a cost is weighed after today
        launch_hat = expected_launch(starts[:, k], np.full(n, k), 0.0, means)
        years_left[:, k] = info_years_left(patents, alive, starts[:, k], launch_hat, params.exclusivity_shift_years)
    r = np.asarray(rate, float)

    def discount_at(times, rows):
        return (1.0 + (r if r.ndim == 0 else r[rows])) ** -times

    return fit_abandonment(pv_in, starts, reached, years_left, resolved, costs, discount_at)
