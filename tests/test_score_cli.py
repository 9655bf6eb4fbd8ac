"""`ipledge score`: the rich tables, `--json`, and one-line errors with exit code 2."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ipledge.cli.main import main
from ipledge.valuation.cases import load_case
from ipledge.valuation.scorecard import score_request

CASES = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "cases").glob("*.yaml"))
TITLES = ("Rights certainty", "Competitive contribution", "Revenue potential")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_score_prints_three_scores(runner, case):
    res = runner.invoke(main, ["score", str(case)])
    assert res.exit_code == 0, f"{case.name}: exit {res.exit_code}\n{res.output}"
    expected = score_request(load_case(case))
    for title, key in zip(TITLES, ("rights_certainty", "competitive_contribution", "revenue_potential")):
        shown = re.search(rf"{title} \(\w+ value\)\s+([\d.]+) / 100", res.output)
        assert shown, f"{case.name}: no '{title} ... / 100' line in\n{res.output}"
        assert float(shown.group(1)) == expected[key]["score"], (
            f"{case.name} {title}: expected {expected[key]['score']}, printed {shown.group(1)}")
        for row in expected[key]["indicators"]:
            assert row["name"] in res.output, f"{case.name}: indicator {row['name']!r} not printed"
    assert "IP contribution share" in res.output and "Exclusivity end" in res.output
    for ko in (k for key in expected if key not in ("exclusivity_end", "gbt42748")
               for k in expected[key]["knockouts"]):
        assert ko["code"] in res.output, f"{case.name}: knock-out {ko['code']} not printed"
    assert "Traceback" not in res.output


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_score_json_gives_the_scores_object(runner, case):
    res = runner.invoke(main, ["score", "--json", str(case)])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert set(got) == {"rights_certainty", "competitive_contribution", "revenue_potential", "exclusivity_end",
                        "gbt42748"}
    assert set(got["competitive_contribution"]) == {"score", "indicators", "knockouts", "ip_contribution"}
    for key in ("rights_certainty", "revenue_potential"):
        assert set(got[key]) == {"score", "indicators", "knockouts"}
    assert got == json.loads(json.dumps(score_request(load_case(case))))


def test_pending_only_prints_the_knockout_and_its_fix(runner):
    case = next(c for c in CASES if c.stem == "pending_only")
    res = runner.invoke(main, ["score", str(case)])
    assert "KNOCK-OUT no_granted_in_force" in res.output and "fix:" in res.output, res.output


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["patents"][0].pop("grant_date"), "patents[0].grant_date"),
    (lambda d: d["loan"].update(term_years=0.1), "loan.term_years"),
    (lambda d: d["product"]["peak_sales"].update(p10=9e9), "product.peak_sales.p50"),
    (lambda d: d["applicant"].update(cash="lots"), "applicant.cash"),
])
def test_bad_case_one_line_exit_2(runner, tmp_path, mutate, field):
    data = yaml.safe_load(next(c for c in CASES if c.stem == "small_molecule_phase1").read_text())
    mutate(data)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    res = runner.invoke(main, ["score", str(bad)])
    assert res.exit_code == 2, f"expected exit 2, got {res.exit_code}: {res.output}"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and field in lines[0], f"expected one line naming {field}, got {res.stderr!r}"
    assert "Traceback" not in res.output
    assert isinstance(res.exception, SystemExit), f"unexpected exception {res.exception!r}"


@pytest.mark.parametrize("content, fragment", [
    (None, "cannot read"),
    ("as_of: [unclosed", "not valid YAML"),
    ("- just\n- a list\n", "mapping"),
])
def test_unreadable_case_one_line_exit_2(runner, tmp_path, content, fragment):
    path = tmp_path / "case.yaml"
    if content is not None:
        path.write_text(content)
    res = runner.invoke(main, ["score", str(path)])
    assert res.exit_code == 2, res.output
    assert fragment in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.output
