"""``GET /v1/assessments/{id}/replay``: recompute a stored assessment and compare (issue 17)."""
from __future__ import annotations

from flask import current_app

from ipledge.api import responses as R
from ipledge.api.auth import current_principal
from ipledge.api.openapi import operation
from ipledge.api.routes import bp, result_response
from ipledge.api.service import loaded_posterior

ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.get("/assessments/<string:assessment_id>/replay")
@operation("GET", "/v1/assessments/{id}/replay", "Recompute a stored assessment and compare it with the stored one",
           tags=["assessments"], parameters=[ID_PARAM], errors=(404, 503),
           responses={200: (R.ReplayResult, "identical with both hashes, or the fields that differ, or (another "
                                            "model version served) the version that reproduces it")},
           description="Runs the stored request with its stored seed on the served model and compares the whole "
                       "document (id and created_at are the stored ones). Audited as assessment.replay.")
def replay_assessment(assessment_id: str):
    from ipledge.api.service_loans import replay_assessment as run

    return result_response(run(current_app.extensions["ipledge_store"], current_principal(), assessment_id,
                               loaded_posterior()))
