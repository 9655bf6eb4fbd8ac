"""Command-line ergonomics of issue 16: file:line:column in case errors, real progress bars off a terminal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main

CASES = Path(__file__).resolve().parents[1] / "scenarios" / "cases"
BASE = CASES / "anaesthetic_injectable.yaml"


def _line_of(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text`` (found by string search, not by YAML)."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the text")


def _one_error(res) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert "Traceback" not in res.output and res.stdout == "", res.output
    return lines[0]


@pytest.mark.parametrize("old, new, needle, field", [
    ("profit_margin: 0.30 ", "profit_margin: 35 ", "profit_margin:", "product.profit_margin"),
    ("    grant_date: 2018-06-15", "    grant_date: 2014-06-15", "grant_date: 2014-06-15", "patents[0].grant_date"),
    ("  term_years: 2 ", "  term_years: 30 ", "term_years: 30", "loan.term_years"),
    ("  p10: 9.0e+7", "  p10: 9.0e+9", "p50: 1.5e+8", "product.peak_sales.p50"),   # the field the message names
])
def test_schema_error_names_file_line_and_column_of_the_key(tmp_path, old, new, needle, field):
    text = BASE.read_text()
    assert text.count(old) == 1, old
    bad = tmp_path / "case.yaml"
    bad.write_text(text.replace(old, new))
    line, col = _line_of(bad.read_text(), needle)
    for cmd in (["score"], ["assess"], ["stress", "--scenario", "funding_winter"]):
        err = _one_error(CliRunner().invoke(main, [*cmd, str(bad)]))
        assert err.startswith(f"error: {bad}:{line}:{col}: {field}"), (cmd, "expected", f"{bad}:{line}:{col}: {field}",
                                                                      "got", err)


def test_missing_field_points_at_the_mapping_that_lacks_it(tmp_path):
    text = BASE.read_text()
    bad = tmp_path / "case.yaml"
    bad.write_text("".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("  annual_burn:")))
    line, col = _line_of(bad.read_text(), "applicant:")
    err = _one_error(CliRunner().invoke(main, ["score", str(bad)]))
    assert err.startswith(f"error: {bad}:{line}:{col}: applicant.annual_burn: Field required"), err


def test_report_names_the_line_too(tmp_path):
    bad = tmp_path / "case.yaml"
    bad.write_text(BASE.read_text().replace("profit_margin: 0.30 ", "profit_margin: 35 "))
    line, col = _line_of(bad.read_text(), "profit_margin:")
    err = _one_error(CliRunner().invoke(main, ["report", str(bad), "-o", str(tmp_path / "r.html")]))
    assert f"{bad}:{line}:{col}: product.profit_margin" in err, err


@pytest.mark.parametrize("name, content, line, col", [
    ("case.yaml", "as_of: 2026-11-01\napplicant:\n  name: x\n   cash: 1\n", 4, 8),   # bad indentation
    ("case.yaml", "as_of: 2026-11-01\npatents: [1, 2\n", 3, 1),                     # unclosed flow sequence
    ("case.yaml", "as_of: 2026-11-01\nloan:\n\tamount: 1\n", 3, 1),                 # a tab
    ("case.json", '{"as_of": "2026-11-01",\n  , "loan": {}}', 2, 3),
])
def test_malformed_file_names_line_and_column(tmp_path, name, content, line, col):
    f = tmp_path / name
    f.write_text(content)
    err = _one_error(CliRunner().invoke(main, ["score", str(f)]))
    kind = "JSON" if name.endswith(".json") else "YAML"
    assert err.startswith(f"error: {f}:{line}:{col}: not valid {kind} ("), err
