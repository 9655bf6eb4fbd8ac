"""Collateral value at each future year, as a conditional expectation without look-ahead (DESIGN §8.8).

At the end of year t a bank that seizes the patents sells the expected remaining discounted IP cash
flows up to the exclusivity end, less the development costs still to pay (with the buyer's option to
abandon), *given what a buyer knows at t* — never the path's own future. Perfect foresight (valuing
each path at what it will in fact earn) would make the collateral 0 on exactly the paths that fail,
which are the paths that default: it OVERSTATES the loss (measured: see docs/methodology.md).

Information set at the end of year t (every state variable and regressor is computed from it only):

- the stage reached and the time spent in it (for the stage under way at as_of: the time since as_of),
  or failed (→ 0), or abandoned by the holder at a phase start (→ 0);
- the patent outcomes resolved by t (pending grants and invalidations, after
  ``patent_resolution_years``); before that only their probabilities;
- each patent's statutory expiry and the term-extension RULE (in force at approval, at most 14 years
  after approval) applied to the launch date: after launch the actual one; before launch the launch
  date expected at t (:func:`ipledge.risk.simulate.expected_launch`: mean remaining durations less the time
  already spent), never the path's own future launch date;
- after launch: the launch date, the peak (revealed by realised sales), whether the VBP event has
  happened and its cut. Future VBP events and (before resolution) the patent outcomes enter through
  their expectations; erosion after expiry does not enter (the IP value stops at exclusivity end).

Launched paths: closed form for all t at once with reverse cumulative sums (re-appraisal of the state),
``V_t = (1/D_t) Σ_{u>t} d_u A_u [hit ? (1-cut) : (1 - c̄) + c̄ (1-h)^(u-t)]`` with ``A_u`` the IP cash
flow accrued before E in year u, ``d_u`` mid-year and ``D_t`` end-of-year discount factors.
Paths still in development: least-squares Monte Carlo (Longstaff & Schwartz 2001): the realised
remaining discounted cash flow less the costs paid after t, regressed separately for each (year, stage
reached) on 1, τ, τ² (τ = time in the stage) and, once the patent outcomes are resolved, the years of
exclusivity left under the rule above; the fitted value is floored at 0 (the buyer may abandon).
Each group has its own intercept, so the values of the paths sharing a state average to what those
paths go on to earn; the independence of the regressors from the path's future makes paths that will
fail and paths that will succeed carry the same value (tests/test_collateral.py), and the values agree
with brute-force nested simulation (benchmarks/collateral_check.py).

Values are in real terms; the returned collateral is restated in CNY of year t (× (1 + inflation)^t)
because the loan it secures is nominal.
"""
from __future__ import annotations

import numpy as np

from ipledge.risk.launch import accrued_sales, exclusivity_given_launch, expected_launch, info_years_left

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


def _launched_values(res, patents, resolved_from: int, h: float, Y: int) -> np.ndarray:
    """(r, Y+1) closed-form value at years 0..Y of the r paths that launch within the horizon."""
    rows = res.market_rows
    T = res.T
    t = np.arange(1, T + 1, dtype=float)
    d = res.discount[rows] if res.discount.ndim == 2 else res.discount[None, :]     # (r, T) or (1, T)
    D = res.discount_end[rows] if res.discount_end.ndim == 2 else res.discount_end[None, :]
    c_bar = res.params.vbp_cut_mean
    w = (1.0 - h) ** t                 # h = 0: exactly 1.0 in every year
    hit = res.vbp_period[rows, None] <= np.arange(Y + 1)[None, :]
    D_t = with_today(D)[:, :Y + 1]
    w_t = with_today(w)[:Y + 1]
    kept = (1.0 - res.vbp_cut[rows])[:, None]
    scale = (res.peak[rows] * res.ip_share)[:, None]

    g1 = scale * res.market_in * d
    rc1 = tail_sums_upto(g1.T, Y).T
    if h <= 0:
        v = rc1 / D_t
    else:
        rc2 = tail_sums_upto((g1 * w).T, Y).T / w_t
        v = np.where(hit, kept * rc1, (1.0 - c_bar) * rc1 + c_bar * rc2) / D_t
    if resolved_from > 0:
        # before the patent outcomes are known, exclusivity enters through its law given the launch date
        k = min(resolved_from, Y + 1)
        sub = np.flatnonzero(res.launch_period[rows] <= k - 1)      # launched while still unresolved
        if sub.size:
            acc = expected_accrual(res, patents, sub)
            d_sub = d if d.shape[0] == 1 else d[sub]
            D_sub = D_t if D_t.shape[0] == 1 else D_t[sub]
            g1 = scale[sub] * acc * d_sub
            rc1 = tail_sums_upto(g1.T, k - 1).T
            if h <= 0:
                v[sub, :k] = rc1 / D_sub[:, :k]
            else:
                rc2 = tail_sums_upto((g1 * w).T, k - 1).T / w_t[:k]
                v[sub, :k] = np.where(hit[sub, :k], kept[sub] * rc1, (1.0 - c_bar) * rc1 + c_bar * rc2) / D_sub[:, :k]
    return v


def expected_accrual(res, patents, sub: np.ndarray) -> np.ndarray:
    """(m, T) expected years' worth of peak sales accrued before E, over the unresolved patent outcomes,
    for market rows ``sub`` given their (known) launch dates.

    E is the latest end among surviving patents: with ends sorted e_(1) <= ... <= e_(p) on a path,
    P(E = e_(j)) = s_(j) Π_{l>j} (1 - s_(l)), independent outcomes (Patent Law art. 42 rule per end)."""

    L = res.launch_time[res.market_rows[sub]]
    p, m, T = patents.base.size, sub.size, res.T
    shift = res.params.exclusivity_shift_years
    ends = np.stack([exclusivity_given_launch(patents, (np.arange(p) == i)[:, None].repeat(m, 1), L, shift)
                     for i in range(p)])                                   # (p, m) each patent alone
    order = np.argsort(ends, axis=0, kind="stable")
    e_sorted = np.take_along_axis(ends, order, axis=0)
    s_sorted = patents.survive_p[order]
    none_after = np.ones((p, m))
    none_after[:-1] = np.cumprod((1.0 - s_sorted)[::-1], axis=0)[::-1][1:]     # p = 1: an empty slice
    prob = s_sorted * none_after
    out = np.zeros((m, T))
    for j in range(p):
        out += prob[j][:, None] * accrued_sales(L, e_sorted[j], T, res.years_to_peak)[0]
    return out


def _lsm_fit(y: np.ndarray, features: np.ndarray, group: np.ndarray, n_groups: int, with_se: bool = False):
    """Fitted values of y on features (b × m, one row per basis function), one coefficient set per group.

    Block-diagonal least squares in one pass: every observation's products x_i x_k and x_i y are summed
    per group (observations sorted by group, one ``add.reduceat``) and the small normal equations are
    solved as one batch by pseudo-inverse. ``with_se``: also the standard error of each fitted value,
    sqrt(s²_g · x_i' G_g⁺ x_i) with s²_g the group's residual variance (the regression's own Monte Carlo
    error, used by the nested-simulation check).
    """
    b = features.shape[0]
    # unit-scale the columns (tau² reaches 100 where the intercept is 1) so one cut-off fits all
    col_scale = np.maximum(np.abs(features).max(axis=1), 1e-300)
    features = features / col_scale[:, None]
    iu, ku = np.triu_indices(b)
    key = group.astype(np.int32 if n_groups > 32767 else np.int16)
    order = np.argsort(key, kind="stable")        # radix sort on small integer keys
    f_sorted, y_sorted, g_sorted = features[:, order], y[order], group[order]
    # products x_i x_k (i <= k), x_i y (and y², 1 for the standard errors), written in place
    prods = np.empty((iu.size + b + 2 * with_se, y.size))
    for r, (i, k) in enumerate(zip(iu, ku)):
        np.multiply(f_sorted[i], f_sorted[k], out=prods[r])
    np.multiply(f_sorted, y_sorted, out=prods[iu.size:iu.size + b])
    if with_se:
        np.square(y_sorted, out=prods[-2])
        prods[-1] = 1.0
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    sums = np.zeros((n_groups, prods.shape[0]))
    sums[g_sorted[starts]] = np.add.reduceat(prods, starts, axis=1).T
    gram = np.empty((n_groups, b, b))
    gram[:, iu, ku] = sums[:, :iu.size]
    gram[:, ku, iu] = sums[:, :iu.size]
    rhs = sums[:, iu.size:iu.size + b]
    # pseudo-inverse: a column constant within a group (tau for the stage under way at as_of) or
    # collinear with others gets no weight instead of an ill-conditioned solve; the intercept keeps each
    # group's fitted mean equal to its mean of y
    ginv = np.linalg.pinv(gram, rcond=1e-10, hermitian=True)
    beta = (ginv @ rhs[:, :, None])[:, :, 0]
    bg = beta.T[:, group]                          # (b, m): each observation's coefficients
    fitted = features[0] * bg[0]                   # Σ_i x_i β_i, summed in the order of i
    for i in range(1, b):
        fitted += features[i] * bg[i]
    if not with_se:
        return fitted
    yy, cnt = sums[:, iu.size + b], sums[:, iu.size + b + 1]
    rank = np.linalg.matrix_rank(gram, hermitian=True)
    s2 = np.maximum(yy - (beta * rhs).sum(axis=1), 0.0) / np.maximum(cnt - rank, 1.0)
    lev = np.einsum("bm,mbc,cm->m", features, ginv[group], features)
    return fitted, np.sqrt(s2[group] * np.maximum(lev, 0.0))


def _future_costs(res, Y: int) -> np.ndarray:
    """(Y+1, n) PV at as_of of the development costs each path pays after the end of year t."""
    dev = res.development
    n = res.n
    out = np.zeros((Y + 1, n))
    K = dev.paid.shape[1]
    starts = np.concatenate([np.zeros((n, 1)), res.completion_times[:, :-1]], axis=1)
    r = np.asarray(res.rate, float)
    cols = np.arange(Y + 1)[:, None]
    for k in range(1, K):         # phase k = 0 is paid today: never after the end of a year t >= 0
        c = dev.policy.costs[k] * dev.paid[:, k] * (1.0 + r) ** -starts[:, k]
        out += np.where(starts[None, :, k] > cols, c[None, :], 0.0)
    return out


def realised_remaining(res, Y: int) -> np.ndarray:
    """(Y+1, n) what each path in fact goes on to earn after the end of year t (IP cash flows to E less
    the costs it pays after t), in CNY at t, real terms: the LSM target, and perfect foresight's value."""
    n = res.n
    D_today = with_today(res.discount_end).T[:Y + 1]            # (Y+1,) or (Y+1, n)
    if D_today.ndim == 1:
        D_today = D_today[:, None]
    realised = np.zeros((Y + 1, n))   # 0 on paths never launched
    rows = res.market_rows
    if rows.size:
        d_rows = res.discount[rows] if res.discount.ndim == 2 else res.discount
        realised[:, rows] = tail_sums_upto((res.ip_cf[rows] * d_rows).T, Y)
    realised -= _future_costs(res, Y)
    realised /= D_today
    return realised


def _known_state(res, patents):
    """Per path: when it stops (failure or abandonment), latest base expiry of its surviving patents,
    latest base expiry of any patent (what is known before the outcomes are resolved)."""
    gone = np.minimum(res.failure_time, res.development.abandon_time)
    if patents.base.size:
        base_alive = np.where(res.patent_alive, patents.base[:, None], 0.0).max(axis=0)
        base_any = float(patents.base.max())
    else:
        base_alive, base_any = np.zeros(res.n), 0.0
    return gone, base_alive, base_any


def live_states(res, patents, cols: np.ndarray, known=None) -> np.ndarray:
    """(len(cols), n) bool: at the end of year t the path has not failed or been abandoned and its
    rights may still be in force (before resolution: whatever the patents' terms, the outcomes are not
    known yet; after: a surviving patent's term, or after launch its exclusivity end). Elsewhere the
    collateral is 0."""
    gone, base_alive, _ = known or _known_state(res, patents)
    resolved_from = res.params.patent_resolution_years if patents.uncertain.any() else 0
    c = np.asarray(cols)[:, None]
    launched = res.launch_period[None, :] <= c
    # before resolution (c < resolved_from) the rights count as in force whatever they are, so only the
    # resolved reading of an unlaunched path's rights (a surviving patent's term) is needed
    rights = np.where(launched, res.exclusivity_end[None, :] > c, base_alive[None, :] > c)
    return (gone[None, :] > c) & ((c < resolved_from) | rights)


def collateral_values(res, patents, h: float, years: int | None = None, with_se: bool = False):
    """(n, Y+1) collateral value at the end of years 0..Y (Y = ``years``, default the horizon T).

    ``with_se``: also (n, Y+1) standard errors of the regression values (0 where closed form).

    Column 0 is today's appraisal. Returned as the transpose of a (Y+1, n) C-ordered array: a column
    (all paths at one year), which is what the credit model reads, is contiguous in memory.
    """
    n, T = res.n, res.T
    Y = T if years is None else max(1, min(int(years), T))
    resolved_from = res.params.patent_resolution_years if patents.uncertain.any() else 0
    rows = res.market_rows
    cols = np.arange(Y + 1)
    VT = np.zeros((Y + 1, n))
    SE = np.zeros((Y + 1, n)) if with_se else None
    if rows.size:
        # a launched path's closed form from its launch year on; before it, the path is valued with the paths
        # still in development (below) or not at all: its own launch is not known at those year ends
        before = cols[:, None] < res.launch_period[None, rows]
        VT[:, rows] = np.where(before, 0.0, _launched_values(res, patents, resolved_from, h, Y).T)
    comp = res.completion_times
    K = comp.shape[1]
    known = _known_state(res, patents)
    gone, base_alive, base_any = known
    # every (year, path) still in development, fitted at once: group = (year, stage reached)
    years_ = cols[1:min(Y, T - 1) + 1, None]
    pre = (res.launch_period[None, :] > years_) & (gone[None, :] > years_)
    pre &= np.where(years_ < resolved_from, base_any > years_, base_alive[None, :] > years_)
    ti, pi = np.nonzero(pre)
    if ti.size:
        realised = realised_remaining(res, Y)
        t = ti + 1
        k = np.zeros(t.size, np.int64)     # transitions resolved by the end of year t
        last = np.zeros(t.size)            # when the latest of them resolved
        for j in range(K):
            c = comp[:, j][pi]
            resolved = c <= t
            k += resolved
            last = np.where(resolved, c, last)
        tau = t - last                         # stage under way at as_of (k = 0, last = 0): time since as_of
        feats = [np.ones_like(tau, dtype=float), tau, tau * tau]
        if t.max() >= resolved_from:        # (no patent: no path is in `pre`, this block is not reached)
            sel = t >= resolved_from
            left = np.zeros(t.size)
            if sel.any():
                # no stage left (an approved product launching after today): its launch date is the
                # request's, known now; otherwise the launch a buyer expects from the stage reached
                lh = (res.launch_time[pi[sel]] if K == 0 else
                      expected_launch(t[sel].astype(float), k[sel], tau[sel], res.stage_means))
                left[sel] = info_years_left(patents, res.patent_alive[:, pi[sel]], t[sel], lh,
                                            res.params.exclusivity_shift_years)
            feats.append(np.minimum(np.maximum(left, 0.0), 30.0))
        Kg = max(K, 1)
        fit = _lsm_fit(realised[t, pi], np.stack(feats), t * Kg + k, (Y + 1) * Kg, with_se)
        if with_se:
            fit, SE[t, pi] = fit
        VT[t, pi] = fit
    live = live_states(res, patents, cols, known)
    np.maximum(VT, 0.0, out=VT)
    VT *= live
    if Y == T:
        VT[T] = 0.0
    VT[1:] *= (1.0 + res.params.inflation) ** cols[1:, None]   # real → CNY of year t (the loan is nominal)
    VT[0] = res.pv.mean()
    if with_se:
        SE *= live * (1.0 + res.params.inflation) ** cols[:, None]
        return VT.T, SE.T
    return VT.T
