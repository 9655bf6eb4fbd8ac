"""Plumbing of the benchmarks (issue 12): interleaved pairs, the random-number floor, one JSON document.

No timing is asserted here: the performance targets are checked by ``python -m benchmarks.run``; these
tests check, cheaply and with scripted clocks, that the figures are computed the way the benchmark
docstrings say.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import benchmarks.pairs as pairs
from benchmarks.http_load import interleaved_phases

CASES = Path(__file__).resolve().parent.parent / "scenarios" / "cases"


@pytest.fixture(autouse=True)
def _no_full_collections(monkeypatch):
    """The helper collects garbage between rounds (untimed); a full collection of the test process's
    heap is slow and proves nothing here."""
    monkeypatch.setattr(pairs.gc, "collect", lambda: 0)


def _scripted_clock(monkeypatch, times: dict[str, list[float]]):
    """Replace the timer: the k-th timed call of the function named x takes times[x][k] seconds
    (wall and CPU); returns the list of names in the order they were timed."""
    order: list[str] = []
    counts = {k: 0 for k in times}

    def timed(fn):
        fn()
        name = fn.__name__
        order.append(name)
        t = times[name][counts[name]]
        counts[name] += 1
        return t, t

    monkeypatch.setattr(pairs, "_timed", timed)
    return order


def test_pairs_alternate_order_and_take_the_median_of_per_pair_ratios(monkeypatch):
    a_times = [2.0, 4.0, 3.0, 100.0, 2.0]      # a load burst in pair 4 hits both members
    b_times = [1.0, 1.0, 1.0, 50.0, 0.5]
    order = _scripted_clock(monkeypatch, {"a": a_times, "b": b_times})

    def a():
        pass

    def b():
        pass

    res = pairs.pair_ratio(a, b, pairs=5, warmup=0, min_time_s=0)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"], order
    ratios = [x / y for x, y in zip(a_times, b_times)]          # 2, 4, 3, 2, 4
    assert res["ratio"] == pytest.approx(float(np.median(ratios))), (res, ratios)
    assert (res["ratio_min"], res["ratio_max"]) == (2.0, 4.0), res
    assert res["pairs"] == 5 and res["repeats"] == [1, 1]
    # blocks would have said mean(a) / mean(b) = 22.2 / 10.7: the burst inside one block
    assert res["ratio"] == 3.0


def test_pairs_repeat_short_calls_and_report_per_call_times(monkeypatch):
    calls = {"a": 0, "b": 0}

    def a():
        calls["a"] += 1

    def b():
        calls["b"] += 1

    # calibration: a takes 0.01 s, b 0.05 s -> 10 and 2 calls for 0.1 s members
    monkeypatch.setattr(pairs, "repeats_for", lambda fn, t: {"a": 10, "b": 2}[fn.__name__])
    order = []

    def timed(fn):
        before = dict(calls)
        fn()
        n_a, n_b = calls["a"] - before["a"], calls["b"] - before["b"]
        order.append((n_a, n_b))
        return (0.01 * n_a + 0.05 * n_b,) * 2

    monkeypatch.setattr(pairs, "_timed", timed)
    res = pairs.pair_ratio(a, b, pairs=15, warmup=0)
    assert order[:2] == [(10, 0), (0, 2)] and order[2:4] == [(0, 2), (10, 0)], order[:4]
    assert res["repeats"] == [10, 2]
    assert res["ratio"] == pytest.approx(0.2) and res["a_median_s"] == pytest.approx(0.01)


def test_rounds_rotate_the_order():
    seen: list[str] = []
    fns = [lambda k=k: seen.append(k) for k in "xyz"]
    out = pairs.rounds(fns, 3, warmup=0)
    assert seen == list("xyz" "yzx" "zxy"), seen
    assert len(out) == 3 and all(len(r) == 3 for r in out)


def test_http_phases_alternate_and_ratio_is_per_pair():
    seen = []
    rps_h = iter([100.0, 200.0, 100.0])
    rps_a = iter([1.0, 1.0, 3.0])

    def health():
        seen.append("h")
        return {"rps": next(rps_h)}

    def assess():
        seen.append("a")
        return {"rps": next(rps_a)}

    res = interleaved_phases(health, assess, 3)
    assert seen == ["h", "a", "a", "h", "h", "a"], seen
    assert res["ratios"] == [0.01, 0.005, 0.03]


# ---------------------------------------------------------------------------------------------
# The floor: exactly the draws the engine uses


class _Recorder:
    """A generator that records (stream, method, distribution arguments, number of values) per call."""

    def __init__(self, name, gen, log):
        self._name, self._gen, self._log = name, gen, log

    def __getattr__(self, method):
        f = getattr(self._gen, method)
        if method == "bit_generator":
            return f

        def call(*args, **kwargs):
            out = f(*args, **kwargs)
            params = tuple(round(float(x), 12) for x in (args if "size" in kwargs else args[:-1]))
            self._log.append((self._name, method, params, int(np.size(out))))
            return out
        return call


def _engine_draws(monkeypatch, req, n):
    import ipledge.risk.simulate as simulate_mod
    from ipledge.risk.credit import run_credit
    from ipledge.risk.posterior import load_posterior
    from ipledge.valuation.scorecard import score_request

    log: list[tuple] = []
    real, real_children = simulate_mod.rng_streams, simulate_mod.transition_streams
    monkeypatch.setattr(simulate_mod, "rng_streams",
                        lambda seed: {k: _Recorder(k, g, log) for k, g in real(seed).items()})
    monkeypatch.setattr(simulate_mod, "transition_streams", lambda stream, first: [
        _Recorder(f"{stream._name}[{first + i}]", g, log) for i, g in enumerate(real_children(stream, first))])
    ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
    sim = simulate_mod.simulate(req, ipc, load_posterior(), n=n)
    run_credit(sim, req, [req.loan.amount])
    return log


def _plan_draws(plan):
    out = []
    for name, method, args in plan:
        size = args[-1]
        params = tuple(round(float(x), 12) for x in args[:-1])
        out.append((name, method, params, int(np.prod(size))))
    return out


@pytest.mark.parametrize("case", ["oncology_antibody_phase2", "anaesthetic_injectable",
                                  "small_molecule_phase1", "tcm_formulation"])
def test_floor_plan_is_the_draws_the_engine_uses(monkeypatch, case):
    """The floor draws exactly what the engine draws for one simulation and its credit model: the same
    streams (transition children included), methods, distribution parameters and number of values,
    in the same order (phase 2 and phase 1 cases, an approved product, a VBP-exposed one)."""
    from benchmarks.sim_bench import floor_plan, with_paths
    from ipledge.risk.posterior import load_posterior
    from ipledge.valuation.cases import load_case

    n = 1000
    req = with_paths(load_case(CASES / f"{case}.yaml"), n)
    engine = _engine_draws(monkeypatch, req, n)
    plan = _plan_draws(floor_plan(req, load_posterior(), n))
    assert engine == plan, f"{case}:\nengine draws {engine}\nfloor plan   {plan}"


def test_assess_floor_counts_every_escalation():
    from benchmarks.sim_bench import escalation_paths, with_paths
    from ipledge.valuation.cases import load_case

    req = with_paths(load_case(CASES / "oncology_antibody_phase2.yaml"), 10_000)
    assert escalation_paths(req, {"recommendation": {"paths": 10_000}}) == [10_000]
    assert escalation_paths(req, {"recommendation": {"paths": 160_000}}) == [10_000, 40_000, 160_000]
    assert escalation_paths(req, {"recommendation": {"paths": 200_000}}) == [10_000, 40_000, 160_000, 200_000]


# ---------------------------------------------------------------------------------------------
# --json: one document on stdout


def test_run_json_prints_one_document_and_nothing_else(monkeypatch, capfd):
    import subprocess
    import sys

    import benchmarks.run as run_mod

    def fake_run(only, quick, n_pairs):
        print("chatter from a library")                              # Python-level stdout
        subprocess.run([sys.executable, "-c", "print('chatter from a child')"], check=True)   # fd-level
        return {"cpu_count": 2, "load_average_1m_start": 0.5, "load_average_1m_end": 0.6,
                "sim": {"sim_to_rng_floor_ratio": 3.5}}

    monkeypatch.setattr(run_mod, "run", fake_run)
    assert run_mod.main(["--json", "--only", "sim"]) == 0
    out, err = capfd.readouterr()
    doc = json.loads(out)              # raises if anything but one JSON document is on stdout
    assert doc["sim"]["sim_to_rng_floor_ratio"] == 3.5
    assert "chatter from a library" in err and "chatter from a child" in err


def test_run_refuses_fewer_than_15_pairs(capsys):
    import benchmarks.run as run_mod

    with pytest.raises(SystemExit):
        run_mod.main(["--pairs", "7"])
    assert "at least 15" in capsys.readouterr().err
