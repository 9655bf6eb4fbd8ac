"""The engine's heavy calls (assess, readiness, stress) in a small process pool per server worker.

Why (issue 15, tenant isolation): in one Python process a thread simulating holds the GIL, so a
light request of another tenant that lands on the same worker gets half a core at best and waits a
switch interval after each database round trip. In separate processes the operating system shares
the cores fairly, so with the per-tenant in-flight cap (ipledge.api.limits) one tenant's burst occupies at
most that many processes and the other tenants keep theirs.

``ipledge serve`` starts the pool in each worker (``IPLEDGE_ENGINE_PROCESSES`` per worker, default 2;
0 runs the engine in the request thread, as the in-process test clients do), plus one background
process at nice +10 for work that should yield the CPU: the public page, and a tenant that has just
been refused for exceeding its in-flight cap (ipledge.api.limits: it is bursting). On a busy machine the
other tenants' requests then preempt that work instead of sharing the cores with it. The pool's processes
come from a forkserver (never a fork of the threaded worker) and load the pipeline posterior once at
start; calls pass ``posterior=None`` so they use it instead of pickling it. A pool whose process
died is replaced and the call runs in the request thread.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger("ipledge.api")
DEFAULT_PROCESSES = 2

BACKGROUND_NICE = 10

_pool: ProcessPoolExecutor | None = None
_background: ProcessPoolExecutor | None = None
_size = 0
_lock = threading.Lock()


def _init_background() -> None:
    os.nice(BACKGROUND_NICE)
    _init()


def _init() -> None:
    from ipledge.risk.posterior import load_posterior
    from ipledge.risk.runtime import tune_allocator

    tune_allocator()
    load_posterior()  # cached in this process for every call
    import ipledge.risk.assess  # noqa: F401
    import ipledge.risk.readiness  # noqa: F401
    import ipledge.risk.stress  # noqa: F401


def _pid(_=None) -> int:
    return os.getpid()


def _new_pool(n: int, background: bool = False) -> ProcessPoolExecutor:
    import multiprocessing as mp

    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("forkserver"),
                               initializer=_init_background if background else _init)
    list(pool.map(_pid, range(n)))  # start (and warm) the processes now, not on the first request
    return pool


def start(n: int | None = None) -> None:
    """Start this worker's pool (idempotent); on failure the engine stays in the request threads."""
    global _pool, _background, _size
    n = int(os.environ.get("IPLEDGE_ENGINE_PROCESSES", DEFAULT_PROCESSES)) if n is None else n
    with _lock:
        if _pool is not None or n <= 0:
            return
        try:
            _pool, _size = _new_pool(n), n
            _background = _new_pool(1, background=True)
        except Exception:  # noqa: BLE001 - degrade, never refuse to serve
            log.exception("engine process pool not started; running the engine in request threads")
            _pool = _background = None


def stop() -> None:
    global _pool, _background
    with _lock:
        for pool in (_pool, _background):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        _pool = _background = None


def call(fn, *args, background: bool = False, **kwargs):
    """``fn(*args, **kwargs)`` in the pool (the background one if asked) when there is one, else here."""
    global _pool, _background
    pool = _background if background and _background is not None else _pool
    if pool is None:
        return fn(*args, **kwargs)
    try:
        return pool.submit(fn, *args, **kwargs).result()
    except BrokenProcessPool:
        log.error("engine process died; replacing the pool and running this call in the request thread")
        with _lock:
            if pool is _pool or pool is _background:
                pool.shutdown(wait=False, cancel_futures=True)
                try:
                    fresh = _new_pool(_size if pool is _pool else 1, background=pool is _background)
                except Exception:  # noqa: BLE001
                    fresh = None
                if pool is _pool:
                    _pool = fresh
                else:
                    _background = fresh
        return fn(*args, **kwargs)
