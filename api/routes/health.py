from __future__ import annotations

import json

from flask import current_app

from api import responses as R
from api.openapi import operation
from api.routes import bp, json_response
from valuation.schema import SCHEMA_VERSION


@bp.get("/health")
@operation("GET", "/v1/health", "Liveness of the service (no authentication)", tags=["service"], auth=False,
           responses={200: (R.Health, "The service is up")})
def health():
    ext = current_app.extensions
    body = {"status": "ok", "version": ext["ipledge_version"], "schema_version": SCHEMA_VERSION,
            "model_version": ext["ipledge_model"].model_version}
    return json_response(json.dumps(body))
