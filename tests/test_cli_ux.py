"""Command-line ergonomics of issue 16: file:line:column in case errors, real progress bars off a terminal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipledge.cli.main import main

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


# -- progress: driven by the engine, no number changes, shown only at a terminal ------------------------------

def _recorder():
    events: list[tuple] = []
    return events, lambda step, done=0, total=None: events.append((step, done, total))


def _same(a: dict, b: dict, drop=("id", "created_at")) -> None:
    a = {k: v for k, v in a.items() if k not in drop}
    b = {k: v for k, v in b.items() if k not in drop}
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _monotone(events) -> None:
    done = [d for _, d, _ in events]
    assert done == sorted(done), events
    for _, d, t in events:
        assert t is None or 0 <= d <= t, events


def _req(paths: int = 2000):
    from ipledge.valuation.cases import load_case
    from ipledge.valuation.schema import PledgeRequest

    d = load_case(BASE).model_dump(mode="json")
    d["simulation"]["paths"] = paths
    return PledgeRequest.model_validate(d)


def test_assess_progress_reports_each_engine_step_and_changes_nothing():
    from ipledge.risk.assess import assess

    events, rec = _recorder()
    req = _req()
    _same(assess(req, progress=rec), assess(req))
    assert events[0] == ("scores", 0, 4) and events[-1] == ("done", 4, 4), events
    assert [e[0] for e in events[1:4]] == ["simulate 2,000 paths", "credit", "ltv search"], events
    _monotone(events)


def test_stress_progress_counts_the_rows():
    from ipledge.risk.stress import stress_rows

    events, rec = _recorder()
    req = _req(1000)
    names = ["funding_winter", "vbp_price_cut"]
    assert stress_rows(req, names, progress=rec) == stress_rows(req, names)
    assert events == [("base", 0, 3), ("funding_winter", 1, 3), ("vbp_price_cut", 2, 3), ("done", 3, 3)], events


def test_portfolio_progress_counts_finished_tasks():
    from ipledge.risk.portfolio import load_book, plan, run_portfolio

    book = load_book(CASES.parent / "books" / "example_book.yaml")
    book.paths, book.chunk_paths = 2000, 1000
    n_tasks = len(plan(book, 4))
    events, rec = _recorder()
    with_bar = run_portfolio(book, progress=rec, loans_per_task=4)
    without = run_portfolio(book, loans_per_task=4)
    _same(with_bar, without, drop=("wall_seconds",))
    assert n_tasks > 1 and events == [("tasks", k, n_tasks) for k in range(n_tasks + 1)], (n_tasks, events)


def test_readiness_progress_counts_every_engine_run(monkeypatch):
    import ipledge.risk.readiness as readiness_mod

    calls = []
    real = readiness_mod.assess
    monkeypatch.setattr(readiness_mod, "assess", lambda *a, **k: calls.append(1) or real(*a, **k))
    events, rec = _recorder()
    readiness_mod.readiness(_req(1000), progress=rec, ltv_points=4)
    _monotone(events)
    assert events[-1][1] == len(calls) == events[-1][2], (len(calls), events[-3:])   # the total came true
    runs = [e for e in events if e[1] > 0]
    assert sorted({e[1] for e in runs}) == list(range(1, len(calls) + 1))            # one count per run
    assert len(events) == len(calls) + 2, events        # + the start and the LTV-range phase announcing its total


@pytest.fixture
def terminal(monkeypatch):
    import ipledge.cli.progress as cp

    monkeypatch.setattr(cp, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cp, "DELAY", 0.0)


STRESS = ["stress", str(BASE), "--scenario", "funding_winter", "--paths", "1000"]


def test_the_bar_is_drawn_on_stderr_at_a_terminal(terminal):
    r = CliRunner().invoke(main, STRESS)
    assert r.exit_code == 0, r.output
    assert "stress: " in r.stderr and "2/2" in r.stderr, r.stderr       # the final frame: both rows done
    assert "stress: " not in r.stdout and "funding_winter" in r.stdout


@pytest.mark.parametrize("flag", ["--json", "--quiet"])
def test_no_bar_with_json_or_quiet(terminal, flag):
    r = CliRunner().invoke(main, STRESS + [flag])
    assert r.exit_code == 0 and r.stderr == "", r.stderr
    if flag == "--json":
        assert [row["scenario"] for row in json.loads(r.stdout)] == ["base", "funding_winter"]


def test_no_bar_off_a_terminal():
    r = CliRunner().invoke(main, STRESS)
    assert r.exit_code == 0 and r.stderr == "", r.stderr


def test_assess_and_portfolio_draw_their_bars(terminal, tmp_path):
    r = CliRunner().invoke(main, ["assess", str(BASE), "--paths", "1000"])
    assert r.exit_code == 0 and "assess: " in r.stderr and "4/4" in r.stderr, r.stderr
    r = CliRunner().invoke(main, ["portfolio", str(CASES.parent / "books" / "example_book.yaml"), "--paths", "2000"])
    assert r.exit_code == 0 and "portfolio: tasks" in r.stderr, r.stderr


def test_a_bad_pledge_in_a_book_names_file_line_and_column(tmp_path):
    text = (CASES.parent / "books" / "example_book.yaml").read_text()
    first = text.index("  loan:\n    amount: ")
    second = text.index("  loan:\n    amount: ", first + 1)     # the second pledge's loan amount
    bad_text = text[:second] + text[second:].replace("term_years: ", "term_years: 30 #", 1)
    bad = tmp_path / "book.yaml"
    bad.write_text(bad_text)
    line = bad_text[:bad_text.index("term_years: 30 #", second)].count("\n") + 1
    col = len(bad_text[:bad_text.index("term_years: 30 #", second)].rsplit("\n", 1)[1]) + 1
    err = _one_error(CliRunner().invoke(main, ["portfolio", str(bad)]))
    assert err.startswith(f"error: {bad}:{line}:{col}: pledges[1]: loan.term_years"), (line, col, err)


def test_calibrate_progress_counts_rate_evaluations_and_changes_nothing():
    import ipledge.risk.calibrate as cal

    calls = []
    real = cal._BookRuns.rate
    events, rec = _recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cal._BookRuns, "rate", lambda self, **kw: calls.append(1) or real(self, **kw))
        with_bar = cal.calibrate(progress=rec)
    assert with_bar == cal.calibrate()
    _monotone(events)
    assert events[-1][1] == events[-1][2] == len(calls), (len(calls), events[-2:])
