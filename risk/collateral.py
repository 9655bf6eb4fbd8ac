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


def _launched_values(res, resolved_from: int, h: float) -> np.ndarray:
    """(n, T+1) closed-form value of launched paths (meaningful only where launched by t)."""
    n, T = res.n, res.T
    t = np.arange(1, T + 1, dtype=float)
    d = res.discount
    age = t[None, :] - res.launch_period[:, None] + 1.0
    ytp = res.years_to_peak
    ramp = np.clip(age / ytp, 0.0, 1.0) if ytp > 0 else (age >= 1).astype(float)
    A = res.peak[:, None] * ramp * (age >= 1) * res.ip_share * res.approved[:, None]
    m = res.params.erosion_mean[res.modality]
    after = np.clip(t[None, :] - res.exclusivity_end[:, None], 0.0, 1.0)
    c_bar = res.params.vbp_cut_mean
    w = (1.0 - h) ** t if h > 0 else np.ones(T)
    cols = np.arange(T + 1)
    hit = res.vbp_period[:, None] <= cols[None, :]
    d_t = np.concatenate([[1.0], d])
    w_t = np.concatenate([[1.0], w])

    def value(after_u):
        g1 = d * A * (1.0 - m * after_u)
        rc1 = tail_sums(g1)
        rc2 = tail_sums(g1 * w) / w_t if h > 0 else rc1
        return np.where(hit, (1.0 - res.vbp_cut[:, None]) * rc1, (1.0 - c_bar) * rc1 + c_bar * rc2) / d_t

    v_res = value(after)
    if resolved_from <= 0:
        return v_res
    v_unres = value(np.broadcast_to(after.mean(axis=0), after.shape))
    return np.where(cols[None, :] >= resolved_from, v_res, v_unres)


def _lsm_fit(y: np.ndarray, features: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Fitted values of y on features, one coefficient set per group (block-diagonal least squares)."""
    m, b = features.shape
    design = np.zeros((m, b * n_groups))
    rows = np.arange(m)
    for j in range(b):
        design[rows, group * b + j] = features[:, j]
    gram = design.T @ design
    beta = np.linalg.pinv(gram, hermitian=True) @ (design.T @ y)
    return design @ beta


def collateral_values(res, patents, h: float) -> np.ndarray:
    """(n, T+1) collateral value at the end of each period; column 0 is today's appraisal."""
    n, T = res.n, res.T
    resolved_from = res.params.patent_resolution_years if patents.uncertain.any() else 0
    realised = tail_sums(res.ip_cf * res.discount) / np.concatenate([[1.0], res.discount])
    V = _launched_values(res, resolved_from, h)
    cols = np.arange(T + 1)
    launched = res.launch_period[:, None] <= cols[None, :]
    failed = res.failure_time[:, None] <= cols[None, :]
    known = cols[None, :] >= resolved_from
    expired = known & (cols[None, :] >= res.exclusivity_end[:, None])
    K = res.completion_times.shape[1]
    e_varies = res.exclusivity_end.std() > 1e-9
    for t in range(1, T):
        pre = ~launched[:, t] & ~failed[:, t] & ~expired[:, t]
        if not pre.any():
            continue
        comp = res.completion_times[pre]
        done = (comp <= t).sum(axis=1) if K else np.zeros(pre.sum(), dtype=np.int64)
        last = np.where(done > 0, np.take_along_axis(comp, np.maximum(done - 1, 0)[:, None], 1)[:, 0], 0.0) \
            if K else np.zeros(pre.sum())
        tau = t - last
        cols_x = [np.ones_like(tau), tau, tau * tau]
        if known[0, t] and e_varies:
            cols_x.append(np.minimum(res.exclusivity_end[pre] - t, 30.0))
        fitted = _lsm_fit(realised[pre, t], np.column_stack(cols_x), done, max(K, 1))
        V[pre, t] = fitted
    V = np.where(failed | expired, 0.0, np.maximum(V, 0.0))
    V[:, T] = 0.0
    V[:, 0] = res.pv.mean()
    return V
