"""Portfolio stress jobs stored in the database: any gunicorn worker answers a job's status.

Two ``create_app`` instances on the same database stand for the two workers of ``ipledge serve``:
the job is submitted to (and runs on) the first, and is read through the second. SQLite and
PostgreSQL through the conftest parametrisation of ``api_db_config``.
"""
from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from api_helpers import auth, isolated_store, problem
from risk_helpers import case

PATHS = 1000




def book(n: int = 2, seed: int = 5) -> dict:
    pledges = [case("medical_consumable_utility").model_dump(mode="json"),
               case("oncology_antibody_phase2").model_dump(mode="json")][:n]
    return {"pledges": pledges, "simulation": {"paths": PATHS, "seed": seed, "chunk_paths": 500}}


def counts(app) -> dict:
    store = app.extensions["ipledge_store"]
    return {t: store.count(t) for t in ("portfolio_jobs", "audit_log", "idempotency_keys")}


@pytest.fixture
def other_worker(api_db_config):
    """A second app on the same database (the other gunicorn worker); no model needed to read jobs."""
    from ipledge.api import create_app

    app = create_app({**api_db_config, "IPLEDGE_RATE_LIMIT": "100000 per minute",
                      "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True, "IPLEDGE_LOAD_MODEL": False})
    yield app
    app.extensions["ipledge_store"].dispose()


def wait_finished(client, job_id: str, key: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while True:
        g = client.get(f"/v1/portfolio/stress/{job_id}", headers=auth(key))
        assert g.status_code == 200, g.get_data(as_text=True)
        state = g.get_json()
        if state["status"] in ("done", "failed") or time.time() > deadline:
            return state
        time.sleep(0.05)


def test_job_submitted_to_one_worker_is_read_through_another(api_app, api_client, api_key_factory, other_worker):
    tenant, key = api_key_factory()
    _, other_key = api_key_factory()
    before = counts(api_app)
    r = api_client.post("/v1/portfolio/stress", json=book(), headers=auth(key))
    assert r.status_code == 202, r.get_data(as_text=True)
    job = r.get_json()
    jid = job["job_id"]
    assert r.headers["Location"] == f"/v1/portfolio/stress/{jid}"
    assert job["status"] == "queued" and job["submitted_at"] and job["started_at"] is None, job
    assert job["n_loans"] == 2 and job["paths"] == PATHS and job["seed"] == 5 and job["result"] is None

    w2 = other_worker.test_client()
    # committed before the 202: the other worker sees the job at once
    first = w2.get(f"/v1/portfolio/stress/{jid}", headers=auth(key))
    assert first.status_code == 200 and first.get_json()["status"] in ("queued", "running", "done"), first.get_json()
    state = wait_finished(w2, jid, key)
    assert state["status"] == "done", state
    assert state["started_at"] and state["finished_at"] and state["error"] is None
    assert state["submitted_at"] <= state["started_at"] <= state["finished_at"], state
    res = state["result"]
    assert res["n_loans"] == 2 and res["paths"] == PATHS and res["seed"] == 5
    assert res["es_99"] >= res["var_99"] >= res["expected_loss"] >= 0, res
    assert res["model_version"] == job["model_version"]
    # the worker that accepted the job ran it; the other one only read the database
    assert "ipledge_portfolio_pool" in api_app.extensions and "ipledge_portfolio_pool" not in other_worker.extensions
    # both workers answer the same document
    assert api_client.get(f"/v1/portfolio/stress/{jid}", headers=auth(key)).get_json() == state

    # another tenant: 404 on either worker, same as a missing job
    for client in (api_client, w2):
        p = problem(client.get(f"/v1/portfolio/stress/{jid}", headers=auth(other_key)), 404)
        assert jid in p["detail"]
        problem(client.get("/v1/portfolio/stress/01JNOSUCHJOB0000000000000", headers=auth(key)), 404)
    assert w2.get(f"/v1/portfolio/stress/{jid}").status_code == 401

    # one job row and one append-only audit row for the submission
    after = counts(api_app)
    assert after["portfolio_jobs"] == before["portfolio_jobs"] + 1
    assert after["audit_log"] == before["audit_log"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"]
    audit = api_app.extensions["ipledge_store"].audit_records(tenant)
    assert len(audit) == 1, audit
    a = audit[0]
    assert a["action"] == "portfolio.submit" and a["job_id"] == jid and a["assessment_id"] is None
    assert a["key_id"] == key.split("_")[1] and len(a["input_hash"]) == 64
    assert a["model_version"] == job["model_version"] and a["seed"] == 5 and a["decision"] is None


def test_bad_book_stores_nothing(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    before = counts(api_app)
    p = problem(api_client.post("/v1/portfolio/stress", json={"pledges": []}, headers=auth(key)), 422)
    assert p["errors"][0]["field"] == "pledges", p
    bad = book()
    bad["pledges"][1]["loan"]["amount"] = -1
    p = problem(api_client.post("/v1/portfolio/stress", json=bad, headers={**auth(key), "Idempotency-Key": "bad-1"}),
                422)
    assert p["errors"][0]["field"] == "book" and "pledges[1]" in p["errors"][0]["message"], p
    p = problem(api_client.post("/v1/portfolio/stress", json={**book(), "simulation": {"paths": 10}},
                                headers=auth(key)), 422)
    assert "paths" in p["errors"][0]["message"], p
    problem(api_client.post("/v1/portfolio/stress", json={**book(), "extra": 1}, headers=auth(key)), 422)
    assert counts(api_app) == before


def test_idempotent_submit(api_app, api_client, api_key_factory, other_worker):
    _, key = api_key_factory()
    before = counts(api_app)
    h = {**auth(key), "Idempotency-Key": f"book-{uuid.uuid4().hex}"}
    a = api_client.post("/v1/portfolio/stress", json=book(1), headers=h)
    assert a.status_code == 202 and "Idempotent-Replayed" not in a.headers, a.get_data(as_text=True)
    # a retry, landing on the other worker: the first response again, no second job
    b = other_worker.test_client().post("/v1/portfolio/stress", json=book(1), headers=h)
    assert b.status_code == 202 and b.headers["Idempotent-Replayed"] == "true", b.get_data(as_text=True)
    assert b.get_json() == a.get_json() and b.headers["Location"] == a.headers["Location"]
    p = problem(api_client.post("/v1/portfolio/stress", json=book(1, seed=6), headers=h), 422)
    assert p["type"].endswith("idempotency-key-reused"), p
    after = counts(api_app)
    assert after["portfolio_jobs"] == before["portfolio_jobs"] + 1
    assert after["audit_log"] == before["audit_log"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    assert wait_finished(api_client, a.get_json()["job_id"], key)["status"] == "done"


def test_failed_job_is_recorded(api_client, api_key_factory, other_worker, monkeypatch):
    import ipledge.risk.portfolio

    def boom(*args, **kwargs):
        raise MemoryError("book too big for this worker")

    monkeypatch.setattr(ipledge.risk.portfolio, "run_portfolio", boom)
    _, key = api_key_factory()
    r = api_client.post("/v1/portfolio/stress", json=book(1), headers=auth(key))
    assert r.status_code == 202, r.get_data(as_text=True)
    state = wait_finished(other_worker.test_client(), r.get_json()["job_id"], key)
    assert state["status"] == "failed" and state["result"] is None, state
    assert state["error"] == "MemoryError: book too big for this worker" and state["finished_at"], state


def test_job_of_a_dead_worker_stays_running(api_app, api_client, api_key_factory):
    """No resurrection: a job started by a worker that then died keeps `running` and its `started_at`."""
    from ipledge.api.store import canonical_hash

    store = api_app.extensions["ipledge_store"]
    _, key = api_key_factory()
    principal = store.authenticate(key)
    stored = store.create_job(principal, request_hash=canonical_hash(book(1)), model_version="m", seed=5,
                              n_loans=1, paths=PATHS, engine="local")
    jid = stored.resource_id
    assert store.mark_running(jid) and not store.mark_running(jid)  # queued -> running once
    state = api_client.get(f"/v1/portfolio/stress/{jid}", headers=auth(key)).get_json()
    assert state["status"] == "running" and state["started_at"] and state["finished_at"] is None, state
    # the state machine: finished once, then final
    assert store.finish_job(jid, {"expected_loss": 1.0})
    assert not store.fail_job(jid, "late") and not store.finish_job(jid, {"expected_loss": 2.0})
    state = store.get_job(principal, jid)
    assert state["status"] == "done" and state["result"] == {"expected_loss": 1.0} and state["error"] is None


def test_jobs_table_is_not_append_only_but_audit_still_is(api_app, api_client, api_key_factory):
    from ipledge.api.store import canonical_hash

    store = api_app.extensions["ipledge_store"]
    _, key = api_key_factory()
    principal = store.authenticate(key)
    jid = store.create_job(principal, request_hash=canonical_hash({}), model_version="m", seed=1, n_loans=1,
                           paths=PATHS, engine="local").resource_id
    assert store.fail_job(jid, "x")
    with pytest.raises(sa.exc.DBAPIError):
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET seed = 2 WHERE job_id = :j"), {"j": jid})
    with pytest.raises(sa.exc.IntegrityError):  # status is one of queued|running|done|failed
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE portfolio_jobs SET status = 'lost' WHERE id = :j"), {"j": jid})


def test_migration_0002_down_and_up(api_db_config, tmp_path):
    """Down to 0001 (0002's table and audit_log.job_id gone, triggers kept) and up again."""
    with isolated_store(api_db_config, tmp_path / "mig.db") as store:
        store.migrate()  # head: the job's audit row needs the chain columns of 0003
        _, key = store.create_key("bank-mig")
        principal = store.authenticate(key)
        store.create_job(principal, request_hash="0" * 64, model_version="m", seed=1, n_loans=1, paths=PATHS,
                         engine="local")
        store.migrate("0001_initial", downgrade=True)
        assert store.revision() == "0001_initial"
        insp = sa.inspect(store.engine)
        assert "portfolio_jobs" not in insp.get_table_names()
        assert "job_id" not in {c["name"] for c in insp.get_columns("audit_log")}
        with pytest.raises(sa.exc.DBAPIError):  # audit_log is still append-only
            with store.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM audit_log"))
        store.migrate("0002_portfolio_jobs")
        assert store.revision() == "0002_portfolio_jobs"
        with store.engine.connect() as conn:  # (counted in SQL: the ORM model has 0003's columns)
            assert conn.execute(sa.text("SELECT count(*) FROM portfolio_jobs")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 1
