from __future__ import annotations

from flask import current_app

from ipledge.api import responses as R
from ipledge.api import service
from ipledge.api.auth import current_principal
from ipledge.api.bodies import idempotency_key, read_json
from ipledge.api.examples import example_request
from ipledge.api.openapi import operation
from ipledge.api.routes import bp, result_response
from ipledge.valuation.schema import PledgeRequest


@bp.post("/valuations")
@operation("POST", "/v1/valuations", "Score the pledged IP (the `scores` object; nothing stored)",
           tags=["valuations"], request=PledgeRequest, request_example=example_request(), idempotent_post=True,
           responses={200: (R.Scores, "Rights certainty, competitive contribution, revenue potential")})
def create_valuation():
    principal = current_principal()
    key = idempotency_key()
    result = service.value_request(current_app.extensions["ipledge_store"], principal, read_json(), key)
    return result_response(result)
