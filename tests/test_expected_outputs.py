"""Golden outputs (issue 12): every bundled case x {base, each built-in stress scenario}, run fresh
as deployed and compared with tests/expected/<case>__<scenario>.json within tests/expected/tolerances.yaml.

On a failure the table lists every field out of tolerance (case, scenario, field, expected, got,
abs/rel diff, tolerance). If the change is intended, run ``python -m tests.update_expected``, read the
table of moved numbers it prints, and commit the files with it (docs/testing.md, "Golden outputs").
"""
from __future__ import annotations

import dataclasses

import pytest

from ipledge.risk.params import DEFAULT_PARAMS
from tests import expected_helpers as gh

UPDATE_HINT = ("if the change is intended: `python -m tests.update_expected` (from the repository root), "
               "read the moved numbers it prints, commit them")


@pytest.fixture(scope="module")
def tolerances():
    return gh.load_tolerances()


def test_every_case_and_scenario_has_a_golden_file_and_every_file_a_case():
    wanted = {(c, s) for c in gh.case_names() for s in gh.scenario_names()}
    present = set(gh.golden_files())
    missing = sorted(f"{c}{gh.SEP}{s}.json" for c, s in wanted - present)
    orphans = sorted(gh.golden_files()[k].name for k in present - wanted)
    assert len(wanted) == len(gh.case_names()) * len(gh.scenario_names()) > 0
    assert not missing and not orphans, (
        f"golden files missing for {len(missing)} case x scenario: {missing}\n"
        f"golden files without a case or scenario: {orphans}\n{UPDATE_HINT} (a full run adds and removes them)")


def test_tolerances_cover_every_golden_field_and_no_entry_is_stale(tolerances):
    fields = {f for p in gh.golden_files().values() for f in gh.read(p)["fields"]}
    uncovered = sorted(f for f in fields if gh.tolerance_for(f, tolerances) is None)
    stale = [tol.pattern for rx, tol in tolerances if not any(rx.match(f) for f in fields)]
    assert not uncovered, f"fields without a tolerance in {gh.TOLERANCES_FILE.name}: {uncovered}"
    assert not stale, f"tolerance entries matching no golden field: {stale}"


def test_golden_files_carry_seed_paths_and_model_version():
    bad = []
    for (case, scenario), p in gh.golden_files().items():
        doc = gh.read(p)
        f = doc.get("fields", {})
        if (doc.get("case"), doc.get("scenario")) != (case, scenario):
            bad.append(f"{p.name}: names {doc.get('case')}/{doc.get('scenario')}")
        if not (doc.get("seed") == f.get("seed") and doc.get("paths") == f.get("recommendation.paths")
                and doc.get("model_version") == f.get("model_version") and doc.get("model_version")):
            bad.append(f"{p.name}: seed/paths/model_version missing or not those of its fields")
        if p.read_text(encoding="utf-8") != gh.dumps(doc) or gh.normalise(f) != f:
            bad.append(f"{p.name}: not in the canonical format (sorted keys, 2-space indent, "
                       f"{gh.SIGNIFICANT} significant digits): {UPDATE_HINT}")
    assert not bad, "\n".join(bad)


def test_golden_outputs_match_a_fresh_run(tolerances):
    """143 assessments at the deployed 10,000 paths (about 2 s on a quiet machine)."""
    rows: list[gh.Row] = []
    for case in gh.case_names():
        for scenario in gh.scenario_names():
            path = gh.golden_path(case, scenario)
            if not path.exists():
                rows.append(gh.Row(case, scenario, "<golden file>", gh.MISSING, path.name, None, None, "-"))
                continue
            got = gh.fresh(case, scenario)["fields"]
            rows += gh.compare(case, scenario, gh.read(path)["fields"], got, tolerances)
    if rows:   # one table of every field out of tolerance, without pytest's repr of the locals
        pytest.fail("\n" + gh.table(rows, f"{len(rows)} golden field(s) out of tolerance; {UPDATE_HINT}"),
                    pytrace=False)


# -- the comparison itself: it must see a changed engine, and let only noise through ---------------

def test_a_changed_model_parameter_fails_the_comparison(tolerances):
    """The harness is not blind: a 1% larger mean VBP price cut moves the value of a VBP-exposed product."""
    case, scenario = "anaesthetic_injectable", "base"
    changed = dataclasses.replace(DEFAULT_PARAMS, vbp_cut_mean=DEFAULT_PARAMS.vbp_cut_mean * 1.01)
    expected = gh.read(gh.golden_path(case, scenario))["fields"]
    assert not gh.compare(case, scenario, expected, gh.fresh(case, scenario)["fields"], tolerances)
    rows = gh.compare(case, scenario, expected, gh.fresh(case, scenario, params=changed)["fields"], tolerances)
    assert {"params_hash", "valuation.appraised_value", "valuation.p50"} <= {r.field for r in rows}, gh.table(rows)


TOL = gh.Tolerance("x", abs_tol=0.01, rel_tol=1e-9)


@pytest.mark.parametrize("expected, got, ok", [
    (1.0e8, 1.0e8 * (1 + 5e-10), True),      # float noise
    (1.0e8, 1.0e8 * (1 + 2e-9), False),      # a real move of 0.2 CNY on 100m
    (0.0, 0.009, True), (0.0, 0.011, False),  # abs_tol near zero
    ("approve", "approve", True), ("approve", "decline", False),
    (True, True, True), (True, 1, False),     # a boolean is not a number
    (10000, 10000, True), (10000, 10001, False),   # integers exactly
    (None, None, True), (None, 0.0, False), (0.0, None, False),
])
def test_tolerance_rule(expected, got, ok):
    assert gh.within(expected, got, TOL)[0] is ok, f"expected {expected!r}, got {got!r}, tolerance {TOL}"


def test_a_missing_or_extra_field_and_an_untolerated_field_are_rows(tolerances):
    expected = {"recommendation.decision": "approve", "credit.pd": 0.1}
    rows = gh.compare("c", "s", expected, {"recommendation.decision": "approve", "credit.brand_new": 1.0},
                      tolerances)
    assert [(r.field, r.expected, r.got) for r in rows] == [
        ("credit.brand_new", gh.MISSING, 1.0), ("credit.pd", 0.1, gh.MISSING)]
    assert rows[0].tolerance == "none in tolerances.yaml"


def test_tolerance_patterns_take_brackets_literally(tolerances):
    tol = gh.tolerance_for("recommendation.checks[limit=party:fund].passed", tolerances)
    assert tol is not None and tol.exact
    assert gh.tolerance_for("recommendation.checks[limit=pd].value.extra", tolerances) is None
