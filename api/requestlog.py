"""Request ids, the access log and secret redaction in every log line (issue 15, finding 3).

- Each request gets an id: a client's ``X-Request-Id`` when it is 1-128 characters of
  ``[A-Za-z0-9._:-]``, else a new one. It is echoed in the response header, put in every problem+json
  (``request_id``) and in every log line written while the request runs (``request_id=...``).
- The access log (logger ``ipledge.access``) is written by the app, not the server: method, path,
  query with secret-looking parameters redacted, status, bytes, milliseconds, client address. It never
  holds a header, a body or basic-auth userinfo (gunicorn's format decoded ``curl -u KEY:`` into
  the line).
- :class:`RedactFilter` sits on the log handlers and rewrites any record that still carries an API
  key, a bearer/basic credential, userinfo in a URL or an ``api_key=``-like parameter.
"""
from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import time
from urllib.parse import parse_qsl, urlencode

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("ipledge_request_id", default="-")
access_log = logging.getLogger("ipledge.access")

REDACTED = "[REDACTED]"
#: query parameter names whose values are never logged (compared lower-case, '-' as '_')
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth", "authorization",
                           "password", "secret", "signature", "sig", "session"})
_SECRET_PATTERNS = [
    (re.compile(r"ipk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"), "ipk_" + REDACTED),                 # our API keys
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),        # credentials
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/@\s:]*(?::[^/@\s]*)?@"), r"\1" + REDACTED + "@"),  # userinfo
    (re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|auth|password|secret|sig|signature)=)"
                r"[^&\s\"']*"), r"\1" + REDACTED),
]


def redact(text: str) -> str:
    """``text`` with API keys, credentials, URL userinfo and secret query values replaced."""
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_query(query: str) -> str:
    """A query string with the values of secret-looking parameters replaced (order kept)."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    safe = [(k, REDACTED if k.lower().replace("-", "_") in SECRET_PARAMS else v) for k, v in pairs]
    return redact(urlencode(safe, safe="[]"))


def request_id_from(environ: dict) -> str:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _VALID_ID.match(given) else secrets.token_hex(8)


class RequestLog:
    """WSGI middleware: request id in, request id out, one access-log line per request."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        rid = request_id_from(environ)
        environ["ipledge.request_id"] = rid
        token = current_request_id.set(rid)
        t0 = time.perf_counter()
        seen: dict = {}

        def _start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, rid))
            seen["status"] = status.split(" ", 1)[0]
            seen["length"] = next((v for k, v in headers if k.lower() == "content-length"), "-")
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, _start)
        finally:
            query = redact_query(environ.get("QUERY_STRING", ""))
            path = redact(environ.get("PATH_INFO", ""))
            access_log.info('%s "%s %s%s %s" %s %s %.1fms', environ.get("REMOTE_ADDR", "-"),
                            environ.get("REQUEST_METHOD", "-"), path, f"?{query}" if query else "",
                            environ.get("SERVER_PROTOCOL", "-"), seen.get("status", "-"), seen.get("length", "-"),
                            (time.perf_counter() - t0) * 1000)
            current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class RedactFilter(logging.Filter):
    """Rewrites a record's message (and exception text) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: log it as is, redacted
            msg = str(record.msg)
        record.msg, record.args = redact(msg), None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] request_id=%(request_id)s %(name)s: %(message)s"


def configure_logging(level: str = "info", access: bool = True) -> None:
    """One stderr handler (request id + redaction) for the app, waitress and gunicorn's error log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    access_log.disabled = not access
    for name in ("gunicorn.error", "waitress"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
