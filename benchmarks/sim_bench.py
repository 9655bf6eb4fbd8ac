"""Speed of the Monte Carlo engine (issue 4): ratios measured in one run, medians of repeats.

- sim_to_rng_floor_ratio: one simulation (cash flows, collateral values, credit at the requested
  amount) over the time to draw exactly the same random numbers with numpy (target <= 4);
- ltv_search_to_single_sim_ratio: the LTV search (all candidate amounts, common random numbers) over
  one simulation (target <= 3);
- paths_scaling_exponent: log-log slope of simulation time from 1,000 to 200,000 paths (0.85-1.15);
- peak_rss_mb_200k_paths: peak resident memory of a 200,000-path assessment in a fresh process (<= 2048);
- assess_10k_median_s: wall time of a full 10,000-path assessment (scores, simulation, credit, LTV, report).

Measured as deployed: the engine's entry points call :func:`ipledge.risk.runtime.tune_allocator` (freed arrays
kept for reuse instead of page-faulted in again), and so does this benchmark. The same ratio with
glibc's default allocator, measured in a fresh process, is reported next to it.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ipledge.risk.assess import assess
from ipledge.risk.credit import DebtSchedule, ltv_search, run_credit
from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import N_TRANSITIONS, PatentTable, beta_ab, rng_streams, simulate
from ipledge.valuation.cases import load_case
from ipledge.valuation.scorecard import score_request

CASES = Path(__file__).resolve().parent.parent / "scenarios" / "cases"
DEFAULT_CASES = ("oncology_antibody_phase2", "anaesthetic_injectable")


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up (imports, caches, page faults of first allocation)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def draw_same_random_numbers(req, posterior, n: int) -> None:
    """Exactly the draws simulate() and run_credit() make, and nothing else."""
    s = rng_streams(req.simulation.seed)
    prod = req.product
    s["posterior"].integers(0, posterior.n_draws, size=n)
    s["success"].random((n, N_TRANSITIONS))
    s["duration"].standard_normal((n, N_TRANSITIONS))
    s["duration"].random(n)
    s["peak"].standard_normal(n)
    npat = PatentTable.from_request(req, _params()).base.size
    if npat:
        s["patents"].random((n, npat))
    s["erosion"].beta(*beta_ab(_params().erosion_mean[prod.modality], _params().erosion_concentration), n)
    s["vbp"].random(n)
    s["vbp"].beta(*beta_ab(_params().vbp_cut_mean, _params().vbp_cut_concentration), n)
    Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
    s["credit"].random((n, max(Tm, 10)))


def _params():
    from ipledge.risk.params import DEFAULT_PARAMS
    return DEFAULT_PARAMS


def peak_rss_mb(case_path: Path, paths: int) -> float:
    """Peak RSS of a fresh process that runs one full assessment at ``paths``."""
    code = (
        "from benchmarks.memory import peak_rss_mb\n"
        "from ipledge.risk.runtime import tune_allocator; tune_allocator()  # as deployed\n"
        "from ipledge.valuation.cases import load_case\n"
        "from ipledge.risk.assess import assess\n"
        f"req = load_case({str(case_path)!r})\n"
        f"d = req.model_dump(mode='json'); d['simulation']['paths'] = {paths}\n"
        "assess(type(req).model_validate(d))\n"
        "print(peak_rss_mb())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parent.parent))
    return float(out.stdout.strip().splitlines()[-1])


def with_paths(req, n):
    d = req.model_dump(mode="json")
    d["simulation"]["paths"] = n
    return type(req).model_validate(d)


def bench_case(name: str, quick: bool = False) -> dict:
    post = load_posterior()
    req = load_case(CASES / f"{name}.yaml")
    ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
    reps = 3 if quick else 7
    n = 10_000

    def single():
        sim = simulate(req, ipc, post, n=n)
        run_credit(sim, req, [req.loan.amount])
        return sim

    t_single = median_time(single, reps)
    t_floor = median_time(lambda: draw_same_random_numbers(req, post, n), reps)
    sim = single()
    t_ltv = median_time(lambda: ltv_search(sim, req), reps)

    sizes = [1_000, 5_000, 25_000, 100_000, 200_000] if not quick else [1_000, 20_000, 200_000]
    times = [median_time(lambda k=k: simulate(req, ipc, post, n=k), 3 if k >= 100_000 else reps)
             for k in sizes]
    slope = float(np.polyfit(np.log(sizes), np.log(times), 1)[0])
    t_assess = median_time(lambda: assess(with_paths(req, n), posterior=post), reps)
    return {
        "case": name,
        "sim_10k_s": t_single,
        "rng_floor_10k_s": t_floor,
        "sim_to_rng_floor_ratio": t_single / t_floor,
        "ltv_search_10k_s": t_ltv,
        "ltv_search_to_single_sim_ratio": t_ltv / t_single,
        "scaling": {str(k): t for k, t in zip(sizes, times)},
        "paths_scaling_exponent": slope,
        "endpoint_exponent": math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0]),
        "assess_10k_median_s": t_assess,
        "peak_rss_mb_200k_paths": peak_rss_mb(CASES / f"{name}.yaml", 200_000),
    }


def single_and_floor(name: str, repeats: int = 15) -> dict:
    """Times of one simulation (+ credit) and of its random numbers alone, at 10,000 paths."""
    post = load_posterior()
    req = load_case(CASES / f"{name}.yaml")
    ipc = score_request(req)["competitive_contribution"]["ip_contribution"]

    def single():
        run_credit(simulate(req, ipc, post, n=10_000), req, [req.loan.amount])

    t_single = median_time(single, repeats)
    t_floor = median_time(lambda: draw_same_random_numbers(req, post, 10_000), repeats)
    return {"sim_10k_s": t_single, "rng_floor_10k_s": t_floor, "sim_to_rng_floor_ratio": t_single / t_floor}


def default_allocator_ratio(name: str) -> dict:
    """single_and_floor in a fresh process that keeps glibc's default allocator settings."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.sim_bench", "--default-allocator", name],
                         capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parent.parent))
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_sim_bench(cases=DEFAULT_CASES, quick: bool = False) -> dict:
    from ipledge.risk.runtime import tune_allocator

    tuned = tune_allocator()
    rows = [bench_case(c, quick) for c in cases]
    for row in rows:
        row["default_allocator"] = default_allocator_ratio(row["case"])
    head = rows[0]
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "allocator_tuned": tuned,
        "sim_to_rng_floor_ratio": head["sim_to_rng_floor_ratio"],
        "sim_to_rng_floor_ratio_default_allocator": head["default_allocator"]["sim_to_rng_floor_ratio"],
        "ltv_search_to_single_sim_ratio": head["ltv_search_to_single_sim_ratio"],
        "paths_scaling_exponent": head["paths_scaling_exponent"],
        "peak_rss_mb_200k_paths": max(r["peak_rss_mb_200k_paths"] for r in rows),
        "assess_10k_median_s": head["assess_10k_median_s"],
        "targets": {"sim_to_rng_floor_ratio": "<= 4", "ltv_search_to_single_sim_ratio": "<= 3",
                    "paths_scaling_exponent": "0.85-1.15", "peak_rss_mb_200k_paths": "<= 2048"},
        "cases": rows,
    }


if __name__ == "__main__":
    if "--default-allocator" in sys.argv:
        print(json.dumps(single_and_floor(sys.argv[-1])))
    else:
        print(json.dumps(run_sim_bench(quick="--quick" in sys.argv), indent=2))
