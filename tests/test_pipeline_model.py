"""Pipeline-success model (issues 3, 13): shipped posterior, run-time interface, durations, fit/save/load,
between-edition drift, area effect, China offset, ArviZ file conventions.

Fast tests read the shipped posterior or mock sampling with ``pymc.testing.mock_sample``; tests that run
real MCMC are marked ``slow`` and kept small. Failure messages give inputs, expected, got, tolerance.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipledge.risk.durations import DURATION_SIGMA, phase_duration_means, phase_duration_medians, sample_durations
from ipledge.risk.pipeline_model import (
    CountsData, EvidenceError, PipelineModel, load_china, load_data, load_editions, read_evidence,
)
from ipledge.risk.posterior import (
    ALL_AREAS, AREAS, CLINICAL_TRANSITIONS, MODALITIES, REPORTED_STAGES, STAGES, TRANSITIONS, hdi, load_posterior,
    read_posterior, remaining_transitions, shipped_posterior_path,
)

DATA = Path(__file__).resolve().parent.parent / "risk" / "data"


@pytest.fixture(scope="module")
def post():
    return load_posterior(str(shipped_posterior_path()))


def published_area_table() -> pd.DataFrame:
    from ipledge.risk.durations import area_code

    d = pd.read_csv(DATA / "phase_transitions_by_area_2011_2020.csv")
    return d.assign(area=d["disease_area"].map(area_code))


# ---------------------------------------------------------------------------------------------
# vocabulary
def test_remaining_transitions_per_stage():
    expected = {"preclinical": 5, "phase1": 4, "phase2": 3, "phase3": 2, "filed": 1, "approved": 0}
    for stage, k in expected.items():
        got = remaining_transitions(stage)
        assert len(got) == k and got == TRANSITIONS[len(TRANSITIONS) - k:], \
            f"stage={stage}: expected {k} trailing transitions, got {got}"
    with pytest.raises(ValueError, match="unknown stage"):
        remaining_transitions("phase4")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=20, max_size=300),
       st.sampled_from([0.5, 0.9, 0.94]))
def test_hdi_holds_prob_and_is_shortest(xs, prob):
    x = np.asarray(xs)
    lo, hi = hdi(x, prob)
    inside = np.mean((x >= lo) & (x <= hi))
    assert inside >= prob - 1e-12, f"inputs n={x.size} prob={prob}: expected share >= {prob}, got {inside}"
    s = np.sort(x)
    k = int(np.floor(prob * s.size))
    best = np.min(s[k:] - s[: s.size - k])
    assert hi - lo <= best + 1e-9, f"inputs n={x.size} prob={prob}: expected width {best}, got {hi - lo}"


# ---------------------------------------------------------------------------------------------
# shipped posterior
def test_shipped_posterior_matches_current_data_and_config(post):
    path = shipped_posterior_path()
    size = path.stat().st_size
    assert size < 5_000_000, f"{path}: expected < 5 MB, got {size} bytes"
    assert post.n_draws == 2000, f"expected 2000 thinned draws, got {post.n_draws}"
    assert re.fullmatch(r"pipeline-v2-[0-9a-f]{8}", post.model_version), post.model_version
    m = PipelineModel()
    m.data = load_data()
    for key, got in (("data_hash", m.data_hash), ("config_hash", m.config_hash), ("model_version", m.model_version)):
        assert post.attrs[key] == got, (
            f"shipped posterior is stale: {key} in file {post.attrs[key]}, recomputed {got}; "
            "refit with `ipledge model fit --out risk/data/pipeline_posterior.nc --force`")
    for key in ("seed", "library_versions", "sources", "ppc", "diagnostics", "data", "reference_figures"):
        assert key in post.attrs, f"attribute {key} missing; got {sorted(post.attrs)}"


def test_shipped_posterior_meets_quality_bars(post):
    d, ppc = post.attrs["diagnostics"], post.attrs["ppc"]
    assert d["r_hat_max"] <= 1.01, f"expected r_hat_max <= 1.01, got {d['r_hat_max']}"
    assert d["ess_bulk_min"] >= 400, f"expected ess_bulk_min >= 400, got {d['ess_bulk_min']}"
    assert d["divergences"] == 0, f"expected no divergences, got {d['divergences']}"
    assert ppc["coverage"] >= 0.90, f"expected PPC coverage >= 0.90 of {ppc['cells']} cells, got {ppc['coverage']}"
    assert ppc["cells"] == 60 + 4 + 40, f"expected 104 checked cells (areas, ALL, modalities), got {ppc['cells']}"


def test_shipped_posterior_loads_fast_without_compiling():
    code = (
        "import json, sys, time\n"
        "t = time.perf_counter()\n"
        "from ipledge.risk.posterior import load_posterior\n"
        "p = load_posterior()\n"
        "p.sample('oncology', 'biologic', 'phase1', 10, __import__('numpy').random.default_rng(0))\n"
        "dt = time.perf_counter() - t\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pymc', 'pytensor', 'arviz', 'nutpie'))\n"
        "print(json.dumps({'seconds': dt, 'heavy': heavy}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "IPLEDGE_POSTERIOR"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["heavy"] == [], f"expected no PyMC/PyTensor/ArviZ import at load, got {res['heavy']}"
    assert res["seconds"] < 1.0, f"expected import + load + sample < 1 s, got {res['seconds']:.3f} s"


def test_sample_shapes_ranges_and_reproducibility(post):
    for stage in STAGES:
        k = len(remaining_transitions(stage))
        a = post.sample("oncology", "small_molecule", stage, 500, np.random.default_rng(7))
        b = post.sample("oncology", "small_molecule", stage, 500, np.random.default_rng(7))
        assert a.shape == (500, k), f"stage={stage}: expected shape (500, {k}), got {a.shape}"
        assert np.array_equal(a, b), f"stage={stage}: same rng seed gave different draws"
        assert np.all((a > 0) & (a < 1)), f"stage={stage}: probabilities outside (0, 1): {a.min()}, {a.max()}"
    rng = np.random.default_rng
    for alias in ("tcm", "device"):
        got = post.sample(alias, "small_molecule", "phase2", 50, rng(1))
        want = post.sample("other", "small_molecule", "phase2", 50, rng(1))
        assert np.array_equal(got, want), f"area {alias} should use the 'other' row"
        got = post.sample("neurology", alias, "phase2", 50, rng(1))
        want = post.sample("neurology", None, "phase2", 50, rng(1))
        assert np.array_equal(got, want), f"modality {alias} should have no modality offset"
    with pytest.raises(ValueError, match="therapeutic_area"):
        post.sample("dermatology", None, "phase1", 1, rng(0))
    with pytest.raises(ValueError, match="modality"):
        post.sample("oncology", "siRNA", "phase1", 1, rng(0))


def test_sample_draws_match_p_approval(post):
    draws = post.sample("autoimmune", "biologic", "phase2", 200_000, np.random.default_rng(3))
    mc = float(np.prod(draws, axis=1).mean())
    pa = post.p_approval("autoimmune", "biologic", "phase2")
    tol = 0.002
    assert abs(mc - pa["mean"]) < tol, f"autoimmune/biologic/phase2: expected {pa['mean']:.4f}, got {mc:.4f}, tol {tol}"
    lo, hi = pa["hdi_90"]
    assert lo < pa["mean"] < hi, f"expected mean inside HDI, got {pa}"
    tm = post.transition_means("autoimmune", "biologic", "phase2")
    assert list(tm) == list(remaining_transitions("phase2"))
    for i, t in enumerate(tm):
        assert abs(tm[t] - draws[:, i].mean()) < 0.003, f"{t}: expected {tm[t]:.4f}, got {draws[:, i].mean():.4f}"


def test_partial_pooling_small_areas_pulled_large_areas_stay(post):
    pub = published_area_table()
    pool = pub[pub["area"] == "ALL"].set_index("transition")
    for area, transition, min_pull, max_shift in (("urology", "phase2_to_phase3", 0.3, None),
                                                  ("urology", "phase1_to_phase2", 0.3, None),
                                                  ("oncology", "phase1_to_phase2", None, 0.01),
                                                  ("oncology", "phase2_to_phase3", None, 0.01)):
        row = pub[(pub["area"] == area) & (pub["transition"] == transition)].iloc[0]
        raw = row["successes"] / row["n_transitions"]
        pooled = pool.loc[transition, "successes"] / pool.loc[transition, "n_transitions"]
        got = post.transition_means(area, None, "phase1", predictive=False)[transition]
        if min_pull is not None:
            pull = (got - raw) / (pooled - raw)
            assert min_pull <= pull < 1, (f"{area} {transition} n={row['n_transitions']}: raw {raw:.3f}, pool "
                                          f"{pooled:.3f}; expected pull towards pool >= {min_pull}, got {pull:.2f} "
                                          f"(posterior {got:.3f})")
        else:
            assert abs(got - raw) < max_shift, (f"{area} {transition} n={row['n_transitions']}: expected near raw "
                                                f"{raw:.3f}, got {got:.3f}, tol {max_shift}")


def test_loa_from_phase1_near_published_for_large_areas(post):
    pub = published_area_table()
    for area in AREAS:
        rows = pub[pub["area"] == area]
        if rows["n_transitions"].iloc[0] < 300:
            continue
        want = rows["published_loa_from_phase1_percent"].iloc[0] / 100
        got = post.p_approval(area, None, "phase1", predictive=False)["mean"]
        assert abs(got - want) < 0.01, f"{area} LOA from phase1: published {want:.3f}, got {got:.3f}, tol 0.01"


def test_show_json_shape(post):
    doc = post.show()
    assert set(doc) >= {"model_version", "diagnostics", "p_approval", "transitions", "served", "region"}
    assert set(doc["diagnostics"]) >= {"r_hat_max", "ess_bulk_min"}
    assert doc["served"]["model_version"] == post.model_version and doc["region"] == "global"
    rows = doc["p_approval"]
    areas = [*AREAS, ALL_AREAS]
    assert len(rows) == len(areas) * len(REPORTED_STAGES) * (1 + len(MODALITIES)), len(rows)
    keys = {(r["therapeutic_area"], r["modality"], r["stage"]) for r in rows}
    for area in areas:
        for stage in ("preclinical", "phase1", "phase2", "phase3", "filed"):
            assert (area, None, stage) in keys, f"missing all-modality row {area}/{stage}"
    for r in rows:
        lo, hi = r["hdi_90"]
        assert 0 < lo <= r["mean"] <= hi < 1, f"row {r}: expected 0 < lo <= mean <= hi < 1"
    json.dumps(doc)  # serialisable
    by = {(r["therapeutic_area"], r["stage"]): r["mean"] for r in rows if r["modality"] is None}
    for area in areas:  # approval gets likelier the further a programme has come
        seq = [by[(area, s)] for s in REPORTED_STAGES]
        assert seq == sorted(seq), f"{area}: expected increasing p_approval by stage, got {seq}"
    trans = doc["transitions"]
    assert len(trans) == len(areas) * len(CLINICAL_TRANSITIONS) * (1 + len(MODALITIES)), len(trans)
    for r in trans:
        assert set(r) == {"therapeutic_area", "modality", "transition", "mean", "interval_90"}, r
        lo, hi = r["interval_90"]
        assert 0 < lo <= r["mean"] <= hi < 1, f"row {r}: expected 0 < lo <= mean <= hi < 1"
    tkeys = {(r["therapeutic_area"], r["modality"], r["transition"]) for r in trans}
    assert {(a, None, t) for a in areas for t in CLINICAL_TRANSITIONS} <= tkeys


def test_show_intervals_are_predictive_and_informative(post):
    """The reported interval is the predictive one (drift included): wider than the fitted edition's own,
    and the overall LOA interval stays informative (upper / lower <= 3, issue 13)."""
    pred = post.p_approval(ALL_AREAS, None, "phase1")
    fitted = post.p_approval(ALL_AREAS, None, "phase1", predictive=False)
    row = next(r for r in post.show()["p_approval"]
               if (r["therapeutic_area"], r["modality"], r["stage"]) == (ALL_AREAS, None, "phase1"))
    assert row["hdi_90"] == pred["hdi_90"], f"show row {row} is not the predictive interval {pred}"
    w_pred, w_fit = np.diff(pred["hdi_90"])[0], np.diff(fitted["hdi_90"])[0]
    assert w_pred > 3 * w_fit, f"ALL LOA from phase1: predictive width {w_pred:.4f} vs fitted {w_fit:.4f}, expected > 3x"
    lo, hi = pred["hdi_90"]
    assert hi / lo <= 3.0, f"ALL LOA from phase1 interval [{lo:.4f}, {hi:.4f}]: upper/lower {hi / lo:.2f}, bar <= 3"
    t_row = next(r for r in post.show()["transitions"]
                 if (r["therapeutic_area"], r["modality"], r["transition"]) == ("oncology", None, "phase2_to_phase3"))
    x = post.clinical_draws("oncology", None)[:, 1]
    assert t_row["interval_90"] == list(hdi(x, 0.90)) and t_row["mean"] == pytest.approx(x.mean())


def test_all_row_is_n_weighted_aggregate(post):
    d = load_data()
    p = post.clinical_draws(ALL_AREAS, None, predictive=False)
    for k, t in enumerate(CLINICAL_TRANSITIONS):
        rows = d.area[d.area["transition"] == t]
        per_area = np.stack([post.clinical_draws(a, None, predictive=False)[:, k] for a in rows["area"]], axis=1)
        want = (per_area * rows["n"].to_numpy()).sum(axis=1) / rows["n"].sum()
        assert np.allclose(p[:, k], want, rtol=1e-12), f"{t}: ALL is not the n-weighted mean of the areas"
        raw = rows["successes"].sum() / rows["n"].sum()
        assert abs(p[:, k].mean() - raw) < 0.01, f"{t}: ALL mean {p[:, k].mean():.4f} vs raw pooled {raw:.4f}, tol 0.01"


REFERENCE_COVERAGE_MIN = 0.75  # issue 13: at least three quarters of the reference figures inside


def test_reference_figures_inside_predictive_intervals(post):
    chk = post.reference_check()
    share = np.mean([r["inside"] for r in chk])
    outside = [f"{r['figure']}: {r['rate']:.3f} not in [{r['interval_90'][0]:.3f}, {r['interval_90'][1]:.3f}]"
               for r in chk if not r["inside"]]
    assert len(chk) >= 30, f"expected the editions, fitted areas and Wang et al. figures, got {len(chk)}"
    assert share >= REFERENCE_COVERAGE_MIN, f"coverage {share:.2f} < {REFERENCE_COVERAGE_MIN}; outside: {outside}"
    # without drift the same intervals miss the other editions (what issue 13 measured)
    no_drift = post.__class__(post.logit_p_area, post.modality_effect, post.p_preclinical, post.areas,
                              post.modalities, post.attrs, area_n=post.area_n, china_offset=post.china_offset,
                              china_groups=post.china_groups)
    editions = [r for r in no_drift.reference_check() if r["role"] == "drift"]
    share0 = np.mean([r["inside"] for r in editions])
    assert share0 < 0.5, f"without drift {share0:.2f} of the other editions' figures are inside; expected < 0.5"


def test_hdi_matches_arviz():
    import arviz as az

    x = np.random.default_rng(5).beta(3, 20, size=2001)
    want = az.hdi(x, hdi_prob=0.90)
    got = hdi(x, 0.90)
    assert np.allclose(got, want, rtol=0, atol=0), f"numpy hdi {got} vs arviz.hdi {want}"


# ---------------------------------------------------------------------------------------------
# drift reaches the simulation; China option
def _shifted(post, drift: float):
    return post.__class__(post.logit_p_area, post.modality_effect, post.p_preclinical, post.areas, post.modalities,
                          post.attrs, drift_new=np.full_like(post.drift_new, drift), area_n=post.area_n,
                          china_offset=post.china_offset, china_groups=post.china_groups)


def test_sample_draws_carry_the_drift(post):
    """sample() (what the simulation calls) uses the predictive draws: moving drift_new moves them."""
    rng = np.random.default_rng
    base = post.sample("oncology", "biologic", "phase1", 5000, rng(4))
    up = _shifted(post, 0.5).sample("oncology", "biologic", "phase1", 5000, rng(4))
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    idx = rng(4).integers(0, post.n_draws, 5000)
    want = logit(post.clinical_draws("oncology", "biologic", predictive=False)[idx]) + 0.5
    assert np.allclose(logit(up), want, atol=1e-9), "sample() must add drift_new on the logit scale"
    fitted_sd = logit(post.clinical_draws("oncology", None, predictive=False)[:, 1]).std()
    pred_sd = logit(base[:, 1]).std()
    assert pred_sd > 2 * fitted_sd, f"oncology phase2->3 logit sd: predictive {pred_sd:.3f}, fitted {fitted_sd:.3f}"


def test_drift_reaches_value_and_pd(post):
    from ipledge.risk.assess import assess
    from tests.risk_helpers import case

    # trials paid: under the default trial costs the asset is abandoned today (value 0 at any drift)
    req = case("oncology_antibody_phase2", simulation={"paths": 4000},
               product={"development_cost": {"phase2": 0.0, "phase3": 0.0}})
    lo, hi = (assess(req, posterior=_shifted(post, d)) for d in (-0.5, 0.5))
    assert lo["pipeline"]["simulated_p_approval"] < hi["pipeline"]["simulated_p_approval"]
    assert lo["valuation"]["appraised_value"] < hi["valuation"]["appraised_value"], (
        f"value with drift -0.5: {lo['valuation']['appraised_value']:.0f}, +0.5: {hi['valuation']['appraised_value']:.0f}")
    assert lo["credit"]["pd"] >= hi["credit"]["pd"], f"PD -0.5: {lo['credit']['pd']}, +0.5: {hi['credit']['pd']}"


WANG_2022 = [
    # modality (request), published IND->approval, source
    (None, 0.21, "Wang et al. 2022, overall"),
    ("small_molecule", 0.19, "Wang et al. 2022, chemical drugs"),
    ("biologic", 0.29, "Wang et al. 2022, therapeutic biologics"),
    ("vaccine", 0.20, "Wang et al. 2022, preventive biologics"),
]
WANG_MEAN_TOL = 0.03  # calibrated: the predictive mean must be within 3 pp (binomial se of 29% with n=215 is 3.1 pp)


@pytest.mark.parametrize("modality, published, source", WANG_2022)
def test_china_offset_reproduces_wang_2022(post, modality, published, source):
    china = post.p_approval(ALL_AREAS, modality, "phase1", region="china")
    lo, hi = china["hdi_90"]
    assert lo <= published <= hi, f"{source}: {published} not in China interval [{lo:.3f}, {hi:.3f}]"
    assert abs(china["mean"] - published) < WANG_MEAN_TOL, (
        f"{source}: expected {published}, got {china['mean']:.4f}, tol {WANG_MEAN_TOL}")
    glob = post.p_approval(ALL_AREAS, modality, "phase1")
    assert glob["mean"] < china["mean"], f"{source}: global {glob['mean']:.3f} should be below China {china['mean']:.3f}"


def test_region_validation(post):
    with pytest.raises(ValueError, match="unknown region"):
        post.sample("oncology", None, "phase1", 3, np.random.default_rng(0), region="eu")
    old = post.__class__(post.logit_p_area, post.modality_effect, post.p_preclinical, post.areas, post.modalities,
                         post.attrs)
    with pytest.raises(ValueError, match="no China calibration"):
        old.p_approval("oncology", None, "phase1", region="china")


def test_request_region_reaches_assessment(post):
    from ipledge.risk.assess import assess
    from tests.risk_helpers import case
    from ipledge.valuation.schema import PledgeRequest

    req = case("small_molecule_phase1", simulation={"paths": 4000})
    cn = PledgeRequest.model_validate({**req.model_dump(mode="json"), "pipeline": {"region": "china"}})
    g, c = assess(req, posterior=post), assess(cn, posterior=post)
    assert g["pipeline"]["region"] == "global" and c["pipeline"]["region"] == "china"
    want = post.p_approval(cn.product.therapeutic_area, cn.product.modality, cn.product.stage, region="china")
    assert c["pipeline"]["p_approval"] == want
    assert c["pipeline"]["simulated_p_approval"] > g["pipeline"]["simulated_p_approval"]
    with pytest.raises(ValueError, match="pipeline.region"):
        PledgeRequest.model_validate({**req.model_dump(mode="json"), "pipeline": {"region": "eu"}})


# ---------------------------------------------------------------------------------------------
# ArviZ conventions of the shipped file
# Pareto k > 0.7 is expected on these cells (each has its own z; see docs/methodology.md §10); the
# deprecation comes from ArviZ's own matplotlib backend.
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto:UserWarning")
@pytest.mark.filterwarnings("ignore:Passing a dict or None as alias_mapping")
def test_shipped_file_is_standard_inference_data():
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idata = az.from_netcdf(str(shipped_posterior_path()))
    for g in ("posterior", "sample_stats", "observed_data", "posterior_predictive", "log_likelihood"):
        assert g in idata.groups(), f"group {g} missing; got {idata.groups()}"
    summ = az.summary(idata, var_names=["drift_scale", "area_sd", "sigma", "china_offset"])
    assert (summ["r_hat"] <= 1.01).all(), summ
    assert idata.posterior_predictive["area_successes"].shape[-1] == idata.observed_data["area_successes"].size
    az.plot_ppc(idata, var_names=["area_successes"], num_pp_samples=50)
    az.plot_energy(idata)
    plt.close("all")
    loo = az.loo(idata, var_name="area_successes")
    assert np.isfinite(loo.elpd_loo), loo


# ---------------------------------------------------------------------------------------------
# durations
def test_duration_means_with_fallback_to_all():
    cases = [("cardiovascular", "phase1", 2.3), ("cardiovascular", "phase3", 4.2), ("urology", "phase2", 5.0),
             ("urology", "filed", 1.3), ("autoimmune", "filed", 1.3), ("oncology", "filed", 0.8),
             ("tcm", "phase1", 1.9), ("device", "filed", 1.8), ("oncology", "preclinical", 1.0),
             ("neurology", "phase2", 3.6), ("neurology", "filed", 1.3)]  # neurology has no row: ALL
    for area, stage, want in cases:
        got = phase_duration_means(area)[stage]
        assert got == pytest.approx(want), f"area={area} stage={stage}: expected {want}, got {got}"
    assert list(phase_duration_means("allergy")) == ["preclinical", "phase1", "phase2", "phase3", "filed"]


def test_sample_durations_lognormal():
    rng = np.random.default_rng(11)
    d = sample_durations("oncology", "phase2", 100_000, rng)
    assert d.shape == (100_000, 3), d.shape
    med = phase_duration_medians("oncology")
    logs = np.log(d)
    for i, stage in enumerate(("phase2", "phase3", "filed")):
        m, s = logs[:, i].mean(), logs[:, i].std()
        assert abs(m - np.log(med[stage])) < 0.01, f"{stage}: expected log-median {np.log(med[stage]):.4f}, got {m:.4f}"
        assert abs(s - DURATION_SIGMA) < 0.01, f"{stage}: expected sigma {DURATION_SIGMA}, got {s:.4f}, tol 0.01"
    assert sample_durations("oncology", "approved", 5, rng).shape == (5, 0)


def test_sampled_duration_mean_is_the_published_mean():
    """Issue 10: the published figure is a mean; the lognormal's mean (not its median) must match it."""
    rng = np.random.default_rng(12)
    d = sample_durations("oncology", "phase2", 200_000, rng)
    mean = phase_duration_means("oncology")
    for i, stage in enumerate(("phase2", "phase3", "filed")):
        se = d[:, i].std() / np.sqrt(d.shape[0])
        assert abs(d[:, i].mean() - mean[stage]) < 4 * se, (
            f"{stage}: published mean {mean[stage]}, simulated mean {d[:, i].mean():.4f}, tol 4 s.e. = {4 * se:.4f}")


# ---------------------------------------------------------------------------------------------
# evidence
def _csv(tmp_path, text, name="ev.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_evidence_valid_and_aliases(tmp_path):
    p = _csv(tmp_path, "therapeutic_area,transition,n,successes\nOncology,phase1_to_phase2,10,6\n"
                       "tcm,phase2_to_phase3,4,1\nurology,preclinical_to_phase1,5,4\n")
    ev = read_evidence(p)
    assert ev.to_dict("records") == [
        {"area": "oncology", "transition": "phase1_to_phase2", "n": 10, "successes": 6},
        {"area": "other", "transition": "phase2_to_phase3", "n": 4, "successes": 1},
        {"area": "urology", "transition": "preclinical_to_phase1", "n": 5, "successes": 4},
    ]


@pytest.mark.parametrize("text, message", [
    ("therapeutic_area,transition,n\noncology,phase1_to_phase2,3\n", "missing column"),
    ("therapeutic_area,transition,n,successes\ndermatology,phase1_to_phase2,3,1\n", "unknown therapeutic_area"),
    ("therapeutic_area,transition,n,successes\nALL,phase1_to_phase2,3,1\n", "unknown therapeutic_area"),
    ("therapeutic_area,transition,n,successes\noncology,phase4,3,1\n", "unknown transition"),
    ("therapeutic_area,transition,n,successes\noncology,phase1_to_phase2,3,4\n", "successes 4 > n 3"),
    ("therapeutic_area,transition,n,successes\noncology,phase1_to_phase2,-3,0\n", "negative"),
    ("therapeutic_area,transition,n,successes\noncology,phase1_to_phase2,3.5,1\n", "whole numbers"),
    ("therapeutic_area,transition,n,successes\n", "no evidence rows"),
])
def test_read_evidence_rejects(tmp_path, text, message):
    with pytest.raises(EvidenceError, match=message) as exc:
        read_evidence(_csv(tmp_path, text))
    assert "\n" not in str(exc.value), f"expected one line, got {str(exc.value)!r}"


# ---------------------------------------------------------------------------------------------
# data, build and mocked fit
def test_load_data_excludes_all_row_and_maps_modalities():
    d = load_data()
    assert sorted(set(d.area["area"])) == sorted(AREAS) and "ALL" not in set(d.area["area"])
    assert len(d.area) == len(AREAS) * 4 and len(d.all_) == 4 and len(d.modality) == 40
    assert d.preclinical_mean == pytest.approx(0.69)
    assert any("Paul et al." in s for s in d.sources) and any("BIO/QLS/Informa" in s for s in d.sources)


def test_build_model_structure():
    m = PipelineModel()
    model = m.build_model(load_data())
    free = {v.name for v in model.free_RVs}
    new_terms = {"drift_scale", "edition_drift", "edition_loa_z", "drift_z", "china_offset"}
    assert free == {"mu", "sigma", "z", "area_sd", "area_z", "reference", "delta", "p_preclinical"} | new_terms, free
    assert model.named_vars_to_dims["z"] == ("area", "clinical_transition")
    assert model.named_vars_to_dims["area_z"] == ("area",)
    assert model.named_vars_to_dims["drift_new"] == ("clinical_transition",)
    assert list(model.coords["clinical_transition"]) == list(CLINICAL_TRANSITIONS)
    assert list(model.coords["edition"]) == ["citeline_2014_2023", "paul_2010"]
    assert list(model.coords["edition_loa"]) == ["hay_2003_2011"]
    observed = {v.name for v in model.observed_RVs}
    assert {"edition_logit_rate", "edition_logit_loa", "china_successes"} <= observed, observed
    no_area = PipelineModel(model_config={"area_effect": False}).build_model(load_data())
    assert not {"area_sd", "area_z"} & {v.name for v in no_area.free_RVs}
    unpooled = PipelineModel(model_config={"pooling": "none"}).build_model(load_data())
    assert {v.name for v in unpooled.free_RVs} == {"p_area", "reference", "delta", "p_preclinical"} | new_terms


def test_cited_edition_and_china_data():
    ed = load_editions()
    assert set(ed["edition"]) == {"hay_2003_2011", "citeline_2014_2023", "paul_2010"}
    assert ed["source"].str.len().min() > 20, "every edition row keeps its source"
    cit = ed[ed["edition"] == "citeline_2014_2023"].set_index("transition")["rate"]
    assert np.prod(cit.to_numpy()) == pytest.approx(0.067, abs=0.001), "Citeline phases multiply to its 6.7% LOA"
    ch = load_china()
    assert list(ch["group"]) == ["overall", "chemical", "therapeutic_biologic", "preventive_biologic"]
    assert ch.set_index("group").loc["overall", "n"] == 1076
    rates = ch.set_index("group")
    implied = sum(rates.loc[g, "n"] * rates.loc[g, "successes"] / rates.loc[g, "n"]
                  for g in ("chemical", "therapeutic_biologic", "preventive_biologic")) / 1076
    assert abs(implied - 0.21) < 0.006, f"assumed group sizes imply overall {implied:.4f}, published 0.21"


# Function scope: the patch of pm.sample must not leak into the real-MCMC tests below.
mock_pymc_sample = pytest.fixture(scope="function")(
    __import__("pymc.testing", fromlist=["mock_sample_setup_and_teardown"]).mock_sample_setup_and_teardown
)


@pytest.fixture
def mocked_fit(mock_pymc_sample):
    m = PipelineModel(sampler_config={"sampler": "pymc", "draws": 60, "chains": 2, "thin_to": 40})
    m.fit(load_data())
    return m


def test_mocked_fit_save_load_round_trip(mocked_fit, tmp_path):
    m = mocked_fit
    assert m.idata.posterior.sizes["draw"] == 60 and m.idata.posterior.sizes["chain"] == 2
    path = m.save(tmp_path / "p.nc")
    loaded = PipelineModel.load(path)
    assert loaded.model_version == m.model_version, f"expected {m.model_version}, got {loaded.model_version}"
    thin = m.thinned_posterior()
    assert thin.sizes["chain"] * thin.sizes["draw"] == 40
    for var in ("mu", "sigma", "z", "area_sd", "delta", "logit_p_area", "modality_effect", "p_preclinical",
                "drift_scale", "drift_new", "china_offset"):
        assert np.array_equal(loaded.idata.posterior[var].values, thin[var].values), f"{var} changed on save/load"
    for g in ("observed_data", "posterior_predictive", "log_likelihood", "constant_data"):
        assert g in loaded.idata.groups(), f"group {g} missing after save/load"
    assert loaded.data.data_hash == m.data.data_hash
    rt = read_posterior(path)
    assert rt.model_version == m.model_version and rt.n_draws == 40
    want = thin["logit_p_area"].values.reshape(40, len(AREAS), 4)
    assert np.array_equal(rt.logit_p_area, want), "light reader returns different draws"
    assert np.array_equal(rt.drift_new, thin["drift_new"].values.reshape(40, 4)), "light reader drops the drift"
    assert np.array_equal(rt.china_offset, thin["china_offset"].values.reshape(40, 4))
    for key in ("config_hash", "data_hash", "seed", "library_versions"):
        assert rt.attrs[key] == m.attributes(diagnostics={}, ppc={})[key], key
    with pytest.raises(FileExistsError, match="exists"):
        m.save(path)
    with pytest.raises(FileExistsError, match="shipped"):
        m.save(shipped_posterior_path(), overwrite=True)


def test_evidence_gives_new_model_version(tmp_path):
    base = PipelineModel()
    base.data = load_data()
    ev = read_evidence(_csv(tmp_path, "therapeutic_area,transition,n,successes\nurology,phase2_to_phase3,30,12\n"))
    withev = PipelineModel()
    withev.data = load_data(ev)
    assert withev.model_version != base.model_version
    assert withev.config_hash == base.config_hash and withev.data_hash != base.data_hash
    model = withev.build_model(withev.data)
    assert "evidence_successes" in model.named_vars


# ---------------------------------------------------------------------------------------------
# real MCMC (slow)
def _subset(data: CountsData, evidence: pd.DataFrame | None = None) -> CountsData:
    return CountsData(area=data.area, all_=data.all_, modality=data.modality,
                      evidence=evidence if evidence is not None else data.evidence,
                      preclinical_mean=data.preclinical_mean, sources=data.sources)


@pytest.mark.slow
def test_conjugate_posterior_means_without_pooling():
    """pooling='none': p ~ Beta(a, b), k of n → posterior mean (a + k) / (a + b + n) (Gelman et al. BDA3 §2.4);
    preclinical: Beta(c m, c (1 - m)) prior plus evidence, same formula."""
    ev = pd.DataFrame([{"area": "urology", "transition": "preclinical_to_phase1", "n": 40, "successes": 10}])
    a, b, c = 2.0, 3.0, 50.0
    m = PipelineModel(model_config={"pooling": "none", "unpooled_prior": {"alpha": a, "beta": b},
                                    "preclinical_concentration": c},
                      sampler_config={"sampler": "pymc", "draws": 600, "tune": 400, "chains": 2, "random_seed": 3})
    data = _subset(load_data(), ev)
    m.fit(data)
    import arviz as az

    p = m.idata.posterior["p_area"]
    mcse = az.mcse(m.idata, var_names=["p_area"])["p_area"]
    for _, r in data.area.iterrows():
        cell = {"area": r["area"], "clinical_transition": r["transition"]}
        want = (a + r["successes"]) / (a + b + r["n"])
        tol = 4 * float(mcse.sel(cell)) + 1e-4  # 4 Monte Carlo standard errors of the mean
        got = float(p.sel(cell).mean())
        assert abs(got - want) < tol, (f"inputs a={a} b={b} k={r['successes']} n={r['n']} ({r['area']}, "
                                       f"{r['transition']}): expected {want:.4f}, got {got:.4f}, tol {tol:.4f}")
    m0 = data.preclinical_mean
    want = (c * m0 + 10) / (c + 40)
    got = float(m.idata.posterior["p_preclinical"].mean())
    tol = 4 * float(az.mcse(m.idata, var_names=["p_preclinical"])["p_preclinical"]) + 1e-4
    assert abs(got - want) < tol, (f"preclinical Beta({c * m0}, {c * (1 - m0)}) + 10/40: expected {want:.4f}, "
                                   f"got {got:.4f}, tol {tol:.4f}")


@pytest.mark.slow
def test_parameter_recovery_on_simulated_counts():
    rng = np.random.default_rng(2021)
    true_mu = np.array([0.1, -0.9, 0.3, 2.2])
    true_sigma = np.array([0.3, 0.4, 0.25, 0.35])
    true_area_sd = 0.3  # issue 13: shared area effect on all four transitions
    true_z = rng.standard_normal((len(AREAS), 4))
    true_logit = true_mu + true_sigma * true_z + true_area_sd * rng.standard_normal(len(AREAS))[:, None]
    real = load_data()
    ai = real.area["area"].map(AREAS.index).to_numpy()
    ki = real.area["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
    n = real.area["n"].to_numpy() * 2  # twice the published counts: enough to identify sigma
    sim = real.area.assign(n=n, successes=rng.binomial(n, 1 / (1 + np.exp(-true_logit[ai, ki]))))
    data = CountsData(area=sim, all_=real.all_, modality=real.modality, preclinical_mean=real.preclinical_mean)
    m = PipelineModel(sampler_config={"draws": 1000, "tune": 1000, "chains": 2, "random_seed": 5})
    m.fit(data)
    post = m.idata.posterior
    for k, t in enumerate(CLINICAL_TRANSITIONS):
        d = post["mu"].sel(clinical_transition=t).values.ravel()
        assert abs(d.mean() - true_mu[k]) < 3 * d.std(), (f"mu[{t}]: true {true_mu[k]}, posterior {d.mean():.3f} "
                                                          f"± {d.std():.3f}, tol 3 sd")
        s = post["sigma"].sel(clinical_transition=t).values.ravel()
        lo, hi = np.quantile(s, [0.005, 0.995])
        assert lo < true_sigma[k] < hi, f"sigma[{t}]: true {true_sigma[k]}, 99% interval [{lo:.3f}, {hi:.3f}]"
    a = post["area_sd"].values.ravel()
    lo, hi = np.quantile(a, [0.005, 0.995])
    assert lo < true_area_sd < hi, f"area_sd: true {true_area_sd}, 99% interval [{lo:.3f}, {hi:.3f}]"
    lp = post["logit_p_area"].stack(s=("chain", "draw")).transpose("s", ...).values
    lo, hi = np.quantile(lp, [0.05, 0.95], axis=0)
    cover = np.mean((true_logit >= lo) & (true_logit <= hi))
    assert cover >= 0.8, f"90% intervals of logit p[area, k]: expected coverage >= 0.8 of 60 cells, got {cover:.2f}"


@pytest.mark.slow
@pytest.mark.parametrize("true_scale", [0.15, 0.45])
def test_drift_scale_recovery_on_simulated_editions(true_scale):
    """Twelve simulated editions (ten with phase rates, two with only an LOA) drawn around the ALL row with
    drift_scale = true_scale: its posterior covers the truth and tells the two scales apart."""
    rng = np.random.default_rng(int(true_scale * 1000))
    real = load_data()
    ref = np.log(real.all_["successes"] / (real.all_["n"] - real.all_["successes"])).to_numpy()
    rows = []
    for e in range(12):
        logit = ref + true_scale * rng.standard_normal(4) + 0.05 * rng.standard_normal(4)  # obs_sd 0.05
        p = 1 / (1 + np.exp(-logit))
        if e < 10:
            rows += [{"edition": f"sim{e}", "transition": t, "rate": float(p[k])} for k, t in enumerate(CLINICAL_TRANSITIONS)]
        else:
            rows.append({"edition": f"sim{e}", "transition": "loa_from_phase1", "rate": float(np.prod(p))})
    data = CountsData(area=real.area, all_=real.all_, modality=real.modality, preclinical_mean=real.preclinical_mean,
                      editions=pd.DataFrame(rows), china=real.china)
    m = PipelineModel(sampler_config={"draws": 500, "tune": 500, "chains": 2, "random_seed": 8})
    m.fit(data)
    d = m.idata.posterior["drift_scale"].values.ravel()
    lo, hi = np.quantile(d, [0.005, 0.995])
    assert lo < true_scale < hi, f"drift_scale: true {true_scale}, 99% interval [{lo:.3f}, {hi:.3f}]"
    assert abs(np.median(d) - true_scale) < 0.5 * true_scale, (
        f"drift_scale: true {true_scale}, posterior median {np.median(d):.3f}, tol 50%")
    new = m.idata.posterior["drift_new"].values.reshape(-1, 4)
    assert abs(new.std() - d.mean()) < 0.25 * true_scale + 0.02, (
        f"drift_new sd {new.std():.3f} should match the drift scale {d.mean():.3f}")


@pytest.mark.slow
def test_default_fit_meets_bars_and_matches_shipped(post):
    m = PipelineModel(sampler_config={"tune": 600, "draws": 1500})
    m.fit(load_data())
    d = m.diagnostics()
    assert d["r_hat_max"] <= 1.01 and d["ess_bulk_min"] >= 400, f"expected r_hat <= 1.01, ess >= 400, got {d}"
    assert m.model_version == post.model_version, "same data and config must give the shipped model_version"
    got = m.idata.posterior["logit_p_area"].mean(("chain", "draw")).values
    want = post.logit_p_area.mean(axis=0)
    err = np.abs(got - want).max()
    assert err < 0.05, f"posterior means of logit p[area, k] vs shipped: max abs diff {err:.4f}, tol 0.05"
    ds = float(m.idata.posterior["drift_scale"].mean())
    assert abs(ds - post.drift_scale.mean()) < 0.03, f"drift_scale mean {ds:.4f} vs shipped {post.drift_scale.mean():.4f}"
    # the numpy log-likelihood shipped in the file is PyMC's own, cell by cell
    import pymc as pm

    sub = m.idata.posterior.isel(draw=slice(0, 20))
    want_ll = pm.compute_log_likelihood(__import__("arviz").InferenceData(posterior=sub), model=m.model,
                                        progressbar=False).log_likelihood
    got_ll = m.log_likelihood(sub)
    for var in want_ll.data_vars:
        diff = float(np.abs(got_ll[var].values - want_ll[var].values).max())
        assert diff < 1e-8, f"log-likelihood {var}: max abs diff numpy vs PyMC {diff:.2e}, tol 1e-8"
