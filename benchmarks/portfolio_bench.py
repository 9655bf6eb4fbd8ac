"""Speed of the portfolio engine (issues 6, 12): local numpy vs dask.distributed on 2 workers.

``run_portfolio_bench(quick=False, pairs=15) -> dict``. Ratios are interleaved pairs (issue 12,
:mod:`benchmarks.pairs`), measured in one fresh process that keeps its 2-worker LocalCluster
(processes, one thread each) up between runs:

- ``dask_speedup_excl_startup``: local wall time / dask wall time of the same book (``pair_loans``
  pledges x ``paths``; 200 x 10,000, quick 200 x 2,000), one pair per (local, dask) run, the order
  alternating, median of >= 15 pair ratios with min and max; ``dask_speedup`` the same with the
  cluster's start-up (timed once, in the same process) added to every dask run; ``engines_equal``:
  both engines gave the identical loss matrix;
- ``scaling_loglog_slope``: log-log slope of the local wall time over book sizes 50 -> 200 -> 800
  pledges (quick 50 -> 100 -> 200) at 2,000 paths, in rounds (every size once per round, the order
  rotated), median of the per-round slopes (1 = linear) with min and max;
- one run each of the 1,000-pledge book (10,000 paths; quick 2,000) per engine in a fresh subprocess
  (no ratio): wall and CPU seconds (driver; for dask also the workers' sum) and peak resident memory
  (the driver, and for dask the largest worker), so runs do not inherit each other's peaks.

The book cycles the pledges of ``scenarios/books/example_book.yaml`` (every pledge gets its own seeds),
factors on. The machine is shared and has 2 cores: compare ratios, not absolute seconds; the core
count and the 1-minute load average at the start and end are reported.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.pairs import MIN_PAIRS, load_average_1m, print_json, stdout_to_stderr

BOOK = Path(__file__).resolve().parent.parent / "scenarios" / "books" / "example_book.yaml"


def make_book(n_loans: int, paths: int, seed: int = 7):
    from ipledge.risk.portfolio import load_book

    base = load_book(BOOK)
    pledges = [base.pledges[i % len(base.pledges)] for i in range(n_loans)]
    base.pledges, base.paths, base.seed = pledges, paths, seed
    base.chunk_paths = min(base.chunk_paths, paths)
    return base


def _cpu_seconds() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _one(engine: str, n_loans: int, paths: int, workers: int) -> dict:
    """Run once in this (fresh) process and report time and peak memory."""
    import numpy as np

    from ipledge.risk.portfolio import plan, run_portfolio
    from ipledge.risk.posterior import load_posterior

    posterior = load_posterior()
    book = make_book(n_loans, paths)
    plan(book)  # warm imports and the scorecards outside the timed region
    out: dict = {"engine": engine, "n_loans": n_loans, "paths": paths, "load_average_1m": os.getloadavg()[0]}
    if engine == "dask":
        from dask.distributed import Client

        from ipledge.risk.portfolio import local_cluster

        t0 = time.perf_counter()
        cluster = local_cluster(workers, processes=True)
        client = Client(cluster)
        out["cluster_start_s"] = time.perf_counter() - t0
        cpu0 = sum(client.run(_cpu_seconds).values())
        d0 = time.process_time()
        t1 = time.perf_counter()
        res = run_portfolio(book, posterior, engine="dask", client=client, keep_matrix=True)
        out["compute_s"] = time.perf_counter() - t1
        out["worker_cpu_s"] = sum(client.run(_cpu_seconds).values()) - cpu0
        out["driver_cpu_s"] = time.process_time() - d0
        from benchmarks.memory import peak_rss_mb

        worker_rss = client.run(peak_rss_mb)
        out["peak_rss_worker_mb"] = max(worker_rss.values())
        client.close()
        cluster.close()
        out["wall_s"] = out["cluster_start_s"] + out["compute_s"]
    else:
        d0 = time.process_time()
        t1 = time.perf_counter()
        res = run_portfolio(book, posterior, engine="local", keep_matrix=True)
        out["wall_s"] = out["compute_s"] = time.perf_counter() - t1
        out["driver_cpu_s"] = time.process_time() - d0
    from benchmarks.memory import peak_rss_mb

    out["peak_rss_driver_mb"] = peak_rss_mb()
    out["expected_loss"], out["var_99"], out["es_99"] = res["expected_loss"], res["var_99"], res["es_99"]
    loss = res["_loss"]
    out["loss_digest"] = f"{float(loss.sum()):.17g}/{float(np.square(loss).sum()):.17g}"
    return out


def _fresh_json(cmd: list[str]) -> dict:
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _fresh(engine: str, n_loans: int, paths: int, workers: int = 2) -> dict:
    return _fresh_json([sys.executable, "-m", "benchmarks.portfolio_bench", "--one", engine, str(n_loans),
                        str(paths), str(workers)])


def _pairs(n_loans: int, paths: int, workers: int, pairs: int, sizes: tuple, scaling_paths: int) -> dict:
    """Interleaved local / dask pairs and the scaling rounds, in this (fresh) process."""
    import numpy as np
    from dask.distributed import Client

    from benchmarks.pairs import rounds, summary
    from ipledge.risk.portfolio import local_cluster, plan, run_portfolio
    from ipledge.risk.posterior import load_posterior

    posterior = load_posterior()
    book = make_book(n_loans, paths)
    plan(book)
    t0 = time.perf_counter()
    cluster = local_cluster(workers, processes=True)
    client = Client(cluster)
    start_s = time.perf_counter() - t0
    out: dict = {"load_average_1m_start": load_average_1m(), "cluster_start_s": start_s}
    try:
        got = {}

        def local():
            got["local"] = run_portfolio(book, posterior, engine="local", keep_matrix=True)["_loss"]

        def dask():
            got["dask"] = run_portfolio(book, posterior, engine="dask", client=client, keep_matrix=True)["_loss"]

        rs = rounds([local, dask], pairs, warmup=1)
        out["engines_equal"] = bool(np.array_equal(got["local"], got["dask"]))
        excl = summary([r[0][0] / r[1][0] for r in rs])
        incl = summary([r[0][0] / (start_s + r[1][0]) for r in rs])
        out.update({"local_median_s": summary([r[0][0] for r in rs])["median"],
                    "dask_median_s": summary([r[1][0] for r in rs])["median"],
                    "dask_speedup_excl_startup": excl, "dask_speedup": incl})
    finally:
        client.close()
        cluster.close()
    books = [make_book(k, scaling_paths) for k in sizes]
    for bk in books:
        plan(bk)
    sc = rounds([lambda bk=bk: run_portfolio(bk, posterior, engine="local") for bk in books], pairs, warmup=1)
    logs = np.log(np.asarray(sizes, float))
    slopes = [float(np.polyfit(logs, np.log([t[0] for t in r]), 1)[0]) for r in sc]
    out["scaling_wall_s"] = [summary([r[j][0] for r in sc])["median"] for j in range(len(sizes))]
    out["scaling_cpu_s"] = [summary([r[j][1] for r in sc])["median"] for j in range(len(sizes))]
    out["scaling_loglog_slope"] = summary(slopes)
    out["load_average_1m_end"] = load_average_1m()
    return out


def run_portfolio_bench(quick: bool = False, pairs: int = MIN_PAIRS) -> dict:
    pairs = max(MIN_PAIRS, int(pairs))
    paths = 2000 if quick else 10_000
    pair_loans = 200
    sizes = (50, 100, 200) if quick else (50, 200, 800)
    load0 = load_average_1m()
    p = _fresh_json([sys.executable, "-m", "benchmarks.portfolio_bench", "--pairs-run", str(pair_loans), str(paths),
                     "2", str(pairs), ",".join(map(str, sizes)), "2000"])
    local = _fresh("local", 1000, paths)
    dask = _fresh("dask", 1000, paths)
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1m_start": load0,
        "pairs": pairs,
        "pair_loans": pair_loans, "paths": paths,
        "dask_speedup": p["dask_speedup"]["median"],
        "dask_speedup_min": p["dask_speedup"]["min"],
        "dask_speedup_max": p["dask_speedup"]["max"],
        "dask_speedup_excl_startup": p["dask_speedup_excl_startup"]["median"],
        "dask_speedup_excl_startup_min": p["dask_speedup_excl_startup"]["min"],
        "dask_speedup_excl_startup_max": p["dask_speedup_excl_startup"]["max"],
        "dask_cluster_start_s": p["cluster_start_s"],
        "pair_local_median_s": p["local_median_s"],
        "pair_dask_median_s": p["dask_median_s"],
        "engines_equal": p["engines_equal"] and local["loss_digest"] == dask["loss_digest"],
        "load_average_1m_pairs": [p["load_average_1m_start"], p["load_average_1m_end"]],
        "scaling_sizes": list(sizes),
        "scaling_paths": 2000,
        "scaling_wall_s": p["scaling_wall_s"],
        "scaling_cpu_s": p["scaling_cpu_s"],
        "scaling_loglog_slope": p["scaling_loglog_slope"]["median"],
        "scaling_loglog_slope_min": p["scaling_loglog_slope"]["min"],
        "scaling_loglog_slope_max": p["scaling_loglog_slope"]["max"],
        # one fresh-process run per engine of the 1,000-pledge book: absolute time, CPU and memory
        "book_loans": 1000,
        "local_wall_s": local["wall_s"],
        "dask_wall_s": dask["wall_s"],
        "dask_compute_s": dask["compute_s"],
        "local_cpu_s": local["driver_cpu_s"],
        "dask_worker_cpu_s": dask["worker_cpu_s"],
        "dask_driver_cpu_s": dask["driver_cpu_s"],
        "load_average_1m_local_dask": [local["load_average_1m"], dask["load_average_1m"]],
        "local_peak_rss_mb": local["peak_rss_driver_mb"],
        "dask_driver_peak_rss_mb": dask["peak_rss_driver_mb"],
        "dask_worker_peak_rss_mb": dask["peak_rss_worker_mb"],
        "local_s_per_loan_per_10k_paths": local["wall_s"] / 1000 * 10_000 / paths,
        "book_el_var_es": [local["expected_loss"], local["var_99"], local["es_99"]],
        "load_average_1m_end": load_average_1m(),
    }


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--one":
        engine, n, paths, workers = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
        print(json.dumps(_one(engine, n, paths, workers)))
    elif argv and argv[0] == "--pairs-run":
        n, paths, workers, pairs = int(argv[1]), int(argv[2]), int(argv[3]), int(argv[4])
        sizes, scaling_paths = tuple(int(x) for x in argv[5].split(",")), int(argv[6])
        print(json.dumps(_pairs(n, paths, workers, pairs, sizes, scaling_paths)))
    else:
        import argparse

        ap = argparse.ArgumentParser(prog="python -m benchmarks.portfolio_bench")
        ap.add_argument("--quick", action="store_true", help="2,000 paths and smaller books")
        ap.add_argument("--pairs", type=int, default=MIN_PAIRS, help=f"pairs per ratio (>= {MIN_PAIRS})")
        args = ap.parse_args(argv)
        if args.pairs < MIN_PAIRS:
            ap.error(f"--pairs must be at least {MIN_PAIRS}")
        with stdout_to_stderr() as out:              # the output is one JSON document
            print_json(run_portfolio_bench(args.quick, args.pairs), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
