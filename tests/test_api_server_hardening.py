"""Issue 15 against the real server (``ipledge serve``: gunicorn master, 2 waitress workers):
slow and idle clients (finding 1), the server's own errors as problem+json, logs without secrets
(finding 3), and one tenant's burst against another tenant's latency (finding 2).

One server for the module (start-up loads the posterior in each worker: ~5-10 s); each test
takes seconds. Each failed against the gthread server of before (IPLEDGE_SERVER=gthread).
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.request

import pytest

from ipledge.api.examples import example_request
from ipledge.api.serve import ServerProcess
from ipledge.api.store import Store

HALF_OPEN = 200
HEALTH_BUDGET_S = 1.0   # the bound for /v1/health with 200 half-open connections
READ_TIMEOUT_S = 2      # the server's idle/read timeout in this test (production: 10 s)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srv")
    db = tmp / "srv.db"
    url = f"sqlite:///{db}"
    if request.param == "postgresql":
        # the run's schema, named in the URL so the master (migrations) and the workers both use it
        pg, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    store = Store(url)
    store.migrate()
    keys = {t: store.create_key(f"{t}-{request.param}")[1] for t in ("bank-a", "bank-b", "bank-log")}
    store.dispose()
    env = {"IPLEDGE_DB": str(db), "DATABASE_URL": url if request.param == "postgresql" else "", "REDIS_URL": "",
           "IPLEDGE_LIMITS_DB": str(tmp / "limits.db"), "IPLEDGE_READ_TIMEOUT": str(READ_TIMEOUT_S),
           "IPLEDGE_RATE_LIMIT": "100000 per minute", "IPLEDGE_TENANT_CONCURRENCY": "1",
           "IPLEDGE_SERVER": "", "IPLEDGE_ACCESS_LOG": "-", "IPLEDGE_LOG_LEVEL": "info"}
    log = tmp / "server.log"
    srv = ServerProcess(env, log_path=str(log)).start(timeout=120)
    srv.keys, srv.log = keys, log
    yield srv
    srv.stop()


def _health(srv, timeout: float = 15.0) -> tuple[int | None, float]:
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(srv.base_url + "/v1/health", timeout=timeout) as r:
            return r.status, time.monotonic() - t0
    except OSError:
        return None, time.monotonic() - t0


def _raw(srv, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def _problem_of(raw: bytes, status: int) -> dict:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split(" ")[1] == str(status), lines[0]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/problem+json", headers
    doc = json.loads(body)
    assert doc["status"] == status and doc["title"], doc
    return doc


# --------------------------------------------------------------------------------------------
# finding 1: slow and idle clients


def test_200_half_open_connections_do_not_starve_health(server):
    socks = []
    try:
        for i in range(HALF_OPEN):
            s = socket.create_connection((server.host, server.port), timeout=5)
            # half a request: a request line and an unfinished header, then silence
            s.sendall(b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\nX-Slow: "
                      if i % 2 else b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        time.sleep(0.3)
        answers = [_health(server) for _ in range(5)]
        assert all(st == 200 for st, _ in answers), answers
        worst = max(t for _, t in answers)
        assert worst < HEALTH_BUDGET_S, f"/v1/health took {worst:.3f} s with {HALF_OPEN} half-open connections"
        # and the stalled connections are closed by the read timeout (not held forever)
        deadline = time.monotonic() + READ_TIMEOUT_S + 6
        closed = 0
        for s in socks:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                closed += s.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                closed += 0
        assert closed == HALF_OPEN, f"{closed}/{HALF_OPEN} closed within {READ_TIMEOUT_S + 6} s"
    finally:
        for s in socks:
            s.close()


def test_a_slow_body_does_not_hold_a_thread(server):
    """Headers complete, body trickling: the request reaches the app only once the body is in."""
    key = server.keys["bank-log"]
    body = json.dumps(example_request(paths=1000)).encode()
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.sendall(b"POST /v1/valuations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:10])
    st, took = _health(server)
    assert st == 200 and took < HEALTH_BUDGET_S
    s.sendall(body[10:])
    assert b" 200 " in s.recv(65536).split(b"\r\n", 1)[0]
    s.close()


@pytest.mark.parametrize("raw, status", [
    (b"GET /" + b"a" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 40_000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", 413),
])
def test_server_level_errors_are_problem_json(server, raw, status):
    _problem_of(_raw(server, raw), status)


# --------------------------------------------------------------------------------------------
# finding 3: no secrets or borrower data in logs; request id everywhere


def test_logs_hold_no_keys_no_bodies_and_carry_request_ids(server):
    key = server.keys["bank-log"]
    secret = key.split("_", 2)[2]
    basic = base64.b64encode(f"{key}:".encode()).decode()
    marker = "BORROWER-NAME-7f3c"
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    sent = []
    for method, url, headers, body in [
        ("GET", "/v1/assessments", {"Authorization": f"Basic {basic}"}, None),              # curl -u KEY:
        ("GET", f"/v1/assessments?api_key={key}&limit=1", {}, None),                         # ?api_key=KEY
        ("GET", f"/v1/assessments?token={secret}", {"Authorization": f"Bearer {key}x"}, None),
        ("POST", "/v1/assessments", {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
         json.dumps({**example_request(paths=1000), "applicant": {"name": marker, "cash": -1, "annual_burn": 1}})),
    ]:
        rid = f"trace-{len(sent)}"
        conn.request(method, url, body=body, headers={**headers, "X-Request-Id": rid})
        r = conn.getresponse()
        doc = json.loads(r.read())
        assert r.status in (401, 422), (url, r.status, doc)
        assert r.getheader("X-Request-Id") == rid and doc["request_id"] == rid
        sent.append(rid)
    conn.close()
    time.sleep(0.5)  # the access line is written after the response
    text = server.log.read_text(encoding="utf-8", errors="replace")
    assert secret not in text and key not in text and basic not in text, "an API key reached the log"
    assert marker not in text, "a request body reached the log"
    for rid in sent:
        lines = [line for line in text.splitlines() if f"request_id={rid} " in line]
        assert lines and all("ipledge.access" in line for line in lines), (rid, lines)
    assert "api_key=%5BREDACTED%5D" in text or "api_key=[REDACTED]" in text


def test_redaction_of_log_records():
    import logging

    from ipledge.api.requestlog import RedactFilter

    rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s %s", (
        "Authorization: Bearer ipk_abc123_SECRETSECRET", "postgresql://app:pa55word@db/x?api_key=K1&x=1"), None)
    RedactFilter().filter(rec)
    out = rec.getMessage()
    assert "SECRETSECRET" not in out and "pa55word" not in out and "K1" not in out, out
    assert "x=1" in out and "db/x" in out


# --------------------------------------------------------------------------------------------
# finding 2: one tenant's burst does not push another tenant's p99 over 2x its quiet value

B_REQUESTS = 20
B_PATHS, A_PATHS, A_CLIENTS = 10_000, 20_000, 8  # B at the default request size
P99_RATIO = 2.0  # the bound


def _p99(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def _post(conn, key, paths):
    conn.request("POST", "/v1/assessments", body=json.dumps(example_request(paths=paths)),
                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status, r.getheader("Retry-After")


def _b_latencies(server) -> list[float]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    out = []
    for _ in range(B_REQUESTS):
        t0 = time.perf_counter()
        assert _post(conn, server.keys["bank-b"], B_PATHS)[0] == 201
        out.append(time.perf_counter() - t0)
    conn.close()
    return out


def _burst_round(server) -> tuple[float, float, list[int], list[float], list[float]]:
    """One measurement: B quiet, B under A's burst, B quiet again -> (quiet p99, burst p99, A's statuses, ...)."""
    quiet_before = _b_latencies(server)
    stop, a_status = threading.Event(), []

    def tenant_a():
        conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
        while not stop.is_set():
            st, retry = _post(conn, server.keys["bank-a"], A_PATHS)
            a_status.append(st)
            if st == 429:
                stop.wait(min(1.0, float(retry or 1)))
        conn.close()

    threads = [threading.Thread(target=tenant_a, daemon=True) for _ in range(A_CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    try:
        burst = _b_latencies(server)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    quiet_after = _b_latencies(server)
    q = max(_p99(quiet_before), _p99(quiet_after))
    return q, _p99(burst), a_status, quiet_before + quiet_after, burst


def test_one_tenants_burst_does_not_starve_another(server):
    """Tenant A: 8 clients sending 20,000-path assessments as fast as their 429s allow (honouring
    Retry-After, at most 1 s); tenant B: one client, 10,000-path (default) assessments. With the
    per-tenant cap (1 here) B competes with at most one of A's requests, each in its own engine
    process (ipledge.api.compute), so B keeps at least half of what it had.

    The machine is shared (other test runs, 2 vCPUs): the quiet value is the larger p99 of a run
    before and a run after the burst, and a round over the bound is measured once more; both rounds
    are printed. Without the cap (today's main) both rounds fail: A's 8 requests run at once."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    for _ in range(4):  # warm every worker and engine process (2 x 2) at both sizes before timing
        _post(conn, server.keys["bank-a"], A_PATHS)
    conn.close()
    _b_latencies(server)
    rounds = []
    for _ in range(2):
        q, b, a_status, quiet, burst = _burst_round(server)
        rounds.append(f"quiet p99 {q * 1000:.0f} ms, burst p99 {b * 1000:.0f} ms ({b / q:.2f}x); "
                      f"A: {a_status.count(201)} x 201, {a_status.count(429)} x 429")
        print("tenant B:", rounds[-1])
        assert a_status.count(201) >= 1 and 429 in a_status, f"tenant A ran and was capped: {rounds}"
        assert set(a_status) <= {201, 429}, sorted(set(a_status))
        if b <= P99_RATIO * q:
            return
    pytest.fail(f"tenant B's p99 over {P99_RATIO}x its quiet value in both rounds: {rounds}; last quiet "
                f"{[round(x * 1000) for x in quiet]} ms, burst {[round(x * 1000) for x in burst]} ms")
