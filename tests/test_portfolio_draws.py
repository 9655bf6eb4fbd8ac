"""The portfolio's random inputs at their edges (ipledge.risk.portfolio), against numbers written out from the rules.

- the 128-bit simulation seed: the first four 32-bit words of the seed sequence, least significant first;
- the chunk's factors: an (n, 3) block of standard normals, row by row from the chunk's factor seed;
- every uniform handed to simulate() or run_credit() lies in [1e-12, 1 - 1e-12], also where Φ rounds to 0 or 1,
  and the loan's own financing uniform is clipped to that range before it is mixed with the funding factor;
- the Beta quantile: read from an 8,001-node table on [-3, 3] (exact at each node, < 1e-6 between nodes),
  exact (scipy's betaincinv) beyond |x| = 3, at 1e-12 relative: tighter than the table's error just inside
  (> 1e-9 between nodes); the table is built once per (a, b).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import betaincinv, ndtr, ndtri

from ipledge.risk import portfolio as pf

EPS = 1e-12
CUT_LAWS = [(3.18, 2.82), (1.5, 6.0)]            # the default VBP cut law (mean 0.53, concentration 6) and a skewed one


def test_the_simulation_seed_is_the_first_four_words_of_the_seed_sequence():
    for entropy, key in [(7, ()), (2**63 - 1, (3, 1, 0)), (12345, (0,))]:
        ss = np.random.SeedSequence(entropy, spawn_key=key)
        words = [int(w) for w in np.random.SeedSequence(entropy, spawn_key=key).generate_state(8, np.uint32)[:4]]
        want = words[0] + (words[1] << 32) + (words[2] << 64) + (words[3] << 96)
        got = pf._seed_int(ss)
        assert got == want, f"SeedSequence({entropy}, spawn_key={key}): expected {want:#x}, got {got:#x}"
        assert got < 2**128


def test_a_chunks_factors_are_three_normals_per_path_row_by_row():
    ss = np.random.SeedSequence(11).spawn(3)[2]
    task = pf.Task(chunk=2, n_paths=50, factor_seed=ss, loans=())
    flat = np.random.Generator(np.random.PCG64(np.random.SeedSequence(11).spawn(3)[2])).standard_normal(150)
    got = pf.chunk_factors(task)
    assert got.shape == (50, 3), f"expected (50, 3) factors, got {got.shape}"
    assert np.array_equal(got, flat.reshape(50, 3)), "expected the chunk's normals row by row (funding, vbp, rates)"


def test_uniforms_stay_inside_the_open_unit_interval_where_the_normal_cdf_rounds_to_0_or_1():
    fm = pf.FactorModel(0.3, 0.5, 0.01)
    n = 4
    # funding factor far out: Φ(√0.3 · ±40 + ...) rounds to 1 and 0
    Z = np.array([[40.0, 0, 0], [-40.0, 0, 0], [0, 0, 0], [0, 0, 0]])
    u_own = np.full((n, 2), 0.5)
    u = pf.financing_uniforms(Z, u_own, fm)
    want = np.array([[1 - EPS] * 2, [EPS] * 2, [0.5] * 2, [0.5] * 2])
    assert np.array_equal(u, want), f"expected {want.tolist()}, got {u.tolist()}"
    # the VBP timing uniform Φ(-(√ρ Z + √(1-ρ) η)) with a wave of ±40
    Zv = np.array([[0, -40.0, 0], [0, 40.0, 0], [0, 0, 0], [0, 0, 0]])
    d = pf.path_draws(Zv, np.zeros((2, n)), fm, pf.DEFAULT_PARAMS, exposed=True)
    assert np.array_equal(d["vbp_u"], [1 - EPS, EPS, 0.5, 0.5]), d["vbp_u"].tolist()


def test_the_loans_own_financing_uniform_is_clipped_before_it_is_mixed():
    fm = pf.FactorModel(0.3, 0.5, 0.01)
    u_own = np.array([[1 - 1e-13, 1 - 1e-12, 1e-13, 0.0]])
    Z = np.array([[-6.0, 0.0, 0.0]])
    got = pf.financing_uniforms(Z, u_own, fm)
    clipped = np.array([1 - 1e-12, 1 - 1e-12, 1e-12, 1e-12])
    # u_own clipped to [1e-12, 1 - 1e-12], mixed, and the mixed uniform clipped again
    want = np.clip(ndtr(math.sqrt(0.3) * -6.0 + math.sqrt(0.7) * ndtri(clipped)), EPS, 1 - EPS)
    assert np.allclose(got[0], want, rtol=1e-12, atol=0), (u_own.tolist(), want.tolist(), got.tolist())
    assert got[0, 0] == got[0, 1] and got[0, 2] == got[0, 3], "beyond the clip the loan's uniform moves nothing"


@pytest.mark.parametrize("a, b", CUT_LAWS)
def test_the_beta_quantile_is_exact_beyond_three_including_where_the_cdf_rounds_to_one(a, b):
    # just outside |x| = 3, between the nodes of any grid of step ~1e-3, then far out (Φ rounds to 1 beyond 8.3)
    x = np.array([3.0005, -3.0005, 3.00012, -3.4567, 3.9996, -4.2, 6.5, 9.0, -9.0, 40.0, -40.0])
    got = pf.beta_from_normal(x.copy(), a, b)
    want = betaincinv(a, b, np.clip(ndtr(x), EPS, 1 - EPS))
    assert np.allclose(got, want, rtol=1e-12, atol=0), \
        f"Beta({a}, {b}): x={x.tolist()}\nexpected {want.tolist()}\ngot {got.tolist()}"
    assert got[-4] < 1.0 and got[-4] == pytest.approx(betaincinv(a, b, 1 - 1e-12), rel=1e-14), \
        "Φ(9) rounds to 1: the quantile is taken at 1 - 1e-12, not at 1"


@pytest.mark.parametrize("a, b", CUT_LAWS)
def test_the_beta_table_has_8001_nodes_on_minus_three_to_three_exact_at_each_and_close_between(a, b):
    nodes = -3.0 + 6.0 * np.arange(8001) / 8000          # step 0.00075
    got = pf.beta_from_normal(nodes.copy(), a, b)
    want = betaincinv(a, b, ndtr(nodes))
    err = np.abs(got - want).max()
    assert err < 1e-12, f"Beta({a}, {b}) at the 8,001 nodes: expected the exact quantile, max error {err:.3g}"
    mid = nodes[:-1] + 0.000375                          # half-way between nodes: the table's largest error
    err = np.abs(pf.beta_from_normal(mid.copy(), a, b) - betaincinv(a, b, ndtr(mid)))
    assert 1e-9 < err.max() < 1e-6, f"Beta({a}, {b}) between nodes: error {err.max():.3g}, expected in (1e-9, 1e-6)"
    edge = np.array([-3.0, 3.0, 2.9995, -2.9995])        # at and just inside |x| = 3
    assert np.abs(pf.beta_from_normal(edge.copy(), a, b) - betaincinv(a, b, ndtr(edge))).max() < 1e-6


def test_the_beta_table_is_built_once_per_law():
    t1 = pf._beta_ppf_table(3.18, 2.82)
    assert pf._beta_ppf_table(3.18, 2.82) is t1, "the same (a, b): the table of the first call"
    assert pf._beta_ppf_table(1.5, 6.0) is not t1
