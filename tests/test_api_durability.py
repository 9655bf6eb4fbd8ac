"""Durability: the real server (gunicorn, 2 workers, SQLite in tmp) killed with SIGKILL during
concurrent POSTs; every assessment acknowledged with 201 is readable after a restart."""
from __future__ import annotations

import http.client
import json
import threading
import time

from ipledge.api.examples import example_request
from ipledge.api.serve import ServerProcess
from ipledge.api.store import Store

CLIENTS = 6
MIN_ACKED = 12


def _post_loop(port: int, key: str, acked: list, stop: threading.Event, errors: list, cut: list) -> None:
    body = json.dumps(example_request(paths=1000))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/v1/assessments", body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status == 201:
                acked.append(json.loads(data))
            else:
                errors.append((r.status, data[:200]))
        except (OSError, http.client.HTTPException):
            cut.append(1)  # server killed: this client's in-flight request was never acknowledged
            return
        finally:
            conn.close()


def test_acknowledged_assessments_survive_kill_9(tmp_path):
    db = tmp_path / "durable.db"
    env = {"IPLEDGE_DB": str(db), "DATABASE_URL": "", "IPLEDGE_RATE_LIMIT": "1000000 per minute",
           "IPLEDGE_ACCESS_LOG": "", "REDIS_URL": "", "IPLEDGE_TENANT_CONCURRENCY": "100"}
    store = Store(f"sqlite:///{db}")
    store.migrate()
    _, key = store.create_key("durability")
    store.dispose()

    server = ServerProcess(env, log_path=str(tmp_path / "server.log")).start()
    acked, errors, cut, stop = [], [], [], threading.Event()
    threads = [threading.Thread(target=_post_loop, args=(server.port, key, acked, stop, errors, cut), daemon=True)
               for _ in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < MIN_ACKED and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        server.kill()  # SIGKILL to master and workers while requests are in flight
    finally:
        stop.set()
        server.kill()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:3]
    assert cut, "the kill should interrupt requests in flight"
    log = (tmp_path / "server.log").read_text()
    assert len(acked) >= MIN_ACKED, log[-2000:]
    assert "curl -sS -X POST" in log and "keys create --tenant" in log  # run_server's ready-to-paste hint

    with ServerProcess(env, log_path=str(tmp_path / "server2.log")) as again:
        for doc in list(acked):
            conn = http.client.HTTPConnection("127.0.0.1", again.port, timeout=30)
            conn.request("GET", f"/v1/assessments/{doc['id']}", headers={"Authorization": f"Bearer {key}"})
            r = conn.getresponse()
            got = r.read()
            conn.close()
            assert r.status == 200, (doc["id"], got[:200])
            assert json.loads(got) == doc
    store = Store(f"sqlite:///{db}")
    assert store.count("assessments") >= len(acked)
    assert store.count("audit_log") == store.count("assessments")
    store.dispose()
