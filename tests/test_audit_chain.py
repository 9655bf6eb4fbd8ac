"""Tamper-evident audit trail (issue 15, finding 4): a hash chain per tenant, ``ipledge audit verify``,
and on PostgreSQL an application role that cannot truncate, alter or disable triggers.

Each tamper is done the way the red team did it (SQLite: a direct connection to the file, incl.
``INSERT OR REPLACE``; PostgreSQL: as the owner, incl. ``TRUNCATE`` and ``DISABLE TRIGGER``) and
``audit verify`` must name the broken link. SQLite and PostgreSQL through ``api_db_config``.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from api_helpers import auth, isolated_store
from ipledge.api.examples import example_request

PATHS = 1000


@pytest.fixture
def trail(api_db_config, tmp_path):
    """A store of its own (fresh SQLite file / fresh PostgreSQL schema) with 2 tenants' assessments."""
    from ipledge.api import create_app

    with isolated_store(api_db_config, sqlite_path=tmp_path / "audit.db") as store:
        store.migrate()
        cfg = {"DATABASE_URL": store.url, "IPLEDGE_DB_SCHEMA": store.schema, "RATELIMIT_STORAGE_URI": "memory://",
               "IPLEDGE_RATE_LIMIT": "100000 per minute", "IPLEDGE_TENANT_CONCURRENCY": 100, "TESTING": True}
        app = create_app(cfg)
        c = app.test_client()
        keys = {t: store.create_key(t)[1] for t in ("bank-a", "bank-b")}
        ids = {t: [] for t in keys}
        for i in range(3):
            for t, k in keys.items():
                b = example_request(paths=PATHS)
                b["loan"]["amount"] = 5_000_000.0 + i
                r = c.post("/v1/assessments", json=b, headers=auth(k))
                assert r.status_code == 201, r.get_data(as_text=True)
                ids[t].append(r.get_json()["id"])
        yield store, ids, app
        app.extensions["ipledge_store"].dispose()


def verify(store, **kw):
    from ipledge.api.audit import verify as run

    return run(store, **kw)


def _raw_sqlite(store) -> sqlite3.Connection:
    return sqlite3.connect(sa.make_url(store.url).database, isolation_level=None)


def _owner(store):
    """An owner's connection (the test's superuser) in the store's schema, autocommit."""
    eng = sa.create_engine(store.url, connect_args={"options": f"-csearch_path={store.schema}"},
                           isolation_level="AUTOCOMMIT")
    return eng


def _broken(rep, tenant: str, reason: str):
    assert not rep.ok, "verify found nothing"
    hits = [b for b in rep.breaks if b.tenant == tenant and reason in b.reason]
    assert hits, f"expected a break of {tenant} with {reason!r}; got {rep.breaks}"
    return hits[0]


def test_intact_chain_verifies_and_links_each_row(trail):
    store, ids, _ = trail
    rep = verify(store)
    assert rep.ok, rep.breaks
    assert rep.tenants == 2 and rep.rows == 6 and rep.unchained == 0
    rows = store.audit_records("bank-a")
    assert [r["assessment_id"] for r in rows] == ids["bank-a"]
    with store.Session() as s:
        from ipledge.api.store import GENESIS_HASH, AuditRecord

        chain = list(s.scalars(sa.select(AuditRecord).join_from(AuditRecord, sa.table("tenants", sa.column("id"),
                     sa.column("name")), sa.text("tenants.id = audit_log.tenant_id"))
                     .where(sa.text("tenants.name = 'bank-a'")).order_by(AuditRecord.seq)))
    assert [r.seq for r in chain] == [1, 2, 3]
    assert chain[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in chain[1:]] == [r.row_hash for r in chain[:-1]]
    assert all(r.request_hash and r.response_hash for r in chain)


def test_concurrent_writers_keep_one_linear_chain(trail):
    store, _, app = trail
    _, key = store.create_key("bank-c")
    gate = threading.Barrier(6)
    statuses = []

    def send():
        c = app.test_client()
        gate.wait()
        statuses.append(c.post("/v1/assessments", json=example_request(paths=PATHS), headers=auth(key)).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 6
    rep = verify(store, tenant="bank-c")
    assert rep.ok and rep.heads["bank-c"]["seq"] == 6, rep.breaks


def test_sqlite_insert_or_replace_of_a_decision_is_found(trail):
    store, ids, _ = trail
    if store.backend != "sqlite":
        pytest.skip("SQLite tamper")
    target = ids["bank-b"][1]
    db = _raw_sqlite(store)  # the red team's way in: the file, with the app's own rights
    row = db.execute("SELECT * FROM assessments WHERE id = ?", (target,)).fetchone()
    cols = [d[0] for d in db.execute("SELECT * FROM assessments LIMIT 0").description]
    data = dict(zip(cols, row))
    resp = json.loads(data["response_json"])
    resp["recommendation"]["decision"] = "approve"
    data.update(decision="approve", response_json=json.dumps(resp))
    db.execute(f"INSERT OR REPLACE INTO assessments ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
               list(data.values()))
    assert db.execute("SELECT decision FROM assessments WHERE id = ?", (target,)).fetchone() == ("approve",)
    db.close()
    b = _broken(verify(store), "bank-b", f"assessment {target} differs from its audit row")
    assert b.seq == 2
    assert verify(store, tenant="bank-a").ok, "the other tenant's chain is untouched"


def test_sqlite_replace_is_refused_through_the_app_engine(trail):
    store, ids, _ = trail
    if store.backend != "sqlite":
        pytest.skip("SQLite triggers")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(sa.text("INSERT OR REPLACE INTO audit_log SELECT * FROM audit_log WHERE seq = 1"))


def test_sqlite_rewritten_or_deleted_audit_rows_are_found(trail):
    store, ids, _ = trail
    if store.backend != "sqlite":
        pytest.skip("SQLite tamper")
    db = _raw_sqlite(store)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("DROP TRIGGER audit_log_no_delete")
    tid = db.execute("SELECT id FROM tenants WHERE name = 'bank-a'").fetchone()[0]
    db.execute("UPDATE audit_log SET decision = 'approve' WHERE tenant_id = ? AND seq = 1", (tid,))
    first = verify(store).first
    assert (first.tenant, first.seq) == ("bank-a", 1) and "row_hash" in first.reason, first
    db.execute("DELETE FROM audit_log WHERE tenant_id = ? AND seq = 2", (tid,))
    rep = verify(store)
    _broken(rep, "bank-a", "sequence gap")
    _broken(rep, "bank-a", f"assessment {ids['bank-a'][1]} has no audit row")
    db.close()


def test_anchor_finds_a_cut_tail(trail, tmp_path):
    """The last row and its assessment deleted together: only the heads kept outside the DB show it."""
    store, ids, _ = trail
    anchor = verify(store).heads
    with store.engine.begin() as conn:
        if store.backend == "sqlite":
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(sa.text("DROP TRIGGER assessments_no_delete"))
        else:
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(sa.text("ALTER TABLE assessments DISABLE TRIGGER USER"))
        last = ids["bank-a"][-1]
        conn.execute(sa.text("DELETE FROM audit_log WHERE assessment_id = :i"), {"i": last})
        conn.execute(sa.text("DELETE FROM assessments WHERE id = :i"), {"i": last})
    assert verify(store).ok, "without an anchor a clean tail cut is invisible"
    b = _broken(verify(store, anchor=anchor), "bank-a", "anchored head")
    assert b.seq == 3


@pytest.mark.pg
def test_postgresql_owner_tampering_is_found(trail):
    store, ids, _ = trail
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL tamper")
    owner = _owner(store)
    with owner.connect() as conn:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.execute(sa.text("TRUNCATE audit_log"))  # the trigger refuses, even the owner
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(sa.text("UPDATE audit_log SET decision = 'approve' WHERE assessment_id = :i"),
                     {"i": ids["bank-b"][0]})
    first = verify(store).first
    assert (first.tenant, first.seq) == ("bank-b", 1) and "row_hash" in first.reason, first
    with owner.connect() as conn:
        conn.execute(sa.text("TRUNCATE audit_log"))
        conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    rep = verify(store)
    for t in ("bank-a", "bank-b"):
        _broken(rep, t, "has no audit row")
    owner.dispose()


@pytest.mark.pg
def test_postgresql_app_role_cannot_truncate_alter_or_disable_triggers(trail):
    store, ids, _ = trail
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL roles")
    owner = _owner(store)
    with owner.connect() as conn:
        assert conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
                                    "AND tablename = 'audit_log'")).scalar() == "ipledge_owner"
        conn.execute(sa.text("SET ROLE ipledge_app"))
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 6  # may read
        for stmt, err in [("TRUNCATE audit_log", "permission denied"),
                          ("TRUNCATE assessments", "permission denied"),
                          ("ALTER TABLE audit_log DISABLE TRIGGER USER", "must be owner"),
                          ("ALTER TABLE audit_log ADD COLUMN x int", "must be owner"),
                          ("DROP TRIGGER audit_log_append_only ON audit_log", "must be owner"),
                          ("UPDATE audit_log SET decision = 'approve'", "permission denied"),
                          ("DELETE FROM assessments", "permission denied"),
                          ("CREATE TABLE sneaky (x int)", "permission denied")]:
            with pytest.raises(sa.exc.DatabaseError, match=err):
                conn.execute(sa.text(stmt))
        conn.execute(sa.text("RESET ROLE"))
    owner.dispose()
    assert verify(store).ok


def test_cli_reports_the_first_broken_link(trail, tmp_path):
    from ipledge.cli.main import main

    store, ids, _ = trail
    args = ["audit", "verify", "--database-url", store.url] + (["--schema", store.schema] if store.schema else [])
    anchor = tmp_path / "heads.json"
    ok = CliRunner().invoke(main, args + ["--save-anchor", str(anchor)])
    assert ok.exit_code == 0 and "audit trail intact" in ok.output, ok.output
    assert json.loads(anchor.read_text())["heads"]["bank-a"]["seq"] == 3
    with store.engine.begin() as conn:
        if store.backend == "sqlite":
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(sa.text("UPDATE audit_log SET model_version = 'forged' WHERE assessment_id = :i"),
                     {"i": ids["bank-a"][1]})
    bad = CliRunner().invoke(main, args + ["--anchor", str(anchor)])
    assert bad.exit_code == 1, bad.output
    assert "first broken link: tenant bank-a" in bad.output and "seq 2" in bad.output, bad.output
    as_json = CliRunner().invoke(main, args + ["--json"])
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and doc["first_break"]["seq"] == 2
    missing = CliRunner().invoke(main, args + ["--anchor", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "not an anchor file" in missing.output


def test_rows_before_the_chain_are_counted_not_broken(api_db_config, tmp_path):
    """A database migrated through 0002 with rows, then to 0003: old rows are unchained, new ones chain."""
    from ipledge.api.store import AuditRecord, Tenant, _utcnow

    with isolated_store(api_db_config, sqlite_path=tmp_path / "legacy.db") as store:
        store.migrate("0002_portfolio_jobs")
        with store.engine.begin() as conn:
            conn.execute(sa.insert(Tenant.__table__).values(id=1, name="old-bank", created_at=_utcnow()))
            conn.execute(sa.insert(AuditRecord.__table__).values(
                tenant_id=1, key_id="k", at=_utcnow(), action="portfolio.submit", input_hash="0" * 64,
                model_version="m", seed=1))
        store.migrate()
        rep = verify(store)
        assert rep.ok and rep.unchained == 1, rep.breaks
        from ipledge.api.store import Principal

        store.create_job(Principal(1, "old-bank", "k"), request_hash="1" * 64, model_version="m", seed=2,
                         n_loans=1, paths=1000, engine="local")
        rep = verify(store)
        assert rep.ok and rep.unchained == 1 and rep.heads["old-bank"]["seq"] == 1, rep.breaks


@pytest.mark.pg
def test_postgresql_server_runs_as_the_app_role(trail):
    """What the README says: migrate as the owner, serve as ipledge_app; everything the API does works."""
    from ipledge.api import create_app

    store, ids, _ = trail
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL roles")
    app = create_app({"DATABASE_URL": store.url, "IPLEDGE_DB_SCHEMA": store.schema, "TESTING": True,
                      "RATELIMIT_STORAGE_URI": "memory://", "IPLEDGE_RATE_LIMIT": "100000 per minute"})
    app_store = app.extensions["ipledge_store"]

    def as_app(dbapi, _rec):
        dbapi.execute("SET ROLE ipledge_app")
        dbapi.commit()

    sa.event.listen(app_store.engine, "connect", as_app)
    app_store.engine.dispose()
    try:
        with app_store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar() == "ipledge_app"
        app_store.migrate()  # at head: nothing to do, and allowed
        key_id, key = app_store.create_key("bank-app-role")
        c = app.test_client()
        r = c.post("/v1/assessments", json=example_request(paths=PATHS), headers=auth(key))
        assert r.status_code == 201, r.get_data(as_text=True)
        assert c.get(f"/v1/assessments/{r.get_json()['id']}", headers=auth(key)).status_code == 200
        assert app_store.revoke_key(key_id)
        assert verify(store).ok
    finally:
        app_store.dispose()
