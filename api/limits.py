"""Limits: requests and simulation work per tenant, concurrency of heavy work, the public page's budget,
failed authentications per address (Flask-Limiter and its ``limits`` storage).

Every counter lives in one store shared by all workers: Redis when ``REDIS_URL`` is set, otherwise an
embedded SQLite file (:class:`FileStorage`, ``ipledge-file://PATH``) next to the database, so the
documented budgets hold with 2 gunicorn workers without Redis. ``memory://`` (per process) is for
tests. An unreachable store answers 503 problem+json with ``Retry-After`` (ipledge.api.problems).

================================  ==========================================  ===========================
what                              counted per                                 default (config / env)
================================  ==========================================  ===========================
requests (authenticated /v1)      tenant (all its keys together)              IPLEDGE_RATE_LIMIT 120/min
simulation work                   tenant; paths x engine runs                 IPLEDGE_WORK_LIMIT 60M/min
heavy requests in flight          tenant (assessments, readiness, stress)     IPLEDGE_TENANT_CONCURRENCY 2
page POSTs                        client address                              IPLEDGE_PAGE_RATE_LIMIT 20/min
page simulation work              client address                              IPLEDGE_PAGE_WORK_LIMIT 2M/min
page simulation work              whole service                               IPLEDGE_PAGE_GLOBAL_WORK_LIMIT 6M/min
page computations in flight       whole service, + bounded queue              IPLEDGE_PAGE_CONCURRENCY 1,
                                                                              IPLEDGE_PAGE_QUEUE 2
failed authentications            client address                              IPLEDGE_AUTH_FAIL_LIMIT 30/min
================================  ==========================================  ===========================

Work is priced in path-runs (paths x runs of the engine): an assessment at 10,000 paths costs 10,000;
a readiness request runs the engine once per action and per LTV design point (:data:`READINESS_RUNS`).
Measured on this machine, one path-run is ~6-7 microseconds of CPU, so 60M path-runs/min is ~6.5
CPU-minutes per minute (it must admit the largest portfolio job, 50M loan-paths): the budget bounds
a tenant's sustained share, and the concurrency cap keeps it from holding more than 2 threads at
a time, whatever its budget. The page's global 6M/min is ~40 CPU-s per minute
(a third of one core). Breaches answer 429 (the client's own budget) or 503 (the service's shared
page budget or queue), both problem+json with ``Retry-After``.
"""
from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import time
from pathlib import Path

from flask import Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import Storage

from ipledge.api.endpoints import is_public_endpoint
from ipledge.api.problems import LimitStoreUnavailable  # noqa: F401  (raised here; re-exported)

#: engine runs of one readiness request: base + blocker fixes + improvements + LTV design points
#: (ipledge.risk.readiness.LTV_DESIGN_POINTS = 16); an upper bound: 19-26 counted on the 8 bundled cases
READINESS_RUNS = 28
BURST_S = 30  # a tenant refused for its in-flight cap runs in the background this long
SLOT_EPOCH_S = 600  # in-flight counters per epoch (see Budgets._take); a crashed worker's count decays too


class FileStorage(Storage):
    """``limits`` storage in a SQLite file: counters shared by the processes of one machine.

    One row per counter (value, expiry); each increment is one atomic upsert. The file holds no
    business data, so it runs with ``synchronous=OFF`` (a crash may lose the last increments).
    """

    STORAGE_SCHEME = ["ipledge-file"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self.path = str(uri).split("://", 1)[1] if uri else ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._incrs = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._db().execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, "
                           "expires REAL NOT NULL)")

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _locked(self):
        """Writers queue on an flock, not in SQLite's sleeping busy handler (see ipledge.api.store)."""
        import fcntl

        if self.path == ":memory:":
            yield
            return
        fh = getattr(self._local, "lock", None)
        if fh is None or getattr(self._local, "lock_pid", None) != os.getpid():
            fh = self._local.lock = open(self.path + ".lock", "a")
            self._local.lock_pid = os.getpid()
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._locked():
            return self._incr(key, expiry, amount)

    def _incr(self, key: str, expiry: float, amount: int) -> int:
        now = time.time()
        row = self._db().execute(
            "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "value = CASE WHEN expires <= ? THEN excluded.value ELSE value + excluded.value END, "
            "expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END RETURNING value",
            (key, amount, now + expiry, now, now)).fetchone()
        self._incrs += 1
        if self._incrs % 1000 == 0:
            self._db().execute("DELETE FROM counters WHERE expires < ?", (now - 60,))
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT value FROM counters WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._db().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))


def default_storage_uri(database_url: str | None) -> str:
    """Redis if REDIS_URL is set, else a counter file beside the SQLite database (or in ./instance)."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    path = os.environ.get("IPLEDGE_LIMITS_DB")
    if not path:
        from ipledge.api.store import database_url as resolve

        import sqlalchemy as sa

        u = sa.make_url(resolve(database_url))
        if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
            path = u.database + ".limits"
        else:
            path = str((Path("instance") / "ipledge-limits.db").resolve())
    return f"ipledge-file://{path}"


def _client() -> str:
    return get_remote_address()


def _rate_key() -> str:
    p = g.get("principal")
    return f"tenant:{p.tenant_id}" if p is not None else f"ip:{_client()}"


def _exempt() -> bool:
    return is_public_endpoint()


def storage_uri(config: dict) -> str:
    return config.get("RATELIMIT_STORAGE_URI") or "memory://"


def _problem(status: int, slug: str, detail: str, retry: float):
    from ipledge.api.problems import Problem

    return Problem(status, slug, detail, title="Too many requests" if status == 429 else "Service busy",
                   headers={"Retry-After": str(max(1, int(math.ceil(retry))))})


class Budgets:
    """Cost-weighted budgets and in-flight slots on the limiter's shared storage."""

    def __init__(self, limiter: Limiter, config: dict):
        self.limiter = limiter
        self.config = config
        self.prefix = config.get("RATELIMIT_KEY_PREFIX", "ipledge")

    @property
    def storage(self) -> Storage:
        return self.limiter.storage

    def charge(self, scope: str, who: str, cost: int, limit: str, *, status: int = 429, take: bool = True) -> None:
        """Take ``cost`` from the ``limit`` budget of ``scope``/``who``; a problem when it would not fit.

        ``take=False`` only checks (before queueing for a slot: a refused request costs nothing). A
        request whose cost is larger than the whole budget is refused outright (with a detail saying
        it is this server's price)."""
        item = parse(limit)
        strategy = self.limiter.limiter
        ids = (self.prefix, scope, who)
        if cost > item.amount:
            raise _problem(status, "work-budget-exceeded",
                           f"this request costs {cost:,} path-runs, more than the whole {scope} budget "
                           f"({limit}); use fewer paths", 60)
        if not strategy.test(item, *ids, cost=cost) or (take and not strategy.hit(item, *ids, cost=cost)):
            reset = strategy.get_window_stats(item, *ids).reset_time - time.time()
            raise _problem(status, "work-budget-exceeded",
                           f"simulation budget of the {scope} exhausted ({limit}, this request costs "
                           f"{cost:,} path-runs); retry after the Retry-After delay", reset)

    def _take(self, name: str, amount: int) -> tuple[str, int]:
        """Add ``amount`` to an in-flight counter; returns (the key written, the count now in flight).

        ``limits`` counters expire a fixed time after creation, so one key held across that instant
        would lose its count. Counters are therefore per epoch (SLOT_EPOCH_S) and live two epochs:
        a request releases the key it took, and the count in flight is this epoch's plus the
        previous one's (exact while no request outlives an epoch)."""
        e = int(time.time() // SLOT_EPOCH_S)
        cur, prev = f"{name}/{e}", f"{name}/{e - 1}"
        return cur, self.storage.incr(cur, 2 * SLOT_EPOCH_S, amount) + self.storage.get(prev)

    def _give(self, key: str, amount: int = 1) -> None:
        self.storage.incr(key, 2 * SLOT_EPOCH_S, -amount)

    @contextlib.contextmanager
    def slot(self, scope: str, who: str, cap: int, *, queue: int = 0, wait_s: float = 0.0, status: int = 429):
        """Hold one of ``cap`` in-flight slots of ``scope``/``who`` for the block (shared by all workers).

        With ``queue`` > 0 up to that many requests wait (at most ``wait_s``) for a slot; when the
        queue is full, or the wait runs out, the answer is ``status`` with Retry-After."""
        name = f"{self.prefix}/slot/{scope}/{who}"
        held, n = self._take(name, 1)
        if n > cap:
            self._give(held)
            if queue <= 0:
                if scope == "tenant":  # it asks for more than its share: its admitted work yields the CPU
                    self.storage.incr(f"{self.prefix}/bursting/{who}", BURST_S, 1)
                raise _problem(status, "too-many-in-flight" if status == 429 else "queue-full",
                               f"{cap} heavy request(s) of this {scope} are already running; retry shortly", 2)
            qkey, waiting = self._take(f"{self.prefix}/queue/{scope}/{who}", 1)
            try:
                if waiting > queue:
                    raise _problem(status, "queue-full", f"the {scope} queue is full ({queue} waiting); retry later",
                                   max(2.0, wait_s))
                deadline = time.monotonic() + wait_s
                while True:
                    time.sleep(0.05)
                    held, n = self._take(name, 1)
                    if n <= cap:
                        break
                    self._give(held)
                    if time.monotonic() > deadline:
                        raise _problem(status, "queue-timeout", f"no {scope} capacity within {wait_s:.0f} s; "
                                                                "retry later", max(2.0, wait_s))
            finally:
                self._give(qkey)
        try:
            yield
        finally:
            self._give(held)


def budgets() -> Budgets:
    return current_app.extensions["ipledge_budgets"]


@contextlib.contextmanager
def heavy_work(paths: int, runs: int = 1):
    """Price and admit one request's simulation work: the tenant's work budget, then its in-flight cap.

    On the public page (no principal) the per-address and global page budgets and the global slot
    with its bounded queue apply instead. Yields whether the work should run in the background
    (``ipledge.api.compute.call(..., background=...)``)."""
    cfg, b = current_app.config, budgets()
    cost = int(paths) * int(runs)
    p = g.get("principal")
    if p is not None:
        charges = [("tenant", str(p.tenant_id), cfg["IPLEDGE_WORK_LIMIT"], 429)]
        slot = b.slot("tenant", str(p.tenant_id), int(cfg["IPLEDGE_TENANT_CONCURRENCY"]))
    else:
        charges = [("address", _client(), cfg["IPLEDGE_PAGE_WORK_LIMIT"], 429),
                   ("page", "all", cfg["IPLEDGE_PAGE_GLOBAL_WORK_LIMIT"], 503)]
        slot = b.slot("page", "all", int(cfg["IPLEDGE_PAGE_CONCURRENCY"]), queue=int(cfg["IPLEDGE_PAGE_QUEUE"]),
                      wait_s=float(cfg["IPLEDGE_PAGE_QUEUE_WAIT_S"]), status=503)
    for scope, who, limit, status in charges:  # fail fast, before taking or waiting for a slot
        b.charge(scope, who, cost, limit, status=status, take=False)
    # background (ipledge.api.compute, nice +10): the public page, and a tenant refused for its cap lately
    background = p is None or b.storage.get(f"{b.prefix}/bursting/{p.tenant_id}") > 0
    with slot:
        for scope, who, limit, status in charges:  # admitted: now the work is paid for
            b.charge(scope, who, cost, limit, status=status)
        yield background


def check_auth_failures() -> None:
    """429 when this address has failed authentication too often (checked before the key is)."""
    limit = current_app.config.get("IPLEDGE_AUTH_FAIL_LIMIT")
    if not limit:
        return
    item, strategy = parse(limit), budgets().limiter.limiter
    ids = (budgets().prefix, "authfail", _client())
    if not strategy.test(item, *ids):
        reset = strategy.get_window_stats(item, *ids).reset_time - time.time()
        raise _problem(429, "too-many-failed-authentications",
                       f"too many failed authentications from this address ({limit}); retry later", reset)


def record_auth_failure() -> None:
    limit = current_app.config.get("IPLEDGE_AUTH_FAIL_LIMIT")
    if limit:
        budgets().limiter.limiter.hit(parse(limit), budgets().prefix, "authfail", _client())


def init_limits(app: Flask, page=None) -> Limiter:
    limiter = Limiter(
        key_func=_rate_key,
        # one budget per tenant across all routes and keys (default_limits would count each route
        # separately; per key, a new key would be a new budget)
        application_limits=[app.config["IPLEDGE_RATE_LIMIT"]],
        application_limits_exempt_when=_exempt,
        storage_uri=storage_uri(app.config),
        # storage errors as limits.errors.StorageError (-> 503); a down Redis fails within 2 s
        storage_options={"wrap_exceptions": True, **({"socket_connect_timeout": 2, "socket_timeout": 2}
                         if storage_uri(app.config).startswith(("redis", "rediss")) else {})},
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "ipledge"),
        headers_enabled=False,  # Retry-After is set on the 429 only (ipledge.api.problems)
        strategy="fixed-window",
    )
    limiter.init_app(app)
    page_limit = app.config.get("IPLEDGE_PAGE_RATE_LIMIT")
    if page_limit and page is not None:  # the page's blueprint, passed by the app factory
        # POSTs only: loading the page and its assets stays free
        limiter.limit(page_limit, key_func=lambda: f"page:{get_remote_address()}", methods=["POST"])(page)
    app.extensions["ipledge_limiter"] = limiter
    app.extensions["ipledge_budgets"] = Budgets(limiter, app.config)
    return limiter
