"""Speed of the portfolio engine (issue 6): local numpy vs dask.distributed on 2 workers.

``run_portfolio_bench(quick=False) -> dict``:

- a book of 1,000 pledges x 10,000 paths (quick: 1,000 x 2,000): wall time of the local engine and of
  dask on a 2-worker LocalCluster (processes, one thread each; cluster start-up included and also
  reported separately), their ratio ``dask_speedup`` (local / dask), and whether both engines gave the
  identical loss matrix (``engines_equal``);
- peak resident memory of each run (the driver process, and for dask the largest worker), measured
  in a fresh subprocess per run so runs do not inherit each other's peaks;
- CPU seconds of each run (driver; for dask also the workers' sum): on a shared machine the wall
  time includes waiting for a core, so CPU time shows what each engine costs;
- growth of the local wall time with book size 100 -> 1,000 -> 5,000 pledges (quick: 100 -> 500 ->
  1,000) and its log-log slope (1 = linear).

The book cycles the pledges of ``scenarios/books/example_book.yaml`` (every pledge gets its own seeds),
factors on. The machine is shared and has 2 cores: compare ratios, not absolute seconds.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

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


def _fresh(engine: str, n_loans: int, paths: int, workers: int = 2) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.portfolio_bench", "--one", engine, str(n_loans), str(paths),
           str(workers)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_portfolio_bench(quick: bool = False) -> dict:
    paths = 2000 if quick else 10_000
    sizes = (100, 500, 1000) if quick else (100, 1000, 5000)
    local = _fresh("local", 1000, paths)
    dask = _fresh("dask", 1000, paths)
    scaling = [local if n == 1000 else _fresh("local", n, paths) for n in sizes]
    ts = [s["wall_s"] for s in scaling]
    slope = math.log(ts[-1] / ts[0]) / math.log(sizes[-1] / sizes[0])
    return {
        "book_loans": 1000, "paths": paths,
        "local_wall_s": local["wall_s"],
        "dask_wall_s": dask["wall_s"],
        "dask_cluster_start_s": dask["cluster_start_s"],
        "dask_compute_s": dask["compute_s"],
        "dask_speedup": local["wall_s"] / dask["wall_s"],
        "dask_speedup_excl_startup": local["wall_s"] / dask["compute_s"],
        "engines_equal": local["loss_digest"] == dask["loss_digest"],
        "local_cpu_s": local["driver_cpu_s"],
        "dask_worker_cpu_s": dask["worker_cpu_s"],
        "dask_driver_cpu_s": dask["driver_cpu_s"],
        "load_average_1m_local_dask": [local["load_average_1m"], dask["load_average_1m"]],
        "local_peak_rss_mb": local["peak_rss_driver_mb"],
        "dask_driver_peak_rss_mb": dask["peak_rss_driver_mb"],
        "dask_worker_peak_rss_mb": dask["peak_rss_worker_mb"],
        "scaling_sizes": list(sizes),
        "scaling_wall_s": ts,
        "scaling_cpu_s": [s["driver_cpu_s"] for s in scaling],
        "scaling_peak_rss_mb": [s["peak_rss_driver_mb"] for s in scaling],
        "scaling_loglog_slope": slope,
        "local_s_per_loan_per_10k_paths": local["wall_s"] / 1000 * 10_000 / paths,
        "book_el_var_es": [local["expected_loss"], local["var_99"], local["es_99"]],
    }


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--one":
        engine, n, paths, workers = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(_one(engine, n, paths, workers)))
    else:
        print(json.dumps(run_portfolio_bench(quick="--quick" in sys.argv), indent=2))
