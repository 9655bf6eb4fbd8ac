"""`python -m benchmarks.run [--json] [--quick] [--only sim,http,portfolio]`: all speed figures in one run.

Each section reports medians of repeated runs and ratios measured in the same run, plus the core
count and load average: the machine has 2 cores and is shared, so absolute times move and ratios
are what to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

SECTIONS = ("sim", "http", "portfolio")


def run(only=SECTIONS, quick: bool = False) -> dict:
    out: dict = {"cpu_count": os.cpu_count(), "load_average_1m_start": os.getloadavg()[0]}
    if "sim" in only:
        from benchmarks.sim_bench import run_sim_bench

        out["sim"] = run_sim_bench(quick=quick)
    if "http" in only:
        from benchmarks.http_load import run_http_load

        out["http"] = run_http_load(duration_s=10 if quick else 30, concurrency=8)
    if "portfolio" in only:
        from benchmarks.portfolio_bench import run_portfolio_bench

        out["portfolio"] = run_portfolio_bench(quick=quick)
    out["load_average_1m_end"] = os.getloadavg()[0]
    return out


def _print_human(res: dict) -> None:
    print(f"cores: {res['cpu_count']}  load average (1 min): {res['load_average_1m_start']:.2f} -> "
          f"{res['load_average_1m_end']:.2f}")
    for section in SECTIONS:
        if section not in res:
            continue
        print(f"\n[{section}]")
        for k, v in res[section].items():
            if isinstance(v, (dict, list)):
                continue
            print(f"  {k:36s} {v:.4g}" if isinstance(v, float) else f"  {k:36s} {v}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma list of: " + ", ".join(SECTIONS))
    args = ap.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    bad = set(only) - set(SECTIONS)
    if bad:
        ap.error(f"unknown section(s): {', '.join(sorted(bad))}")
    res = run(only, args.quick)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print_human(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
