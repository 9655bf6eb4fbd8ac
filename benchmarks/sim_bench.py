"""Speed of the Monte Carlo engine (issues 4, 12): ratios from interleaved pairs (benchmarks.pairs).

Every ratio is the median of >= 15 per-pair ratios, A and B run back to back with the order
alternating, min and max printed with it, and the 1-minute load average at the start and end of each.

- ``sim_to_rng_floor_ratio``: one simulation (cash flows, development policy, collateral values,
  credit at the requested amount) over the time to draw its random-number floor (target <= 4);
- ``assess_to_rng_floor_ratio``: one full assessment as the API and the CLI run it
  (:func:`ipledge.risk.assess.assess`: scores, simulation, credit, LTV search, standard errors, the escalation
  rule, decision, report blocks) over the floor of every simulation it runs (target <= 8);
- ``ltv_search_to_single_sim_ratio``: the LTV search (all candidate amounts, common random numbers)
  over one simulation (target <= 3);
- ``paths_scaling_exponent``: log-log slope of simulation time over 1,000 ... 200,000 paths, one slope
  per round of interleaved sizes (every size once per round, the order rotated; a size repeated to
  last the same minimum time as a pair member), median of the 15 rounds (0.85-1.15);
- ``peak_rss_mb_200k_paths``: peak resident memory of a 200,000-path assessment in a fresh process (<= 2048);
- ``assess_10k_median_s``: median wall time of the full 10,000-path assessment (from its pairs).

**The floor** (:func:`floor_plan`) is the random numbers the assessment actually uses: the same
generators (:func:`ipledge.risk.simulate.rng_streams` from the request's seed, one PCG64 per component), the
same kinds of draw (uniform, standard normal, Beta with the same shape parameters, integers) and the
same number of each as the engine consumes for that case and path count, and nothing it draws only
to throw away. Per simulation of n paths with K remaining transitions, p usable patents and a loan
of Tm periods: the posterior index (n integers), n uniforms for the time left in the current stage
and, for each remaining transition, n duration normals and n success uniforms from that transition's
child streams (all only when K > 0); n peak normals (when peak sales are positive); n × p patent
uniforms; n erosion Betas; n VBP uniforms and n VBP-cut Betas (only when the VBP hazard is positive:
with none they change nothing); Tm × n financing uniforms. Creating the generators (the eight
component streams and the transitions' children) is part of the floor. For the assessment, one such set for every
path count the escalation rule runs (10,000, then 4x while the LTV standard error is too wide).
``tests/test_benchmarks.py`` checks the plan against the draws the engine makes.

Measured as deployed: the engine's entry points call :func:`ipledge.risk.runtime.tune_allocator` (freed arrays
kept for reuse instead of page-faulted in again), and so does this benchmark. The simulation ratio with
glibc's default allocator, measured in a fresh process, is reported next to it.

``python -m benchmarks.sim_bench [--json] [--quick] [--pairs N] [--cases a,b]``
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.pairs import (MIN_PAIRS, MIN_TIME_S, batched, load_average_1m, machine, pair_ratio, print_json, ratio_line, rounds,
                              repeats_for, stdout_to_stderr, summary)
from ipledge.risk.assess import assess
from ipledge.risk.credit import DebtSchedule, ltv_search, run_credit
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import STAGES, load_posterior
from ipledge.risk.simulate import (N_TRANSITIONS, PatentTable, beta_ab, lognormal_from_quantiles, rng_streams, simulate,
                           transition_streams)
from ipledge.valuation.cases import load_case
from ipledge.valuation.scorecard import score_request

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "scenarios" / "cases"
DEFAULT_CASES = ("oncology_antibody_phase2", "anaesthetic_injectable", "biologic_phase3_coowned")
HEAD_CASE = DEFAULT_CASES[0]
PAIRS = 21
TARGETS = {"sim_to_rng_floor_ratio": "<= 4", "assess_to_rng_floor_ratio": "<= 8",
           "ltv_search_to_single_sim_ratio": "<= 3", "paths_scaling_exponent": "0.85-1.15",
           "peak_rss_mb_200k_paths": "<= 2048"}


def floor_plan(req, posterior, n: int, params=DEFAULT_PARAMS) -> list[tuple[str, str, tuple]]:
    """The draws one simulation of ``n`` paths and its credit model use: (stream, method, args) in the
    engine's order (see the module docstring for what counts)."""
    prod = req.product
    K = N_TRANSITIONS - STAGES.index(prod.stage)
    plan: list[tuple[str, str, tuple]] = []
    if K > 0:
        s = N_TRANSITIONS - K
        plan += [("posterior", "integers", (0, posterior.n_draws, n)), ("duration", "random", (n,))]
        for j in range(s, N_TRANSITIONS):        # each transition's own child streams
            plan += [(f"duration[{j}]", "standard_normal", (n,)), (f"success[{j}]", "random", (n,))]
    if np.isfinite(lognormal_from_quantiles(prod.peak_sales.p10, prod.peak_sales.p50, prod.peak_sales.p90)[0]):
        plan.append(("peak", "standard_normal", (n,)))
    npat = PatentTable.from_request(req, params).base.size
    if npat:
        plan.append(("patents", "random", ((n, npat),)))
    plan.append(("erosion", "beta", (*beta_ab(params.erosion_mean[prod.modality], params.erosion_concentration), n)))
    if params.vbp_hazard[prod.vbp_exposure] > 0:
        plan += [("vbp", "random", (n,)),
                 ("vbp", "beta", (*beta_ab(params.vbp_cut_mean, params.vbp_cut_concentration), n))]
    Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
    plan.append(("credit", "random", ((Tm, n),)))
    return plan


def draw_plan(plan, seed: int) -> None:
    """Draw the numbers of ``plan`` from fresh generators of ``seed`` (one set per simulation)."""
    streams = rng_streams(seed)
    children: dict[str, dict[int, np.random.Generator]] = {}
    for name, method, args in plan:
        if name.endswith("]"):                   # "success[j]": transition j's child of the stream
            parent, j = name[:-1].split("[")
            if parent not in children:
                first = min(int(x[:-1].split("[")[1]) for x, _, _ in plan if x.startswith(parent + "["))
                children[parent] = dict(enumerate(transition_streams(streams[parent], first), first))
            gen = children[parent][int(j)]
        else:
            gen = streams[name]
        getattr(gen, method)(*args)


def escalation_paths(req, result: dict) -> list[int]:
    """Path counts of the simulations one assessment ran: the request's, then 4x up to the final one."""
    n, final = int(req.simulation.paths), int(result["recommendation"]["paths"])
    out = [n]
    while n < final:
        n = min(final, 4 * n)
        out.append(n)
    return out


def assess_floor_plan(req, posterior, result: dict) -> list[list[tuple[str, str, tuple]]]:
    return [floor_plan(req, posterior, n) for n in escalation_paths(req, result)]


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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(ROOT))
    return float(out.stdout.strip().splitlines()[-1])


def with_paths(req, n):
    d = req.model_dump(mode="json")
    d["simulation"]["paths"] = n
    return type(req).model_validate(d)


def _single(req, ipc, post, n):
    def single():
        sim = simulate(req, ipc, post, n=n)
        run_credit(sim, req, [req.loan.amount])
        return sim
    return single


def sim_and_floor(name: str, pairs: int = PAIRS, n: int = 10_000) -> dict:
    """sim_to_rng_floor_ratio of one case: simulation + credit vs its floor, interleaved pairs."""
    post = load_posterior()
    req = with_paths(load_case(CASES / f"{name}.yaml"), n)
    ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
    plan = floor_plan(req, post, n)
    return pair_ratio(_single(req, ipc, post, n), lambda: draw_plan(plan, req.simulation.seed), pairs)


def assess_and_floor(name: str, pairs: int = PAIRS, n: int = 10_000) -> dict:
    """assess_to_rng_floor_ratio of one case: the full assessment vs the floor of every simulation it runs."""
    post = load_posterior()
    req = with_paths(load_case(CASES / f"{name}.yaml"), n)
    result = assess(req, posterior=post)
    plans = assess_floor_plan(req, post, result)

    def floor():
        for plan in plans:
            draw_plan(plan, req.simulation.seed)

    res = pair_ratio(lambda: assess(req, posterior=post), floor, pairs)
    res["simulated_paths"] = escalation_paths(req, result)
    return res


def scaling(req, ipc, post, sizes, n_rounds: int) -> dict:
    """Simulation time over ``sizes`` paths in interleaved rounds; one log-log slope per round."""
    fns = [lambda k=k: simulate(req, ipc, post, n=k) for k in sizes]
    for fn in fns:
        fn()                                                     # warm-up
    reps = [repeats_for(fn, MIN_TIME_S) for fn in fns]           # each size runs >= MIN_TIME_S per round
    rs = [[(t[0] / m, t[1] / m) for t, m in zip(r, reps)]
          for r in rounds([batched(fn, m) for fn, m in zip(fns, reps)], n_rounds, warmup=0)]
    logs = np.log(sizes)
    slopes = [float(np.polyfit(logs, np.log([t[0] for t in r]), 1)[0]) for r in rs]
    ends = [math.log(r[-1][0] / r[0][0]) / math.log(sizes[-1] / sizes[0]) for r in rs]
    s, e = summary(slopes), summary(ends)
    return {"sizes": list(sizes), "rounds": n_rounds, "repeats": reps,
            "median_s": {str(k): statistics.median(r[j][0] for r in rs) for j, k in enumerate(sizes)},
            "paths_scaling_exponent": s["median"], "paths_scaling_exponent_min": s["min"],
            "paths_scaling_exponent_max": s["max"], "endpoint_exponent": e["median"],
            "endpoint_exponent_min": e["min"], "endpoint_exponent_max": e["max"]}


def bench_case(name: str, quick: bool = False, pairs: int = PAIRS, full: bool = True) -> dict:
    """Every figure for one case; ``full=False``: the two floor ratios only."""
    post = load_posterior()
    n = 10_000
    req = with_paths(load_case(CASES / f"{name}.yaml"), n)
    ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
    single = _single(req, ipc, post, n)
    row: dict = {"case": name, "load_average_1m_start": load_average_1m()}
    sim = sim_and_floor(name, pairs, n)
    asm = assess_and_floor(name, pairs, n)
    row.update({"sim_to_rng_floor_ratio": sim["ratio"], "assess_to_rng_floor_ratio": asm["ratio"],
                "sim_10k_s": sim["a_median_s"], "rng_floor_10k_s": sim["b_median_s"],
                "assess_10k_median_s": asm["a_median_s"], "assess_rng_floor_10k_s": asm["b_median_s"],
                "sim_vs_floor": sim, "assess_vs_floor": asm})
    if full:
        sim_res = single()
        ltv = pair_ratio(lambda: ltv_search(sim_res, req), single, pairs)
        sizes = [1_000, 5_000, 25_000, 100_000, 200_000] if not quick else [1_000, 20_000, 200_000]
        sc = scaling(req, ipc, post, sizes, MIN_PAIRS if not quick else 5)
        row.update({"ltv_search_to_single_sim_ratio": ltv["ratio"], "ltv_search_10k_s": ltv["a_median_s"],
                    "ltv_vs_sim": ltv, "scaling": sc, "paths_scaling_exponent": sc["paths_scaling_exponent"],
                    "endpoint_exponent": sc["endpoint_exponent"],
                    "peak_rss_mb_200k_paths": peak_rss_mb(CASES / f"{name}.yaml", 200_000)})
    row["load_average_1m_end"] = load_average_1m()
    return row


def default_allocator_ratio(name: str, pairs: int) -> dict:
    """sim_and_floor in a fresh process that keeps glibc's default allocator settings."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.sim_bench", "--default-allocator", name,
                          "--pairs", str(pairs)], capture_output=True, text=True, check=True, cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_sim_bench(cases=DEFAULT_CASES, quick: bool = False, pairs: int | None = None) -> dict:
    from ipledge.risk.runtime import tune_allocator

    pairs = max(MIN_PAIRS, pairs or (MIN_PAIRS if quick else PAIRS))
    start = machine()
    tuned = tune_allocator()
    rows = [bench_case(c, quick, pairs, full=(c == cases[0] or not quick)) for c in cases]
    head = rows[0]
    head["default_allocator"] = default_allocator_ratio(head["case"], pairs)
    return {
        "cpu_count": start["cpu_count"],
        "load_average_1m_start": start["load_average_1m"],
        "allocator_tuned": tuned,
        "pairs": pairs,
        "head_case": head["case"],
        "sim_to_rng_floor_ratio": head["sim_to_rng_floor_ratio"],
        "sim_to_rng_floor_ratio_min": head["sim_vs_floor"]["ratio_min"],
        "sim_to_rng_floor_ratio_max": head["sim_vs_floor"]["ratio_max"],
        "assess_to_rng_floor_ratio": head["assess_to_rng_floor_ratio"],
        "assess_to_rng_floor_ratio_min": head["assess_vs_floor"]["ratio_min"],
        "assess_to_rng_floor_ratio_max": head["assess_vs_floor"]["ratio_max"],
        "sim_to_rng_floor_ratio_default_allocator": head["default_allocator"]["ratio"],
        "ltv_search_to_single_sim_ratio": head["ltv_search_to_single_sim_ratio"],
        "paths_scaling_exponent": head["paths_scaling_exponent"],
        "peak_rss_mb_200k_paths": max(r["peak_rss_mb_200k_paths"] for r in rows if "peak_rss_mb_200k_paths" in r),
        "assess_10k_median_s": head["assess_10k_median_s"],
        "sim_10k_s": head["sim_10k_s"],
        "rng_floor_10k_s": head["rng_floor_10k_s"],
        "targets": TARGETS,
        "cases": rows,
        "load_average_1m_end": load_average_1m(),
    }


def print_human(res: dict) -> None:
    print(f"cores: {res['cpu_count']}  load average (1 min): {res['load_average_1m_start']} -> "
          f"{res['load_average_1m_end']}  pairs per ratio: {res['pairs']}")
    for row in res["cases"]:
        print(f"\n[{row['case']}]")
        print("  " + ratio_line("sim_to_rng_floor_ratio", row["sim_vs_floor"]))
        print("  " + ratio_line("assess_to_rng_floor_ratio", row["assess_vs_floor"]))
        if "ltv_vs_sim" in row:
            print("  " + ratio_line("ltv_search_to_single_sim_ratio", row["ltv_vs_sim"]))
            sc = row["scaling"]
            print(f"  {'paths_scaling_exponent':40s} {sc['paths_scaling_exponent']:8.3f}  "
                  f"[min {sc['paths_scaling_exponent_min']:.3f}, max {sc['paths_scaling_exponent_max']:.3f}] "
                  f"over {sc['rounds']} rounds")
            print(f"  {'peak_rss_mb_200k_paths':40s} {row['peak_rss_mb_200k_paths']:8.1f}")
        if "default_allocator" in row:
            print("  " + ratio_line("sim_to_rng_floor (default allocator)", row["default_allocator"]))
        print(f"  sim {1e3 * row['sim_10k_s']:.2f} ms, floor {1e3 * row['rng_floor_10k_s']:.2f} ms, "
              f"assessment {1e3 * row['assess_10k_median_s']:.2f} ms, its floor "
              f"{1e3 * row['assess_rng_floor_10k_s']:.2f} ms (medians)")
    print("\ntargets: " + ", ".join(f"{k} {v}" for k, v in res["targets"].items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sim_bench")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--quick", action="store_true", help="fewer sizes; full figures for the first case only")
    ap.add_argument("--pairs", type=int, default=None, help=f"pairs per ratio (at least {MIN_PAIRS})")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES), help="comma list of bundled case names")
    ap.add_argument("--default-allocator", metavar="CASE", default=None,
                    help="(internal) sim_to_rng_floor_ratio of CASE only, glibc's allocator untouched")
    args = ap.parse_args(argv)
    pairs = max(MIN_PAIRS, args.pairs or PAIRS)
    if args.default_allocator:
        print(json.dumps(sim_and_floor(args.default_allocator, pairs)))
        return 0
    cases = tuple(c.strip() for c in args.cases.split(",") if c.strip())
    if args.json:
        with stdout_to_stderr() as out:
            print_json(run_sim_bench(cases, args.quick, args.pairs), out)
    else:
        print_human(run_sim_bench(cases, args.quick, args.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
