"""Tail measures of a loss distribution: VaR and ES 99% (DESIGN §9, §11; issue 10).

One definition for single loans (:mod:`ipledge.risk.credit`) and books (:mod:`ipledge.risk.portfolio`):

- ``ES_a`` = the mean of the worst ``k = ceil((1 - a) n)`` paths (ties broken arbitrarily: they have
  equal losses, so the mean does not depend on which are taken). This is the sample expected shortfall
  of Acerbi & Tasche (2002) with the atom at the quantile weighted so that exactly a ``1 - a`` share of
  the paths is averaged; averaging ``loss >= VaR`` instead takes every tied path (with a PD under 1%
  and most losses 0, ES then collapses to about the EL).
- ``VaR_a`` = ``numpy.quantile(loss, a)`` (linear interpolation), unchanged from earlier versions.
"""
from __future__ import annotations

import math

import numpy as np

TAIL = 0.99


def tail_count(n: int, level: float = TAIL) -> int:
    """Number of paths in the (1 - level) tail: ceil((1 - level) n), at least 1.

    Rounded to 9 digits first so that 0.01 × 1000 counts 10 paths, not 11 (binary floating point)."""
    return max(1, math.ceil(round((1.0 - level) * n, 9)))


def worst_indices(loss: np.ndarray, level: float = TAIL) -> np.ndarray:
    """Indices of the ceil((1 - level) n) largest losses (any order)."""
    loss = np.asarray(loss)
    k = tail_count(loss.size, level)
    if k >= loss.size:
        return np.arange(loss.size)
    return np.argpartition(loss, loss.size - k)[-k:]


def var_es(loss: np.ndarray, level: float = TAIL) -> tuple[float, float]:
    """(VaR, ES) at ``level`` of a 1-d loss sample."""
    loss = np.asarray(loss, float)
    if loss.size == 0:
        return 0.0, 0.0
    return float(np.quantile(loss, level)), float(loss[worst_indices(loss, level)].mean())
