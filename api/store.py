"""Storage of tenants, API keys, assessments, portfolio jobs, the audit trail and idempotency records
(SQLAlchemy 2).

SQLite by default (WAL, ``synchronous=FULL``) at ``$IPLEDGE_DB`` or ``./instance/ipledge.db``;
PostgreSQL (psycopg 3) when ``DATABASE_URL`` says so. The schema is owned by the Alembic migrations
shipped in ``api/migrations`` and applied by :meth:`Store.migrate` (on start-up / first use).

Assessments and audit records are append-only: no function here updates or deletes them, and the
migrations install database triggers that refuse UPDATE and DELETE on both tables. Portfolio jobs are
not: a job row goes queued -> running -> done | failed (its submission is audited append-only).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

DEFAULT_SQLITE_PATH = Path("instance") / "ipledge.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


# --------------------------------------------------------------------------------------------
# URLs and engines


def database_url(explicit: str | None = None) -> str:
    """``explicit`` > $DATABASE_URL > sqlite file at $IPLEDGE_DB > sqlite at ./instance/ipledge.db."""
    url = explicit or os.environ.get("DATABASE_URL")
    if not url:
        path = Path(os.environ.get("IPLEDGE_DB") or DEFAULT_SQLITE_PATH)
        return f"sqlite:///{path.resolve()}"
    # postgres:// and postgresql:// (Heroku-style) → the psycopg 3 driver that we depend on
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, schema: str | None = None) -> sa.Engine:
    u = sa.make_url(url)
    if u.get_backend_name() == "sqlite":
        db = u.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error message never carries a borrower's name, amount or request JSON
        engine = sa.create_engine(u, connect_args={"timeout": 30, "check_same_thread": False},
                                  hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # committed = on disk before the response
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # INSERT OR REPLACE deletes the old row; with recursive triggers that delete fires the
            # append-only triggers, so REPLACE is refused like UPDATE and DELETE (issue 15)
            cur.execute("PRAGMA recursive_triggers=ON")
            cur.close()

        if db and db != ":memory:":
            serialise_sqlite_writes(engine, db + ".write.lock")
        return engine
    connect_args = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return sa.create_engine(u, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True)


_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


def serialise_sqlite_writes(engine: sa.Engine, lock_path: str) -> None:
    """Writers of one SQLite file queue on an flock (kernel-woken) before their first write.

    SQLite's own busy handler retries a locked database by sleeping 1, 2, 5 ... 100 ms, so a
    request that meets another worker's commit (an fsync) can wait several times that commit
    (issue 15: one tenant's burst must not multiply another's latency). The lock is taken before
    the transaction's first INSERT/UPDATE/DELETE and released when the connection returns to
    the pool, i.e. after its COMMIT or ROLLBACK."""
    import fcntl

    def _take(conn, cursor, statement, parameters, context, executemany):
        info = conn.connection.info
        if info.get("write_locked") or not _WRITE.match(statement):
            return
        fh = info.get("write_lock_file")
        if fh is None or fh.closed:
            fh = info["write_lock_file"] = open(lock_path, "a")
        fcntl.flock(fh, fcntl.LOCK_EX)
        info["write_locked"] = True

    def _release(record) -> None:
        if record is not None and record.info.pop("write_locked", False):
            fcntl.flock(record.info["write_lock_file"], fcntl.LOCK_UN)

    def _on_checkin(dbapi_connection, connection_record):
        _release(connection_record)

    def _on_reset(dbapi_connection, connection_record, reset_state):
        _release(connection_record)

    event.listen(engine, "before_cursor_execute", _take)
    event.listen(engine.pool, "checkin", _on_checkin)
    event.listen(engine.pool, "reset", _on_reset)


# --------------------------------------------------------------------------------------------
# Models (the tables are created by the Alembic migrations, not by metadata.create_all)


class Base(DeclarativeBase):
    pass


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    as_of: Mapped[str] = mapped_column(sa.String(10))
    model_version: Mapped[str] = mapped_column(sa.String(100))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    scenario: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    decision: Mapped[str] = mapped_column(sa.String(40))
    applicant_name: Mapped[str] = mapped_column(sa.String(200))
    loan_amount: Mapped[float] = mapped_column(sa.Float)
    input_hash: Mapped[str] = mapped_column(sa.String(64))
    request_json: Mapped[str] = mapped_column(sa.Text)
    response_json: Mapped[str] = mapped_column(sa.Text)
    __table_args__ = (sa.Index("ix_assessments_tenant_id_id", "tenant_id", "id"),)


class AuditRecord(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    action: Mapped[str] = mapped_column(sa.String(40))
    assessment_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    input_hash: Mapped[str] = mapped_column(sa.String(64))
    model_version: Mapped[str] = mapped_column(sa.String(100))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    decision: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    job_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)  # portfolio.submit rows
    loan_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)  # loan rows (0003_loans)
    # hash chain per tenant (migration 0003; NULL on rows written before it): see append_audit
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    request_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    response_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)


JOB_STATUSES = ("queued", "running", "done", "failed")


class PortfolioJob(Base):
    """A portfolio stress job (migration 0002). Updated as it progresses: NOT append-only."""

    __tablename__ = "portfolio_jobs"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    model_version: Mapped[str] = mapped_column(sa.String(100))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    n_loans: Mapped[int] = mapped_column(sa.Integer)
    paths: Mapped[int] = mapped_column(sa.Integer)
    engine: Mapped[str] = mapped_column(sa.String(16))
    result_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_portfolio_jobs_status"),
        sa.Index("ix_portfolio_jobs_tenant_id_id", "tenant_id", "id"),
    )


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    response_json: Mapped[str] = mapped_column(sa.Text)
    resource_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


# --------------------------------------------------------------------------------------------
# Ids, keys, hashes

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_id_lock = threading.Lock()
_last_id = [0, 0]  # (ms, random part) of the last id made by this process


def new_id(now: float | None = None) -> str:
    """ULID-style id: 48-bit milliseconds + 80 random bits, Crockford base32 (26 chars, sortable by time).

    Monotonic within a process: a second id in the same millisecond increments the random part.
    """
    ms = int((time.time() if now is None else now) * 1000)
    with _id_lock:
        if ms <= _last_id[0] and _last_id[1] < (1 << 80) - 1:
            ms, rand = _last_id[0], _last_id[1] + 1
        else:
            rand = secrets.randbits(80)
        _last_id[0], _last_id[1] = ms, rand
    n = (ms << 80) | rand
    out = []
    for _ in range(26):
        out.append(_CROCKFORD[n & 31])
        n >>= 5
    return "".join(reversed(out))


KEY_PREFIX = "ipk"


def hash_key(key: str) -> str:
    # API keys are 256-bit random secrets, so a plain SHA-256 is the right tool (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The key id of a well-formed ``ipk_<id>_<secret>`` key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def canonical_hash(obj) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys, no whitespace)."""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def text_hash(text: str | None) -> str | None:
    """SHA-256 of a stored text column exactly as stored (the audit chain's request/response hashes)."""
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Audit chain: each row's hash covers its fields and the previous row's hash of the same tenant

GENESIS_HASH = "0" * 64
#: fields covered by an audit row's hash (``at`` as its UTC ISO text)
AUDIT_HASHED = ("tenant_id", "seq", "key_id", "at", "action", "assessment_id", "job_id", "input_hash",
                "model_version", "seed", "decision", "request_hash", "response_hash", "prev_hash", "loan_id")
_AUDIT_LOCK = 7366202  # pg_advisory_xact_lock(class, tenant_id): one chain writer per tenant


def audit_row_hash(row) -> str:
    """The chain hash of an audit row (an AuditRecord or a mapping with the AUDIT_HASHED fields)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    doc = {k: get(k) for k in AUDIT_HASHED}
    doc["at"] = _iso(doc["at"])
    doc["seed"] = int(doc["seed"])
    doc["tenant_id"], doc["seq"] = int(doc["tenant_id"]), int(doc["seq"])
    return canonical_hash(doc)


def append_audit(s: Session, *, tenant_id: int, key_id: str, action: str, input_hash: str, model_version: str,
                 seed: int, decision: str | None = None, assessment_id: str | None = None,
                 job_id: str | None = None, request_text: str | None = None, response_text: str | None = None,
                 at: dt.datetime | None = None, loan_id: str | None = None) -> AuditRecord:
    """Add the tenant's next audit row to the session's transaction, chained to the tenant's last row.

    Every writer of audit rows must come through here. Pending rows are flushed first: on SQLite that
    INSERT takes the write lock, on PostgreSQL a per-tenant advisory lock is taken, so the chain head
    read next cannot change before this transaction commits (a unique (tenant_id, seq) index refuses
    a fork if it ever did)."""
    s.flush()
    if s.get_bind().dialect.name == "postgresql":
        s.execute(sa.text("SELECT pg_advisory_xact_lock(:c, :t)"), {"c": _AUDIT_LOCK, "t": int(tenant_id)})
    head = s.execute(sa.select(AuditRecord.seq, AuditRecord.row_hash)
                     .where(AuditRecord.tenant_id == tenant_id, AuditRecord.seq.is_not(None))
                     .order_by(AuditRecord.seq.desc()).limit(1)).first()
    rec = AuditRecord(tenant_id=tenant_id, key_id=key_id, at=at or _utcnow(), action=action,
                      assessment_id=assessment_id, job_id=job_id, input_hash=input_hash,
                      model_version=str(model_version), seed=int(seed), decision=decision, loan_id=loan_id,
                      seq=(head.seq + 1) if head else 1, request_hash=text_hash(request_text),
                      response_hash=text_hash(response_text), prev_hash=head.row_hash if head else GENESIS_HASH)
    rec.row_hash = audit_row_hash(rec)
    s.add(rec)
    return rec


# --------------------------------------------------------------------------------------------
# Repository


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    tenant: str
    key_id: str


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    resource_id: str | None
    replayed: bool


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was used before with another request body."""


class Store:
    def __init__(self, url: str | None = None, schema: str | None = None):
        self.url = database_url(url)
        self.schema = schema
        self.engine = make_engine(self.url, schema)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    # -- migrations ----------------------------------------------------------------------------
    def migrate(self, revision: str = "head", *, downgrade: bool = False) -> None:
        """Upgrade the database to the newest shipped migration (safe to call from several processes).

        ``downgrade=True`` goes down to ``revision`` instead (operators, migration tests).
        """
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._migration_lock(), self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7366201)"))
            cfg.attributes["connection"] = conn
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    def revision(self) -> str | None:
        """The migration the database is at (None before the first)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextlib.contextmanager
    def _migration_lock(self):
        db = sa.make_url(self.url).database if self.backend == "sqlite" else None
        if not db or db == ":memory:":
            yield
            return
        import fcntl

        lock_path = Path(db).with_name(Path(db).name + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- tenants and keys ---------------------------------------------------------------------
    def create_key(self, tenant: str) -> tuple[str, str]:
        """Create the tenant if new and a key for it. Returns (key_id, key); only the hash is stored."""
        tenant = tenant.strip()
        if not tenant:
            raise ValueError("tenant name must not be empty")
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        now = _utcnow()
        with self.Session.begin() as s:
            t = s.scalar(sa.select(Tenant).where(Tenant.name == tenant))
            if t is None:
                t = Tenant(name=tenant, created_at=now)
                s.add(t)
                s.flush()
            s.add(ApiKey(id=key_id, tenant_id=t.id, key_hash=hash_key(key), created_at=now))
        return key_id, key

    def list_keys(self, tenant: str | None = None) -> list[dict]:
        q = sa.select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id).order_by(
            Tenant.name, ApiKey.created_at)
        if tenant:
            q = q.where(Tenant.name == tenant)
        with self.Session() as s:
            return [
                {"key_id": k.id, "tenant": name, "created_at": _iso(k.created_at),
                 "revoked_at": _iso(k.revoked_at) if k.revoked_at else None}
                for k, name in s.execute(q)
            ]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False when no active key has that id."""
        with self.Session.begin() as s:
            k = s.get(ApiKey, key_id)
            if k is None or k.revoked_at is not None:
                return False
            k.revoked_at = _utcnow()
            return True

    def authenticate(self, key: str) -> Principal | None:
        key_id = split_key(key)
        if key_id is None:
            return None
        with self.Session() as s:
            row = s.execute(
                sa.select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.id == key_id)
            ).first()
        if row is None:
            hmac.compare_digest(hash_key(key), "0" * 64)  # same work whether or not the id exists
            return None
        k, name = row
        if not hmac.compare_digest(k.key_hash, hash_key(key)) or k.revoked_at is not None:
            return None
        return Principal(tenant_id=k.tenant_id, tenant=name, key_id=k.id)

    # -- idempotency ---------------------------------------------------------------------------
    def find_idempotent(self, principal: Principal, endpoint: str, key: str,
                        request_hash: str) -> StoredResponse | None:
        """The stored response for this Idempotency-Key, None if unused; raises on another body."""
        with self.Session() as s:
            rec = s.get(IdempotencyRecord, (principal.tenant_id, endpoint, key))
        if rec is None:
            return None
        if rec.request_hash != request_hash:
            raise IdempotencyMismatch(key)
        return StoredResponse(rec.status_code, rec.response_json, rec.resource_id, replayed=True)

    def _commit_or_replay(self, s: Session, principal: Principal, idem: tuple[str, str, str] | None,
                          status: int, body: str, resource_id: str | None,
                          audit: dict | None = None) -> StoredResponse:
        try:
            if audit is not None:
                append_audit(s, **audit)
            s.commit()
        except IntegrityError:
            s.rollback()
            if idem is None:
                raise
            # A concurrent request with the same Idempotency-Key won the race: answer with its response.
            endpoint, key, request_hash = idem
            first = self.find_idempotent(principal, endpoint, key, request_hash)
            if first is None:
                raise
            return first
        return StoredResponse(status, body, resource_id, replayed=False)

    def _idem_record(self, principal, idem, status, body, resource_id, now):
        endpoint, key, request_hash = idem
        return IdempotencyRecord(tenant_id=principal.tenant_id, endpoint=endpoint, key=key,
                                 request_hash=request_hash, status_code=status, response_json=body,
                                 resource_id=resource_id, created_at=now)

    def save_response(self, principal: Principal, idem: tuple[str, str, str], status: int,
                      body: str) -> StoredResponse:
        """Remember a non-stored endpoint's response under its Idempotency-Key."""
        with self.Session() as s:
            s.add(self._idem_record(principal, idem, status, body, None, _utcnow()))
            return self._commit_or_replay(s, principal, idem, status, body, None)

    # -- assessments ---------------------------------------------------------------------------
    def save_assessment(self, principal: Principal, request_obj: dict, response: dict,
                        idem: tuple[str, str, str] | None = None) -> StoredResponse:
        """Store the assessment, its audit record and the idempotency record in one transaction.

        Returns only after the commit, so an acknowledged id is durable.
        """
        body = json.dumps(response, ensure_ascii=False, allow_nan=False)
        input_hash = canonical_hash(request_obj)
        created = dt.datetime.fromisoformat(response["created_at"].replace("Z", "+00:00"))
        decision = response["recommendation"]["decision"]
        request_text = json.dumps(request_obj, ensure_ascii=False, sort_keys=True)
        with self.Session() as s:
            if idem is not None:  # first: a concurrent duplicate fails here, before the chain is read
                s.add(self._idem_record(principal, idem, 201, body, response["id"], created))
            s.add(Assessment(
                id=response["id"], tenant_id=principal.tenant_id, key_id=principal.key_id,
                created_at=created, as_of=str(response["as_of"]), model_version=str(response["model_version"]),
                seed=int(response["seed"]), scenario=response.get("scenario"), decision=decision,
                applicant_name=request_obj["applicant"]["name"], loan_amount=float(request_obj["loan"]["amount"]),
                input_hash=input_hash, request_json=request_text, response_json=body,
            ))
            return self._commit_or_replay(s, principal, idem, 201, body, response["id"], audit=dict(
                tenant_id=principal.tenant_id, key_id=principal.key_id, action="assessment.create",
                assessment_id=response["id"], input_hash=input_hash, model_version=str(response["model_version"]),
                seed=int(response["seed"]), decision=decision, request_text=request_text, response_text=body))

    def get_assessment_request(self, principal: Principal, assessment_id: str) -> dict | None:
        """The stored request of the tenant's assessment, or None when absent or another tenant's (same answer)."""
        with self.Session() as s:
            text = s.scalar(sa.select(Assessment.request_json).where(
                Assessment.id == assessment_id, Assessment.tenant_id == principal.tenant_id))
        return json.loads(text) if text is not None else None

    def get_assessment(self, principal: Principal, assessment_id: str) -> str | None:
        """The stored response JSON, or None when absent or owned by another tenant (same answer)."""
        with self.Session() as s:
            return s.scalar(sa.select(Assessment.response_json).where(
                Assessment.id == assessment_id, Assessment.tenant_id == principal.tenant_id))

    def list_assessments(self, principal: Principal, limit: int, before: str | None = None) -> list[dict]:
        """Newest first (ids sort by creation time); ``before`` is the last id of the previous page."""
        q = (sa.select(Assessment.id, Assessment.created_at, Assessment.as_of, Assessment.model_version,
                       Assessment.seed, Assessment.scenario, Assessment.decision, Assessment.applicant_name,
                       Assessment.loan_amount)
             .where(Assessment.tenant_id == principal.tenant_id).order_by(Assessment.id.desc()).limit(limit))
        if before is not None:
            q = q.where(Assessment.id < before)
        with self.Session() as s:
            return [
                {"id": r.id, "created_at": _iso(r.created_at), "as_of": r.as_of, "model_version": r.model_version,
                 "seed": r.seed, "scenario": r.scenario, "decision": r.decision,
                 "applicant": r.applicant_name, "loan_amount": r.loan_amount}
                for r in s.execute(q)
            ]

    # -- portfolio jobs -------------------------------------------------------------------------
    def create_job(self, principal: Principal, *, request_hash: str, model_version: str, seed: int,
                   n_loans: int, paths: int, engine: str,
                   idem: tuple[str, str, str] | None = None, action: str = "portfolio.submit") -> StoredResponse:
        """Store a queued job, its ``portfolio.submit`` audit record (and the idempotency record) in one
        transaction. Returns after the commit: the 202 body (the queued job) with ``resource_id`` = job id,
        or, when a concurrent request with the same Idempotency-Key won, that request's response
        (``replayed=True``; no job was created by this call).
        """
        now = _utcnow()
        job = PortfolioJob(id=new_id(now.timestamp()), tenant_id=principal.tenant_id, key_id=principal.key_id,
                           status="queued", created_at=now, request_hash=request_hash,
                           model_version=str(model_version), seed=int(seed), n_loans=int(n_loans),
                           paths=int(paths), engine=engine)
        body = json.dumps(_job_view(job), ensure_ascii=False)
        with self.Session() as s:
            if idem is not None:
                s.add(self._idem_record(principal, idem, 202, body, job.id, now))
            s.add(job)
            return self._commit_or_replay(s, principal, idem, 202, body, job.id, audit=dict(
                tenant_id=principal.tenant_id, key_id=principal.key_id, at=now, action=action,
                job_id=job.id, input_hash=request_hash, model_version=str(model_version), seed=int(seed)))

    def _move_job(self, job_id: str, from_status: tuple[str, ...], **values) -> bool:
        with self.Session.begin() as s:
            res = s.execute(sa.update(PortfolioJob)
                            .where(PortfolioJob.id == job_id, PortfolioJob.status.in_(from_status))
                            .values(**values).execution_options(synchronize_session=False))
            return res.rowcount == 1

    def mark_running(self, job_id: str) -> bool:
        """queued -> running (records ``started_at``); False when the job is not queued."""
        return self._move_job(job_id, ("queued",), status="running", started_at=_utcnow())

    def finish_job(self, job_id: str, result) -> bool:
        """-> done with ``result`` (a JSON-ready dict, or its JSON text); False when already finished."""
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, allow_nan=False)
        return self._move_job(job_id, ("queued", "running"), status="done", result_json=text,
                              finished_at=_utcnow())

    def fail_job(self, job_id: str, error: str) -> bool:
        """-> failed with ``error``; False when already finished."""
        return self._move_job(job_id, ("queued", "running"), status="failed", error=str(error),
                              finished_at=_utcnow())

    def count_unfinished_jobs(self, principal: Principal, max_age_s: float = 3600.0) -> int:
        """The tenant's queued or running jobs submitted within ``max_age_s`` (older ones were lost with
        their worker and no longer count against the queue bound)."""
        since = _utcnow() - dt.timedelta(seconds=max_age_s)
        with self.Session() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(PortfolioJob).where(
                PortfolioJob.tenant_id == principal.tenant_id, PortfolioJob.status.in_(("queued", "running")),
                PortfolioJob.created_at >= since)))

    def get_job(self, principal: Principal, job_id: str) -> dict | None:
        """The job's view (status, times, result or error), or None when absent or another tenant's."""
        with self.Session() as s:
            job = s.scalar(sa.select(PortfolioJob).where(
                PortfolioJob.id == job_id, PortfolioJob.tenant_id == principal.tenant_id))
        return _job_view(job) if job is not None else None

    # -- introspection (tests, operators) ------------------------------------------------------
    def count(self, table: str) -> int:
        model = {"assessments": Assessment, "audit_log": AuditRecord, "idempotency_keys": IdempotencyRecord,
                 "tenants": Tenant, "api_keys": ApiKey, "portfolio_jobs": PortfolioJob}[table]
        with self.Session() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(model)))

    def audit_records(self, tenant: str | None = None) -> list[dict]:
        q = sa.select(AuditRecord, Tenant.name).join(Tenant, Tenant.id == AuditRecord.tenant_id).order_by(
            AuditRecord.id)
        if tenant:
            q = q.where(Tenant.name == tenant)
        with self.Session() as s:
            return [
                {"tenant": name, "key_id": a.key_id, "at": _iso(a.at), "action": a.action,
                 "assessment_id": a.assessment_id, "job_id": a.job_id, "input_hash": a.input_hash,
                 "model_version": a.model_version, "seed": a.seed, "decision": a.decision}
                for a, name in s.execute(q)
            ]


def _job_view(job: PortfolioJob) -> dict:
    """The API document of a job (GET /v1/portfolio/stress/{job_id}); absent values are null."""
    return {
        "job_id": job.id, "status": job.status, "submitted_at": _iso(job.created_at),
        "started_at": _iso(job.started_at), "finished_at": _iso(job.finished_at),
        "n_loans": job.n_loans, "paths": job.paths, "seed": job.seed, "engine": job.engine,
        "model_version": job.model_version,
        "result": json.loads(job.result_json) if job.result_json is not None else None,
        "error": job.error,
    }


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:  # SQLite hands back naive datetimes; everything is stored in UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
