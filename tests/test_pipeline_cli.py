"""`ipledge model fit|show|use` (issues 3, 13). Sampling is mocked (pymc.testing.mock_sample) here."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from pymc.testing import mock_sample_setup_and_teardown

from ipledge.cli import model as cli_model
from ipledge.cli.model import model
from ipledge.risk.posterior import ALL_AREAS, AREAS, CLINICAL_TRANSITIONS, load_posterior, shipped_posterior_path

mock_pymc_sample = pytest.fixture(mock_sample_setup_and_teardown)
HEADER = "therapeutic_area,transition,n,successes\n"


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.delenv("IPLEDGE_POSTERIOR", raising=False)
    monkeypatch.setenv("IPLEDGE_HOME", str(tmp_path / "home" / ".ipledge"))
    load_posterior.cache_clear()
    # Not HOME: PyTensor's compile cache lives there, and a cold one costs seconds per test.
    monkeypatch.setattr(cli_model, "POSTERIOR_HOME", tmp_path / "home" / ".ipledge" / "posteriors")
    return CliRunner()


def _one_line_error(result, code=2):
    err = result.stderr.strip()
    assert result.exit_code == code, f"expected exit {code}, got {result.exit_code}; stderr {err!r}"
    assert err.startswith("error: ") and "\n" not in err, f"expected one 'error:' line, got {err!r}"
    assert "Traceback" not in result.output
    return err


def test_show_json(runner):
    result = runner.invoke(model, ["show", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model_version"] == load_posterior().model_version
    assert {r["therapeutic_area"] for r in doc["p_approval"]} == set(AREAS) | {ALL_AREAS}
    assert doc["diagnostics"]["r_hat_max"] <= 1.01 and doc["diagnostics"]["ess_bulk_min"] >= 400
    assert {(r["therapeutic_area"], r["transition"]) for r in doc["transitions"] if r["modality"] is None} == {
        (a, t) for a in (*AREAS, ALL_AREAS) for t in CLINICAL_TRANSITIONS}
    assert doc["served"] == {"path": str(shipped_posterior_path()), "model_version": doc["model_version"],
                             "source": "shipped"}


def test_show_json_china(runner):
    result = runner.invoke(model, ["show", "--json", "--region", "china"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    row = next(r for r in doc["p_approval"] if (r["therapeutic_area"], r["modality"], r["stage"]) == (ALL_AREAS, None, "phase1"))
    assert doc["region"] == "china" and row["hdi_90"][0] <= 0.21 <= row["hdi_90"][1], row


def test_show_human(runner):
    result = runner.invoke(model, ["show"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for needle in ("model_version", "r_hat_max", "ess_bulk_min", "posterior predictive check", "converged",
                   "BIO/QLS/Informa", "Paul et al.", *AREAS):
        assert needle in out, f"expected {needle!r} in `model show` output"


def test_show_missing_posterior(runner, tmp_path):
    err = _one_line_error(runner.invoke(model, ["show", "--posterior", str(tmp_path / "nope.nc")]))
    assert "not found" in err


@pytest.mark.parametrize("text, needle", [
    ("therapeutic_area,transition,successes\noncology,phase1_to_phase2,1\n", "missing column(s) n"),
    (HEADER + "mars,phase1_to_phase2,3,1\n", "unknown therapeutic_area 'mars'"),
    (HEADER + "oncology,phase9,3,1\n", "unknown transition 'phase9'"),
    (HEADER + "oncology,phase1_to_phase2,3,5\n", "successes 5 > n 3"),
    (HEADER + "oncology,phase1_to_phase2,3,-1\n", "negative"),
])
def test_fit_rejects_bad_evidence(runner, tmp_path, text, needle):
    p = tmp_path / "ev.csv"
    p.write_text(text)
    err = _one_line_error(runner.invoke(model, ["fit", "--evidence", str(p)]))
    assert needle in err, f"expected {needle!r} in {err!r}"


def test_fit_missing_evidence_file(runner, tmp_path):
    err = _one_line_error(runner.invoke(model, ["fit", "--evidence", str(tmp_path / "none.csv")]))
    assert "not found" in err


def test_fit_refuses_shipped_posterior_without_force(runner):
    before = shipped_posterior_path().stat().st_mtime_ns
    err = _one_line_error(runner.invoke(model, ["fit", "--out", str(shipped_posterior_path())]))
    assert "shipped" in err
    assert shipped_posterior_path().stat().st_mtime_ns == before


def test_fit_with_evidence_writes_new_version(runner, tmp_path, mock_pymc_sample):
    ev = tmp_path / "ev.csv"
    ev.write_text(HEADER + "urology,phase2_to_phase3,30,12\n")
    args = ["fit", "--evidence", str(ev), "--sampler", "pymc", "--draws", "30", "--chains", "2", "--seed", "9"]
    result = runner.invoke(model, args)
    # Mocked draws come from the prior, so the quality bars may fail (exit 1); the file is written anyway.
    assert result.exit_code in (0, 1), result.output
    version = result.stdout.split("model_version ")[1].split()[0]
    assert version != load_posterior().model_version, "evidence must give a new model version"
    path = tmp_path / "home" / ".ipledge" / "posteriors" / f"{version}.nc"
    assert path.exists(), f"expected {path}; output {result.output}"
    shown = runner.invoke(model, ["show", "--json", "--posterior", str(path)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["model_version"] == version
    again = runner.invoke(model, args)
    assert "exists" in _one_line_error(again)


# ---------------------------------------------------------------------------------------------
# model use (issue 13)
def test_use_serves_a_file_then_shipped_again(runner, tmp_path):
    copy = tmp_path / "refit.nc"
    shutil.copy(shipped_posterior_path(), copy)
    result = runner.invoke(model, ["use", str(copy)])
    assert result.exit_code == 0, result.output
    record = tmp_path / "home" / ".ipledge" / "model_in_use.json"
    assert json.loads(record.read_text())["path"] == str(copy.resolve())
    load_posterior.cache_clear()
    doc = json.loads(runner.invoke(model, ["show", "--json"]).stdout)
    assert doc["served"]["path"] == str(copy.resolve()) and "model use" in doc["served"]["source"], doc["served"]
    assert runner.invoke(model, ["use", "--shipped"]).exit_code == 0
    assert not record.exists()
    load_posterior.cache_clear()
    doc = json.loads(runner.invoke(model, ["show", "--json"]).stdout)
    assert doc["served"]["source"] == "shipped", doc["served"]


def test_use_refuses_bad_files(runner, tmp_path):
    assert "not found" in _one_line_error(runner.invoke(model, ["use", str(tmp_path / "none.nc")]))
    junk = tmp_path / "junk.nc"
    junk.write_text("not a netcdf file")
    assert "cannot read posterior" in _one_line_error(runner.invoke(model, ["use", str(junk)]))
    assert "either FILE or --shipped" in _one_line_error(runner.invoke(model, ["use"]))
    assert not (tmp_path / "home" / ".ipledge" / "model_in_use.json").exists()


def test_use_refuses_an_unconverged_refit(runner, tmp_path, mock_pymc_sample):
    out = tmp_path / "mocked.nc"
    runner.invoke(model, ["fit", "--sampler", "pymc", "--draws", "20", "--chains", "2", "--out", str(out)])
    assert out.exists()
    err = _one_line_error(runner.invoke(model, ["use", str(out)]))
    assert "quality bars" in err, err
