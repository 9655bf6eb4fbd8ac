"""Interleaved timing: the one way every ratio in ``benchmarks/`` is measured.

On a shared machine the speed of one process moves with the load of the others within seconds. Blocks
of repeats (all of A, then all of B) put A and B in different load windows, so their ratio measures
the load as much as the code (a 4.8x ratio on a quiet machine read 89.6x under load). Here A and B
run in pairs, back to back, with the order alternating (A B, B A, A B, ...) so neither always gets
the warmer cache or the quieter second; each pair gives one ratio, and the figure is the median of the
pair ratios, printed with their min and max. A load burst hits both members of a pair and cancels.
A millisecond call is either preempted or not, so each member of a pair repeats its call for at least
``MIN_TIME_S`` (the count fixed once, before the pairs): long enough to get the machine's average
share of a core, short enough that both members of a pair see the same load.

:func:`rounds` generalises the pairs to several functions (every round runs each once, the order
rotated by one each round), for figures that compare more than two timings (scaling with paths).
"""
from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

MIN_PAIRS = 15
MIN_TIME_S = 0.2     # each member of a pair lasts at least this long (calls repeated)


def load_average_1m() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:                     # not available on this platform
        return None


def machine() -> dict:
    """Core count and 1-minute load average now."""
    return {"cpu_count": os.cpu_count(), "load_average_1m": load_average_1m()}


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call of ``fn``; CPU is this process's, all threads."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def rounds(fns: Sequence[Callable[[], object]], n_rounds: int, warmup: int = 1) -> list[list[tuple[float, float]]]:
    """``n_rounds`` rounds; in round i every function runs once, in the order rotated by i.

    Returns ``out[i][j]`` = (wall, CPU) seconds of function j in round i. ``warmup`` untimed rounds
    first (imports, caches, first page faults). The garbage collector runs between rounds, never
    inside a timed call."""
    m = len(fns)
    for _ in range(warmup):
        for fn in fns:
            fn()
    out = []
    gc_was = gc.isenabled()
    try:
        for i in range(n_rounds):
            gc.collect()
            gc.disable()
            row: list[tuple[float, float] | None] = [None] * m
            for k in range(m):
                j = (i + k) % m
                row[j] = _timed(fns[j])
            out.append(row)
            if gc_was:
                gc.enable()
    finally:
        if gc_was:
            gc.enable()
    return out


def summary(values: Sequence[float]) -> dict:
    """median, min, max of a list of figures."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def repeats_for(fn: Callable[[], object], min_time_s: float) -> int:
    """How many back-to-back calls of ``fn`` last at least ``min_time_s`` (from the fastest of three timed
    calls, the one least delayed by other processes; 1 without calling it when ``min_time_s`` <= 0)."""
    if min_time_s <= 0:
        return 1
    wall = min(_timed(fn)[0] for _ in range(3))
    return max(1, math.ceil(min_time_s / max(wall, 1e-9)))


def batched(fn: Callable[[], object], number: int) -> Callable[[], object]:
    if number == 1:
        return fn

    def run():
        for _ in range(number):
            fn()
    return run


def pair_ratio(a: Callable[[], object], b: Callable[[], object], pairs: int = MIN_PAIRS,
               warmup: int = 1, min_time_s: float = MIN_TIME_S) -> dict:
    """Time(a) / time(b) from ``pairs`` interleaved pairs (order alternating), with the load average.

    Each member of a pair is ``a`` (or ``b``) called back to back as many times as last ``min_time_s``
    (at least once; the count is fixed before the first pair and reported): a millisecond call is
    either preempted or not, a 0.2 s batch gets the machine's average share of a core, and both
    members of a pair get the same one. Times are per call.

    Returns ``ratio`` (median of the per-pair wall-time ratios), ``ratio_min``, ``ratio_max``,
    ``cpu_ratio`` (median of the per-pair CPU-time ratios: what the code costs, whatever the waiting
    for a core), ``a_median_s``, ``b_median_s`` (per call), ``pairs``, ``repeats`` (calls per member),
    ``load_average_1m_start`` / ``_end``."""
    if pairs < 1:
        raise ValueError("pairs must be >= 1")
    load0 = load_average_1m()
    for _ in range(warmup):
        a()
        b()
    na, nb = repeats_for(a, min_time_s), repeats_for(b, min_time_s)
    rs = rounds([batched(a, na), batched(b, nb)], pairs, warmup=0)
    ratios = [(r[0][0] / na) / (r[1][0] / nb) for r in rs]
    cpu = [(r[0][1] / na) / (r[1][1] / nb) for r in rs if r[1][1] > 0]
    s = summary(ratios)
    return {"ratio": s["median"], "ratio_min": s["min"], "ratio_max": s["max"],
            "cpu_ratio": statistics.median(cpu) if cpu else None,
            "a_median_s": statistics.median(r[0][0] / na for r in rs),
            "b_median_s": statistics.median(r[1][0] / nb for r in rs),
            "pairs": pairs, "repeats": [na, nb],
            "load_average_1m_start": load0, "load_average_1m_end": load_average_1m()}


def ratio_line(name: str, res: dict) -> str:
    """One printed line: median ratio [min, max] over n pairs, load average start -> end."""
    return (f"{name:40s} {res['ratio']:8.3f}  [min {res['ratio_min']:.3f}, max {res['ratio_max']:.3f}] "
            f"over {res['pairs']} pairs; load {res['load_average_1m_start']} -> {res['load_average_1m_end']}")


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything written to stdout (this process's and its children's, at the file-descriptor
    level) to stderr, so a ``--json`` run prints its one JSON document alone; yields the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with os.fdopen(os.dup(saved), "w", closefd=True) as real, contextlib.redirect_stdout(sys.stderr):
            yield real
            real.flush()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def print_json(doc: dict, out=None) -> None:
    """The one JSON document of a ``--json`` run."""
    print(json.dumps(doc, indent=2), file=out or sys.stdout)
