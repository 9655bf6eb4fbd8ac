"""Schemathesis with the positive_data_acceptance check ("schema-valid request rejected"), on demand.

Not part of the suite (the file name does not match test_*.py): run it explicitly, e.g.
``ST_EXAMPLES=100 python -m pytest -q -p no:randomly tests/schemathesis_acceptance.py`` (about 5 min at
100 examples per operation on a loaded 2-core machine). Each operation stops at its first failure, so
the count of failed tests is the number of operations with at least one rejection.
tests/test_api_schemathesis.py (in the suite) runs fewer examples without this check.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance, response_schema_conformance

from ipledge.api import create_app

N = int(os.environ.get("ST_EXAMPLES", "100"))
CONFIG = schemathesis.Config.from_dict({"generation": {"max-examples": N, "no-shrink": True, "deterministic": True}})
_TMP = Path(tempfile.mkdtemp(prefix="ipledge-stc-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
APP = create_app({"DATABASE_URL": f"sqlite:///{_TMP / 'st.db'}", "IPLEDGE_MAX_PATHS": 2000,
                  "IPLEDGE_RATE_LIMIT": "1000000 per minute", "RATELIMIT_STORAGE_URI": "memory://",
                  "IPLEDGE_WORK_LIMIT": "1000000000000 per minute", "IPLEDGE_TENANT_CONCURRENCY": 1000,
                  "IPLEDGE_AUTH_FAIL_LIMIT": "100000 per minute"})
KEY = APP.extensions["ipledge_store"].create_key("schemathesis")[1]
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", APP, config=CONFIG)


def fresh_idempotency_key(case) -> None:
    """A client sends a new Idempotency-Key with each new request (the header's contract); hypothesis
    would otherwise send "0" with many bodies, which the API rightly refuses (422, key reused)."""
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


@schema.parametrize()
@settings(max_examples=N, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_positive_data_accepted(case):
    fresh_idempotency_key(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"},
                           checks=[not_a_server_error, response_schema_conformance, positive_data_acceptance])
