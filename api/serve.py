"""Production serving: gunicorn (2 workers) through its Python API.

The master migrates the database once, prints a ready-to-paste curl example and forks the workers;
each worker builds the app itself (``preload_app`` off), so the pipeline posterior is loaded once per
worker at start-up and never per request.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from gunicorn.app.base import BaseApplication

WORKERS = 2


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
        from api.app import create_app

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
    """Two shell lines: create a key, then POST an assessment with it."""
    from api.examples import example_request

    base = _base_url(host, port)
    body = json.dumps(example_request(), separators=(",", ":"))
    env = ""
    if db_url.startswith("sqlite:///") and not os.environ.get("DATABASE_URL"):
        env = f"IPLEDGE_DB={shlex.quote(db_url[len('sqlite:///'):])} "
    lines = [
        f"ipledge API at {base}  (docs: {base}/v1/docs, health: {base}/v1/health)",
        "Create an API key and assess the example pledge:" + (
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
        "worker_class": "gthread",  # a slow assessment does not block health checks in the same worker
        "threads": int(os.environ.get("IPLEDGE_THREADS", "4")),
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "preload_app": False,  # each worker creates the app → posterior loaded once per worker
        "accesslog": os.environ.get("IPLEDGE_ACCESS_LOG", "-") or None,
        "errorlog": "-",
        "loglevel": os.environ.get("IPLEDGE_LOG_LEVEL", "info"),
        "proc_name": "ipledge",
        "control_socket_disable": True,  # gunicorn 27: no shared ~/.gunicorn control socket
    }


def run_server(host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> None:
    from api.store import Store

    workers = workers or int(os.environ.get("IPLEDGE_WORKERS", str(WORKERS)))
    store = Store()  # same resolution as the workers: DATABASE_URL / IPLEDGE_DB / ./instance/ipledge.db
    store.migrate()  # once, in the master, before the workers start
    url = store.url
    store.dispose()
    # Workers must use the same database even if the working directory changes.
    app_config = {"DATABASE_URL": url}
    print(curl_example(host, port, url), flush=True)
    from risk.runtime import tune_allocator

    tune_allocator()  # in the master: forked workers inherit it
    IpledgeGunicorn(gunicorn_options(host, port, workers), app_config).run()


if __name__ == "__main__":  # python -m api.serve [host] [port]
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
        code = f"from api.serve import run_server; run_server({self.host!r}, {self.port})"
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
