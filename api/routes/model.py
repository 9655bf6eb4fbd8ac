from __future__ import annotations

import json
import threading

from flask import current_app, request

from ipledge.api import responses as R
from ipledge.api.auth import current_principal
from ipledge.api.openapi import operation
from ipledge.api.problems import Problem
from ipledge.api.routes import bp, json_response

REGIONS = ("global", "china")  # as ipledge.risk.posterior.REGIONS; not imported so the route module stays light
_regional: dict[tuple[int, str], str] = {}  # (id of the loaded posterior, region) -> document, built once
_lock = threading.Lock()


def _region() -> str:
    region = request.args.get("region", "global")
    if region not in REGIONS:
        raise Problem(422, "validation-error", errors=[{
            "field": "region", "message": f"must be one of {', '.join(REGIONS)}", "type": "enum"}])
    return region


@bp.get("/model")
@operation("GET", "/v1/model", "The served pipeline model (`ipledge model show --json`)", tags=["model"],
           errors=(422, 503),
           parameters=[{"name": "region", "in": "query", "required": False,
                        "description": "`global` (default) or `china` (offset calibrated on Wang et al. 2022)",
                        "schema": {"type": "string", "enum": list(REGIONS), "default": "global"}}],
           responses={200: (R.ModelInfo, "Model version, which file is served, diagnostics, predictive "
                                         "P(approval) and transition tables, reference check, sources")})
def show_model():
    current_principal()
    region = _region()
    model = current_app.extensions["ipledge_model"]
    body = model.document()
    if body is None:
        raise Problem(503, "model-unavailable", model.error or "the pipeline model is not loaded",
                      title="Model unavailable")
    if region == "global":
        return json_response(body)
    key = (id(model.posterior), region)
    with _lock:
        if key not in _regional:
            from ipledge.api.service import finite_or_none

            try:
                doc = model.posterior.show(region=region)
            except ValueError as e:  # a refit without the China calibration
                raise Problem(422, "validation-error", errors=[{
                    "field": "region", "message": str(e), "type": "value_error"}]) from None
            _regional[key] = json.dumps(finite_or_none(doc), ensure_ascii=False)
        return json_response(_regional[key])
