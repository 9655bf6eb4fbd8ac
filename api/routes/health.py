"""``GET /v1/health`` (liveness: the process answers) and ``GET /v1/health/ready`` (readiness: the
database, the rate-limit store when Redis is configured, and the pipeline model all work)."""
from __future__ import annotations

import json

from flask import current_app

from ipledge.api import responses as R
from ipledge.api.openapi import operation
from ipledge.api.routes import bp, json_response
from ipledge.valuation.schema import SCHEMA_VERSION


@bp.get("/health")
@operation("GET", "/v1/health", "Liveness of the service (no authentication)", tags=["service"], auth=False,
           responses={200: (R.Health, "The service is up")})
def health():
    ext = current_app.extensions
    body = {"status": "ok", "version": ext["ipledge_version"], "schema_version": SCHEMA_VERSION,
            "model_version": ext["ipledge_model"].model_version}
    return json_response(json.dumps(body))


def _checks() -> dict[str, str]:
    """name -> "ok" or the reason it failed (short, nothing internal)."""
    import sqlalchemy as sa

    ext, out = current_app.extensions, {}
    store = ext["ipledge_store"]
    try:
        with store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        out["database"] = "ok"
    except Exception as e:  # noqa: BLE001 - any failure means "not ready"
        out["database"] = f"unavailable ({type(e).__name__})"
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if uri.startswith(("redis", "rediss")):
        try:
            ok = ext["ipledge_limiter"].storage.check()
            out["redis"] = "ok" if ok else "unavailable"
        except Exception as e:  # noqa: BLE001
            out["redis"] = f"unavailable ({type(e).__name__})"
    model = ext["ipledge_model"]
    out["model"] = "ok" if model.posterior is not None else "not loaded"
    return out


@bp.get("/health/ready")
@operation("GET", "/v1/health/ready", "Readiness: database, Redis (when configured) and model (no authentication)",
           tags=["service"], auth=False, errors=(503,),
           responses={200: (R.Ready, "Every dependency answers")})
def ready():
    from ipledge.api.problems import Problem

    checks = _checks()
    if any(v != "ok" for v in checks.values()):
        failed = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        raise Problem(503, "not-ready", f"not ready: {failed}", title="Service unavailable",
                      headers={"Retry-After": "5"}, checks=checks)
    return json_response(json.dumps({"status": "ready", "checks": checks}))
