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


def tail_sums(x: np.ndarray) -> np.ndarray:
    """(n, T) → (n, T+1) with column t = Σ_{u>t} x[:, u-1] (sum strictly after period t)."""
    n, T = x.shape
    out = np.zeros((n, T + 1))
    out[:, :T] = np.cumsum(x[:, ::-1], axis=1)[:, ::-1]  # column t-1 holds Σ_{u>=t} = Σ_{u>t-1}
    return out


def with_today(d: np.ndarray) -> np.ndarray:
    """Discount factors (T,) or (n, T) with the factor 1 of today prepended on the last axis."""
    return np.concatenate([np.ones(d.shape[:-1] + (1,)), d], axis=-1)


def _launched_values(res, rows: np.ndarray, resolved_from: int, h: float) -> np.ndarray:
    """(len(rows), T+1) closed-form value of paths that launch within the horizon."""
    T = res.T
    t = np.arange(1, T + 1, dtype=float)
    d = res.discount[rows] if res.discount.ndim == 2 else res.discount
    age = t[None, :] - res.launch_period[rows, None] + 1.0
    ytp = res.years_to_peak
    ramp = np.minimum(np.maximum(age / ytp, 0.0), 1.0) if ytp > 0 else (age >= 1).astype(float)
    A = (res.peak[rows, None] * res.ip_share) * ramp * (age >= 1)
    m = res.params.erosion_mean[res.modality]
    after = np.minimum(np.maximum(t[None, :] - res.exclusivity_end[rows, None], 0.0), 1.0)
    c_bar = res.params.vbp_cut_mean
    w = (1.0 - h) ** t if h > 0 else np.ones(T)
    cols = np.arange(T + 1)
    hit = res.vbp_period[rows, None] <= cols[None, :]
    d_t = with_today(d)
    w_t = with_today(w)
    kept = (1.0 - res.vbp_cut[rows, None])

    def value(after_u, upto=None):
        g1 = (d * A) * (1.0 - m * after_u)
        rc1 = tail_sums(g1)[:, :upto]
        if h <= 0:
            return rc1 / d_t[..., :upto]
        rc2 = tail_sums(g1 * w)[:, :upto] / w_t[:upto]
        return np.where(hit[:, :upto], kept * rc1, (1.0 - c_bar) * rc1 + c_bar * rc2) / d_t[..., :upto]

    v = value(after)
    if resolved_from > 0:
        # before the patent outcomes are known, exclusivity enters through its distribution
        v[:, :resolved_from] = value(np.broadcast_to(after.mean(axis=0), after.shape), resolved_from)
    return v


def _lsm_fit(y: np.ndarray, features: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Fitted values of y on features, one coefficient set per group (block-diagonal least squares).

    Normal equations per group with a ridge of 1e-12 × the largest diagonal entry, so an empty or
    constant column gives a zero coefficient instead of a singular system; the intercept keeps each
    group's fitted mean equal to its mean of y (to that relative precision).
    """
    m, b = features.shape
    fitted = np.empty(m)
    for g in range(n_groups):
        sel = group == g
        if not sel.any():
            continue
        X = features[sel]
        gram = X.T @ X
        gram[np.diag_indices(b)] += 1e-12 * gram.diagonal().max() + 1e-300
        fitted[sel] = X @ np.linalg.solve(gram, X.T @ y[sel])
    return fitted


def collateral_values(res, patents, h: float) -> np.ndarray:
    """(n, T+1) collateral value at the end of each period; column 0 is today's appraisal.

    Returned as the transpose of a (T+1, n) C-ordered array: a column (all paths at one year), which
    is what the credit model reads, is contiguous in memory.
    """
    n, T = res.n, res.T
    resolved_from = res.params.patent_resolution_years if patents.uncertain.any() else 0
    realised = (tail_sums(res.ip_cf * res.discount) / with_today(res.discount)).T.copy()  # (T+1, n)
    cols = np.arange(T + 1)
    VT = np.zeros((T + 1, n))
    rows = np.flatnonzero(res.approved & (res.launch_period <= T))
    if rows.size:
        VT[:, rows] = _launched_values(res, rows, resolved_from, h).T
    comp = res.completion_times
    K = comp.shape[1]
    done = np.zeros((T + 1, n), np.int64)     # transitions resolved by the end of year t
    last = np.zeros((T + 1, n))               # when the latest of them resolved
    for j in range(K):
        resolved = comp[None, :, j] <= cols[:, None]
        done += resolved
        last = np.where(resolved, comp[None, :, j], last)
    e_varies = res.exclusivity_end.std() > 1e-9
    for t in range(1, T):
        known = t >= resolved_from
        pre = (res.launch_period > t) & (res.failure_time > t)
        if known:
            pre &= res.exclusivity_end > t
        if not pre.any():
            continue
        tau = t - last[t, pre]
        cols_x = [np.ones_like(tau), tau, tau * tau]
        if known and e_varies:
            cols_x.append(np.minimum(res.exclusivity_end[pre] - t, 30.0))
        VT[t, pre] = _lsm_fit(realised[t, pre], np.column_stack(cols_x), done[t, pre], max(K, 1))
    np.maximum(VT, 0.0, out=VT)
    dead = res.failure_time[None, :] <= cols[:, None]
    dead |= (cols[:, None] >= resolved_from) & (cols[:, None] >= res.exclusivity_end[None, :])
    VT[dead] = 0.0
    VT[T] = 0.0
    VT[0] = res.pv.mean()
    return VT.T
