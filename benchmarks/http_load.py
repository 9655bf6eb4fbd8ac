"""HTTP load benchmark of the API (issues 5, 15): ``ipledge serve`` (gunicorn master, 2 workers) on loopback.

Two phases of ``duration_s`` each at ``concurrency`` client threads (keep-alive connections):
``GET /v1/health`` and then ``POST /v1/assessments`` with the example pledge at 10,000 paths.
Reports errors (any non-2xx or transport error; target 0), p50/p99 latency, requests per second, and
the assessment throughput as a ratio to health on the same server. The database is a fresh SQLite
file in a temporary directory, or with ``--pg URL`` a throw-away schema of that PostgreSQL. Request,
work and concurrency limits are lifted for the run (one key, as before), but every limit is still
checked on its shared store, so their cost is in the figures. The 1-minute load average before and
after is reported: the machine may be shared. Loopback only; loops are bounded by the deadline and
by MAX_REQUESTS per phase.

    python -m benchmarks.http_load [duration_s] [concurrency] [--pg URL]
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
    return {
        "requests": ok + sum(errors),
        "ok": ok,
        "errors": sum(errors),
        "error_samples": error_samples,
        "elapsed_s": round(elapsed, 2),
        "rps": round(ok / elapsed, 2) if elapsed > 0 else None,
        "p50_ms": round(_percentile(lat, 0.50) * 1000, 2) if lat else None,
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 2) if lat else None,
    }


def _pg_schema(url: str, create: bool, name: str | None = None) -> str:
    import uuid

    import sqlalchemy as sa

    name = name or f"ipledge_load_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"' if create else f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    eng.dispose()
    return name


def run_http_load(duration_s: float = 30, concurrency: int = 8, pg_url: str | None = None) -> dict:
    """Run both phases against a fresh server; returns the figures (see module docstring)."""
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
        load_before = os.getloadavg()[0]
        with ServerProcess(env, log_path=str(tmp / "server.log")) as srv:
            # warm-up: both workers import and run the engine once before timing
            _phase(srv.port, "POST", "/v1/assessments", body, post_headers, 2.0, 2, 201)
            health = _phase(srv.port, "GET", "/v1/health", None, {}, duration_s, concurrency, 200)
            assess = _phase(srv.port, "POST", "/v1/assessments", body, post_headers, duration_s, concurrency, 201)
        ratio = (assess["rps"] / health["rps"]) if assess["rps"] and health["rps"] else None
        kind = os.environ.get("IPLEDGE_SERVER") or "waitress"
        backend = "PostgreSQL" if pg_url else "SQLite (WAL, synchronous=FULL)"
        return {
            "server": f"gunicorn, {WORKERS} workers ({kind}), loopback, {backend}",
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "duration_s_per_phase": duration_s,
            "concurrency": concurrency,
            "paths": PATHS,
            "errors": health["errors"] + assess["errors"],
            "assessments": assess,
            "health": health,
            "assessment_p50_ms": assess["p50_ms"],
            "assessment_p99_ms": assess["p99_ms"],
            "assessment_rps": assess["rps"],
            "health_rps": health["rps"],
            "throughput_ratio_vs_health": round(ratio, 4) if ratio is not None else None,
        }
    finally:
        if schema:
            _pg_schema(pg_url, create=False, name=schema)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    pg = None
    if "--pg" in args:
        i = args.index("--pg")
        pg = args[i + 1]
        del args[i:i + 2]
    d = float(args[0]) if len(args) > 0 else 30
    c = int(args[1]) if len(args) > 1 else 8
    print(json.dumps(run_http_load(d, c, pg), indent=2))
