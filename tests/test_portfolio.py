"""Portfolio loss distribution with common factors (DESIGN §11): correlation, engines, accounting."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from ipledge.risk.portfolio import Book, BookError, FactorModel, load_book, plan, run_portfolio
from risk_helpers import case, fixed_posterior


@pytest.fixture(scope="module")
def post():
    return fixed_posterior()


def mixed_pledges(copies: int = 8):
    """Thin-cash marketed VBP-exposed makers, device makers and phase II biotechs (PD 0..60%)."""
    out = []
    for _ in range(copies):
        out.append(case("anaesthetic_injectable", applicant={"cash": 5e6, "annual_burn": 1.0e8},
                        loan={"repayment": "bullet", "term_years": 3}))
        out.append(case("medical_consumable_utility"))
        out.append(case("oncology_antibody_phase2", applicant={"cash": 1.6e8}))
    return out


def book(factors, seed=1, paths=2000, chunk=1000, copies=8):
    return Book(mixed_pledges(copies), paths=paths, seed=seed, chunk_paths=chunk, factors=factors)


def test_common_factors_raise_var_and_es(post):
    on = run_portfolio(book(FactorModel()), post)
    off = run_portfolio(book(FactorModel.off()), post)
    ctx = (f"book=24 loans, paths=2000, seed=1; on: EL={on['expected_loss']:.4g} VaR={on['var_99']:.4g} "
           f"ES={on['es_99']:.4g}; off: EL={off['expected_loss']:.4g} VaR={off['var_99']:.4g} ES={off['es_99']:.4g}")
    # issue 11: with the calibrated q_base (0.84) fewer borrowers need the funding market, so the factor
    # moves VaR less than with the design q of 0.6 (then +3%); the tail beyond it still moves clearly
    assert on["var_99"] > 1.01 * off["var_99"], "expected VaR99(on) > 1.01 x VaR99(off); " + ctx
    assert on["es_99"] > 1.05 * off["es_99"], "expected ES99(on) > 1.05 x ES99(off); " + ctx
    assert on["factors"]["on"] and not off["factors"]["on"]


def test_factor_inputs_keep_marginals_and_move_together():
    from scipy import stats

    from ipledge.risk.params import DEFAULT_PARAMS
    from ipledge.risk.portfolio import financing_uniforms, path_draws
    from ipledge.risk.simulate import beta_ab

    rng = np.random.default_rng(0)
    n = 200_000
    Z, eta, own = rng.standard_normal((n, 3)), rng.standard_normal((2, n)), rng.random((n, 3))
    fm = FactorModel()
    d = path_draws(Z, eta, fm, DEFAULT_PARAMS, exposed=True)
    u = financing_uniforms(Z, own, fm)
    a, b = beta_ab(DEFAULT_PARAMS.vbp_cut_mean, DEFAULT_PARAMS.vbp_cut_concentration)
    tol = 0.006  # KS statistic; the 0.1% critical value at n = 200,000 is 0.0044
    for name, x, cdf in (("financing u", u[:, 1], "uniform"), ("vbp_u", d["vbp_u"], "uniform"),
                         ("vbp_cut", d["vbp_cut"], stats.beta(a, b).cdf)):
        ks = stats.kstest(x, cdf).statistic
        assert ks < tol, f"{name}: KS statistic {ks:.4g} against its law, expected < {tol}"
    assert abs(d["discount_shift"].mean()) < 1e-4 and d["discount_shift"].std() == pytest.approx(0.01, rel=0.01)
    # conditionally on the factor every loan moves the same way
    winter, boom = Z[:, 0] > 2.0, Z[:, 0] < -2.0
    q = DEFAULT_PARAMS.q_base
    lo, hi = 0.5 * q, 1.0 - 0.5 * (1.0 - q)     # winter halves the odds, a boom halves the refusals
    assert (u[winter, 0] < q).mean() < lo < hi < (u[boom, 0] < q).mean(), \
        ((u[winter, 0] < q).mean(), (u[boom, 0] < q).mean(), f"expected q(winter) < {lo:.3f}, q(boom) > {hi:.3f}")
    wave = Z[:, 1] > 2.0
    assert d["vbp_cut"][wave].mean() > DEFAULT_PARAMS.vbp_cut_mean + 0.05, d["vbp_cut"][wave].mean()
    assert (d["vbp_u"][wave] < 0.15).mean() > 2 * 0.15, (d["vbp_u"][wave] < 0.15).mean()
    # switched off: the loan's own draws pass through unchanged
    off = FactorModel.off()
    np.testing.assert_allclose(financing_uniforms(Z, own, off), own, rtol=0, atol=1e-12)
    assert not path_draws(Z, eta, fm, DEFAULT_PARAMS, exposed=False).keys() - {"discount_shift"}


def test_accounting_identities(post):
    res = run_portfolio(book(FactorModel(), copies=3), post, keep_matrix=True)
    loss = res["_loss"]
    total = loss.sum(axis=0)
    assert res["n_loans"] == 9 and loss.shape == (9, 2000)
    assert res["expected_loss"] == pytest.approx(total.mean(), rel=1e-12)
    assert res["var_99"] == pytest.approx(np.quantile(total, 0.99), rel=1e-12)
    assert res["es_99"] >= res["var_99"] >= res["expected_loss"] >= 0, res
    assert sum(ln["expected_loss"] for ln in res["loans"]) == pytest.approx(res["expected_loss"], rel=1e-9)
    assert sum(ln["es_contribution"] for ln in res["loans"]) == pytest.approx(res["es_99"], rel=1e-9)
    areas = res["concentration"]["by_therapeutic_area"]
    assert sum(a["es_share"] for a in areas) == pytest.approx(1.0, rel=1e-9)
    assert sum(a["exposure"] for a in areas) == pytest.approx(res["exposure"])
    assert {a["therapeutic_area"] for a in areas} == {"other", "device", "oncology"}


def test_same_seed_same_result_and_seeds_differ_by_loan_and_chunk(post):
    a = run_portfolio(book(FactorModel(), copies=2), post, keep_matrix=True)
    b = run_portfolio(book(FactorModel(), copies=2), post, keep_matrix=True, loans_per_task=1)
    assert np.array_equal(a["_loss"], b["_loss"]), "task grouping must not change the numbers"
    c = run_portfolio(book(FactorModel(), copies=2, seed=2), post)
    assert c["expected_loss"] != a["expected_loss"]
    # identical pledges get their own draws (not copies of each other) and chunks are not repeats
    loss = a["_loss"]
    assert not np.array_equal(loss[0], loss[3]), "copies of a pledge must not share paths"
    assert not np.array_equal(loss[2, :1000], loss[2, 1000:]), "path chunks must not repeat"


def test_seeds_are_spawned_from_one_seed_sequence():
    b = book(FactorModel(), copies=1, paths=3000)
    tasks = plan(b, loans_per_task=2)
    assert len(tasks) == 3 * 2  # 3 path chunks x 2 loan blocks
    factor_root, loan_root = np.random.SeedSequence(b.seed).spawn(2)
    assert tasks[1].factor_seed.spawn_key == factor_root.spawn(3)[0].spawn_key
    expect = loan_root.spawn(3)[2].spawn(3)[1].spawn(2)[0]
    got = [t for t in tasks if t.loans[0].index == 2][0].loans[0].seeds[1][0]
    assert got.spawn_key == expect.spawn_key and got.entropy == expect.entropy


def test_local_equals_dask_two_workers(post):
    from dask.distributed import Client

    from ipledge.risk.portfolio import local_cluster

    b = book(FactorModel(), copies=2, paths=1200, chunk=600)
    local = run_portfolio(b, post, engine="local", keep_matrix=True, loans_per_task=2)
    with local_cluster(2, processes=True) as cluster, Client(cluster) as client:
        dist = run_portfolio(b, post, engine="dask", client=client, keep_matrix=True, loans_per_task=2)
    diff = np.abs(local["_loss"] - dist["_loss"]).max()
    assert np.array_equal(local["_loss"], dist["_loss"]), \
        f"book=6 loans x 1200 paths seed=1: local and dask loss matrices differ by up to {diff} (expected 0)"
    for k in ("expected_loss", "var_99", "es_99"):
        assert local[k] == dist[k], (k, local[k], dist[k])


def test_book_validation():
    good = {"pledges": [case("tcm_formulation").model_dump(mode="json")], "simulation": {"paths": 1000}}
    assert len(Book.from_dict(good).pledges) == 1
    with pytest.raises(BookError, match="unknown key"):
        Book.from_dict({**good, "pladges": []})
    with pytest.raises(BookError, match="pledges\\[0\\]"):
        Book.from_dict({"pledges": [{"applicant": {}}]})
    with pytest.raises(BookError, match="simulation.paths"):
        Book.from_dict({**good, "simulation": {"paths": 10}})
    with pytest.raises(BookError, match="factors"):
        Book.from_dict({**good, "factors": {"fundng": 0.3}})
    assert not Book.from_dict({**good, "factors": "off"}).factors.on


def test_example_book_loads():
    b = load_book("scenarios/books/example_book.yaml")
    assert 20 <= len(b.pledges) <= 50 and b.factors.on
    assert len({p.product.therapeutic_area for p in b.pledges}) >= 5


def test_cli_portfolio_json(tmp_path, monkeypatch):
    import ipledge.risk.posterior

    monkeypatch.setattr(ipledge.risk.posterior, "load_posterior", lambda *a, **k: fixed_posterior())
    from ipledge.cli.main import main

    data = {"pledges": [p.model_dump(mode="json") for p in mixed_pledges(1)],
            "simulation": {"paths": 1000, "seed": 3, "chunk_paths": 500}}
    f = tmp_path / "book.yaml"
    f.write_text(yaml.safe_dump(data))
    r = CliRunner().invoke(main, ["portfolio", str(f), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["n_loans"] == 3 and len(res["loans"]) == 3
    assert {"expected_loss", "var_99", "es_99", "concentration"} <= set(res)
    r = CliRunner().invoke(main, ["portfolio", str(f), "--factors", "off"])
    assert r.exit_code == 0 and "VaR 99%" in r.output, r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("pledges: []\n")
    r = CliRunner().invoke(main, ["portfolio", str(bad)])
    assert r.exit_code == 2 and r.output.count("\n") == 1, r.output
