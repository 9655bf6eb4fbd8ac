"""The portfolio's arithmetic (ipledge.risk.portfolio) on hand-made loss matrices and factor draws.

- the copula mixing: a borrower raises iff u < q, and with the funding factor Z that is the Vasicek
  conditional q(Z) = Φ((Φ⁻¹(q) − √ρ Z) / √(1−ρ)); the VBP timing and cut are Φ(−(√ρ Z + √(1−ρ) η)) and the
  Beta quantile of Φ(√ρ Z + √(1−ρ) η'); the tabulated Beta quantile agrees with the exact one to 1e-6;
- assembling sparse task results into (loans, paths) matrices;
- the summary (EL, ES contributions on the worst ceil(1% n) paths found by a direct sort, shares, HHI,
  default counts) and the fund's yearly cap (per-loan, per-enterprise and per-year caps) computed by hand;
- parsing of the factor settings and the chunk sizes.
"""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from scipy.special import betaincinv, ndtr, ndtri

from ipledge.risk import portfolio as pf
from ipledge.risk.params import DEFAULT_PARAMS

M = 1e6


def test_the_funding_factor_gives_every_borrower_the_vasicek_conditional_odds():
    rho, q = 0.3, 0.85
    fm = pf.FactorModel(rho, 0.5, 0.01)
    u_own = np.linspace(0.001, 0.999, 999)[:, None]
    for z in (-1.5, 0.0, 2.33):
        Z = np.array([[z, 0.0, 0.0]]).repeat(u_own.shape[0], 0)
        u = pf.financing_uniforms(Z, u_own, fm)
        want = ndtr(math.sqrt(rho) * z + math.sqrt(1 - rho) * ndtri(u_own))
        assert np.allclose(u, want, atol=1e-12), f"z={z}: mixing differs by {np.abs(u - want).max()}"
        q_z = ndtr((ndtri(q) - math.sqrt(rho) * z) / math.sqrt(1 - rho))
        raised = (u < q).mean()
        assert abs(raised - q_z) <= 1.5e-3, f"z={z}: share raising {raised}, Vasicek q(z) {q_z}, grid step 1e-3"
    off = pf.financing_uniforms(np.ones((999, 3)), u_own, pf.FactorModel.off())
    assert np.allclose(off, u_own, atol=1e-12), "factors off: the loan's own uniforms"


def test_vbp_timing_and_cut_mix_the_wave_factor_with_the_loans_own_draws():
    rng = np.random.default_rng(4)
    n = 500
    Z, eta = rng.standard_normal((n, 3)), rng.standard_normal((2, n))
    fm = pf.FactorModel(0.3, 0.5, 0.02)
    d = pf.path_draws(Z, eta, fm, DEFAULT_PARAMS, exposed=True)
    s, c = math.sqrt(0.5), math.sqrt(0.5)
    a, b = DEFAULT_PARAMS.vbp_cut_mean * DEFAULT_PARAMS.vbp_cut_concentration, \
        (1 - DEFAULT_PARAMS.vbp_cut_mean) * DEFAULT_PARAMS.vbp_cut_concentration
    assert np.allclose(d["discount_shift"], 0.02 * Z[:, 2], rtol=1e-15)
    assert np.allclose(d["vbp_u"], ndtr(-(s * Z[:, 1] + c * eta[0])), atol=1e-12)
    want_cut = betaincinv(a, b, ndtr(s * Z[:, 1] + c * eta[1]))
    assert np.allclose(d["vbp_cut"], want_cut, atol=1e-6), np.abs(d["vbp_cut"] - want_cut).max()
    plain = pf.path_draws(Z, eta, fm, DEFAULT_PARAMS, exposed=False)
    assert set(plain) == {"discount_shift"}, "no VBP hazard: timing and cut are not drawn"


def test_tabulated_beta_quantile_is_exact_to_a_millionth_inside_and_exact_beyond():
    x = np.r_[np.linspace(-3, 3, 1201), [-3.5, 3.2, 4.5]]
    for a, b in [(3.18, 2.82), (1.5, 6.0)]:
        got = pf.beta_from_normal(x.copy(), a, b)
        want = betaincinv(a, b, np.clip(ndtr(x), 1e-12, 1 - 1e-12))
        assert np.abs(got - want).max() < 1e-6, (a, b, np.abs(got - want).max())
        assert np.allclose(got[-3:], want[-3:], rtol=1e-12, atol=0), "beyond |x| = 3 the quantile is exact"


def test_sparse_task_results_assemble_into_the_loss_and_default_matrices():
    book = NS(paths=5, chunk_paths=3, pledges=[None] * 3)
    results = [  # chunk 1 (paths 3..4) of loans 1..2, then chunk 0 of loan 0
        {"chunk": 1, "first": 1, "loss": (np.array([0, 1]), np.array([1, 0]), np.array([7.0, 9.0])),
         "default": (np.array([0, 1, 1]), np.array([1, 0, 1])), "period": np.array([2, 3, 1])},
        {"chunk": 0, "first": 0, "loss": (np.array([0]), np.array([2]), np.array([4.0])),
         "default": (np.array([0]), np.array([2])), "period": np.array([5])}]
    periods = {}
    loss, default = pf.assemble(book, results, periods)
    want_loss = np.zeros((3, 5))
    want_loss[1, 4], want_loss[2, 3], want_loss[0, 2] = 7.0, 9.0, 4.0
    want_default = want_loss > 0
    want_default[2, 4] = True
    want_period = np.zeros((3, 5), int)
    want_period[1, 4], want_period[2, 3], want_period[2, 4], want_period[0, 2] = 2, 3, 1, 5
    assert np.array_equal(loss, want_loss) and np.array_equal(default, want_default), (loss, default)
    assert np.array_equal(periods["period"], want_period), periods["period"]
    assert pf.chunk_sizes(5, 3) == [3, 2] and pf.chunk_sizes(6, 3) == [3, 3] and pf.chunk_sizes(2, 5) == [2]


def pledge(name, area, amount, scheme="none", year=2026):
    return NS(loan=NS(amount=amount), applicant=NS(name=name), as_of=dt.date(year, 1, 1),
              product=NS(name=f"{name} drug", therapeutic_area=area, stage="phase2", vbp_exposure="low"),
              sharing=NS(scheme=scheme, shares={"bank": 1.0}, caps=None))


def test_summary_is_the_book_total_and_each_loans_share_of_the_worst_paths():
    rng = np.random.default_rng(9)
    n = 300
    loss = np.where(rng.random((3, n)) < 0.2, rng.uniform(0, 10 * M, (3, n)), 0.0)
    default = loss > 0
    book = NS(pledges=[pledge("A", "oncology", 20 * M), pledge("B", "oncology", 10 * M),
                       pledge("C", "other", 30 * M)], paths=n, seed=3, chunk_paths=100, factors=pf.FactorModel())
    out = pf.summarise(book, loss, default)
    total = loss.sum(axis=0)
    worst = np.argsort(-total, kind="stable")[:math.ceil(0.01 * n)]        # 3 worst paths
    es = total[worst].mean()
    assert out["expected_loss"] == pytest.approx(total.mean(), rel=1e-12)
    assert out["es_99"] == pytest.approx(es, rel=1e-12), (out["es_99"], es)
    assert out["expected_loss_rate"] == pytest.approx(total.mean() / (60 * M), rel=1e-12)
    assert out["es_99_rate"] == pytest.approx(es / (60 * M))
    assert out["var_99_rate"] == pytest.approx(out["var_99"] / (60 * M))
    assert out["mc_std_error_el"] == pytest.approx(total.std(ddof=1) / math.sqrt(n), rel=1e-12)
    assert out["expected_defaults"] == pytest.approx(default.mean(axis=1).sum())
    assert out["prob_any_default"] == pytest.approx(default.any(axis=0).mean())
    for i, ln in enumerate(out["loans"]):
        assert ln["es_contribution"] == pytest.approx(loss[i, worst].mean(), rel=1e-12), (i, ln)
        assert ln["es_share"] == pytest.approx(loss[i, worst].mean() / es, rel=1e-12), (i, ln)
        assert ln["el_contribution"] == pytest.approx(loss[i].mean() / total.mean(), rel=1e-12), (i, ln)
        assert ln["pd"] == pytest.approx(default[i].mean()) and ln["amount"] == [20 * M, 10 * M, 30 * M][i]
    areas = {a["therapeutic_area"]: a for a in out["concentration"]["by_therapeutic_area"]}
    onc = areas["oncology"]
    assert onc["n_loans"] == 2 and onc["exposure"] == 30 * M and onc["exposure_share"] == pytest.approx(0.5)
    assert onc["el_share"] == pytest.approx(loss[:2].mean(axis=1).sum() / total.mean(), rel=1e-12)
    assert out["concentration"]["hhi_exposure_by_area"] == pytest.approx(0.5 ** 2 + 0.5 ** 2)
    first = out["concentration"]["by_therapeutic_area"][0]["es_contribution"]
    assert first == max(a["es_contribution"] for a in areas.values()), "areas ordered by ES contribution"
    assert out["scheme_yearly_caps"] == [] and out["factors"]["on"] is True
    one = pf.summarise(NS(**{**book.__dict__, "paths": 1}), loss[:, :1], default[:, :1])
    assert one["mc_std_error_el"] == 0.0, "one path: no standard error"
    quiet = pf.summarise(book, np.zeros((3, n)), np.zeros((3, n), bool))
    assert quiet["loans"][0]["el_contribution"] == 0.0 and quiet["loans"][0]["es_share"] == 0.0
    assert quiet["concentration"]["by_therapeutic_area"][0]["el_share"] == 0.0


def test_the_funds_yearly_cap_after_per_loan_and_per_enterprise_caps():
    # Guangzhou 2023: fund 50%, at most 10m per bad loan, 20m per enterprise, 50m per year
    names = ["X", "X", "X", "Y", "Z", "W"]
    book = NS(pledges=[pledge(nm, "oncology", 50 * M, "guangzhou_2023") for nm in names]
              + [pledge("V", "oncology", 5 * M, "none"), pledge("S", "oncology", 5 * M, "shenzhen"),
                 pledge("C", "oncology", 5 * M, "custom")])           # no yearly cap: skipped, in any order
    loss = np.array([[30, 30, 0], [30, 10, 0], [30, 0, 0], [40, 0, 10], [8, 0, 0], [30, 30, 0], [9, 9, 9],
                     [9, 9, 9], [9, 9, 9]], dtype=float) * M
    period = np.array([[1, 2, 0], [1, 1, 0], [2, 0, 0], [1, 0, 3], [1, 0, 0], [1, 2, 0], [1, 1, 1], [1, 1, 1],
                       [1, 1, 1]])
    out = pf.yearly_caps(book, loss, period)
    assert len(out) == 1 and out[0]["scheme"] == "guangzhou_2023" and out[0]["n_loans"] == 6, out
    # by hand, path 0 (all in 2027 but loan X#3 in 2028): loan comps min(0.5 x loss, 10m) = 10,10,10,10,4,10;
    # enterprise X totals 30 > 20: scaled by 2/3 -> 6.67 each; 2027 pays 6.67 + 6.67 + 10 + 4 + 10 = 37.3m,
    # 2028 pays 6.67m: no year over 50m. Path 1: 2027: X#2 5m (scaled? X total 15 < 20: no), 2028: 10 + 10 = 20.
    rows = {r["year"]: r for r in out[0]["by_year"]}
    assert sorted(rows) == [2027, 2028, 2029], "only calendar years in which the fund pays appear"
    assert rows[2027]["expected_compensation"] == pytest.approx((20 / 3 * 2 + 10 + 4 + 10 + 5) * M / 3, rel=1e-9), rows
    assert rows[2028]["expected_compensation"] == pytest.approx((20 / 3 + 10 + 10) * M / 3, rel=1e-9), rows
    assert rows[2029]["expected_compensation"] == pytest.approx(5 * M / 3, rel=1e-9), rows
    assert out[0]["prob_yearly_cap_binds"] == 0.0 and out[0]["first_year_cap_binds"] is None, out
    tight = [pledge(f"E{i}", "oncology", 50 * M, "guangzhou_2023") for i in range(6)]
    big = pf.yearly_caps(NS(pledges=tight), np.full((6, 2), 30 * M), np.array([[1, 1]] * 5 + [[2, 1]]))
    # path 0: 2027 gets 5 x 10m = 50m (not over), path 1: 6 x 10m = 60m in 2027 (over)
    assert big[0]["prob_yearly_cap_binds"] == pytest.approx(0.5) and big[0]["first_year_cap_binds"] == 2027, big


def test_factor_settings_parse_to_their_loadings_or_say_what_is_wrong():
    assert pf.FactorModel.parse("on") == pf.FactorModel() == pf.FactorModel.parse(None)
    assert pf.FactorModel.parse(True) == pf.FactorModel()
    assert pf.FactorModel.parse(False) == pf.FactorModel.off() and not pf.FactorModel.off().on
    got = pf.FactorModel.parse({"funding": 0.1})
    assert got == pf.FactorModel(0.1, 0.5, 0.01) and got.to_dict() == {"on": True, "funding": 0.1, "vbp": 0.5,
                                                                         "rate_sd": 0.01}
    assert pf.FactorModel(0.0, 0.0, 0.001).on and pf.FactorModel(0.0, 0.2, 0.0).on
    for spec, word in [({"funding": 1.0}, "funding and vbp in"), ({"vbp": -0.1}, "funding and vbp in"),
                       ({"vbp": 1.0}, "funding and vbp in"),
                       ({"rate_sd": 0.2}, "rate_sd in"), ({"spread": 1}, "unknown key"),
                       ({"vbp": True}, "factors.vbp must be a number"), ({"funding": "x"}, "factors.funding must be"),
                       ({"funding": math.nan}, "funding"), ("sometimes", "on, off or a mapping")]:
        with pytest.raises(pf.BookError, match=word):
            pf.FactorModel.parse(spec)
    assert pf.FactorModel.parse({"funding": 0.0, "vbp": 0.0, "rate_sd": 0.1}).rate_sd == 0.1


def test_a_book_names_what_is_wrong_with_its_simulation_settings():
    from risk_helpers import case

    pledge_ = case("anaesthetic_injectable").model_dump(mode="json")
    ok = pf.Book.from_dict({"pledges": [pledge_], "simulation": {"paths": 3000, "chunk_paths": 5000}})
    assert (ok.paths, ok.chunk_paths, ok.seed) == (3000, 3000, 7), ok          # a chunk is at most the book
    plain = pf.Book.from_dict({"pledges": [pledge_]})                   # the documented defaults
    assert (plain.paths, plain.seed, plain.chunk_paths, plain.factors) == (10_000, 7, 2000, pf.FactorModel()), plain
    for sim, word in [([3000], "simulation takes"), ({"paths": 3000, "threads": 2}, "simulation takes"),
                      ({"paths": 999}, "simulation.paths"), ({"seed": True}, "simulation.seed"),
                      ({"chunk_paths": 50}, "simulation.chunk_paths")]:
        with pytest.raises(pf.BookError, match=word):
            pf.Book.from_dict({"pledges": [pledge_], "simulation": sim})
