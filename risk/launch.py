"""What a launch date implies, in closed form: the launch a buyer expects before it, exclusivity under the
term-extension rule given the patent outcomes, and the sales ramp's accrual in and after exclusivity.

Shared by the simulation (:mod:`ipledge.risk.simulate`, the paths' own launches) and the collateral
(:mod:`ipledge.risk.collateral`, the launch known at each year end); it imports neither. ``patents`` is the
:class:`ipledge.risk.simulate.PatentTable` of a request (``base``, ``extension``: years from as_of).
"""
from __future__ import annotations

import numpy as np

from ipledge.valuation.terms import MAX_EFFECTIVE_TERM_AFTER_APPROVAL_YEARS


def expected_launch(t, k, tau, means: np.ndarray) -> np.ndarray:
    """Launch date a buyer expects at time t in remaining stage k after tau years in it (no look-ahead).

    Mean remaining time of the stage, less the time already spent (floored at 0), plus the means of
    the stages after it. For the stage under way at as_of (k = 0) the time spent is counted from as_of."""
    after = np.concatenate([np.cumsum(means[::-1])[::-1][1:], [0.0]])     # no stage left: [0.0]
    k = np.asarray(k)
    return t + np.maximum(means[k] - tau, 0.0) + after[k]


def exclusivity_given_launch(patents, alive: np.ndarray, launch, shift: float = 0.0) -> np.ndarray:
    """Exclusivity end (years from as_of) given the patent outcomes and a launch date (array over paths).

    The term-extension rule (Patent Law art. 42 §3): an invention still in force at approval gets its
    compensation, the effective term after approval capped at 14 years. ``launch`` may be the actual
    launch (after it) or the launch a buyer expects (before it); inf gives no extension."""
    launch = np.asarray(launch, float)
    if patents.base.size == 0:
        return np.zeros(launch.shape)
    alive = np.asarray(alive, bool)
    shape = np.broadcast_shapes(launch.shape, alive.shape[1:])
    launch = np.broadcast_to(launch, shape)
    cap = launch + MAX_EFFECTIVE_TERM_AFTER_APPROVAL_YEARS
    latest = None
    for base, ext, on in zip(patents.base.tolist(), patents.extension.tolist(), alive):   # one patent at a time
        room = cap - base
        np.maximum(room, 0.0, out=room)
        np.minimum(room, ext, out=room)        # finite and >= 0: x 1 keeps it, x 0 gives +0
        room *= base > launch                  # no extension for a patent expired by approval
        room += base
        room *= on                             # 0 where not (or no longer) an enforceable right on the path
        latest = room if latest is None else np.maximum(latest, room, out=latest)
    latest += shift
    return np.maximum(latest, 0.0, out=latest)


def info_years_left(patents, alive: np.ndarray, at: np.ndarray, launch_hat: np.ndarray,
                    shift: float) -> np.ndarray:
    """Years of exclusivity a buyer at time ``at`` sees: the known patent outcomes and the extension rule
    applied to the launch date expected then (no look-ahead)."""
    return exclusivity_given_launch(patents, alive, launch_hat, shift) - at


def ramp_integral(x: np.ndarray, ytp: float) -> np.ndarray:
    """F(x) = ∫_0^x min(1, a / ytp) da: years' worth of peak sales accrued x years after launch.

    Written without a branch: F(x) = x - ytp/2 + max(ytp - x, 0)² / (2 ytp) for x >= 0 (0 below)."""
    x = np.maximum(x, 0.0)
    if ytp <= 0:
        return x
    short = np.maximum(ytp - x, 0.0)
    short *= short
    short *= 0.5 / ytp
    x -= 0.5 * ytp
    x += short
    return x


def accrued_sales(launch: np.ndarray, excl: np.ndarray, T: int, ytp: float) -> tuple[np.ndarray, np.ndarray]:
    """(in, after), each (m, T): years' worth of peak sales accrued in each period before / after E.

    Periods wholly before E take their whole accrual, those wholly after it none; only the period E
    falls in needs F at E itself."""
    edges = np.arange(T + 1, dtype=float)
    total = np.diff(ramp_integral(edges[None, :] - launch[:, None], ytp), axis=1)     # (m, T)
    acc_in = total * (edges[None, 1:] <= excl[:, None])
    j = np.floor(excl).astype(np.int64)                       # E lies in period j + 1 (column j)
    rows = np.flatnonzero((j >= 0) & (j < T))     # E = j exactly: F(E - L) - F(j - L) = 0, as the mask gave
    if rows.size:
        jr = j[rows]
        acc_in[rows, jr] = (ramp_integral(excl[rows] - launch[rows], ytp)
                            - ramp_integral(jr - launch[rows], ytp))
    return acc_in, total - acc_in
