"""Issue 15 in-process: work budgets, concurrency caps, the page's budget, failed authentications,
dependency failures as 503, bad input as 4xx, security headers, idempotency of the parsed request,
the bounded job queue. SQLite and PostgreSQL where the database matters (``api_db_config``).

Each test names the finding of issue 15 it covers; each failed on the code before the fix.
"""
from __future__ import annotations

import json
import threading
import uuid

import pytest

from api_helpers import auth, pledge, problem

PATHS = 1000


def body(**changes) -> dict:
    return pledge(PATHS, **changes)


def _app(tmp_path, **config):
    from ipledge.api import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "RATELIMIT_STORAGE_URI": "memory://",
                       "IPLEDGE_RATE_LIMIT": "100000 per minute", "TESTING": True, **config})


def _retry_after(r) -> int:
    v = int(r.headers["Retry-After"])
    assert 1 <= v <= 3600, v
    return v


# --------------------------------------------------------------------------------------------
# finding 2: work has a price


def test_work_budget_counts_paths_not_requests(tmp_path):
    app = _app(tmp_path, IPLEDGE_WORK_LIMIT="2500 per minute")
    store = app.extensions["ipledge_store"]
    _, key = store.create_key("bank-w")
    c = app.test_client()
    statuses = [c.post("/v1/assessments", json=body(), headers=auth(key)).status_code for _ in range(2)]
    assert statuses == [201, 201], "2 x 1,000 paths fit in 2,500"
    r = c.post("/v1/assessments", json=body(), headers=auth(key))
    doc = problem(r, 429)
    assert doc["type"].endswith("work-budget-exceeded") and "path-runs" in doc["detail"], doc
    _retry_after(r)
    # the same request count at no simulation work still passes: it is work that is priced
    assert c.post("/v1/valuations", json=body(), headers=auth(key)).status_code == 200
    # readiness runs the engine READINESS_RUNS times: one request is priced above the whole budget
    doc = problem(c.post("/v1/readiness", json=body(), headers=auth(key)), 429)
    assert "more than the whole tenant budget" in doc["detail"], doc
    assert store.count("assessments") == 2
    store.dispose()


def test_work_budget_is_per_tenant_and_shared_by_workers(tmp_path, monkeypatch):
    """Default store (no Redis): two apps (two workers) draw on one budget per tenant, not per key."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    cfg = {"RATELIMIT_STORAGE_URI": None, "IPLEDGE_WORK_LIMIT": "2500 per minute"}
    w1, w2 = _app(tmp_path, **cfg), _app(tmp_path, **cfg)
    store = w1.extensions["ipledge_store"]
    _, key1 = store.create_key("bank-s")
    _, key2 = store.create_key("bank-s")  # a new key is not a new budget
    _, other = store.create_key("bank-t")
    c1, c2 = w1.test_client(), w2.test_client()
    assert c1.post("/v1/assessments", json=body(), headers=auth(key1)).status_code == 201
    assert c2.post("/v1/assessments", json=body(), headers=auth(key2)).status_code == 201
    problem(c1.post("/v1/assessments", json=body(), headers=auth(key2)), 429)
    assert c2.post("/v1/assessments", json=body(), headers=auth(other)).status_code == 201
    for w in (w1, w2):
        w.extensions["ipledge_store"].dispose()


def test_tenant_concurrency_cap_on_heavy_routes(tmp_path):
    app = _app(tmp_path, IPLEDGE_TENANT_CONCURRENCY=1)
    store = app.extensions["ipledge_store"]
    _, key = store.create_key("bank-c")
    _, other = store.create_key("bank-d")
    tenant_id = store.authenticate(key).tenant_id
    c = app.test_client()
    with app.app_context():
        from ipledge.api.limits import budgets

        with budgets().slot("tenant", str(tenant_id), 1):  # one heavy request of bank-c is running
            r = c.post("/v1/assessments", json=body(), headers=auth(key))
            doc = problem(r, 429)
            assert doc["type"].endswith("too-many-in-flight"), doc
            _retry_after(r)
            assert c.post("/v1/assessments", json=body(), headers=auth(other)).status_code == 201
            assert c.get("/v1/assessments", headers=auth(key)).status_code == 200, "light routes stay open"
    assert c.post("/v1/assessments", json=body(), headers=auth(key)).status_code == 201, "slot released"
    store.dispose()


def test_page_has_per_address_and_global_budgets_and_a_bounded_queue(tmp_path):
    from ipledge.api.limits import READINESS_RUNS

    one = PATHS * READINESS_RUNS
    app = _app(tmp_path, IPLEDGE_PAGE_WORK_LIMIT=f"{one} per minute",
               IPLEDGE_PAGE_GLOBAL_WORK_LIMIT=f"{3 * one} per minute", IPLEDGE_PAGE_CONCURRENCY=1,
               IPLEDGE_PAGE_QUEUE=0, IPLEDGE_PAGE_RATE_LIMIT="1000 per minute")
    c = app.test_client()
    post = lambda addr: c.post("/self-assessment", json=body(), environ_base={"REMOTE_ADDR": addr})  # noqa: E731
    with app.app_context():
        from ipledge.api.limits import budgets

        with budgets().slot("page", "all", 1):  # a page computation is running: no queue -> 503
            r = post("10.0.0.9")
            doc = problem(r, 503)
            assert doc["type"].endswith("queue-full"), doc
            _retry_after(r)
    assert post("10.0.0.1").status_code == 200
    r = post("10.0.0.1")
    assert problem(r, 429)["type"].endswith("work-budget-exceeded"), "per-address budget"
    assert post("10.0.0.2").status_code == 200
    assert post("10.0.0.3").status_code == 200
    r = post("10.0.0.4")
    doc = problem(r, 503)  # the service's page budget, not the address's: 503
    assert "budget of the page" in doc["detail"], doc
    _retry_after(r)
    app.extensions["ipledge_store"].dispose()


def test_page_queue_waits_then_runs(tmp_path):
    """With a queue, a request waits for the running one instead of failing."""
    import time

    app = _app(tmp_path, IPLEDGE_PAGE_CONCURRENCY=1, IPLEDGE_PAGE_QUEUE=1, IPLEDGE_PAGE_QUEUE_WAIT_S=10)
    c = app.test_client()
    with app.app_context():
        from ipledge.api.limits import budgets

        slot = budgets().slot("page", "all", 1)
        slot.__enter__()
        threading.Timer(0.5, slot.__exit__, args=(None, None, None)).start()
        t0 = time.monotonic()
        r = c.post("/self-assessment", json=body(), environ_base={"REMOTE_ADDR": "10.1.0.1"})
        assert r.status_code == 200, r.get_data(as_text=True)
        assert time.monotonic() - t0 >= 0.45, "it waited for the slot"
    app.extensions["ipledge_store"].dispose()


def test_failed_authentications_are_limited_per_address(tmp_path):
    app = _app(tmp_path, IPLEDGE_AUTH_FAIL_LIMIT="3 per minute")
    _, key = app.extensions["ipledge_store"].create_key("bank-f")
    c = app.test_client()
    bad = lambda addr: c.get("/v1/assessments", headers=auth("ipk_nope_nope"),  # noqa: E731
                             environ_base={"REMOTE_ADDR": addr})
    assert [bad("10.2.0.1").status_code for _ in range(3)] == [401, 401, 401]
    r = bad("10.2.0.1")
    assert problem(r, 429)["type"].endswith("too-many-failed-authentications")
    _retry_after(r)
    # the address is blocked even with a good key for the window; another address is not
    problem(c.get("/v1/assessments", headers=auth(key), environ_base={"REMOTE_ADDR": "10.2.0.1"}), 429)
    assert c.get("/v1/assessments", headers=auth(key), environ_base={"REMOTE_ADDR": "10.2.0.2"}).status_code == 200
    app.extensions["ipledge_store"].dispose()


# --------------------------------------------------------------------------------------------
# finding 5: dependency failures are 503 + Retry-After, never 500


def test_redis_down_at_start_and_per_request_is_503(tmp_path):
    app = _app(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")  # nothing listens on port 1
    _, key = app.extensions["ipledge_store"].create_key("bank-r")
    c = app.test_client()
    for method, path in [("get", "/v1/assessments"), ("post", "/v1/assessments"), ("post", "/self-assessment")]:
        r = getattr(c, method)(path, headers=auth(key), json=body() if method == "post" else None)
        doc = problem(r, 503)
        assert doc["type"].endswith("limit-store-unavailable"), (path, doc)
        _retry_after(r)
    assert c.get("/v1/health").status_code == 200, "liveness stays up"
    doc = problem(c.get("/v1/health/ready"), 503)
    assert doc["checks"]["redis"].startswith("unavailable") and doc["checks"]["database"] == "ok", doc
    app.extensions["ipledge_store"].dispose()


def test_ready_checks_database_and_model(tmp_path):
    app = _app(tmp_path, IPLEDGE_LOAD_MODEL=False)
    c = app.test_client()
    doc = problem(c.get("/v1/health/ready"), 503)
    assert doc["checks"] == {"database": "ok", "model": "not loaded"}, doc
    app.extensions["ipledge_store"].dispose()
    app = _app(tmp_path)
    r = app.test_client().get("/v1/health/ready")
    assert r.status_code == 200 and r.get_json() == {"status": "ready", "checks": {"database": "ok", "model": "ok"}}
    app.extensions["ipledge_store"].engine.dispose()
    # the database gone: not ready (SQLite: the file's directory removed)
    import shutil

    bad = _app(tmp_path / "gone", IPLEDGE_LOAD_MODEL=False)
    bad.extensions["ipledge_store"].engine.dispose()
    shutil.rmtree(tmp_path / "gone")
    bad.extensions["ipledge_store"].engine.pool.dispose()
    doc = problem(bad.test_client().get("/v1/health/ready"), 503)
    assert doc["checks"]["database"].startswith("unavailable"), doc


@pytest.mark.pg
def test_database_permission_denied_is_503(postgres_url, pg_schema, tmp_path):
    """A role that may read but not insert (a mis-granted deployment): 503 + Retry-After, not 500."""
    import sqlalchemy as sa

    from ipledge.api import create_app

    app = create_app({"DATABASE_URL": postgres_url, "IPLEDGE_DB_SCHEMA": pg_schema, "TESTING": True,
                      "RATELIMIT_STORAGE_URI": "memory://", "IPLEDGE_RATE_LIMIT": "100000 per minute"})
    store = app.extensions["ipledge_store"]
    _, key = store.create_key("bank-p")
    role = f"ipledge_test_ro_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} NOLOGIN"))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO {role}'))
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{pg_schema}" TO {role}'))
    try:
        def as_role(dbapi, _rec):
            dbapi.execute(f"SET ROLE {role}")
            dbapi.commit()  # SET outside the pool's transactions (a rollback would undo it)

        sa.event.listen(store.engine, "connect", as_role)
        store.engine.dispose()
        c = app.test_client()
        assert c.get("/v1/assessments", headers=auth(key)).status_code == 200  # reading is allowed
        r = c.post("/v1/assessments", json=body(), headers=auth(key))
        doc = problem(r, 503)
        assert doc["type"].endswith("database-unavailable"), doc
        _retry_after(r)
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{pg_schema}" FROM {role}'))
            conn.execute(sa.text(f'REVOKE ALL ON SCHEMA "{pg_schema}" FROM {role}'))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


# --------------------------------------------------------------------------------------------
# finding 6: every bad input a 4xx, nothing stored

def _counts(app) -> dict:
    store = app.extensions["ipledge_store"]
    return {t: store.count(t) for t in ("assessments", "audit_log", "idempotency_keys")}


BAD_TEXT = [
    ("applicant__name", "Acme\x00Bio", "applicant.name"),
    ("applicant__name", "Acme\x07Bio", "applicant.name"),
    ("applicant__name", "Acme\u202eoiB", "applicant.name"),
    ("product__name", "drug\x1b[31m", "product.name"),
    ("patents__0__id", "CN1\x00", "patents[0].id"),
    ("patents__0__id", "CN\x851", "patents[0].id"),
]


@pytest.mark.parametrize("path", ["/v1/assessments", "/v1/valuations", "/v1/readiness"])
@pytest.mark.parametrize("dotted, value, field", BAD_TEXT)
def test_control_characters_are_refused(api_app, api_client, api_key_factory, path, dotted, value, field):
    _, key = api_key_factory()
    before = _counts(api_app)
    doc = problem(api_client.post(path, json=body(**{dotted: value}), headers=auth(key)), 422)
    assert doc["errors"][0]["field"] == field and "control characters" in doc["errors"][0]["message"], doc
    assert _counts(api_app) == before


@pytest.mark.parametrize("path", ["/v1/assessments", "/v1/valuations", "/v1/readiness"])
@pytest.mark.parametrize("dotted, value, field", [
    ("as_of", "9999-12-31", "as_of"), ("as_of", "0001-01-01", "as_of"),
    ("patents__0__filing_date", "1900-01-01", "patents[0].filing_date"),
])
def test_dates_out_of_range_are_422(api_app, api_client, api_key_factory, path, dotted, value, field):
    _, key = api_key_factory()
    doc = problem(api_client.post(path, json=body(**{dotted: value}), headers=auth(key)), 422)
    assert doc["errors"][0]["field"] == field and "between 1985-01-01 and 2100-12-31" in doc["errors"][0]["message"]


def test_names_with_ordinary_unicode_are_accepted(api_client, api_key_factory):
    _, key = api_key_factory()
    r = api_client.post("/v1/valuations", json=body(applicant__name="恒瑞医药 (Jiangsu) — Ltd."), headers=auth(key))
    assert r.status_code == 200, r.get_data(as_text=True)


@pytest.mark.parametrize("limit", ["²", "①", "٣", "１", "1e1", " 5", "-1", "0", "101", "99999999999999999999"])
def test_limit_is_an_ascii_integer(api_client, api_key_factory, limit):
    _, key = api_key_factory()
    doc = problem(api_client.get("/v1/assessments", query_string={"limit": limit}, headers=auth(key)), 422)
    assert doc["errors"][0]["field"] == "limit"


def test_one_key_raced_with_two_bodies_never_500(api_app, api_key_factory):
    _, key = api_key_factory()
    before = api_app.extensions["ipledge_store"].count("assessments")
    bodies = [body(), body(loan__amount=12_345_678.0)]
    statuses: list[int] = []
    gate = threading.Barrier(12)

    def send(i):
        c = api_app.test_client()
        gate.wait()
        r = c.post("/v1/assessments", json=bodies[i % 2], headers=auth(key, **{"Idempotency-Key": "race-2"}))
        statuses.append(r.status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {201, 409, 422}, statuses
    assert api_app.extensions["ipledge_store"].count("assessments") - before == 1, statuses


def test_readiness_at_the_schema_maximum_is_answered(api_client, api_key_factory):
    from ipledge.valuation.schema import MONEY_MAX

    _, key = api_key_factory()
    b = body(product__peak_sales={"p10": MONEY_MAX, "p50": MONEY_MAX, "p90": MONEY_MAX})
    r = api_client.post("/v1/readiness", json=b, headers=auth(key))
    assert r.status_code == 200, r.get_data(as_text=True)[:400]


def test_valuations_refuse_scenarios_that_assessments_refuse(api_client, api_key_factory):
    _, key = api_key_factory()
    for path in ("/v1/valuations", "/v1/assessments", "/v1/readiness"):
        doc = problem(api_client.post(path, json=body(scenario="no_such_scenario"), headers=auth(key)), 422)
        assert doc["errors"][0]["field"] == "scenario", (path, doc)


@pytest.mark.parametrize("path", ["/", "/v1/docs"])
def test_html_routes_send_security_headers(api_client, path):
    r = api_client.get(path)
    assert r.status_code == 200 and r.mimetype == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "'unsafe-inline'" not in \
        csp.split("script-src", 1)[1].split(";", 1)[0], csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    html = r.get_data(as_text=True)
    if "<script>" in html or "<script nonce" in html:  # an inline script carries the CSP's nonce
        nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
        assert f'<script nonce="{nonce}">' in html


def test_request_id_generated_echoed_and_in_problems(api_client):
    r = api_client.get("/v1/assessments")
    rid = r.headers["X-Request-Id"]
    assert len(rid) >= 8 and problem(r, 401)["request_id"] == rid
    r = api_client.get("/v1/assessments", headers={"X-Request-Id": "bank-trace.42"})
    assert r.headers["X-Request-Id"] == "bank-trace.42" and r.get_json()["request_id"] == "bank-trace.42"
    r = api_client.get("/v1/health", headers={"X-Request-Id": "bad id\twith spaces"})
    assert r.headers["X-Request-Id"] != "bad id\twith spaces", "an unusable id is replaced"


# --------------------------------------------------------------------------------------------
# finding 7 (smaller): idempotency of the parsed request; bounded job queue


def test_idempotency_hashes_the_parsed_request(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    before = api_app.extensions["ipledge_store"].count("assessments")
    first = body(loan__amount=20000000.0)
    r1 = api_client.post("/v1/assessments", json=first, headers=auth(key, **{"Idempotency-Key": "int-float"}))
    assert r1.status_code == 201
    retry = json.loads(json.dumps(first).replace("20000000.0", "20000000"))
    assert retry["loan"]["amount"] == 20000000 and isinstance(retry["loan"]["amount"], int)
    retry["simulation"] = dict(reversed(list(retry["simulation"].items())))  # another key order too
    r2 = api_client.post("/v1/assessments", json=retry, headers=auth(key, **{"Idempotency-Key": "int-float"}))
    assert r2.status_code == 201 and r2.headers.get("Idempotent-Replayed") == "true", r2.get_data(as_text=True)
    assert r2.get_data() == r1.get_data()
    other = body(loan__amount=20000001.0)
    doc = problem(api_client.post("/v1/assessments", json=other, headers=auth(key, **{"Idempotency-Key": "int-float"})),
                  422)
    assert doc["type"].endswith("idempotency-key-reused")
    assert api_app.extensions["ipledge_store"].count("assessments") - before == 1


def test_portfolio_job_queue_is_bounded(api_app, api_client, api_key_factory, monkeypatch):
    import ipledge.api.routes.stress as stress_routes
    from risk_helpers import case

    monkeypatch.setattr(stress_routes, "_run_job", lambda *a, **k: None)  # jobs stay queued
    api_app.config["IPLEDGE_PORTFOLIO_QUEUE"] = 2
    _, key = api_key_factory()
    _, other = api_key_factory()
    book = {"pledges": [case("medical_consumable_utility").model_dump(mode="json")],
            "simulation": {"paths": PATHS, "seed": 1}}
    assert [api_client.post("/v1/portfolio/stress", json=book, headers=auth(key)).status_code
            for _ in range(2)] == [202, 202]
    r = api_client.post("/v1/portfolio/stress", json=book, headers=auth(key))
    assert problem(r, 429)["type"].endswith("job-queue-full")
    _retry_after(r)
    assert api_client.post("/v1/portfolio/stress", json=book, headers=auth(other)).status_code == 202
