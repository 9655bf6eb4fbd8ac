"""Collateral value at each future year, as a conditional expectation without look-ahead (DESIGN §8.8).

At the end of period t a bank that seizes the patents sells the expected remaining discounted IP cash
flows *given what is known at t*, never the path's own future (perfect foresight would understate the
loss). What is known at t:

- failed before t → 0; exclusivity ended (patent expired, or invalidated/refused once resolved) → 0,
  since an expired right cannot be sold;
- launched by t → the launch year, the peak (revealed by sales), whether the VBP event has happened and
  its cut, and, once resolved, which patents are in force. Future VBP events, erosion at loss of
  exclusivity and (before resolution) the patent outcomes are replaced by their expectations, which
  gives a closed form computed for all t at once with reverse cumulative sums (re-appraisal of the
  state):
  ``V_t = (1/d_t) Σ_{u>t} d_u A_u (1 - m·after_u) [hit ? (1-cut) : (1 - c̄) + c̄ (1-h)^(u-t)]``;
- still in development at t → least-squares Monte Carlo (Longstaff & Schwartz 2001): the realised
  remaining discounted cash flow regressed, separately for each stage reached, on time spent in that
  stage (1, τ, τ²) and, once patent outcomes are resolved, on the years of exclusivity left. Each
  stage has its own intercept, so the fitted values of the paths sharing a stage average exactly to
  their realised remaining cash flow; peak sales and the path's own success probability (not
  observable before launch) are not regressors.
"""
from __future__ import annotations

import numpy as np

N_BASIS = 3  # 1, tau, tau^2 (+1 exclusivity column once resolved)


def tail_sums_upto(x: np.ndarray, years: int) -> np.ndarray:
    """(T, ...) → (years+1, ...) with row t = Σ_{u>t} x[u-1], for t = 0..years (years ≤ T).

    One pass for the total and one over the first ``years`` rows: the tail of a late year is the total
    less the head (relative error ~1e-16 of the total, far below Monte Carlo error)."""
    total = x.sum(axis=0)
    out = np.empty((years + 1,) + x.shape[1:])
    out[0] = total
    if years:
        np.subtract(total, np.cumsum(x[:years], axis=0), out=out[1:])
    return out


def with_today(d: np.ndarray) -> np.ndarray:
    """Discount factors (T,) or (n, T) with the factor 1 of today prepended on the last axis."""
    return np.concatenate([np.ones(d.shape[:-1] + (1,)), d], axis=-1)


def _launched_values(res, resolved_from: int, h: float, Y: int) -> np.ndarray:
    """(r, Y+1) closed-form value at years 0..Y of the r paths that launch within the horizon.

    Reuses the simulation's peak × ramp and post-expiry shares of those paths."""
    rows = res.market_rows
    T = res.T
    t = np.arange(1, T + 1, dtype=float)
    d = res.discount[rows] if res.discount.ndim == 2 else res.discount[None, :]     # (r, T) or (1, T)
    m = res.params.erosion_mean[res.modality]
    c_bar = res.params.vbp_cut_mean
    w = (1.0 - h) ** t if h > 0 else np.ones(T)
    hit = res.vbp_period[rows, None] <= np.arange(Y + 1)[None, :]
    d_t = with_today(d)[:, :Y + 1]
    w_t = with_today(w)[:Y + 1]
    kept = (1.0 - res.vbp_cut[rows])[:, None]
    base = res.market_peak_ramp * (d * res.ip_share)

    def value(after, upto):
        g1 = base * (1.0 - m * after)
        rc1 = tail_sums_upto(g1.T, upto).T
        if h <= 0:
            return rc1 / d_t[:, :upto + 1]
        rc2 = tail_sums_upto((g1 * w).T, upto).T / w_t[:upto + 1]
        return np.where(hit[:, :upto + 1], kept * rc1, (1.0 - c_bar) * rc1 + c_bar * rc2) / d_t[:, :upto + 1]

    v = value(res.market_after, Y)
    if resolved_from > 0:
        # before the patent outcomes are known, exclusivity enters through its distribution
        k = min(resolved_from, Y + 1)
        v[:, :k] = value(res.market_after.mean(axis=0, keepdims=True), k - 1)
    return v


def _lsm_fit(y: np.ndarray, features: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Fitted values of y on features (b × m, one row per basis function), one coefficient set per group.

    Block-diagonal least squares in one pass: every observation's products x_i x_k and x_i y are summed
    per group (observations sorted by group, one ``add.reduceat``) and the small normal equations are
    solved as one batch. A ridge of 1e-12 × the group's largest diagonal entry turns an empty or
    all-zero column into a zero coefficient instead of a singular system; the intercept keeps each
    group's fitted mean equal to its mean of y (to that relative precision).
    """
    b = features.shape[0]
    iu, ku = np.triu_indices(b)
    key = group.astype(np.int32 if n_groups > 32767 else np.int16)
    order = np.argsort(key, kind="stable")        # radix sort on small integer keys
    f_sorted, y_sorted, g_sorted = features[:, order], y[order], group[order]
    prods = np.concatenate([f_sorted[iu] * f_sorted[ku], f_sorted * y_sorted])
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    sums = np.zeros((n_groups, prods.shape[0]))
    sums[g_sorted[starts]] = np.add.reduceat(prods, starts, axis=1).T
    gram = np.empty((n_groups, b, b))
    gram[:, iu, ku] = sums[:, :iu.size]
    gram[:, ku, iu] = sums[:, :iu.size]
    rhs = sums[:, iu.size:]
    diag = np.arange(b)
    gram[:, diag, diag] += 1e-12 * gram[:, diag, diag].max(axis=1, keepdims=True) + 1e-300
    beta = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
    return (features * beta[group].T).sum(axis=0)


def collateral_values(res, patents, h: float, years: int | None = None) -> np.ndarray:
    """(n, Y+1) collateral value at the end of years 0..Y (Y = ``years``, default the horizon T).

    Column 0 is today's appraisal. Returned as the transpose of a (Y+1, n) C-ordered array: a column
    (all paths at one year), which is what the credit model reads, is contiguous in memory.
    """
    n, T = res.n, res.T
    Y = T if years is None else max(1, min(int(years), T))
    resolved_from = res.params.patent_resolution_years if patents.uncertain.any() else 0
    d_today = with_today(res.discount).T[:Y + 1]            # (Y+1,) or (Y+1, n)
    if d_today.ndim == 1:
        d_today = d_today[:, None]
    realised = np.zeros((Y + 1, n))   # remaining discounted cash flow; 0 on paths never launched
    rows = res.market_rows
    if rows.size:
        d_rows = res.discount[rows] if res.discount.ndim == 2 else res.discount
        realised[:, rows] = tail_sums_upto((res.ip_cf[rows] * d_rows).T, Y) / (
            d_today[:, rows] if d_today.shape[1] > 1 else d_today)
    cols = np.arange(Y + 1)
    VT = np.zeros((Y + 1, n))
    if res.market_rows.size:
        VT[:, res.market_rows] = _launched_values(res, resolved_from, h, Y).T
    comp = res.completion_times
    K = comp.shape[1]
    done = np.zeros((Y + 1, n), np.int64)     # transitions resolved by the end of year t
    last = np.zeros((Y + 1, n))               # when the latest of them resolved
    for j in range(K):
        resolved = comp[None, :, j] <= cols[:, None]
        done += resolved
        last = np.where(resolved, comp[None, :, j], last)
    e_varies = res.exclusivity_end.std() > 1e-9
    # every (year, path) still in development, fitted at once: group = (year, stage reached)
    years_ = cols[1:min(Y, T - 1) + 1, None]
    pre = (res.launch_period[None, :] > years_) & (res.failure_time[None, :] > years_)
    pre &= (years_ < resolved_from) | (res.exclusivity_end[None, :] > years_)
    ti, pi = np.nonzero(pre)
    if ti.size:
        t = ti + 1
        tau = t - last[t, pi]
        feats = [np.ones_like(tau), tau, tau * tau]
        if e_varies:
            feats.append(np.where(t >= resolved_from, np.minimum(res.exclusivity_end[pi] - t, 30.0), 0.0))
        Kg = max(K, 1)
        VT[t, pi] = _lsm_fit(realised[t, pi], np.stack(feats), t * Kg + done[t, pi], (Y + 1) * Kg)
    live = res.failure_time[None, :] > cols[:, None]
    live &= (cols[:, None] < resolved_from) | (cols[:, None] < res.exclusivity_end[None, :])
    np.maximum(VT, 0.0, out=VT)
    VT *= live
    if Y == T:
        VT[T] = 0.0
    VT[0] = res.pv.mean()
    return VT.T
