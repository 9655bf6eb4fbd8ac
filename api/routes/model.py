from __future__ import annotations

from flask import current_app

from api import responses as R
from api.auth import current_principal
from api.openapi import operation
from api.problems import Problem
from api.routes import bp, json_response


@bp.get("/model")
@operation("GET", "/v1/model", "The loaded pipeline model (`ipledge model show --json`)", tags=["model"],
           errors=(503,), responses={200: (R.ModelInfo, "Model version, diagnostics, P(approval) table, sources")})
def show_model():
    current_principal()
    model = current_app.extensions["ipledge_model"]
    body = model.document()
    if body is None:
        raise Problem(503, "model-unavailable", model.error or "the pipeline model is not loaded",
                      title="Model unavailable")
    return json_response(body)
