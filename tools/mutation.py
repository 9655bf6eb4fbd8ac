"""Mutation testing: run cosmic-ray over the files listed in mutation.toml and print the score and the survivors.

    python tools/mutation.py                      # every module in mutation.toml
    python tools/mutation.py risk/credit.py       # one (or several) of them
    python tools/mutation.py --report             # print the last results again, run nothing
    python tools/mutation.py --rerun-survivors    # test again only the mutants that survived last time
    python tools/mutation.py --resume             # go on with an interrupted session
    python tools/mutation.py --report --markdown docs/mutation_survivors.md   # the survivor list as a document
    python tools/mutation.py --report --check     # exit 1 unless every module meets the target (below)

cosmic-ray does the work: `cosmic-ray init` lists the mutants, `cr-filter-operators` drops the operators that
mutation.toml excludes, `cosmic-ray exec` applies each mutant to the file on disk in place, runs the module's
test selection and restores the file. This script only writes one cosmic-ray configuration per module from
mutation.toml (so the paths live in one place), adds two filters that cosmic-ray lacks (mutants inside type
annotations, which `from __future__ import annotations` makes unobservable, and the -1 twin of every number
mutant), runs the selection once under pytest-cov (one context per test) so that each mutant runs only the
tests that execute the statement it changes (`--run-tests`, the test command cosmic-ray calls), sets the
timeout from that run and prints the table. cosmic-ray takes mutants in random order, so a stopped session
has tested a random sample (its score is printed with a Wilson 95% interval); `--rerun-survivors` tests the
last survivors first to keep it one. Sessions live in .mutation/.

Equivalent mutants: a survivor that no input can tell from the original is registered, with the reason, in
tools/mutation_equivalents/<file path, / -> __, no .py>.toml (entries `function`, `operator`, `diff` as the
survivor list prints them, `why`). The report prints registered survivors apart from the others, and any entry
that matched no survivor (the code changed, or a test now kills it: remove or re-copy it). The score stays the
raw one, (killed + timeout + incompetent) / tested; the target (TARGET, issue 12) is a raw score of at least
85% AND no survivor left unregistered.

Files are mutated in place, one mutant at a time: do not run two sessions on one clone at once, and do not run
other tests in this clone while a session runs.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mutation.toml"
OUT = ROOT / ".mutation"
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents"
TARGET = 0.85
EQUIVALENT_KEYS = {"function", "operator", "diff", "why"}
BIN = Path(sys.executable).parent
# the test runs load only the plugins they need: autoloading every installed pytest plugin (schemathesis, ...)
# costs ~1 s a run, more than most risk test selections take
TEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def load_config(path: Path = CONFIG) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def session_name(module: str) -> str:
    return module.replace("/", "__").removesuffix(".py")


def test_command(cfg: dict, module: str) -> list[str]:
    tests = cfg["modules"][module]["tests"]
    return [sys.executable, "-m", "pytest", *cfg["defaults"]["pytest-args"], *tests]


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_cr_config(cfg: dict, module: str, timeout: float) -> Path:
    # cosmic-ray shlex.splits the command back
    cmd = shlex.join([sys.executable, str(Path(__file__).resolve()), "--run-tests", module])
    excl = ",\n    ".join(toml_str(e) for e in cfg["defaults"]["exclude-operators"])
    text = (
        "# written by tools/mutation.py from mutation.toml: edit that file, not this one\n"
        "[cosmic-ray]\n"
        f"module-path = {toml_str(module)}\n"
        f"timeout = {timeout:.1f}\n"
        "excluded-modules = []\n"
        f"test-command = {toml_str(cmd)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = [\n    {excl},\n]\n"
    )
    path = OUT / f"{session_name(module)}.toml"
    path.write_text(text)
    return path


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions, (line, column) as cosmic-ray counts them, of every type annotation."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        anns = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            anns.append(node.returns)
        if isinstance(node, ast.arg) and node.annotation is not None:
            anns.append(node.annotation)
        if isinstance(node, ast.AnnAssign):
            anns.append(node.annotation)
        spans += [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in anns]
    return spans


def filter_unobservable(db, module: str) -> int:
    """Skip mutants in annotations (never evaluated under `from __future__ import annotations`) and the -1 twin
    of each number mutant (NumberReplacer yields +1 at even and -1 at odd occurrences). Returns how many."""
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    source = (ROOT / module).read_text()
    lazy = "from __future__ import annotations" in source
    spans = annotation_spans(source) if lazy else []
    skipped = []
    for item in db.pending_work_items:
        (m,) = item.mutations
        in_annotation = any(a <= tuple(m.start_pos) < b for a, b in spans)
        minus_twin = m.operator_name == "core/NumberReplacer" and m.occurrence % 2 == 1
        if in_annotation or minus_twin:
            skipped.append(item.job_id)
    if skipped:
        db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                    output="tools/mutation.py: annotation or -1 twin"))
    return len(skipped)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env={**os.environ, **TEST_ENV}, **kw)


def coverage_map(cfg: dict, module: str) -> float:
    """Run the module's test selection once under coverage with one context per test, and keep, for every line
    of the module, the tests that execute it ("" = executed at import). Returns the run's wall time."""
    name = session_name(module)
    cov_file = OUT / f"{name}.coverage"
    cov_file.unlink(missing_ok=True)
    args = [a for a in cfg["defaults"]["pytest-args"] if a != "-x"]
    cmd = [sys.executable, "-m", "pytest", "-p", "pytest_cov", f"--cov={Path(module).parent}", "--cov-context=test",
           "--cov-report=", *args, *cfg["modules"][module]["tests"]]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **TEST_ENV, "COVERAGE_FILE": str(cov_file)},
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{module}: the unmutated test selection fails, fix that first:\n{proc.stdout[-3000:]}")
    from coverage import CoverageData

    data = CoverageData(basename=str(cov_file))
    data.read()
    target = str((ROOT / module).resolve())
    lines: dict[int, list[str]] = {}
    for f in data.measured_files():
        if str(Path(f).resolve()) == target:
            for line, ctxs in data.contexts_by_lineno(f).items():
                lines[line] = sorted({c.rsplit("|", 1)[0] for c in ctxs})
    (OUT / f"{name}.lines.json").write_text(json.dumps(lines))
    (OUT / f"{name}.orig.py").write_text((ROOT / module).read_text())
    return wall


def statement_span(tree: ast.Module, line: int) -> tuple[int, int] | None:
    """Lines of the innermost statement containing `line` (None: at module level, e.g. a decorator)."""
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= line <= node.end_lineno:
            if best is None or node.end_lineno - node.lineno < best[1] - best[0]:
                best = (node.lineno, node.end_lineno)
    return best


def selected_tests(cfg: dict, module: str) -> list[str] | None:
    """The tests that execute the statement(s) this mutant changed: [] if none does, None for the whole selection
    (a change to code that runs at import, or no coverage map)."""
    name = session_name(module)
    orig_path, map_path = OUT / f"{name}.orig.py", OUT / f"{name}.lines.json"
    if not (orig_path.exists() and map_path.exists()):
        return None
    orig = orig_path.read_text()
    cover = {int(k): v for k, v in json.loads(map_path.read_text()).items()}
    changed = set()
    sm = difflib.SequenceMatcher(a=orig.splitlines(), b=(ROOT / module).read_text().splitlines(), autojunk=False)
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag != "equal":
            changed.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    if not changed:
        return None
    tree = ast.parse(orig)
    tests: set[str] = set()
    for line in changed:
        span = statement_span(tree, line)
        if span is None:
            return None
        for ln in range(span[0], span[1] + 1):
            tests.update(cover.get(ln, ()))
    if "" in tests:
        return None
    order = {t: i for i, t in enumerate(cfg["modules"][module]["tests"])}
    return sorted(tests, key=lambda t: (order.get(t.split("::")[0], len(order)), t))


def run_tests(module: str) -> int:
    """cosmic-ray's test command: run only the tests that reach the mutated statement."""
    cfg = load_config()
    tests = selected_tests(cfg, module)
    if tests == []:
        print(f"no test in the selection executes the mutated statement of {module}: survived")
        return 0
    cmd = test_command(cfg, module)
    if tests is not None:
        cmd = [*cmd[:-len(cfg["modules"][module]["tests"])], *tests]
    os.execve(cmd[0], cmd, {**os.environ, **TEST_ENV})


DEFERRED = "tools/mutation.py: deferred"
UNREACHED = "  [no test reaches it]"


def drop_results(db, drop) -> None:
    """Make the mutants whose result satisfies ``drop(job_id, result)`` pending again (cosmic-ray's WorkDB
    has no way to delete one result: clear and put the others back)."""
    items = list(db.work_items)
    kept = {job: res for job, res in db.results if not drop(job, res)}
    db.clear()
    db.add_work_items(items)
    for job, res in kept.items():
        db.set_result(job, res)


def prepare(cfg: dict, module: str, resume: bool, rerun: bool) -> tuple[Path, Path, float, set | None]:
    OUT.mkdir(exist_ok=True)
    db_path = OUT / f"{session_name(module)}.sqlite"
    orig = OUT / f"{session_name(module)}.orig.py"
    if orig.exists() and orig.read_text() != (ROOT / module).read_text():
        print(f"warning: {module} differs from its copy at the start of the last session; if that session was"
              f" killed, a mutant may still be in the file: check `git diff {module}`", flush=True)
    base = coverage_map(cfg, module)
    d = cfg["defaults"]
    cr_cfg = write_cr_config(cfg, module, max(d["timeout-min"], d["timeout-factor"] * base))
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome

    if rerun and db_path.exists():
        with use_db(str(db_path), WorkDB.Mode.open) as db:
            survivors = {item.job_id for item, res in db.completed_work_items
                         if res.test_outcome == TestOutcome.SURVIVED}
            drop_results(db, lambda job, res: job in survivors or res.output == DEFERRED)
        print(f"{module}: testing {len(survivors)} survivors again", flush=True)
        return cr_cfg, db_path, base, survivors
    elif resume and db_path.exists():
        with use_db(str(db_path), WorkDB.Mode.open) as db:
            drop_results(db, lambda job, res: res.output == DEFERRED)
    else:
        db_path.unlink(missing_ok=True)
        run([str(BIN / "cosmic-ray"), "init", str(cr_cfg), str(db_path)], check=True)
        run([str(BIN / "cr-filter-operators"), str(db_path), str(cr_cfg)], check=True)
        with use_db(str(db_path), WorkDB.Mode.open) as db:
            filter_unobservable(db, module)
    return cr_cfg, db_path, base, None


def execute(cr_cfg: Path, db_path: Path, first: set[str] | None = None) -> float:
    """cosmic-ray exec; with ``first`` (job ids) those run before every other pending mutant.

    cosmic-ray takes pending mutants in random order, so the mutants tested when a session is stopped are
    a uniform random sample; re-testing the last survivors first keeps it one (a sample that lost some of
    its survivors would overstate the score)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    t0 = time.perf_counter()
    deferred = []
    if first:
        with use_db(str(db_path), WorkDB.Mode.open) as db:
            deferred = [w.job_id for w in db.pending_work_items if w.job_id not in first]
            if deferred:
                db.set_multiple_results(deferred, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=DEFERRED))
    run([str(BIN / "cosmic-ray"), "exec", str(cr_cfg), str(db_path)], check=True)
    if deferred:
        with use_db(str(db_path), WorkDB.Mode.open) as db:
            drop_results(db, lambda job, res: res.output == DEFERRED)
        run([str(BIN / "cosmic-ray"), "exec", str(cr_cfg), str(db_path)], check=True)
    return time.perf_counter() - t0


def mutant_lines(diff: str) -> str:
    keep = [ln for ln in (diff or "").splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return " | ".join(ln.strip() for ln in keep)


def summarise(module: str, db_path: Path) -> dict:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    counts = {"killed": 0, "timeout": 0, "incompetent": 0, "survived": 0, "skipped": 0, "pending": 0}
    survivors = []
    with use_db(str(db_path), WorkDB.Mode.open) as db:
        counts["pending"] = len(db.pending_work_items)
        for item, res in db.completed_work_items:
            (m,) = item.mutations
            if res.output == DEFERRED:
                counts["pending"] += 1
            elif res.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                counts["skipped"] += 1
            elif res.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                unreached = (res.output or "").startswith("no test in the selection executes")
                text = mutant_lines(res.diff) + (UNREACHED if unreached else "")
                survivors.append((m.start_pos[0], m.start_pos[1], m.operator_name, m.occurrence,
                                  m.definition_name, text))
            elif res.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            elif "no tests ran" in (res.output or "") and "error" not in (res.output or "").lower():
                sys.exit(f"{module}: a mutant's test run did not run the tests (fix mutation.toml):\n{res.output}")
            elif res.output == "timeout":
                counts["timeout"] += 1
            else:
                counts["killed"] += 1
    tested = counts["killed"] + counts["timeout"] + counts["incompetent"] + counts["survived"]
    counts["tested"] = tested
    counts["score"] = (tested - counts["survived"]) / tested if tested else float("nan")
    open_, equivalent, stale = classify(sorted(survivors), load_equivalents(module))
    counts["equivalent"] = len(equivalent)
    return {"module": module, **counts, "survivors": open_, "equivalents": equivalent, "stale": stale}


def meets_target(r: dict) -> bool:
    return r["pending"] == 0 and r["score"] >= TARGET and not r["survivors"]


def load_equivalents(module: str, folder: Path | None = None) -> list[dict]:
    """The registered equivalent mutants of ``module`` (empty if it has no registry file)."""
    path = (folder or EQUIVALENTS) / f"{session_name(module)}.toml"
    if not path.exists():
        return []
    with open(path, "rb") as fh:
        entries = tomllib.load(fh).get("equivalent", [])
    for i, e in enumerate(entries):
        missing = EQUIVALENT_KEYS - e.keys()
        if missing or not str(e.get("why", "")).strip():
            sys.exit(f"{path.name}: entry {i + 1} needs {', '.join(sorted(missing)) or 'a reason (why)'}")
    return entries


def classify(survivors: list[tuple], entries: list[dict]) -> tuple[list[tuple], list[tuple], list[dict]]:
    """Split survivors (line, col, operator, occurrence, function, diff) into (unregistered, registered as
    equivalent) and return the registry entries that matched none (stale). Matching is on the operator and
    the diff text, so an entry survives a change of line numbers but not a change of the line."""
    def key(op: str, diff: str) -> tuple[str, str]:
        return op.removeprefix("core/"), diff.removesuffix(UNREACHED).strip()

    registry = {key(e["operator"], e["diff"]): e for e in entries}
    used: set[tuple[str, str]] = set()
    open_, equivalent = [], []
    for s in survivors:
        k = key(s[2], s[5])
        if k in registry:
            equivalent.append((*s, registry[k]["why"]))
            used.add(k)
        else:
            open_.append(s)
    stale = [e for k, e in registry.items() if k not in used]
    return open_, equivalent, stale


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (the score of a random sample of the mutants)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    mid, half = p + z * z / (2 * n), z * ((p * (1 - p) + z * z / (4 * n)) / n) ** 0.5
    return (mid - half) / (1 + z * z / n), (mid + half) / (1 + z * z / n)


def ci_text(r: dict) -> str:
    lo, hi = wilson(r["tested"] - r["survived"], r["tested"])
    return f"{lo:.1%}-{hi:.1%}"


def survivor_line(module: str, s: tuple) -> str:
    line, col, op, occ, fn, diff = s[:6]
    return f"{module}:{line}:{col} {op.removeprefix('core/')}#{occ} in {fn}: {diff}"


def table_rows(rows: list[dict], times: dict[str, tuple[float, float]]) -> list[list[str]]:
    out = []
    for r in rows:
        base, wall = times.get(r["module"], (float("nan"), float("nan")))
        note = f"random sample, {r['pending']} not tested; 95% CI {ci_text(r)}" if r["pending"] else ""
        out.append([r["module"], str(r["tested"]), str(r["killed"]), str(r["timeout"]), str(r["incompetent"]),
                    str(r["survived"]), str(r["equivalent"]), str(len(r["survivors"])), str(r["skipped"]),
                    f"{r['score']:.1%}", "yes" if meets_target(r) else "no", f"{base:.1f}", f"{wall:.0f}", note])
    return out


HEADER = ["module", "mutants", "killed", "timeout", "incomp", "survived", "equiv", "open", "skipped", "score",
          "target", "base s", "run s", ""]
LEGEND = (f"score = (killed + timeout + incompetent) / mutants tested; equiv = survivors registered as equivalent "
          f"(tools/mutation_equivalents), open = survivors not registered; target = score >= {TARGET:.0%} and no "
          f"open survivor; skipped = excluded operator, type annotation or -1 twin of a number mutant "
          f"(docs/testing.md)")


def report(rows: list[dict], times: dict[str, tuple[float, float]]) -> None:
    print("\nSurviving mutants not registered as equivalent (line:col operator#occurrence in function:"
          " - original | + mutant)")
    for r in rows:
        for s in r["survivors"]:
            print("  " + survivor_line(r["module"], s))
    for r in rows:
        for e in r["stale"]:
            print(f"  stale registry entry of {r['module']} (matches no survivor: killed now, or the line changed):"
                  f" {e['operator']} in {e['function']}: {e['diff']}")
    widths = [26, 8, 8, 8, 7, 9, 6, 5, 8, 8, 7, 8, 8, 0]
    fmt = lambda cells: "".join(c.ljust(w) if i == 0 else c.rjust(w) if w else f"  {c}" if c else ""
                                for i, (c, w) in enumerate(zip(cells, widths)))
    print("\n" + fmt(HEADER))
    for cells in table_rows(rows, times):
        print(fmt(cells))
    tot = {k: sum(r[k] for r in rows) for k in ("tested", "killed", "timeout", "incompetent", "survived",
                                                "equivalent", "skipped")}
    score = (tot["tested"] - tot["survived"]) / tot["tested"] if tot["tested"] else float("nan")
    open_n = sum(len(r["survivors"]) for r in rows)
    print(fmt(["overall", *(str(tot[k]) for k in ("tested", "killed", "timeout", "incompetent", "survived",
                                                  "equivalent")), str(open_n), str(tot["skipped"]),
               f"{score:.1%}", "", "", "", ""]))
    print(LEGEND)


def markdown(rows: list[dict], times: dict[str, tuple[float, float]]) -> str:
    """The survivor list as a document (docs/mutation_survivors.md): the table, the open survivors, and every
    registered equivalent with its reason."""
    md = ["# Surviving mutants of the last complete runs", "",
          "Written by `python tools/mutation.py --report --markdown docs/mutation_survivors.md` from the sessions"
          " in `.mutation/` and the registry `tools/mutation_equivalents/`. Format:"
          " `file:line:col operator#occurrence in function: - original | + mutant`;"
          " `[no test reaches it]` = no test of the module's selection executes the line.", "",
          "| " + " | ".join(h or "note" for h in HEADER) + " |", "|" + "---|" * len(HEADER)]
    md += ["| " + " | ".join([f"`{c[0]}`", *c[1:]]) + " |" for c in table_rows(rows, times)]
    md += ["", LEGEND, ""]
    open_ = [survivor_line(r["module"], s) for r in rows for s in r["survivors"]]
    md += ["## Survivors not registered as equivalent", ""]
    md += (["```", *open_, "```"] if open_ else ["None."]) + [""]
    md += ["## Registered equivalent mutants and why no test can kill them", ""]
    for r in rows:
        if r["equivalents"]:
            md += [f"### `{r['module']}` ({len(r['equivalents'])})", ""]
            md += [f"- `{survivor_line(r['module'], s)}`  \n  {s[6].strip()}" for s in r["equivalents"]]
            md += [""]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help="files from mutation.toml (default: all)")
    ap.add_argument("--report", action="store_true", help="print the last results, run nothing")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted session")
    ap.add_argument("--run-tests", metavar="MODULE", help=argparse.SUPPRESS)  # the test command cosmic-ray runs
    ap.add_argument("--rerun-survivors", action="store_true", help="test again the mutants that survived")
    ap.add_argument("--markdown", metavar="FILE", type=Path, help="also write the survivor list as Markdown")
    ap.add_argument("--check", action="store_true", help=f"exit 1 unless every module meets the target"
                                                         f" (score >= {TARGET:.0%}, every survivor registered)")
    args = ap.parse_args(argv)
    if args.run_tests:
        return run_tests(args.run_tests)
    cfg = load_config()
    modules = args.modules or list(cfg["modules"])
    unknown = [m for m in modules if m not in cfg["modules"]]
    if unknown:
        ap.error(f"not in mutation.toml [modules]: {', '.join(unknown)} (known: {', '.join(cfg['modules'])})")
    rows = []
    times_path = OUT / "times.json"
    times = {k: tuple(v) for k, v in json.loads(times_path.read_text()).items()} if times_path.exists() else {}
    for module in modules:
        db_path = OUT / f"{session_name(module)}.sqlite"
        if not args.report:
            cr_cfg, db_path, base, survivors = prepare(cfg, module, args.resume, args.rerun_survivors)
            print(f"{module}: unmutated selection {base:.1f} s; mutating ...", flush=True)
            times[module] = (base, execute(cr_cfg, db_path, survivors))
            times_path.write_text(json.dumps(times, indent=1))
        elif not db_path.exists():
            print(f"{module}: no session yet (run without --report)")
            continue
        rows.append(summarise(module, db_path))
    report(rows, times)
    if args.markdown:
        args.markdown.write_text(markdown(rows, times) + "\n")
    if args.check and not (rows and all(meets_target(r) for r in rows)):
        print("target not met: " + ", ".join(r["module"] for r in rows if not meets_target(r)) if rows
              else "target not met: no session")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
