"""The portfolio engines' wiring (ipledge.risk.portfolio), with recording stand-ins for dask's LocalCluster and Client.

No cluster is started: dask.distributed's LocalCluster, Client and as_completed are replaced by fakes that record
how they are called and run each submitted task at once. What is checked:

- the local cluster: 2 single-threaded worker processes by default, glibc told to keep freed memory (trim
  threshold 1 GiB, mmap threshold 32 MiB) and dask's profiler off while the workers start;
- the dask engine: its own cluster and client when given neither (closed afterwards), a client of the named
  scheduler, or the caller's client (left open); the posterior scattered to every worker once; every task
  submitted as impure (each must run, never be taken from a cache); the numbers equal the local engine's;
- run_portfolio: the local engine by default (no dask), no loss matrix unless asked, the progress callback
  called with 0 and after each task, a positive wall time no longer than the call, keyword-only options.
"""
from __future__ import annotations

import time
from types import SimpleNamespace as NS

import numpy as np
import pytest

from ipledge.risk import portfolio as pf
from risk_helpers import case, fixed_posterior

TRIM, MMAP, PROFILE = ("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_",
                       "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_",
                       "distributed.worker.profile.enabled")


@pytest.fixture(scope="module")
def post():
    return fixed_posterior()


@pytest.fixture(scope="module")
def small_book():
    pledges = [case("anaesthetic_injectable", applicant={"cash": 5e6, "annual_burn": 1.0e8}),
               case("oncology_antibody_phase2", applicant={"cash": 1.6e8})]
    return pf.Book(pledges, paths=1000, seed=5, chunk_paths=500, factors=pf.FactorModel())


@pytest.fixture(scope="module")
def local_run(small_book, post):
    return pf.run_portfolio(small_book, post, engine="local", keep_matrix=True, loans_per_task=1)


@pytest.fixture
def fake_dask(monkeypatch):
    import dask
    import dask.distributed as dd

    calls = []

    class Future:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

        def release(self):
            calls.append(("release",))

    class LocalCluster:
        def __init__(self, **kw):
            calls.append(("LocalCluster", kw, {k: dask.config.get(k, None) for k in (TRIM, MMAP, PROFILE)}))

        def close(self):
            calls.append(("close cluster", self))

    class Client:
        def __init__(self, address):
            calls.append(("Client", address))

        def scatter(self, data, **kw):
            calls.append(("scatter", data, kw))
            return Future(data)

        def submit(self, fn, *args, **kw):
            calls.append(("submit", fn, kw))
            return Future(fn(*[a.value if isinstance(a, Future) else a for a in args]))

        def close(self):
            calls.append(("close client", self))

    monkeypatch.setattr(dd, "LocalCluster", LocalCluster)
    monkeypatch.setattr(dd, "Client", Client)
    monkeypatch.setattr(dd, "as_completed", lambda futures: reversed(list(futures)))   # any order will do
    return NS(calls=calls, Client=Client, LocalCluster=LocalCluster)


def kinds(calls):
    return [c[0] for c in calls if c[0] != "release"]


def test_the_local_cluster_has_two_single_threaded_worker_processes_that_keep_freed_memory(fake_dask):
    pf.local_cluster()
    ((kind, kw, config),) = fake_dask.calls
    assert kind == "LocalCluster"
    want = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0"}
    assert kw == want, f"expected LocalCluster({want}), got {kw}"
    want = {TRIM: 1_073_741_824, MMAP: 33_554_432, PROFILE: False}    # 1 GiB, 32 MiB, no profiler
    assert config == want, f"dask config while the workers start: expected {want}, got {config}"
    pf.local_cluster(3, processes=False)
    assert fake_dask.calls[-1][1] == {**kw, "n_workers": 3, "processes": False}, fake_dask.calls[-1]


def test_the_dask_engine_starts_its_own_cluster_scatters_once_and_submits_impure_tasks(
        fake_dask, small_book, post, local_run):
    out = pf.run_portfolio(small_book, post, engine="dask", keep_matrix=True, loans_per_task=1)
    calls = fake_dask.calls
    n_tasks = 4                                                     # 2 path chunks x 2 loans
    assert kinds(calls) == ["LocalCluster", "Client", "scatter"] + ["submit"] * n_tasks \
        + ["close client", "close cluster"], kinds(calls)
    assert calls[0][1]["n_workers"] == 2 and calls[0][1]["processes"] is True, calls[0]
    assert isinstance(calls[1][1], fake_dask.LocalCluster), "the client of the cluster just started"
    assert calls[2][1] is post and calls[2][2] == {"broadcast": True}, calls[2]
    for c in calls[3:3 + n_tasks]:
        assert c[1] is pf.run_task and c[2] == {"pure": False}, c
    assert [c[0] for c in calls].count("release") == n_tasks
    assert np.array_equal(out["_loss"], local_run["_loss"]), "the dask engine runs the local engine's tasks"
    assert out["engine"] == "dask" and out["tasks"] == n_tasks


def test_the_dask_engine_connects_to_a_named_scheduler(fake_dask, small_book, post, local_run):
    out = pf.run_portfolio(small_book, post, engine="dask", scheduler="tcp://10.0.0.5:8786", keep_matrix=True)
    assert kinds(fake_dask.calls)[:2] == ["Client", "scatter"] and kinds(fake_dask.calls)[-1] == "close client", \
        kinds(fake_dask.calls)
    assert fake_dask.calls[0][1] == "tcp://10.0.0.5:8786", fake_dask.calls[0]
    assert np.array_equal(out["_loss"], local_run["_loss"])


def test_the_dask_engine_uses_the_callers_client_and_leaves_it_open(fake_dask, small_book, post, local_run):
    client = fake_dask.Client("tcp://callers")
    del fake_dask.calls[:]
    out = pf.run_portfolio(small_book, post, engine="dask", client=client, scheduler="tcp://other:1",
                           keep_matrix=True)
    assert kinds(fake_dask.calls) == ["scatter"] + ["submit"] * out["tasks"], kinds(fake_dask.calls)
    assert np.array_equal(out["_loss"], local_run["_loss"])


def test_run_portfolio_runs_locally_by_default_and_reports_its_progress(fake_dask, small_book, post, local_run):
    seen = []
    t0 = time.perf_counter()
    out = pf.run_portfolio(book=small_book, posterior=post, loans_per_task=1,
                           progress=lambda *a: seen.append(a))
    elapsed = time.perf_counter() - t0
    assert fake_dask.calls == [], f"the local engine must not touch dask: {fake_dask.calls}"
    assert out["engine"] == "local" and out["tasks"] == 4, (out["engine"], out["tasks"])
    want = [("tasks", k, 4) for k in range(5)]
    assert seen == want, f"expected progress calls {want}, got {seen}"
    assert "_loss" not in out, "the loss matrix is returned only when asked for"
    assert out["expected_loss"] == local_run["expected_loss"] and out["es_99"] == local_run["es_99"]
    assert 0 < out["wall_seconds"] <= elapsed, f"wall_seconds {out['wall_seconds']}, the call took {elapsed}"


def test_run_portfolio_takes_its_options_by_keyword_only(small_book, post):
    with pytest.raises(TypeError):
        pf.run_portfolio(small_book, post, "nowhere")
    with pytest.raises(ValueError, match="unknown engine 'nowhere'"):
        pf.run_portfolio(book=small_book, posterior=post, engine="nowhere")
