"""HTTP load benchmark of the API (issues 5, 12, 15): ``ipledge serve`` (gunicorn master, 2 workers) on loopback.

Interleaved phases (issue 12): ``pairs`` (>= 15) pairs of a ``GET /v1/health`` phase and a
``POST /v1/assessments`` phase (the example pledge at 10,000 paths), ``phase_s`` seconds each at
``concurrency`` client threads (keep-alive connections), the order alternating (health first, then
assessment first, ...), on the same server. ``throughput_ratio_vs_health`` is the median of the
per-pair ratios (assessment rps / health rps), printed with its min and max; a load burst from the
machine's other users hits both phases of a pair. Errors (any non-2xx or transport error; target 0),
p50/p99 latency and rps are over all phases of a kind. The database is a fresh SQLite file in a
temporary directory, or with ``--pg URL`` a throw-away schema of that PostgreSQL. Request, work and
concurrency limits are lifted for the run (one key, as before), but every limit is still checked on
its shared store, so their cost is in the figures. The 1-minute load average before and after and the
core count are reported. Loopback only; loops are bounded by the deadline and by MAX_REQUESTS per phase.

    python -m benchmarks.http_load [phase_s] [concurrency] [--pg URL] [--pairs N]   (one JSON document)
"""
from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.pairs import MIN_PAIRS, load_average_1m, print_json, stdout_to_stderr, summary

PATHS = 10_000
MAX_REQUESTS = 1_000_000  # per phase, whatever the duration


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def _phase(port: int, method: str, path: str, body: bytes | None, headers: dict, duration_s: float,
           concurrency: int, expect: int) -> dict:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    error_samples: list[str] = []
    budget = threading.Semaphore(MAX_REQUESTS)
    start_gate = threading.Barrier(concurrency + 1)
    deadline_box: list[float] = []

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start_gate.wait()
        deadline = deadline_box[0]
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                dt = time.perf_counter() - t0
                if r.status != expect:
                    errors[i] += 1
                    if len(error_samples) < 5:
                        error_samples.append(f"{r.status} {data[:160]!r}")
                else:
                    latencies[i].append(dt)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            except (OSError, http.client.HTTPException) as e:
                errors[i] += 1
                if len(error_samples) < 5:
                    error_samples.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    t_start = time.monotonic()
    deadline_box.append(t_start + duration_s)
    start_gate.wait()
    for t in threads:
        t.join(timeout=duration_s + 180)
    elapsed = time.monotonic() - t_start
    lat = sorted(x for per in latencies for x in per)
    ok = len(lat)
    return _summary(lat, sum(errors), error_samples, elapsed)


def _summary(lat: list[float], errors: int, error_samples: list[str], elapsed: float) -> dict:
    lat = sorted(lat)
    ok = len(lat)
    return {
        "requests": ok + errors,
        "ok": ok,
        "errors": errors,
        "error_samples": error_samples[:5],
        "elapsed_s": round(elapsed, 2),
        "rps": round(ok / elapsed, 2) if elapsed > 0 else None,
        "p50_ms": round(_percentile(lat, 0.50) * 1000, 2) if lat else None,
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 2) if lat else None,
        "_latencies": lat,
    }


def _pooled(phases: list[dict]) -> dict:
    """One summary of several phases of the same request (latencies pooled, rps over the total time)."""
    lat = [x for ph in phases for x in ph["_latencies"]]
    out = _summary(lat, sum(ph["errors"] for ph in phases), [e for ph in phases for e in ph["error_samples"]],
                   sum(ph["elapsed_s"] for ph in phases))
    out.pop("_latencies")
    return out


def interleaved_phases(run_health, run_assess, pairs: int) -> dict:
    """``pairs`` pairs of (health, assessment) phases on the same server, the order alternating; the
    throughput ratio of each pair (assessment rps / health rps) and their median, min and max."""
    health, assess, ratios = [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            h, a = run_health(), run_assess()
        else:
            a = run_assess()
            h = run_health()
        health.append(h)
        assess.append(a)
        if a["rps"] and h["rps"]:
            ratios.append(a["rps"] / h["rps"])
    return {"health": health, "assess": assess, "ratios": ratios}


def _pg_schema(url: str, create: bool, name: str | None = None) -> str:
    import uuid

    import sqlalchemy as sa

    name = name or f"ipledge_load_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"' if create else f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    eng.dispose()
    return name


def run_http_load(phase_s: float = 2.0, concurrency: int = 8, pg_url: str | None = None,
                  pairs: int = MIN_PAIRS) -> dict:
    """Interleaved health / assessment phases against a fresh server; the figures of the module docstring."""
    import os

    from ipledge.api.examples import example_request
    from ipledge.api.serve import WORKERS, ServerProcess
    from ipledge.api.store import Store, database_url

    tmp = Path(tempfile.mkdtemp(prefix="ipledge-load-"))
    schema = None
    try:
        db = tmp / "load.db"
        env = {"IPLEDGE_DB": str(db), "DATABASE_URL": "", "REDIS_URL": "",
               "IPLEDGE_RATE_LIMIT": "100000000 per minute", "IPLEDGE_ACCESS_LOG": "",
               "IPLEDGE_WORK_LIMIT": "1000000000000 per minute", "IPLEDGE_TENANT_CONCURRENCY": str(concurrency),
               "IPLEDGE_LIMITS_DB": str(tmp / "limits.db"), "IPLEDGE_LOG_LEVEL": "warning"}
        server_url = None
        if pg_url:
            pg_url = database_url(pg_url)
            schema = _pg_schema(pg_url, create=True)
            # the schema in the URL (libpq options): master and workers of any version use it
            sep = "&" if "?" in pg_url else "?"
            server_url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"
            env.update(DATABASE_URL=server_url)
        store = Store(server_url or f"sqlite:///{db}")
        store.migrate()
        _, key = store.create_key("load-benchmark")
        store.dispose()
        body = json.dumps(example_request(paths=PATHS)).encode()
        post_headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        load_before = load_average_1m()
        with ServerProcess(env, log_path=str(tmp / "server.log")) as srv:
            # warm-up: both workers import and run the engine once before timing
            _phase(srv.port, "POST", "/v1/assessments", body, post_headers, 2.0, 2, 201)
            res = interleaved_phases(
                lambda: _phase(srv.port, "GET", "/v1/health", None, {}, phase_s, concurrency, 200),
                lambda: _phase(srv.port, "POST", "/v1/assessments", body, post_headers, phase_s, concurrency, 201),
                pairs)
        health, assess = _pooled(res["health"]), _pooled(res["assess"])
        ratio = summary(res["ratios"]) if res["ratios"] else None
        kind = os.environ.get("IPLEDGE_SERVER") or "waitress"
        backend = "PostgreSQL" if pg_url else "SQLite (WAL, synchronous=FULL)"
        return {
            "server": f"gunicorn, {WORKERS} workers ({kind}), loopback, {backend}",
            "cpu_count": os.cpu_count(),
            "load_average_1m": [load_before, load_average_1m()],
            "pairs": pairs,
            "duration_s_per_phase": phase_s,
            "concurrency": concurrency,
            "paths": PATHS,
            "errors": health["errors"] + assess["errors"],
            "assessments": assess,
            "health": health,
            "assessment_p50_ms": assess["p50_ms"],
            "assessment_p99_ms": assess["p99_ms"],
            "assessment_rps": assess["rps"],
            "health_rps": health["rps"],
            "throughput_ratio_vs_health": round(ratio["median"], 5) if ratio else None,
            "throughput_ratio_vs_health_min": round(ratio["min"], 5) if ratio else None,
            "throughput_ratio_vs_health_max": round(ratio["max"], 5) if ratio else None,
        }
    finally:
        if schema:
            _pg_schema(pg_url, create=False, name=schema)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.http_load")
    ap.add_argument("phase_s", nargs="?", type=float, default=2.0, help="seconds per phase (default 2)")
    ap.add_argument("concurrency", nargs="?", type=int, default=8, help="client threads (default 8)")
    ap.add_argument("--pg", default=None, metavar="URL", help="a PostgreSQL to run against (throw-away schema)")
    ap.add_argument("--pairs", type=int, default=MIN_PAIRS, help=f"health/assessment phase pairs (>= {MIN_PAIRS})")
    args = ap.parse_args(argv)
    if args.pairs < MIN_PAIRS:
        ap.error(f"--pairs must be at least {MIN_PAIRS}")
    with stdout_to_stderr() as out:             # the output is one JSON document
        print_json(run_http_load(args.phase_s, args.concurrency, args.pg, args.pairs), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
