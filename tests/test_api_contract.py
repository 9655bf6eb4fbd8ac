"""The /v1 contract (issue 5), run against SQLite and against PostgreSQL (``api_db_config`` fixture).

Assessments run the real engine (ipledge.risk.assess) with 1,000 paths.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from api_helpers import auth, isolated_store, pledge
from ipledge.api.responses import AssessmentList, AssessmentResponse, Problem, Scores

PATHS = 1000


def body(**changes) -> dict:
    return pledge(PATHS, **changes)



REPLAYED: list[str] = []   # ids of the assessments replayed after each test (issue 17)


@pytest.fixture(autouse=True)
def replay_every_stored_assessment(request):
    """After each test with an app, every assessment it stored replays identical (stored request, seed and
    model version -> the same document, hash for hash)."""
    if "api_app" not in request.fixturenames:
        yield
        return
    from ipledge.api.service_loans import replay
    from ipledge.api.store import new_id
    from ipledge.api.store_loans import LoanStore
    from ipledge.risk.posterior import load_posterior

    app = request.getfixturevalue("api_app")   # set up before this fixture's body: torn down after it
    marker = new_id()[:10]                     # ids sort by time: the ones made during this test
    yield
    ls = LoanStore(app.extensions["ipledge_store"])
    for row in ls.assessment_rows(after=marker):
        doc = replay(ls.assessment_row(None, row["id"]), load_posterior())
        assert doc["identical"] is True, (row["id"], doc.get("differences"), doc.get("message"))
        assert doc["replay_hash"] == doc["stored_hash"]
        REPLAYED.append(row["id"])


def counts(app) -> dict:
    store = app.extensions["ipledge_store"]
    return {t: store.count(t) for t in ("assessments", "audit_log", "idempotency_keys")}


def assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    Problem.model_validate(doc)
    assert doc["status"] == status
    for k in ("type", "title", "detail"):
        assert isinstance(doc[k], str) and doc[k]
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    return doc


# --------------------------------------------------------------------------------------------
# health, auth


def test_health_needs_no_key(api_client):
    r = api_client.get("/v1/health")
    assert r.status_code == 200
    assert r.get_json()["status"] == "ok"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic abc", "Bearer ipk_nope_nope", "Bearer garbage"])
def test_missing_or_bad_key_is_401(api_client, header):
    headers = {"Authorization": header} if header is not None else {}
    for method, path in [("get", "/v1/assessments"), ("get", "/v1/assessments/01ABC"), ("get", "/v1/model"),
                         ("post", "/v1/assessments"), ("post", "/v1/valuations")]:
        r = getattr(api_client, method)(path, headers=headers, json=body() if method == "post" else None)
        doc = assert_problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert doc["type"].endswith("unauthorized")


def test_revoked_key_is_401(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    assert api_client.get("/v1/assessments", headers=auth(key)).status_code == 200
    key_id = key.split("_")[1]
    assert api_app.extensions["ipledge_store"].revoke_key(key_id)
    assert_problem(api_client.get("/v1/assessments", headers=auth(key)), 401)
    # a forged key with a real key id but another secret is refused too
    _, other = api_key_factory()
    forged = "ipk_" + other.split("_")[1] + "_" + "A" * 43
    assert_problem(api_client.get("/v1/assessments", headers=auth(forged)), 401)


def test_keys_are_stored_hashed(api_app, api_key_factory):
    _, key = api_key_factory()
    store = api_app.extensions["ipledge_store"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, key_hash FROM api_keys")).all()
    assert rows and all(key not in (r.key_hash or "") and len(r.key_hash) == 64 for r in rows)
    assert key.split("_")[2] not in json.dumps([tuple(r) for r in rows])


# --------------------------------------------------------------------------------------------
# assessments: create, read, list, audit


def test_create_read_and_audit(api_app, api_client, api_key_factory):
    tenant, key = api_key_factory()
    before = counts(api_app)
    r = api_client.post("/v1/assessments", json=body(), headers=auth(key))
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    doc = r.get_json()
    AssessmentResponse.model_validate(doc)  # the §5 contract, field names included
    assert doc["recommendation"]["decision"] in ("approve", "approve_with_conditions", "decline")
    assert doc["seed"] == 7 and doc["schema_version"] == "v1" and doc["as_of"] == "2026-11-01"
    assert r.headers["Location"] == f"/v1/assessments/{doc['id']}"
    after = counts(api_app)
    assert after["assessments"] == before["assessments"] + 1
    assert after["audit_log"] == before["audit_log"] + 1

    g = api_client.get(f"/v1/assessments/{doc['id']}", headers=auth(key))
    assert g.status_code == 200
    assert g.get_json() == doc

    audit = [a for a in api_app.extensions["ipledge_store"].audit_records(tenant)]
    assert len(audit) == 1
    a = audit[0]
    assert a["assessment_id"] == doc["id"] and a["key_id"] == key.split("_")[1]
    assert a["model_version"] == doc["model_version"] and a["seed"] == doc["seed"]
    assert a["decision"] == doc["recommendation"]["decision"] and len(a["input_hash"]) == 64


def test_same_request_same_result_apart_from_id(api_client, api_key_factory):
    _, key = api_key_factory()
    a = api_client.post("/v1/assessments", json=body(), headers=auth(key)).get_json()
    b = api_client.post("/v1/assessments", json=body(), headers=auth(key)).get_json()
    assert a["id"] != b["id"]
    for k in ("id", "created_at"):
        a.pop(k), b.pop(k)
    assert a == b


def test_list_is_paginated_newest_first(api_client, api_key_factory):
    _, key = api_key_factory()
    ids = []
    for seed in range(5):
        r = api_client.post("/v1/assessments", json=body(simulation__seed=seed), headers=auth(key))
        assert r.status_code == 201
        ids.append(r.get_json()["id"])
    seen, cursor = [], None
    for _ in range(10):
        q = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = api_client.get("/v1/assessments", query_string=q, headers=auth(key))
        assert r.status_code == 200
        page = r.get_json()
        AssessmentList.model_validate(page)
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    item = api_client.get("/v1/assessments", query_string={"limit": 1}, headers=auth(key)).get_json()["items"][0]
    assert item["id"] == ids[-1] and item["applicant"] == "Example Bio Ltd" and item["seed"] == 4


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "not-a-cursor"},
                                   {"cursor": "AAAA"}])
def test_list_rejects_bad_paging(api_client, api_key_factory, query):
    _, key = api_key_factory()
    doc = assert_problem(api_client.get("/v1/assessments", query_string=query, headers=auth(key)), 422)
    assert doc["errors"][0]["field"] in ("limit", "cursor")


def test_tenant_isolation(api_app, api_client, api_key_factory):
    _, key_a = api_key_factory()
    _, key_a2 = api_key_factory()  # another tenant
    tenant_b, key_b = api_key_factory()
    _, key_b2 = api_key_factory(tenant_b)  # second key of tenant B
    doc = api_client.post("/v1/assessments", json=body(), headers=auth(key_b)).get_json()
    # another tenant gets the same 404 as for an id that does not exist (no existence oracle)
    other = api_client.get(f"/v1/assessments/{doc['id']}", headers=auth(key_a))
    absent = api_client.get("/v1/assessments/01ZZZZZZZZZZZZZZZZZZZZZZZZ", headers=auth(key_a))
    d1, d2 = assert_problem(other, 404), assert_problem(absent, 404)
    assert {k: v for k, v in d1.items() if k not in ("detail", "instance", "request_id")} == \
        {k: v for k, v in d2.items() if k not in ("detail", "instance", "request_id")}
    assert api_client.get("/v1/assessments", headers=auth(key_a)).get_json()["items"] == []
    assert api_client.get("/v1/assessments", headers=auth(key_a2)).get_json()["items"] == []
    # a second key of the same tenant sees the record
    assert api_client.get(f"/v1/assessments/{doc['id']}", headers=auth(key_b2)).status_code == 200
    assert [i["id"] for i in api_client.get("/v1/assessments", headers=auth(key_b2)).get_json()["items"]] == [doc["id"]]


# --------------------------------------------------------------------------------------------
# idempotency


def test_idempotency_replay_stores_nothing_new(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    h = auth(key, **{"Idempotency-Key": "loan-2026-0042"})
    first = api_client.post("/v1/assessments", json=body(), headers=h)
    assert first.status_code == 201
    before = counts(api_app)
    again = api_client.post("/v1/assessments", json=body(), headers=h)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_json() == first.get_json()
    assert counts(api_app) == before
    # same key, other body: refused, nothing stored
    other = api_client.post("/v1/assessments", json=body(loan__amount=3.0e7), headers=h)
    assert assert_problem(other, 422)["type"].endswith("idempotency-key-reused")
    assert counts(api_app) == before
    # keys are per tenant: another tenant may use the same key value
    _, key2 = api_key_factory()
    r = api_client.post("/v1/assessments", json=body(), headers=auth(key2, **{"Idempotency-Key": "loan-2026-0042"}))
    assert r.status_code == 201 and r.get_json()["id"] != first.get_json()["id"]


def test_idempotency_concurrent_same_key_stores_one(api_app, api_key_factory):
    from concurrent.futures import ThreadPoolExecutor

    _, key = api_key_factory()
    h = auth(key, **{"Idempotency-Key": "race-1"})
    before = counts(api_app)

    def post(_):
        r = api_app.test_client().post("/v1/assessments", json=body(), headers=h)
        return r.status_code, r.get_json()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(post, range(8)))
    assert {s for s, _ in results} == {201}
    assert len({d["id"] for _, d in results}) == 1
    after = counts(api_app)
    assert after["assessments"] == before["assessments"] + 1
    assert after["audit_log"] == before["audit_log"] + 1


def test_idempotency_on_valuations(api_client, api_key_factory):
    _, key = api_key_factory()
    h = auth(key, **{"Idempotency-Key": "v-1"})
    a = api_client.post("/v1/valuations", json=body(), headers=h)
    b = api_client.post("/v1/valuations", json=body(), headers=h)
    assert a.status_code == b.status_code == 200 and a.get_json() == b.get_json()
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert_problem(api_client.post("/v1/valuations", json=body(loan__amount=1e6), headers=h), 422)


def test_bad_idempotency_key_is_422(api_client, api_key_factory):
    _, key = api_key_factory()
    r = api_client.post("/v1/assessments", json=body(), headers=auth(key, **{"Idempotency-Key": "x" * 256}))
    assert assert_problem(r, 422)["errors"][0]["field"] == "Idempotency-Key"


# --------------------------------------------------------------------------------------------
# rejected requests: 4xx problem+json with field paths, and nothing stored

def _deep(n: int) -> str:
    return "[" * n + "]" * n


REJECTS = [
    # (name, raw body or dict, content type, status, field expected in errors or None)
    ("malformed", b'{"applicant": ', "application/json", 400, None),
    ("empty", b"", "application/json", 400, None),
    ("not-utf8", b'{"a": "\xff"}', "application/json", 400, None),
    ("deep-nesting", _deep(200).encode(), "application/json", 400, None),
    ("very-deep-nesting", _deep(100000).encode(), "application/json", 400, None),
    ("nan", json.dumps(body()).replace('"cash": 80000000.0', '"cash": NaN').encode(), "application/json", 400, None),
    ("infinity", json.dumps(body()).replace('"amount": 20000000.0', '"amount": Infinity').encode(),
     "application/json", 400, None),
    ("overflow", json.dumps(body()).replace('"cash": 80000000.0', '"cash": 1e400').encode(), "application/json",
     400, None),
    ("duplicate-key", b'{"as_of": "2026-11-01", "as_of": "2026-11-02"}', "application/json", 400, None),
    ("form", b"a=1", "application/x-www-form-urlencoded", 415, None),
    ("array", b"[]", "application/json", 422, "(body)"),
    ("wrong-type", body(loan__amount="20000000"), "application/json", 422, "loan.amount"),
    ("bool-as-number", body(applicant__cash=True), "application/json", 422, "applicant.cash"),
    ("unknown-enum", body(product__stage="phase4"), "application/json", 422, "product.stage"),
    ("extra-field", body(loan__currency="USD"), "application/json", 422, "loan.currency"),
    ("cross-field", body(patents__0__grant_date=None), "application/json", 422, "patents[0].grant_date"),
    ("paths-too-many", body(simulation__paths=200_001), "application/json", 422, "simulation.paths"),
    ("paths-too-few", body(simulation__paths=999), "application/json", 422, "simulation.paths"),
    ("bad-date", body(as_of="01/11/2026"), "application/json", 422, "as_of"),
    ("unknown-scenario", body(scenario="no_such_scenario_xyz"), "application/json", 422, "scenario"),
]


@pytest.mark.parametrize("name,payload,ctype,status,field", REJECTS, ids=[r[0] for r in REJECTS])
@pytest.mark.parametrize("path", ["/v1/assessments", "/v1/valuations"])
def test_rejected_request_stores_nothing(api_app, api_client, api_key_factory, name, payload, ctype, status,
                                         field, path):
    if name == "unknown-scenario" and path == "/v1/valuations":
        pytest.skip("valuations do not run scenarios")
    _, key = api_key_factory()
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    before = counts(api_app)
    r = api_client.post(path, data=data, content_type=ctype,
                        headers=auth(key, **{"Idempotency-Key": f"rej-{name}"}))
    doc = assert_problem(r, status)
    if field is not None:
        assert field in [e["field"] for e in doc["errors"]], doc
        assert all(set(e) >= {"field", "message"} for e in doc["errors"])
    assert counts(api_app) == before


def test_body_over_1mb_is_413_and_stores_nothing(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    big = body()
    big["applicant"]["name"] = "x" * (1024 * 1024)
    before = counts(api_app)
    doc = assert_problem(api_client.post("/v1/assessments", json=big, headers=auth(key)), 413)
    assert doc["type"].endswith("payload-too-large")
    assert counts(api_app) == before


def test_server_paths_bound_is_configurable(api_db_config):
    from ipledge.api import create_app

    app = create_app({**api_db_config, "IPLEDGE_MAX_PATHS": 5000})
    try:
        _, key = app.extensions["ipledge_store"].create_key("bound-test")
        r = app.test_client().post("/v1/assessments", json=body(simulation__paths=5001), headers=auth(key))
        doc = assert_problem(r, 422)
        assert doc["errors"] == [{"field": "simulation.paths", "message": "must be at most 5000 on this server",
                                  "type": "less_than_equal"}]
    finally:
        app.extensions["ipledge_store"].dispose()


def test_internal_error_is_problem_without_trace(api_app, api_client, api_key_factory, monkeypatch):
    import ipledge.risk.assess

    def boom(*a, **k):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(ipledge.risk.assess, "assess", boom)
    _, key = api_key_factory()
    before = counts(api_app)
    r = api_client.post("/v1/assessments", json=body(), headers=auth(key))
    doc = assert_problem(r, 500)
    assert "secret" not in r.get_data(as_text=True) and "RuntimeError" not in r.get_data(as_text=True)
    assert doc["type"] == "about:blank"
    assert counts(api_app) == before


@pytest.mark.parametrize("method,path,status", [("get", "/v1/nope", 404), ("delete", "/v1/assessments", 405),
                                                ("put", "/v1/health", 405)])
def test_routing_errors_are_problems(api_client, method, path, status):
    assert_problem(getattr(api_client, method)(path), status)


def test_no_route_updates_or_deletes_and_db_refuses(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    doc = api_client.post("/v1/assessments", json=body(), headers=auth(key)).get_json()
    for method in ("put", "patch", "delete"):
        assert_problem(getattr(api_client, method)(f"/v1/assessments/{doc['id']}", headers=auth(key)), 405)
    engine = api_app.extensions["ipledge_store"].engine
    for stmt in ("UPDATE assessments SET decision = 'approve'", "DELETE FROM assessments",
                 "UPDATE audit_log SET decision = 'approve'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(stmt))
    assert api_client.get(f"/v1/assessments/{doc['id']}", headers=auth(key)).get_json() == doc


# --------------------------------------------------------------------------------------------
# valuations, model


def test_valuations_returns_scores(api_app, api_client, api_key_factory):
    from ipledge.valuation.schema import PledgeRequest
    from ipledge.valuation.scorecard import score_request

    _, key = api_key_factory()
    before = counts(api_app)
    r = api_client.post("/v1/valuations", json=body(), headers=auth(key))
    assert r.status_code == 200
    doc = r.get_json()
    Scores.model_validate(doc)
    assert doc == json.loads(json.dumps(score_request(PledgeRequest.model_validate(body()))))
    assert counts(api_app) == before


def test_model_is_the_loaded_posterior(api_app, api_client, api_key_factory):
    _, key = api_key_factory()
    r = api_client.get("/v1/model", headers=auth(key))
    holder = api_app.extensions["ipledge_model"]
    assert holder.posterior is not None, holder.error
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["model_version"] == holder.posterior.model_version
    assert {"model_version", "diagnostics", "p_approval", "sources"} <= set(doc)
    assert api_client.get("/v1/health").get_json()["model_version"] == doc["model_version"]


def test_model_unavailable_is_503_problem(api_db_config):
    from ipledge.api import create_app

    app = create_app({**api_db_config, "IPLEDGE_LOAD_MODEL": False})
    try:
        _, key = app.extensions["ipledge_store"].create_key("no-model")
        doc = assert_problem(app.test_client().get("/v1/model", headers=auth(key)), 503)
        assert doc["type"].endswith("model-unavailable")
    finally:
        app.extensions["ipledge_store"].dispose()


def test_database_outage_is_503_problem(api_app, api_client, api_key_factory, monkeypatch):
    _, key = api_key_factory()
    store = api_app.extensions["ipledge_store"]

    def down(*a, **k):
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(store, "get_assessment", down)
    r = api_client.get("/v1/assessments/01ZZZZZZZZZZZZZZZZZZZZZZZZ", headers=auth(key))
    doc = assert_problem(r, 503)
    assert doc["type"].endswith("database-unavailable") and r.headers["Retry-After"] == "5"
    assert "refused" not in r.get_data(as_text=True)


def test_api_responses_are_not_cacheable(api_client, api_key_factory):
    _, key = api_key_factory()
    for r in (api_client.get("/v1/assessments", headers=auth(key)), api_client.get("/v1/assessments")):
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_no_model_loading_per_request(api_app, api_client, api_key_factory, monkeypatch):
    """The posterior is loaded at app creation; a request neither reads the file nor compiles anything."""
    import ipledge.risk.posterior

    assert api_app.extensions["ipledge_model"].posterior is not None
    assert ipledge.risk.posterior.load_posterior.cache_info().currsize >= 1

    def no_io(*a, **k):
        raise AssertionError("posterior read during a request")

    monkeypatch.setattr(ipledge.risk.posterior, "read_posterior", no_io)
    _, key = api_key_factory()
    assert api_client.post("/v1/assessments", json=body(), headers=auth(key)).status_code == 201
    assert api_client.get("/v1/model", headers=auth(key)).status_code == 200


def _migrations_head() -> str:
    """The single head of the shipped migrations (the chain must not fork)."""
    from alembic.script import ScriptDirectory

    from ipledge.api.store import MIGRATIONS_DIR

    heads = ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()
    assert len(heads) == 1, f"migrations fork: heads {heads}"
    return heads[0]


def test_migrations_round_trip(api_db_config):
    """Upgrade, downgrade to nothing, upgrade again (PostgreSQL: in a schema of its own)."""
    tables = {"tenants", "api_keys", "assessments", "audit_log", "idempotency_keys", "portfolio_jobs",
              "loans", "loan_events", "loan_valuations", "alerts"}
    with isolated_store(api_db_config) as store:
        store.migrate()
        assert store.revision() == _migrations_head()
        store.migrate("base", downgrade=True)
        assert store.revision() is None
        assert not tables & set(sa.inspect(store.engine).get_table_names())
        store.migrate()
        assert store.revision() == _migrations_head()
        assert tables <= set(sa.inspect(store.engine).get_table_names())


def test_ids_sort_by_creation():
    from ipledge.api.store import new_id

    ids = [new_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 26 for i in ids)


def test_chunked_body_over_1mb_is_413(api_app, api_key_factory):
    """Without Content-Length (chunked upload through a server that terminates the input)."""
    import io

    _, key = api_key_factory()
    big = body()
    big["applicant"]["name"] = "x" * (2 * 1024 * 1024)
    data = json.dumps(big).encode()
    before = counts(api_app)
    with api_app.test_request_context(
            "/v1/assessments", method="POST", headers=auth(key, **{"Content-Type": "application/json"}),
            environ_overrides={"wsgi.input": io.BytesIO(data), "wsgi.input_terminated": True}) as ctx:
        ctx.request.environ.pop("CONTENT_LENGTH", None)
        resp = api_app.full_dispatch_request()
    assert_problem(resp, 413)
    assert counts(api_app) == before
