"""python -m tests.faults [--only NAME ...] [--tests PATH ...] [--json] [--keep]

For each fault of tests/faults/__init__.py: a fresh copy of the repository in a temporary directory,
the fault's replacements applied there (each must match exactly once, else the harness stops: a
refactor must not silently disarm a fault), the fast tests run with this interpreter, the failing
tests read from a JUnit report. The unmodified copy runs first: every test must pass there, or a
"catch" would mean nothing. Exit status 1 when the baseline fails or a fault is not caught.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.faults import FAULTS, FILES, TESTS, Fault

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info",
                                "node_modules", "build")


def fresh_copy(into: Path) -> Path:
    dst = into / "repo"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(ROOT, dst, ignore=IGNORE)
    return dst


def inject(repo: Path, fault: Fault) -> None:
    for key, old, new in fault.edits:
        path = repo / FILES[key]
        text = path.read_text(encoding="utf-8")
        count = text.count(old)
        if count != 1:
            raise SystemExit(f"fault {fault.name}: {FILES[key]} contains the text to replace {count} times "
                             f"(expected exactly 1): {old!r}")
        path.write_text(text.replace(old, new), encoding="utf-8")


def imports_from(repo: Path) -> str:
    """Where the copy's interpreter imports the engine from (must be the copy, not the editable install)."""
    out = subprocess.run([sys.executable, "-c", "import ipledge.risk.credit; print(ipledge.risk.credit.__file__)"], cwd=repo,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def run_tests(repo: Path, tests: list[str]) -> tuple[list[str], int, float]:
    """(failing test ids, tests run, seconds)."""
    report = repo / "faults-junit.xml"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider",
                    "-o", "addopts=", f"--junitxml={report}", *tests], cwd=repo, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    if not report.exists():
        return ["<pytest did not run>"], 0, seconds
    failed, ran = [], 0
    for tc in ET.parse(report).getroot().iter("testcase"):
        if tc.find("skipped") is not None:
            continue
        ran += 1
        if tc.find("failure") is not None or tc.find("error") is not None:
            module = tc.get("classname", "").rsplit(".", 1)[-1]
            failed.append(f"{module}::{tc.get('name')}")
    return failed, ran, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="fault names (default: all)")
    ap.add_argument("--tests", nargs="*", help=f"test paths (default: {' '.join(TESTS)})")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    args = ap.parse_args(argv)
    faults = [f for f in FAULTS if not args.only or f.name in args.only]
    unknown = set(args.only or ()) - {f.name for f in FAULTS}
    if unknown:
        ap.error(f"unknown fault(s): {', '.join(sorted(unknown))}")
    tests = list(args.tests or TESTS)
    tmp = Path(tempfile.mkdtemp(prefix="ipledge-faults-"))
    rows, ok = [], True
    try:
        repo = fresh_copy(tmp)
        where = imports_from(repo)
        if not where.startswith(str(repo)):
            raise SystemExit(f"the copy imports the engine from {where}, not from {repo}: faults would not apply")
        base_failed, base_ran, base_s = run_tests(repo, tests)
        if base_failed:
            ok = False
            print(f"baseline: {len(base_failed)} of {base_ran} tests fail without any fault: {base_failed}",
                  file=sys.stderr)
        for fault in faults:
            repo = fresh_copy(tmp)
            inject(repo, fault)
            failed, ran, secs = run_tests(repo, tests)
            rows.append({"fault": fault.name, "issue": fault.issue, "what": fault.what, "caught": bool(failed),
                         "failing_tests": failed, "tests_run": ran, "seconds": round(secs, 1)})
            ok &= bool(failed)
            if not args.json:
                print(f"  {fault.name}: {'caught by ' + str(len(failed)) if failed else 'NOT CAUGHT'} "
                      f"({secs:.0f} s)", file=sys.stderr)
    finally:
        if args.keep:
            print(f"copy kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    doc = {"baseline": {"tests_run": base_ran, "failing_tests": base_failed, "seconds": round(base_s, 1)},
           "faults": rows, "all_caught": all(r["caught"] for r in rows), "tests": tests}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"baseline: {base_ran} tests, {len(base_failed)} failing ({base_s:.0f} s)\n")
        print("| fault | issue 12 | caught | failing tests |")
        print("|---|---|---|---|")
        for r in rows:
            print(f"| `{r['fault']}` | {'yes' if r['issue'] else 'extra'} | {'yes' if r['caught'] else '**NO**'} "
                  f"| {', '.join('`' + t + '`' for t in r['failing_tests']) or '-'} |")
        print(f"\n{sum(r['caught'] for r in rows)} of {len(rows)} faults caught\n")
        seen: dict[str, list[str]] = {}
        for r in rows:
            for t in r["failing_tests"]:
                seen.setdefault(t, []).append(r["fault"])
        print("| test | seen failing against |")
        print("|---|---|")
        for t in sorted(seen):
            print(f"| `{t}` | {', '.join('`' + f + '`' for f in seen[t])} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
