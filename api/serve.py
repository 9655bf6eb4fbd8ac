"""Production serving: gunicorn (2 workers) through its Python API, each worker a waitress front.

The master migrates the database once, prints a ready-to-paste curl example and forks the workers;
each worker builds the app itself (``preload_app`` off), so the pipeline posterior is loaded once per
worker at start-up and never per request.

Slow or idle clients (issue 15): gunicorn's gthread worker hands a connection to a thread as soon as
its first byte arrives, and the thread then blocks reading the rest of the headers, so 8 connections
that stop mid-header took both workers down. :class:`WaitressWorker` keeps gunicorn's master
(pre-fork, restarts, signals, worker timeout) but serves each worker with waitress, whose event loop
reads and buffers the whole request (headers and body, bounded) before a thread is taken. An idle
or stalled connection costs a socket, not a thread, and is closed after ``READ_TIMEOUT_S`` without a
byte (headers, body, and idle keep-alive alike); at most ``CONNECTION_LIMIT`` per worker. Waitress's
own 400/413/431 answers are rewritten as problem+json (:class:`ProblemErrorTask`). Each worker also
starts its engine processes (:mod:`ipledge.api.compute`), so simulations never hold the worker's GIL.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from gunicorn.app.base import BaseApplication

WORKERS = 2
THREADS = 8             # per worker; requests reach a thread only once fully read
READ_TIMEOUT_S = 10     # a connection silent this long (mid-header, mid-body or idle) is closed
CONNECTION_LIMIT = 1000  # open connections per worker before it stops accepting
MAX_HEADER_BYTES = 32 * 1024  # request line + headers; beyond: 431 problem+json
SWITCH_INTERVAL_S = 0.001  # GIL switch interval in the workers (Python's default 0.005), see WaitressWorker


def _problem_error_task():
    """waitress's ErrorTask answering problem+json instead of text/plain (its 400, 413, 431)."""
    import json as _json

    from waitress.task import ErrorTask

    class ProblemErrorTask(ErrorTask):
        def execute(self):
            e = self.request.error
            body = _json.dumps({"type": "about:blank", "title": e.reason, "status": e.code,
                                "detail": str(e.body)[:200] or e.reason}).encode()
            self.status = f"{e.code} {e.reason}"
            self.response_headers.extend([("Content-Type", "application/problem+json"),
                                          ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    return ProblemErrorTask


def waitress_server(app, sockets: list, threads: int = THREADS, read_timeout: float = READ_TIMEOUT_S,
                    max_body: int | None = None, map_: dict | None = None):
    """A waitress server on already-bound listening ``sockets`` (not started: drive its loop yourself)."""
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer, create_server

    from ipledge.api.app import MAX_BODY

    class ProblemChannel(HTTPChannel):
        error_task_class = _problem_error_task()

    srv = create_server(app, map=map_ if map_ is not None else {}, sockets=sockets, threads=threads,
                        channel_timeout=read_timeout, cleanup_interval=max(1, int(read_timeout // 4)),
                        connection_limit=CONNECTION_LIMIT, asyncore_use_poll=True,
                        max_request_header_size=MAX_HEADER_BYTES,
                        max_request_body_size=max_body or MAX_BODY + 1024, ident="ipledge",
                        expose_tracebacks=False, clear_untrusted_proxy_headers=True)
    for s in list(srv._map.values()) + [srv]:
        if isinstance(s, BaseWSGIServer):
            s.channel_class = ProblemChannel
    return srv


def _worker_class():
    from gunicorn.workers.base import Worker

    class WaitressWorker(Worker):
        """A gunicorn worker whose HTTP front is waitress (buffers whole requests before a thread)."""

        def run(self):
            from waitress import wasyncore

            # A thread waiting for the GIL after an I/O call waits up to one switch interval behind
            # a thread simulating: 5 ms by default, paid on every database round trip of a light
            # request while another tenant's assessment runs in this worker (the convoy effect).
            sys.setswitchinterval(float(os.environ.get("IPLEDGE_SWITCH_INTERVAL", str(SWITCH_INTERVAL_S))))
            socks = [getattr(s, "sock", s) for s in self.sockets]
            for s in socks:
                s.setblocking(False)
            threads = int(os.environ.get("IPLEDGE_THREADS", str(THREADS)))
            timeout = float(os.environ.get("IPLEDGE_READ_TIMEOUT", str(READ_TIMEOUT_S)))
            from ipledge.api import compute

            compute.start()  # the engine in processes of this worker (ipledge.api.compute)
            srv = waitress_server(self.wsgi, socks, threads=threads, read_timeout=timeout)
            while self.alive:
                self.notify()
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
                wasyncore.loop(timeout=1.0, map=srv._map, use_poll=True, count=1)
            for s in list(srv._map.values()):  # stop accepting; let running requests finish
                if hasattr(s, "accepting"):
                    s.accepting = False
            srv.task_dispatcher.shutdown(timeout=self.cfg.graceful_timeout)
            compute.stop()

    return WaitressWorker


class IpledgeGunicorn(BaseApplication):
    def __init__(self, options: dict, app_config: dict | None = None):
        self.options = options
        self.app_config = app_config or {}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from ipledge.api.app import create_app
        from ipledge.api.requestlog import configure_logging

        # in the worker: request ids and redaction on every handler (app, waitress, gunicorn.error)
        configure_logging(os.environ.get("IPLEDGE_LOG_LEVEL", "info"),
                          access=os.environ.get("IPLEDGE_ACCESS_LOG", "-") != "")
        return create_app(self.app_config)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("localhost" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _ipledge_command() -> str:
    exe = Path(sys.executable).with_name("ipledge")
    return shlex.quote(str(exe)) if exe.exists() else "ipledge"


def curl_example(host: str, port: int, db_url: str) -> str:
    """Two shell lines: create a key, then POST an assessment (the approved example) with it."""
    from ipledge.api.examples import approval_request

    base = _base_url(host, port)
    body = json.dumps(approval_request(), separators=(",", ":"))
    env = ""
    if db_url.startswith("sqlite:///") and not os.environ.get("DATABASE_URL"):
        env = f"IPLEDGE_DB={shlex.quote(db_url[len('sqlite:///'):])} "
    lines = [
        f"ipledge API at {base}  (docs: {base}/v1/docs, health: {base}/v1/health)",
        "Create an API key and assess the example pledge (a marketed anaesthetic; approved):" + (
            "  (run with the same DATABASE_URL as the server)" if not env else ""),
        "",
        f"  KEY=$({env}{_ipledge_command()} keys create --tenant demo-bank | tail -n 1)",
        f"  curl -sS -X POST {base}/v1/assessments -H \"Authorization: Bearer $KEY\" "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}",
        "",
    ]
    return "\n".join(lines)


def gunicorn_options(host: str, port: int, workers: int = WORKERS) -> dict:
    return {
        "bind": _bind(host, port),
        "workers": workers,
        # waitress front per worker (see the module docstring); IPLEDGE_SERVER=gthread for the old one
        "worker_class": "gthread" if os.environ.get("IPLEDGE_SERVER") == "gthread" else _worker_class(),
        "threads": int(os.environ.get("IPLEDGE_THREADS", "4")),
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "preload_app": False,  # each worker creates the app → posterior loaded once per worker
        "accesslog": None,  # the app writes its own, redacted, access log (ipledge.api.requestlog)
        "errorlog": "-",
        "loglevel": os.environ.get("IPLEDGE_LOG_LEVEL", "info"),
        "proc_name": "ipledge",
        "control_socket_disable": True,  # gunicorn 27: no shared ~/.gunicorn control socket
    }


def run_server(host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> None:
    from ipledge.api.store import Store, database_url

    workers = workers or int(os.environ.get("IPLEDGE_WORKERS", str(WORKERS)))
    schema = os.environ.get("IPLEDGE_DB_SCHEMA") or None
    # PostgreSQL with two roles (README): migrate as the owner, serve as the application role
    owner_url = os.environ.get("IPLEDGE_MIGRATION_DATABASE_URL")
    store = Store(owner_url or None, schema=schema)  # else as the workers: DATABASE_URL / IPLEDGE_DB / ./instance
    store.migrate()  # once, in the master, before the workers start
    store.dispose()
    url = database_url() if owner_url else store.url
    # Workers must use the same database even if the working directory changes.
    app_config = {"DATABASE_URL": url}
    print(curl_example(host, port, url), flush=True)
    from ipledge.risk.runtime import tune_allocator

    tune_allocator()  # in the master: forked workers inherit it
    IpledgeGunicorn(gunicorn_options(host, port, workers), app_config).run()


if __name__ == "__main__":  # python -m ipledge.api.serve [host] [port]
    run_server(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 8000)


# --------------------------------------------------------------------------------------------
# A server in a child process (durability test, load benchmark)


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerProcess:
    """``run_server`` (gunicorn, 2 workers) in its own process group on a loopback port.

    ``stop()`` sends SIGTERM, ``kill()`` SIGKILL, to that group only (master and its workers).
    """

    def __init__(self, env: dict[str, str], port: int | None = None, host: str = "127.0.0.1",
                 log_path: str | None = None):
        self.host, self.port = host, port or free_port(host)
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        import subprocess
        import time
        import urllib.request

        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        code = f"from ipledge.api.serve import run_server; run_server({self.host!r}, {self.port})"
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=self.env, stdout=log, stderr=log,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(self.base_url + "/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"server not ready after {timeout:.0f} s (log: {self.log_path})")

    def _signal(self, sig) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        import signal

        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        import signal
        import subprocess

        self._signal(signal.SIGTERM)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
