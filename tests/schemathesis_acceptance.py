"""Schemathesis with the positive_data_acceptance check ("schema-valid request rejected"), on demand.

Not part of the suite (the file name does not match test_*.py): run it explicitly, e.g.
``ST_EXAMPLES=100 python -m pytest -q -p no:randomly tests/schemathesis_acceptance.py`` (about 5 min at
100 examples per operation on a loaded 2-core machine). Each operation stops at its first failure, so
the count of failed tests is the number of operations with at least one rejection.
tests/test_api_schemathesis.py (in the suite) runs fewer examples without this check.
"""
from __future__ import annotations

import atexit
import datetime as dt
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


def _date(s):
    try:
        return dt.date.fromisoformat(s) if isinstance(s, str) else None
    except ValueError:
        return None


def satisfy_cross_field_rules(node) -> None:
    """Make a generated body meet the request's cross-field rules that JSON Schema cannot state and that the
    document states in words (each field's description): p10 <= p50 <= p90 (p90 = 0 when p50 = 0),
    total_claims >= independent_claims, grant_date after filing_date, patent dates on or before as_of,
    unique patent ids, custom shares summing to 1, an approved product's launch_year at most next year,
    peak sales within three orders of magnitude of their median.
    Everything the schema does state is left to the generator: a request still refused is a finding."""
    if isinstance(node, list):
        for x in node:
            satisfy_cross_field_rules(x)
        return
    if not isinstance(node, dict):
        return
    for x in node.values():
        satisfy_cross_field_rules(x)
    qs = [node.get(k) for k in ("p10", "p50", "p90")]
    if all(isinstance(q, (int, float)) and not isinstance(q, bool) for q in qs):
        p10, p50, p90 = sorted(qs)
        if p50 == 0:
            p90 = 0
        p90 = min(p90, 1000.0 * p50)
        if 0 < p10 < p50 / 1000.0:
            p10 = p50 / 1000.0
        node["p10"], node["p50"], node["p90"] = p10, p50, p90
    if isinstance(node.get("independent_claims"), (int, float)) and "kind" in node:   # a patent (total's default: 1)
        total = node.get("total_claims", 1)
        node["total_claims"] = max(total, node["independent_claims"]) if isinstance(total, (int, float)) else total
    filed, granted = _date(node.get("filing_date")), _date(node.get("grant_date"))
    if filed and granted and granted < filed:
        node["filing_date"], node["grant_date"] = granted.isoformat(), filed.isoformat()
    elif filed and granted and granted == filed:
        if filed < dt.date(2100, 12, 31):
            node["grant_date"] = (filed + dt.timedelta(days=1)).isoformat()
        else:
            node["filing_date"] = (filed - dt.timedelta(days=1)).isoformat()
    shares = node.get("shares")
    if isinstance(shares, dict) and shares and all(isinstance(v, (int, float)) for v in shares.values()):
        total = sum(shares.values())
        keys = sorted(shares)
        for k in keys:
            shares[k] = shares[k] / total if total > 0 else (1.0 if k == keys[0] else 0.0)
        shares[keys[-1]] = 1.0 - sum(shares[k] for k in keys[:-1])
    patents, as_of = node.get("patents"), _date(node.get("as_of"))
    if isinstance(patents, list) and as_of is None and "product" in node:
        as_of = dt.date.today()  # the request's default as_of
    if isinstance(patents, list):
        seen = set()
        for i, p in enumerate(patents):
            if isinstance(p, dict) and isinstance(p.get("id"), str):
                if p["id"] in seen:
                    p["id"] = f"{p['id'][:40]}-{i}"
                seen.add(p["id"])
        if as_of:
            latest = max([d for p in patents if isinstance(p, dict)
                          for d in (_date(p.get("filing_date")), _date(p.get("grant_date"))) if d] or [as_of])
            if latest > as_of:
                as_of = latest
                node["as_of"] = as_of.isoformat()
    product = node.get("product")
    if as_of and isinstance(product, dict) and isinstance(product.get("launch_year"), int):
        product["launch_year"] = min(product["launch_year"], as_of.year + 1)


@schema.parametrize()
@settings(max_examples=N, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_positive_data_accepted(case):
    fresh_idempotency_key(case)
    satisfy_cross_field_rules(case.body)
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"},
                           checks=[not_a_server_error, response_schema_conformance, positive_data_acceptance])
