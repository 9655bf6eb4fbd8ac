"""`python -m benchmarks.run [--json] [--quick] [--only sim,http,portfolio] [--pairs N]`: every speed figure.

Every ratio is measured as interleaved A/B pairs (:mod:`benchmarks.pairs`: at least 15 pairs, the order
alternating, median of the per-pair ratios with min and max), and every section reports the core
count and the 1-minute load average at its start and end: the machine is shared, so absolute times
move and ratios are what to compare. ``--json`` prints one JSON document and nothing else on stdout.
"""
from __future__ import annotations

import argparse
import sys

from benchmarks.pairs import MIN_PAIRS, machine, print_json, stdout_to_stderr

SECTIONS = ("sim", "http", "portfolio")


def run(only=SECTIONS, quick: bool = False, pairs: int | None = None) -> dict:
    start = machine()
    out: dict = {"cpu_count": start["cpu_count"], "load_average_1m_start": start["load_average_1m"]}
    if "sim" in only:
        from benchmarks.sim_bench import run_sim_bench

        out["sim"] = run_sim_bench(quick=quick, pairs=pairs)
    if "http" in only:
        from benchmarks.http_load import run_http_load

        out["http"] = run_http_load(phase_s=1.0 if quick else 2.0, concurrency=8, pairs=pairs or MIN_PAIRS)
    if "portfolio" in only:
        from benchmarks.portfolio_bench import run_portfolio_bench

        out["portfolio"] = run_portfolio_bench(quick=quick, pairs=pairs or MIN_PAIRS)
    out["load_average_1m_end"] = machine()["load_average_1m"]
    return out


def _print_human(res: dict) -> None:
    print(f"cores: {res['cpu_count']}  load average (1 min): {res['load_average_1m_start']} -> "
          f"{res['load_average_1m_end']}")
    for section in SECTIONS:
        if section not in res:
            continue
        print(f"\n[{section}]")
        for k, v in res[section].items():
            if isinstance(v, (dict, list)):
                continue
            print(f"  {k:44s} {v:.4g}" if isinstance(v, float) else f"  {k:44s} {v}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and shorter phases (still >= 15 pairs)")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma list of: " + ", ".join(SECTIONS))
    ap.add_argument("--pairs", type=int, default=None, help=f"pairs per ratio (at least {MIN_PAIRS})")
    args = ap.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    bad = set(only) - set(SECTIONS)
    if bad:
        ap.error(f"unknown section(s): {', '.join(sorted(bad))}")
    if args.pairs is not None and args.pairs < MIN_PAIRS:
        ap.error(f"--pairs must be at least {MIN_PAIRS}")
    if args.json:
        with stdout_to_stderr() as out:
            res = run(only, args.quick, args.pairs)
            print_json(res, out)
    else:
        _print_human(run(only, args.quick, args.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
