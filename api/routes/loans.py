"""A lender's loans (issue 17): booking from an assessment, append-only events, revaluations.

Views are thin; :mod:`ipledge.api.service_loans` validates, revalues and stores. Every write is committed
with its valuation, alerts and audit rows before the response; another tenant's loan answers the
404 of a missing one.
"""
from __future__ import annotations

from flask import current_app, request

from ipledge.api import responses as R
from ipledge.api import service_loans as service
from ipledge.api.auth import current_principal
from ipledge.api.bodies import idempotency_key, read_json
from ipledge.api.openapi import operation
from ipledge.api.routes import bp, result_response
from ipledge.api.service import CURSOR_PARAM, loaded_posterior

ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
PAGING = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": service.MAX_LIMIT, "default": 20}},
    CURSOR_PARAM,
]


def _store():
    return current_app.extensions["ipledge_store"]


def optional_json() -> object:
    """The JSON body, or {} when the request has none (bodies whose every field is optional)."""
    if not request.get_data(cache=True).strip():
        return {}
    return read_json()


@bp.post("/loans")
@operation("POST", "/v1/loans", "Book a loan from one of your stored assessments", tags=["loans"],
           request=service.LoanBody, idempotent_post=True, errors=(404, 409, 503),
           request_example={"assessment_id": "01JABCDEFGHJKMNPQRSTVWXYZ0", "amount": 2.0e7,
                            "drawdown_date": "2026-11-15", "reference": "IPL-2026-001"},
           responses={201: (R.LoanOut, "The booked loan with its booking valuation (committed before this response)")},
           description="Revalues the assessment's request at the drawdown date on the amount drawn (valuation 0). "
                       "`monitoring` sets the alert triggers; omitted numbers take the documented defaults.")
def create_loan():
    principal = current_principal()
    result = service.book_loan(_store(), principal, read_json(), idempotency_key(), loaded_posterior())
    return result_response(result, location=f"/v1/loans/{result.resource_id}")


@bp.get("/loans")
@operation("GET", "/v1/loans", "List your institution's loans, newest first", tags=["loans"],
           parameters=PAGING, errors=(422,), responses={200: (R.LoanList, "One page of loans")})
def list_loans():
    return result_response(service.list_loans(_store(), current_principal(), request.args.get("limit"),
                                              request.args.get("cursor")))


@bp.get("/loans/<string:loan_id>")
@operation("GET", "/v1/loans/{id}", "A loan with its events and valuations", tags=["loans"],
           parameters=[ID_PARAM], errors=(404,), responses={200: (R.LoanDetail, "The loan")})
def get_loan(loan_id: str):
    return result_response(service.get_loan(_store(), current_principal(), loan_id))


@bp.post("/loans/<string:loan_id>/events")
@operation("POST", "/v1/loans/{id}/events", "Append a fact to a loan and revalue it at the fact's date",
           tags=["loans"], parameters=[ID_PARAM], idempotent_post=True, errors=(404, 409, 503),
           request=service.EventBody, request_example={"type": "phase_result", "date": "2026-11-20",
                                                       "stage": "phase2", "outcome": "failed"},
           responses={201: (R.EventResult, "The stored event, the revaluation it caused and any alerts")},
           description="Event types: phase_result (stage reached or failed), approval, launch, vbp_selected "
                       "(cut), invalidation_decided, fee_payment_missed, repayment, default, recovery (amount, "
                       "channel). Dates run forward: not before the drawdown, the last event or the last "
                       "valuation, not after today.")
def add_event(loan_id: str):
    principal = current_principal()
    result = service.add_event(_store(), principal, loan_id, read_json(), idempotency_key(), loaded_posterior())
    return result_response(result, location=f"/v1/loans/{loan_id}")


@bp.post("/loans/<string:loan_id>/revaluations")
@operation("POST", "/v1/loans/{id}/revaluations", "Revalue a loan now (or at as_of) on its recorded facts",
           tags=["loans"], parameters=[ID_PARAM], idempotent_post=True, errors=(404, 409, 503),
           request=service.RevaluationBody, request_example={"as_of": "2026-11-30"},
           responses={201: (R.RevaluationResult, "The stored valuation and any alerts it raised")})
def revalue_loan(loan_id: str):
    principal = current_principal()
    result = service.revalue_loan(_store(), principal, loan_id, optional_json(), idempotency_key(),
                                  loaded_posterior())
    return result_response(result, location=f"/v1/loans/{loan_id}")


VAL_PARAM = {"name": "valuation_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.get("/loans/<string:loan_id>/valuations/<string:valuation_id>")
@operation("GET", "/v1/loans/{id}/valuations/{valuation_id}", "The full assessment document of a valuation",
           tags=["loans"], parameters=[ID_PARAM, VAL_PARAM], errors=(404,),
           responses={200: (R.AssessmentResponse, "The assessment of the revalued request")})
def get_valuation(loan_id: str, valuation_id: str):
    return result_response(service.valuation_document(_store(), current_principal(), loan_id, valuation_id))
