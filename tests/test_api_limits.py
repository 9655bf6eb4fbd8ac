"""Rate limit per tenant (Flask-Limiter): the embedded shared file store, memory storage, and Redis."""
from __future__ import annotations

import uuid

import pytest

from ipledge.api import create_app


def _app(tmp_path, **config):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'limits.db'}", "IPLEDGE_LOAD_MODEL": False,
                       "IPLEDGE_RATE_LIMIT": "3 per minute", **config})


def _get(client, key):
    return client.get("/v1/assessments", headers={"Authorization": f"Bearer {key}"})


def _assert_429(r):
    assert r.status_code == 429
    assert r.mimetype == "application/problem+json"
    doc = r.get_json(force=True)
    assert doc["status"] == 429 and doc["type"].endswith("rate-limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 61  # fixed one-minute window (reset time rounded up)


def test_rate_limit_is_per_tenant_with_retry_after(tmp_path):
    """One budget per tenant: a second key of the same tenant is not a new budget (issue 15, 7)."""
    app = _app(tmp_path, RATELIMIT_STORAGE_URI="memory://")
    store = app.extensions["ipledge_store"]
    _, key_a = store.create_key("bank-a")
    _, key_a2 = store.create_key("bank-a")  # same tenant, other key: the same budget
    _, key_b = store.create_key("bank-b")
    c = app.test_client()
    assert [_get(c, key_a).status_code for _ in range(3)] == [200, 200, 200]
    _assert_429(_get(c, key_a))
    _assert_429(_get(c, key_a2))
    assert _get(c, key_b).status_code == 200, "another tenant has its own budget"
    # health is not limited and needs no key
    assert all(c.get("/v1/health").status_code == 200 for _ in range(10))
    # a 429 stores nothing either
    r = c.post("/v1/assessments", json={}, headers={"Authorization": f"Bearer {key_a}"})
    _assert_429(r)
    assert store.count("assessments") == 0
    store.dispose()


def test_rate_limit_shared_through_redis(tmp_path, redis_url):
    """Two apps (as two gunicorn workers would be) share one budget per key through Redis."""
    prefix = f"ipledge-test-{uuid.uuid4().hex}"
    cfg = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": prefix}
    w1, w2 = _app(tmp_path, **cfg), _app(tmp_path, **cfg)
    _, key = w1.extensions["ipledge_store"].create_key("bank-r")
    c1, c2 = w1.test_client(), w2.test_client()
    try:
        assert [_get(c, key).status_code for c in (c1, c2, c1)] == [200, 200, 200]
        _assert_429(_get(c2, key))
        _assert_429(_get(c1, key))
    finally:
        import redis

        r = redis.Redis.from_url(redis_url)
        for k in r.scan_iter(f"*{prefix}*"):
            r.delete(k)
        for w in (w1, w2):
            w.extensions["ipledge_store"].dispose()


def test_default_storage_is_shared_between_workers_without_redis(tmp_path, monkeypatch):
    """Without Redis the default is the embedded counter file, so two workers share one budget."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    w1, w2 = _app(tmp_path), _app(tmp_path)
    assert w1.config["RATELIMIT_STORAGE_URI"].startswith("ipledge-file://")
    _, key = w1.extensions["ipledge_store"].create_key("bank-m")
    c1, c2 = w1.test_client(), w2.test_client()
    assert [_get(c, key).status_code for c in (c1, c2, c1)] == [200] * 3
    _assert_429(_get(c2, key))
    _assert_429(_get(c1, key))
    for w in (w1, w2):
        w.extensions["ipledge_store"].dispose()


def test_memory_storage_is_not_shared(tmp_path):
    """memory:// (tests only) counts per process: why it is not the default."""
    w1, w2 = _app(tmp_path, RATELIMIT_STORAGE_URI="memory://"), _app(tmp_path, RATELIMIT_STORAGE_URI="memory://")
    _, key = w1.extensions["ipledge_store"].create_key("bank-m")
    c1, c2 = w1.test_client(), w2.test_client()
    assert [_get(c1, key).status_code for _ in range(3)] == [200] * 3
    _assert_429(_get(c1, key))
    assert _get(c2, key).status_code == 200
    for w in (w1, w2):
        w.extensions["ipledge_store"].dispose()


def test_redis_url_selects_redis_storage(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    from ipledge.api.app import default_config

    assert default_config()["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    monkeypatch.delenv("REDIS_URL")
    assert default_config()["RATELIMIT_STORAGE_URI"] is None  # -> the embedded file store
    app = _app(tmp_path)
    assert app.config["RATELIMIT_STORAGE_URI"] == f"ipledge-file://{tmp_path / 'limits.db'}.limits"
    app.extensions["ipledge_store"].dispose()


def test_self_assessment_posts_are_limited_per_client_address(tmp_path):
    """The page needs no key and each submission runs dozens of assessments: bounded per address."""
    app = _app(tmp_path, IPLEDGE_PAGE_RATE_LIMIT="2 per minute", RATELIMIT_STORAGE_URI="memory://")
    c = app.test_client()
    post = lambda addr: c.post("/self-assessment", json={}, environ_base={"REMOTE_ADDR": addr})  # noqa: E731
    assert [post("10.0.0.1").status_code for _ in range(2)] == [422, 422]   # invalid body, still counted
    _assert_429(post("10.0.0.1"))
    assert post("10.0.0.2").status_code == 422, "another address has its own budget"
    assert c.get("/", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200, "the page itself stays free"
    app.extensions["ipledge_store"].dispose()
