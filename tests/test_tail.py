"""ES 99% = mean of the worst ceil(0.01 n) paths, against a direct sort (issue 10; risk/tail.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ipledge.risk.tail import tail_count, var_es


def es_by_sort(loss, level=0.99):
    """Reference: sort descending, average the first ceil((1 - level) n)."""
    k = max(1, math.ceil(round((1 - level) * len(loss), 9)))
    return float(np.sort(np.asarray(loss, float))[::-1][:k].mean())


SAMPLES = [
    # name, loss sample, why
    ("continuous", np.random.default_rng(1).lognormal(0, 1, 10_000), "no ties"),
    ("ties at the quantile", np.r_[np.zeros(9_850), np.full(150, 5.0), np.full(20, 9.0)], "atom straddles VaR"),
    ("PD under 1%", np.r_[np.zeros(9_950), np.linspace(1, 50, 50)], "VaR is 0; ES must not collapse to EL"),
    ("all equal", np.full(1_000, 3.0), "ES = VaR = the value"),
    ("tiny sample", np.array([0.0, 1.0, 7.0]), "k = 1"),
]


@pytest.mark.parametrize("name, loss, why", SAMPLES)
def test_es_is_the_mean_of_the_worst_one_percent(name, loss, why):
    _, es = var_es(loss)
    want = es_by_sort(loss)
    assert es == pytest.approx(want, rel=1e-12), f"{name} ({why}): expected {want}, got {es}"


def test_pd_under_one_percent_es_is_far_above_el():
    loss = np.r_[np.zeros(9_950), np.full(50, 10.0)]      # PD 0.5%
    var, es = var_es(loss)
    assert var == 0.0
    assert es == pytest.approx(5.0), f"worst 100 paths: 50 at 10, 50 at 0 -> 5.0; got {es} (EL {loss.mean()})"


def test_tail_count_is_ceil_one_percent():
    for n, k in [(100, 1), (1_000, 10), (10_000, 100), (10_001, 101), (50, 1)]:
        assert tail_count(n) == k, f"n={n}: expected {k}, got {tail_count(n)}"
