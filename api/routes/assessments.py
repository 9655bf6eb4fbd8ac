from __future__ import annotations

from flask import current_app, request

from ipledge.api import responses as R
from ipledge.api import service
from ipledge.api.auth import current_principal
from ipledge.api.bodies import idempotency_key, read_json
from ipledge.api.examples import example_request
from ipledge.api.openapi import operation
from ipledge.api.routes import bp, result_response
from ipledge.valuation.schema import PledgeRequest


def _store():
    return current_app.extensions["ipledge_store"]


@bp.post("/assessments")
@operation("POST", "/v1/assessments", "Assess a pledge and store the result", tags=["assessments"],
           request=PledgeRequest, request_example=example_request(), idempotent_post=True,
           responses={201: (R.AssessmentResponse, "Stored assessment (committed before this response); a "
                                                  "replay of the same Idempotency-Key returns the first response "
                                                  "again with `Idempotent-Replayed: true`")},
           description="Scores, pipeline risk, Monte Carlo valuation, credit metrics and the lending "
                       "recommendation. The assessment and its audit record are committed before the response.")
def create_assessment():
    principal = current_principal()
    key = idempotency_key()
    result = service.create_assessment(_store(), principal, read_json(), key)
    return result_response(result, location=f"/v1/assessments/{result.resource_id}")


ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.get("/assessments/<string:assessment_id>")
@operation("GET", "/v1/assessments/{id}", "Read a stored assessment of your institution", tags=["assessments"],
           parameters=[ID_PARAM], errors=(404,), responses={200: (R.AssessmentResponse, "The stored response")})
def get_assessment(assessment_id: str):
    return result_response(service.get_assessment(_store(), current_principal(), assessment_id))


@bp.get("/assessments")
@operation("GET", "/v1/assessments", "List your institution's assessments, newest first", tags=["assessments"],
           parameters=[
               {"name": "limit", "in": "query", "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": service.MAX_LIMIT, "default": 20}},
               service.CURSOR_PARAM,
           ],
           errors=(422,), responses={200: (R.AssessmentList, "One page of assessment summaries")})
def list_assessments():
    return result_response(service.list_assessments(
        _store(), current_principal(), request.args.get("limit"), request.args.get("cursor")))
