"""Alerts raised by loan revaluations (issue 17): list them, acknowledge one (audited)."""
from __future__ import annotations

from flask import current_app, request

from ipledge.api import responses as R
from ipledge.api import service_loans as service
from ipledge.api.auth import current_principal
from ipledge.api.openapi import operation
from ipledge.api.routes import bp, result_response
from ipledge.api.routes.loans import PAGING, optional_json

ALERT_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.get("/alerts")
@operation("GET", "/v1/alerts", "Your institution's loan alerts, newest first", tags=["alerts"],
           parameters=[{"name": "status", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": list(service.ALERT_STATUS)}},
                       {"name": "loan_id", "in": "query", "required": False,
                        "schema": {"type": "string", "maxLength": 64}}, *PAGING],
           errors=(422,), responses={200: (R.AlertList, "One page of alerts: loan, trigger, numbers, action")})
def list_alerts():
    a = request.args
    return result_response(service.list_alerts(current_app.extensions["ipledge_store"], current_principal(),
                                               a.get("status"), a.get("loan_id"), a.get("limit"), a.get("cursor")))


@bp.post("/alerts/<string:alert_id>/ack")
@operation("POST", "/v1/alerts/{id}/ack", "Acknowledge an alert (once; audited)", tags=["alerts"],
           parameters=[ALERT_PARAM], request=service.AckBody, request_example={"note": "guarantee requested"},
           errors=(404,), responses={200: (R.AlertOut, "The alert, acknowledged (a repeat changes nothing)")})
def ack_alert(alert_id: str):
    return result_response(service.ack_alert(current_app.extensions["ipledge_store"], current_principal(),
                                             alert_id, optional_json()))
