"""Vectorised Monte Carlo of pipeline, sales, IP cash flows and IP value (DESIGN §8).

All paths at once: arrays are (paths × years); Python loops run only over the few transitions,
patents or years, never over paths. Period t = 1..T is the year ending ``as_of + t`` years and is
labelled with calendar year ``as_of.year + t``; cash flows fall at the end of the period.

Equations (DESIGN §8, numbers and sources in :mod:`risk.params`):

1. Stage path: success probability per remaining transition from one posterior draw per path; success
   ``U < p``; durations lognormal(median of the area, sigma); the current stage has a uniform fraction
   of its duration left. The first failure stops all cash flow.
2. Launch: ``L`` = sum of remaining durations (years from as_of); launch period ``ceil(L)``. Approved
   products: launch period ``launch_year - as_of.year``.
3. Peak sales lognormal fitted by least squares to the log of p10/p50/p90 (sigma 0 when equal);
   ``sales = peak × min(1, age / years_to_peak)``, age counted from 1 in the launch period.
4. Exclusivity end E per path: latest expiry among patents in force on the path (a pending patent is
   granted with its grant probability, a patent under invalidation survives with 1 - p(invalidated));
   term extension capped at 14 years after approval. After E: ``sales × (1 - erosion)``, erosion ~ Beta.
5. VBP: annual hazard h from the first launched year (one event, drawn by inversion of the geometric
   law so that a higher hazard gives an earlier event on the same path); price × (1 - cut), cut ~ Beta.
6. IP cash flow = sales × royalty_rate, or sales × profit_margin × ip_contribution.
7. IP value today = Σ_t CF_t (1 + r)^-t.
8. Collateral value at each year: :mod:`risk.collateral` (conditional expectation, no look-ahead).

Random streams: one SeedSequence from the request seed, spawned into one child per component in a fixed
order, so changing one input (stage, VBP exposure, a loan amount) leaves every other draw unchanged
(common random numbers).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from risk.durations import phase_duration_medians
from risk.params import DEFAULT_PARAMS, ModelParams
from risk.posterior import STAGES, PipelinePosterior
from valuation.schema import PledgeRequest
from valuation.terms import DAYS_PER_YEAR, MAX_EFFECTIVE_TERM_AFTER_APPROVAL_YEARS, base_expiry

Z90 = 1.2815515655446004  # standard normal 90% quantile
STREAMS = ("posterior", "success", "duration", "peak", "patents", "erosion", "vbp", "credit")
N_TRANSITIONS = len(STAGES) - 1


def rng_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per component, from a single seed (reproducible, CRN-friendly)."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(c)) for name, c in zip(STREAMS, children)}


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
    discount: np.ndarray         # (T,) (1+r)^-t; (n, T) with a per-path rate shift (path_draws)
    sales: np.ndarray            # (n, T) product sales, CNY
    ip_cf: np.ndarray            # (n, T) IP cash flow, CNY
    pv: np.ndarray               # (n,) IP value today
    collateral: np.ndarray       # (n, T+1) value at the end of period t; column 0 = today
    launch_period: np.ndarray    # (n,) int; > T when never launched within the horizon
    launch_time: np.ndarray      # (n,) years from as_of (inf when not approved)
    approved: np.ndarray         # (n,) bool
    failure_time: np.ndarray     # (n,) years from as_of of the failed transition (inf if none)
    success_events: np.ndarray   # (n, Y) bool, a transition succeeded in year t (Y = maturity)
    completion_times: np.ndarray  # (n, K) years at which each remaining transition resolves
    passed: np.ndarray           # (n, K) bool, transition j passed (and all before it)
    exclusivity_end: np.ndarray  # (n,) years from as_of
    peak: np.ndarray             # (n,) peak sales draw
    vbp_period: np.ndarray       # (n,) period of the VBP event (> T: none)
    vbp_cut: np.ndarray          # (n,) cut on the event
    erosion: np.ndarray          # (n,) LOE erosion draw
    ip_share: float              # royalty rate or margin × contribution
    market_rows: np.ndarray      # (r,) paths that launch within the horizon
    market_peak_ramp: np.ndarray  # (r, T) peak × ramp on those paths (sales before erosion and VBP)
    market_after: np.ndarray     # (r, T) share of each year after exclusivity end on those paths
    years_to_peak: float
    modality: str
    params: ModelParams
    streams: dict

    @property
    def appraised_value(self) -> float:
        return float(self.pv.mean())

    @property
    def mc_std_error(self) -> float:
        return float(self.pv.std(ddof=1) / math.sqrt(self.n)) if self.n > 1 else 0.0


def horizon_years(req: PledgeRequest, patents: PatentTable, params: ModelParams) -> int:
    end = patents.horizon_end() + params.exclusivity_shift_years + params.horizon_after_exclusivity_years
    loan = math.ceil(req.loan.term_years - 1e-9)
    return int(min(params.max_horizon_years, max(math.ceil(end), loan + 1, 1)))


def _pipeline(req, posterior, params, streams, n, T):
    """Success flags, completion times and launch time of the remaining transitions."""
    prod = req.product
    s = STAGES.index(prod.stage)
    K = N_TRANSITIONS - s
    # Draw all five columns and keep the remaining ones: an earlier stage then shares its later
    # hurdles' draws with a later stage on every path.
    p_all = posterior.sample(prod.therapeutic_area, prod.modality, STAGES[0], n, streams["posterior"],
                             region=req.pipeline.region)
    u_all = streams["success"].random((n, N_TRANSITIONS))
    z_all = streams["duration"].standard_normal((n, N_TRANSITIONS))
    left = streams["duration"].random(n)
    if K == 0:
        launch_t = np.full(n, float(prod.launch_year - req.as_of.year))
        empty = np.zeros((n, 0))
        return empty, empty.astype(bool), launch_t, np.ones(n, bool), np.full(n, np.inf)
    p = np.clip(p_all[:, s:] * params.success_scale, 0.0, 1.0)
    med = phase_duration_medians(prod.therapeutic_area)
    medians = np.array([med[st] for st in STAGES[s:-1]]) * params.duration_scale
    dur = medians * np.exp(params.duration_sigma * z_all[:, s:])
    dur[:, 0] *= left
    dur[:, 0] += params.extra_delay_years
    completion = np.cumsum(dur, axis=1)
    passed = np.logical_and.accumulate(u_all[:, s:] < p, axis=1)
    approved = passed[:, -1]
    launch_t = np.where(approved, completion[:, -1], np.inf)
    n_passed = passed.sum(axis=1)
    fail_time = np.where(approved, np.inf, np.take_along_axis(completion, np.minimum(n_passed, K - 1)[:, None], 1)[:, 0])
    return completion, passed, launch_t, approved, fail_time


def _success_events(completion, passed, n, periods):
    """(n, periods) flags: a transition succeeded during year t (what lifts refinancing odds that year)."""
    succ = np.zeros((n, periods + 1), bool)
    rows = np.arange(n)
    for j in range(completion.shape[1]):
        per = np.ceil(completion[:, j]).astype(np.int64)
        ok = passed[:, j] & (per <= periods)
        succ[rows[ok], per[ok]] = True
    return succ[:, 1:]


def _exclusivity(req, patents: PatentTable, params, streams, launch_t, n):
    """Exclusivity end per path (years from as_of), after grant/invalidation draws and extension cap."""
    if patents.base.size == 0:
        return np.zeros(n)
    u = streams["patents"].random((n, patents.base.size)).T          # patents first: fast max over them
    cap = np.where(np.isfinite(launch_t), launch_t + MAX_EFFECTIVE_TERM_AFTER_APPROVAL_YEARS, -np.inf)
    base, ext = patents.base[:, None], patents.extension[:, None]
    ends = base + np.minimum(ext, np.maximum(0.0, cap[None, :] - base))
    ends = np.where(u < patents.survive_p[:, None], ends, 0.0)
    return np.maximum(ends.max(axis=0) + params.exclusivity_shift_years, 0.0)


def simulate(req: PledgeRequest, ip_contribution: float, posterior: PipelinePosterior,
             params: ModelParams = DEFAULT_PARAMS, n: int | None = None, seed: int | None = None,
             path_draws: dict[str, np.ndarray] | None = None, collateral_years: int | None = None) -> SimResult:
    """Simulate ``n`` paths (default ``req.simulation.paths``) from ``seed`` (default the request's).

    ``path_draws`` (optional, used by :mod:`risk.portfolio` for common factors) replaces per-path inputs,
    each an (n,) array: ``discount_shift`` added to ``policy.discount_rate`` on each path (``discount``
    is then (n, T)), ``vbp_u`` the uniform timing the VBP event, ``vbp_cut`` the cut. The streams are
    drawn as usual either way, so every other draw is unchanged.

    ``collateral_years``: collateral and success events cover years 0..Y, by default the loan's maturity
    (the only years the credit model reads); cash flows and values always run to the full horizon.
    """
    from risk.collateral import collateral_values

    n = int(n or req.simulation.paths)
    streams = rng_streams(req.simulation.seed if seed is None else seed)
    prod = req.product
    patents = PatentTable.from_request(req, params)
    T = horizon_years(req, patents, params)
    t = np.arange(1, T + 1, dtype=float)
    r = req.policy.discount_rate
    draws = path_draws or {}
    if draws.get("discount_shift") is not None:
        discount = (1.0 + np.maximum(r + np.asarray(draws["discount_shift"], float), 0.0))[:, None] ** -t[None, :]
    else:
        discount = (1.0 + r) ** -t

    completion, passed, launch_t, approved, fail_time = _pipeline(req, posterior, params, streams, n, T)
    Y = collateral_years if collateral_years is not None else math.ceil(req.loan.term_years - 1e-9)
    Y = max(1, min(int(Y), T))       # years the credit model reads: events and collateral up to maturity
    succ_ev = _success_events(completion, passed, n, Y)

    if prod.stage == "approved":
        launch_period = np.full(n, prod.launch_year - req.as_of.year, dtype=np.int64)
    else:
        launch_period = np.where(approved, np.ceil(np.minimum(launch_t, T + 1)), T + 1).astype(np.int64)
        launch_period = np.maximum(launch_period, 1)

    mu, sigma = lognormal_from_quantiles(prod.peak_sales.p10, prod.peak_sales.p50, prod.peak_sales.p90)
    z_peak = streams["peak"].standard_normal(n)
    peak = np.exp(mu + sigma * z_peak) if np.isfinite(mu) else np.zeros(n)

    excl = _exclusivity(req, patents, params, streams, launch_t, n)
    ea, eb = beta_ab(params.erosion_mean[prod.modality], params.erosion_concentration)
    erosion = streams["erosion"].beta(ea, eb, n)

    h = params.vbp_hazard[prod.vbp_exposure]
    u_vbp = streams["vbp"].random(n)
    ca, cb = beta_ab(params.vbp_cut_mean, params.vbp_cut_concentration)
    cut = streams["vbp"].beta(ca, cb, n)
    if draws.get("vbp_u") is not None:
        u_vbp = np.asarray(draws["vbp_u"], float)
    if draws.get("vbp_cut") is not None:
        cut = np.asarray(draws["vbp_cut"], float)
    first_exposed = np.maximum(launch_period, 1)
    if h > 0:
        wait = np.ceil(np.log1p(-u_vbp) / math.log1p(-h)) if h < 1 else np.ones(n)
        vbp_period = first_exposed - 1 + np.maximum(wait, 1).astype(np.int64)
    else:
        vbp_period = np.full(n, T + 1, dtype=np.int64)

    # sales only on paths that reach the market within the horizon (the others stay 0)
    ytp = prod.years_to_peak
    sales = np.zeros((n, T))
    rows = np.flatnonzero(approved & (launch_period <= T))
    age = t[None, :] - launch_period[rows, None] + 1.0          # >= 1 once launched
    ramp = np.minimum(np.maximum(age / ytp, 0.0), 1.0) if ytp > 0 else (age >= 1).astype(float)
    ramp *= age >= 1
    peak_ramp = peak[rows, None] * ramp                          # sales before erosion and VBP
    after = np.minimum(np.maximum(t[None, :] - excl[rows, None], 0.0), 1.0)  # share of year after E
    price = np.where(t[None, :] >= vbp_period[rows, None], 1.0 - cut[rows, None], 1.0)
    sales[rows] = peak_ramp * (1.0 - erosion[rows, None] * after) * price
    ip_share = prod.royalty_rate if prod.royalty_rate is not None else prod.profit_margin * ip_contribution
    # only paths that reach the market earn anything: compute there, zeros elsewhere
    ip_cf = np.zeros((n, T))
    ip_cf[rows] = sales[rows] * ip_share
    pv = np.zeros(n)
    d_rows = discount if discount.ndim == 1 else discount[rows]
    pv[rows] = (ip_cf[rows] * d_rows).sum(axis=1) if discount.ndim == 2 else ip_cf[rows] @ discount

    res = SimResult(
        n=n, T=T, years=req.as_of.year + np.arange(1, T + 1), discount=discount, sales=sales,
        ip_cf=ip_cf, pv=pv, collateral=np.empty((0, 0)), launch_period=launch_period,
        launch_time=launch_t, approved=approved, failure_time=fail_time, success_events=succ_ev,
        completion_times=completion, passed=passed, exclusivity_end=excl,
        peak=peak, vbp_period=vbp_period, vbp_cut=cut, erosion=erosion, ip_share=ip_share,
        market_rows=rows, market_peak_ramp=peak_ramp, market_after=after,
        years_to_peak=ytp, modality=prod.modality,
        params=params, streams=streams,
    )
    res.collateral = collateral_values(res, patents, h, Y)
    return res
