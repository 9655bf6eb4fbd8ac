"""The posterior's arithmetic (ipledge.risk.posterior) on a small hand-built posterior.

Probabilities are the logistic of area logit + modality effect + region offset + drift, written out here;
the ALL-areas figure is the count-weighted mean of the areas; the probability of approval from a stage is
the product of the transitions still ahead; the 90% HDI is checked against a brute-force scan of every
interval holding the same number of draws.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from ipledge.risk import posterior as P

AREAS = ["oncology", "other"]
MODS = ["small_molecule", "biologic"]


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def hand_posterior(china=True, drift=True):
    rng = np.random.default_rng(5)
    D = 6
    lp = rng.normal(0, 0.8, (D, 2, 4))
    me = rng.normal(0, 0.3, (D, 2, 4))
    pre = rng.uniform(0.5, 0.8, D)
    kw = {}
    if drift:
        kw["drift_new"] = rng.normal(0, 0.2, (D, 4))
        kw["drift_scale"] = rng.uniform(0.1, 0.3, D)
    if china:
        kw["china_offset"] = rng.normal(0, 0.5, (D, 4))
        kw["china_groups"] = list(P.CHINA_GROUPS)
    n = np.array([[30.0, 10.0, 5.0, 2.0], [10.0, 30.0, 15.0, 6.0]])
    attrs = {"model_version": "hand-1", "reference_figures": [
        {"quantity": "phase1_to_phase2", "rate": 0.5, "area": "oncology"},
        {"quantity": "loa_from_phase1", "rate": 0.999},
        {"quantity": "phase2_to_phase3", "rate": 0.4, "region": "china", "modality": "biologic"}]}
    return P.PipelinePosterior(lp, me, pre, AREAS, MODS, attrs, area_n=n, **kw), lp, me, pre, kw, n


def brute_hdi(x, prob):
    s = np.sort(x)
    k = int(math.floor(prob * s.size))
    best = min(range(s.size - k), key=lambda i: (s[i + k] - s[i], i))
    return s[best], s[best + k]


@pytest.mark.parametrize("n", [10, 37, 200])
@pytest.mark.parametrize("skew", [1.0, -1.0])
def test_hdi_is_the_shortest_interval_holding_the_draws(n, skew):
    x = skew * np.random.default_rng(n).gamma(2.0, 1.0, n)        # the shortest interval at either end
    assert P.hdi(x, 0.9) == pytest.approx(brute_hdi(x, 0.9)), (n, P.hdi(x, 0.9), brute_hdi(x, 0.9))
    assert P.hdi(x) == P.hdi(x, 0.9), "the default is the 90% interval"
    assert P.hdi(x, 1.0) == (float(x.min()), float(x.max()))
    assert all(math.isnan(v) for v in P.hdi(np.array([]), 0.9))


def test_clinical_probabilities_are_the_logistic_of_the_sum_of_effects():
    post, lp, me, pre, kw, n = hand_posterior()
    got = post.clinical_draws("oncology", "biologic", predictive=True)
    assert np.allclose(got, logistic(lp[:, 0, :] + me[:, 1, :] + kw["drift_new"]), rtol=1e-12), got
    got = post.clinical_draws("tcm", "tcm", predictive=False)                # alias area, unmodelled modality
    assert np.allclose(got, logistic(lp[:, 1, :]), rtol=1e-12), got
    china = post.clinical_draws("oncology", "small_molecule", region="china", predictive=False)
    col = P.CHINA_GROUPS.index("chemical")
    assert np.allclose(china, logistic(lp[:, 0, :] + me[:, 0, :] + kw["china_offset"][:, col, None]), rtol=1e-12)
    all_ = post.clinical_draws(P.ALL_AREAS, None, predictive=False)
    w = n / n.sum(axis=0)
    want = logistic(lp[:, 0, :]) * w[0] + logistic(lp[:, 1, :]) * w[1]
    assert np.allclose(all_, want, rtol=1e-12), (all_, want)


@pytest.mark.parametrize("stage", P.STAGES)
def test_probability_of_approval_is_the_product_of_the_transitions_ahead(stage):
    post, lp, me, pre, kw, n = hand_posterior()
    clinical = logistic(lp[:, 0, :] + me[:, 0, :] + kw["drift_new"])
    full = np.concatenate([pre[:, None], clinical], axis=1)
    ahead = full[:, P.STAGES.index(stage):]
    loa = ahead.prod(axis=1)
    got = post.p_approval("oncology", "small_molecule", stage)
    assert got["mean"] == pytest.approx(float(loa.mean()), rel=1e-12), (stage, got, loa.mean())
    assert got["hdi_90"] == pytest.approx(list(brute_hdi(loa, 0.9))), got
    means = post.transition_means("oncology", "small_molecule", stage)
    assert list(means) == list(P.remaining_transitions(stage))
    assert list(means.values()) == pytest.approx(list(ahead.mean(axis=0)), rel=1e-12), means
    rows = post.sample("oncology", "small_molecule", stage, 200, np.random.default_rng(1))
    assert rows.shape == (200, ahead.shape[1]), rows.shape
    if ahead.shape[1]:
        which = [int(np.argmin(np.abs(ahead - r).sum(axis=1))) for r in rows]
        assert np.allclose(rows, ahead[which], rtol=1e-12), "each row is one posterior draw"
        assert sorted(set(which)) == list(range(6)), f"every draw is used: {sorted(set(which))}"


def test_errors_name_the_unknown_value():
    post, *_ = hand_posterior(china=False)
    for call, word in [(lambda: P.remaining_transitions("phase9"), "phase9"),
                       (lambda: P.canonical_area("dentistry"), "dentistry"),
                       (lambda: post.clinical_draws("oncology", "antibody"), "antibody"),
                       (lambda: post.clinical_draws("oncology", None, region="mars"), "mars"),
                       (lambda: post.clinical_draws("oncology", None, region="china"), "China"),
                       (lambda: post.show(region="mars"), "mars")]:
        with pytest.raises(ValueError, match=word):
            call()
    assert P.remaining_transitions("approved") == () and P.canonical_area("device") == "other"


def test_reference_check_flags_figures_outside_their_interval():
    post, *_ = hand_posterior()
    rows = post.reference_check()
    assert len(rows) == 3, rows
    x = post.clinical_draws(P.ALL_AREAS, None).prod(axis=1)
    lo, hi = brute_hdi(x, 0.9)
    loa = rows[1]
    assert loa["mean"] == pytest.approx(x.mean()) and loa["interval_90"] == pytest.approx([lo, hi])
    assert loa["inside"] is False, loa                    # 0.999 is above any product of four probabilities
    first = post.clinical_draws("oncology", None)[:, 0]
    assert rows[0]["inside"] == bool(brute_hdi(first, 0.9)[0] <= 0.5 <= brute_hdi(first, 0.9)[1]), rows[0]
    no_china, *_ = hand_posterior(china=False)
    assert len(no_china.reference_check()) == 2, "China figures are skipped without a China calibration"
    no_china.attrs["reference_figures"] = no_china.attrs["reference_figures"][::-1]     # the China one first
    assert len(no_china.reference_check()) == 2, "a skipped China figure does not end the check"


def test_show_reports_every_area_modality_stage_and_the_drift():
    post, lp, me, pre, kw, n = hand_posterior()
    doc = post.show()
    assert len(doc["p_approval"]) == 3 * 3 * 5, len(doc["p_approval"])          # stages preclinical..filed
    assert len(doc["transitions"]) == 3 * 3 * 4
    row = next(r for r in doc["p_approval"] if r["therapeutic_area"] == "other" and r["modality"] is None
               and r["stage"] == "phase2")
    loa = logistic(lp[:, 1, 1:] + kw["drift_new"][:, 1:]).prod(axis=1)
    assert row["mean"] == pytest.approx(float(loa.mean()), rel=1e-12), row
    assert doc["drift_scale"]["mean"] == pytest.approx(float(kw["drift_scale"].mean()))
    assert doc["reference_check"]["figures"] == 3 and doc["region"] == "global"
    post.attrs["diagnostics"] = {"r_hat_max": 1.004, "ess_bulk_min": 812.0, "divergences": 0}
    assert post.show()["diagnostics"] == {"r_hat_max": 1.004, "ess_bulk_min": 812.0, "divergences": 0}
    assert "China offset" in post.show(region="china")["interval"] and "China" not in doc["interval"]


def test_figure_on_the_interval_edge_is_inside_and_equal_weights_without_counts():
    post, lp, *_ = hand_posterior(drift=False)
    x = post.clinical_draws(P.ALL_AREAS, None)[:, 1]
    lo, hi = brute_hdi(x, 0.9)
    post.attrs["reference_figures"] = [{"quantity": "phase2_to_phase3", "rate": float(hi)},
                                       {"quantity": "phase2_to_phase3", "rate": float(lo)}]
    assert [r["inside"] for r in post.reference_check()] == [True, True], post.reference_check()
    assert post.show()["drift_scale"] is None, "no drift in the file: no drift scale to report"
    plain = P.PipelinePosterior(lp, np.zeros((6, 2, 4)), np.full(6, 0.6), AREAS, MODS, {})
    want = 0.5 * (logistic(lp[:, 0, :]) + logistic(lp[:, 1, :]))
    assert np.allclose(plain.clinical_draws(P.ALL_AREAS, "biologic"), want, rtol=1e-12), "equal area weights"
    assert plain.model_version == "unknown" and plain.china_groups == []


def write_small_posterior(path, char_arrays, with_counts, cells):
    """A posterior file in the layout PipelineModel.save writes, by hand with netCDF4 (2 chains x 3 draws)."""
    import netCDF4

    rng = np.random.default_rng(8)
    with netCDF4.Dataset(path, "w") as ds:
        ds.setncattr("model_version", "file-1")
        ds.setncattr("ppc_cells", cells)
        post = ds.createGroup("posterior")
        for dim, size in (("chain", 2), ("draw", 3), ("area", 2), ("modality", 2), ("clinical_transition", 4)):
            post.createDimension(dim, size)
        for name, values in (("area", AREAS), ("modality", MODS), ("clinical_transition", P.CLINICAL_TRANSITIONS)):
            if char_arrays:
                post.createDimension(f"{name}_len", 24)
                var = post.createVariable(name, "S1", (name, f"{name}_len"))
                var[:] = netCDF4.stringtochar(np.array(values, dtype="S24"))
            else:
                var = post.createVariable(name, str, (name,))
                for i, v in enumerate(values):
                    var[i] = v
        lp = rng.normal(size=(2, 3, 2, 4))
        post.createVariable("logit_p_area", "f8", ("chain", "draw", "area", "clinical_transition"))[:] = lp
        post.createVariable("modality_effect", "f8", ("chain", "draw", "modality", "clinical_transition"))[:] = 0.0
        post.createVariable("p_preclinical", "f8", ("chain", "draw"))[:] = 0.6
        if with_counts:
            post.createVariable("drift_new", "f8", ("chain", "draw", "clinical_transition"))[:] = 0.25
            post.createVariable("drift_scale", "f8", ("chain", "draw"))[:] = 0.5
            cd = ds.createGroup("constant_data")
            cd.createDimension("area", 2)
            cd.createDimension("clinical_transition", 4)
            cd.createVariable("area_n", "f8", ("area", "clinical_transition"))[:] = [[3.0] * 4, [1.0] * 4]
    return lp.reshape(6, 2, 4)


@pytest.mark.parametrize("char_arrays", [False, True])
def test_a_posterior_file_reads_back_its_draws_names_counts_and_cells(tmp_path, char_arrays):
    path = tmp_path / "post.nc"
    lp = write_small_posterior(path, char_arrays, with_counts=True, cells='[{"cell": 1}]')
    post = P.read_posterior(path)
    assert post.areas == AREAS and post.modalities == MODS, (post.areas, post.modalities)
    assert np.array_equal(post.logit_p_area, lp) and post.n_draws == 6, post.logit_p_area.shape
    assert post.area_n.tolist() == [[3.0] * 4, [1.0] * 4] and post.ppc_cells == [{"cell": 1}], post.ppc_cells
    assert "ppc_cells" not in post.attrs and post.model_version == "file-1" and post.path == str(path)
    assert np.all(post.drift_new == 0.25) and post.drift_new.shape == (6, 4) and np.all(post.drift_scale == 0.5)
    want = 0.75 * logistic(lp[:, 0, :]) + 0.25 * logistic(lp[:, 1, :])
    assert np.allclose(post.clinical_draws(P.ALL_AREAS, None, predictive=False), want, rtol=1e-12)
    bare = tmp_path / "bare.nc"
    write_small_posterior(bare, char_arrays, with_counts=False, cells="not a list")
    other = P.read_posterior(bare)
    assert other.ppc_cells == [] and other.area_n.tolist() == [[1.0] * 4] * 2, (other.ppc_cells, other.area_n)
    assert not other.drift_new.any() and other.drift_scale is None, "a file without drift: none"
    assert P._decode(b'[1, 2]') == [1, 2] and P._decode("{oops") == "{oops" and P._decode(np.float64(2.5)) == 2.5


def test_the_served_posterior_is_the_environments_then_the_recorded_one(tmp_path, monkeypatch):
    monkeypatch.setenv("IPLEDGE_HOME", str(tmp_path))
    monkeypatch.setenv("IPLEDGE_POSTERIOR", "/elsewhere/post.nc")
    assert P.served_posterior_path() == ("/elsewhere/post.nc", "$IPLEDGE_POSTERIOR")
    monkeypatch.delenv("IPLEDGE_POSTERIOR")
    assert P.served_posterior_path() == (str(P.shipped_posterior_path()), "shipped")
    (tmp_path / "model_in_use.json").write_text('{"path": "/fitted/post.nc"}')
    assert P.served_posterior_path() == ("/fitted/post.nc", f"ipledge model use ({tmp_path / 'model_in_use.json'})")
    for bad in ("{not json", '{"file": "/x.nc"}', "[1]"):          # bad JSON, no path, not a mapping
        (tmp_path / "model_in_use.json").write_text(bad)
        with pytest.raises(ValueError, match="unreadable model-in-use record"):
            P.served_posterior_path()


def test_reported_intervals_are_90_percent_intervals():
    rng = np.random.default_rng(12)
    lp = rng.normal(0, 0.6, (40, 2, 4))
    post = P.PipelinePosterior(lp, np.zeros((40, 2, 4)), rng.uniform(0.5, 0.8, 40), AREAS, MODS, {})
    loa = logistic(lp[:, 0, 1:]).prod(axis=1)                  # from phase2: three clinical transitions
    got = post.p_approval("oncology", None, "phase2", predictive=False)["hdi_90"]
    assert got == pytest.approx(list(brute_hdi(loa, 0.9))), (got, brute_hdi(loa, 0.9))
    assert got != pytest.approx([loa.min(), loa.max()]), "40 draws: the 90% interval is not the whole range"


def test_names_read_from_a_file_whatever_their_array_form():
    """Names come as a (n, strlen) char array (joined per row), or one name per element (bytes or text)."""
    import netCDF4

    chars = netCDF4.stringtochar(np.array(["oncology", "cns"], dtype="S8"))
    assert P._strings(chars) == ["oncology", "cns"], P._strings(chars)
    assert P._strings(np.array([b"ab", b"cd"])) == ["ab", "cd"], "fixed-width bytes, one name each"
    assert P._strings(np.array([["x", "y"]])) == ["x", "y"], "a 2-D array of text is not a char array"


def test_transition_table_is_the_sampled_probabilities_scaled_clipped_and_read_only():
    post, lp, me, pre, kw, n = hand_posterior()
    clinical = logistic(lp[:, 0, :] + me[:, 0, :] + kw["drift_new"])
    ahead = np.concatenate([pre[:, None], clinical], axis=1)[:, P.STAGES.index("phase1"):]   # (6 draws, 4)
    table = post.transition_table("oncology", "small_molecule", "phase1")
    assert table.shape == (4, 6) and np.allclose(table, ahead.T, rtol=1e-12), "default scale 1: the draws as sampled"
    assert (ahead * 1.7 > 1).any() and (ahead * 1.7 < 1).any(), "the scale must clip some entries, not all"
    scaled = post.transition_table("oncology", "small_molecule", "phase1", scale=1.7)
    assert np.allclose(scaled, np.minimum(ahead * 1.7, 1.0).T, rtol=1e-12), (scaled, ahead * 1.7)
    assert not scaled.flags.writeable, "a cached table is shared by every request: read-only"
    with pytest.raises(ValueError):
        scaled[0, 0] = 0.0
    again = post.transition_table("oncology", "small_molecule", "phase1")
    assert again is table, "asked again (another table in between): the cached table, not a recomputed one"


def test_transition_tables_are_cached_up_to_256_then_the_cache_starts_again():
    post, *_ = hand_posterior()
    first = post.transition_table("other", None, "phase2", scale=0.5)
    for i in range(1, 256):                                          # 256 tables in all
        post.transition_table("other", None, "phase2", scale=0.5 + i / 1024)
    assert post.transition_table("other", None, "phase2", scale=0.5) is first, "256 tables fit in the cache"
    post.transition_table("other", None, "phase2", scale=0.9999)     # the 257th empties it first
    again = post.transition_table("other", None, "phase2", scale=0.5)
    assert again is not first and np.array_equal(again, first), "after the 257th table the first is recomputed"


def test_load_posterior_keeps_the_eight_most_recently_used_files(tmp_path):
    import shutil

    write_small_posterior(tmp_path / "p0.nc", False, with_counts=False, cells="[]")
    paths = [tmp_path / f"p{i}.nc" for i in range(9)]
    for p in paths[1:]:
        shutil.copy(paths[0], p)
    P.load_posterior.cache_clear()
    try:
        loaded = [P.load_posterior(p) for p in paths]                # 9 files: the first drops out
        assert P.load_posterior(paths[1]) is loaded[1], "the 8 most recent stay cached"
        assert P.load_posterior(paths[0]) is not loaded[0], "the 9th file evicts the least recently used"
    finally:
        P.load_posterior.cache_clear()
