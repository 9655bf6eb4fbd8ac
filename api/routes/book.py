"""The tenant's book from the database (issue 17): ``POST /v1/book/risk`` runs the portfolio model
(risk/portfolio.py) over the open loans at their latest valuations, as a job like
``POST /v1/portfolio/stress`` (same ``portfolio_jobs`` table, same thread pool, any worker answers
``GET /v1/book/risk/{job_id}``). The figures equal ``ipledge portfolio`` on ``ipledge book export``.
"""
from __future__ import annotations

import json
import logging
from typing import Annotated

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ipledge.api import responses as R
from ipledge.api.auth import current_principal
from ipledge.api.bodies import idempotency_key
from ipledge.api.openapi import operation
from ipledge.api.problems import Problem
from ipledge.api.routes import bp, json_response, result_response
from ipledge.api.routes.loans import optional_json
from ipledge.api.routes.stress import BOOK_FACTORS, BOOK_SIMULATION, DEFAULT_MAX_CELLS, JOB_PARAM, _dumps, _pool
from ipledge.api.service import check_idempotency, loaded_posterior, result_from_stored
from ipledge.valuation.errors import field_errors

log = logging.getLogger("ipledge.api")
ENDPOINT = "POST /v1/book/risk"


class BookRiskBody(BaseModel):
    """How to simulate the book (the pledges are your open loans)."""

    model_config = ConfigDict(extra="forbid")
    simulation: Annotated[dict | None, BOOK_SIMULATION] = Field(default=None, description="{paths: 1000.., seed, "
                                                                                          "chunk_paths}")
    factors: Annotated[str | dict | None, BOOK_FACTORS] = Field(default="on", description="on | off | {funding, "
                                                                                          "vbp, rate_sd}")


def run_book_job(store, job_id: str, book, loan_ids: list[str], posterior, engine: str,
                 scheduler: str | None) -> None:
    """Pool thread: queued -> running -> done | failed; the result names each pledge's loan."""
    from ipledge.risk.portfolio import run_portfolio

    try:
        if not store.mark_running(job_id):
            return
        try:
            res = run_portfolio(book, posterior, engine=engine, scheduler=scheduler)
            for row in res["loans"]:
                row["loan_id"] = loan_ids[row["index"]]
            store.finish_job(job_id, _dumps(res))
        except Exception as e:  # noqa: BLE001 - the job reports its failure; the API keeps serving
            store.fail_job(job_id, f"{type(e).__name__}: {e}")
    except Exception:  # noqa: BLE001 - database unreachable: the job stays queued/running
        log.exception("book job %s: state not recorded", job_id)


@bp.post("/book/risk")
@operation("POST", "/v1/book/risk", "Risk of your open loans at their latest valuations (background job)",
           tags=["book"], request=BookRiskBody, errors=(409, 503), idempotent_post=True,
           request_example={"simulation": {"paths": 10000, "seed": 7}, "factors": "on"},
           responses={202: (R.Job, "Job accepted and stored; poll GET /v1/book/risk/{job_id}")},
           description="EL, VaR 99%, ES 99%, each loan's contribution (with its loan_id), concentration, and "
                       "whatever the portfolio model reports on scheme caps, over the tenant's active loans "
                       "(each at the request of its latest revaluation) with the common factors.")
def submit_book_risk():
    from ipledge.api.service_loans import tenant_book
    from ipledge.api.store import canonical_hash
    from ipledge.api.store_loans import LoanStore
    from ipledge.risk.portfolio import Book, BookError

    principal = current_principal()
    key = idempotency_key()
    raw = optional_json()
    try:
        body = BookRiskBody.model_validate(raw)
    except ValidationError as e:
        raise Problem(422, "validation-error", errors=field_errors(e)) from None
    store = current_app.extensions["ipledge_store"]
    idem, prior = check_idempotency(store, principal, ENDPOINT, key, raw)
    if prior is not None:
        result = result_from_stored(prior)
        return result_response(result, location=f"/v1/book/risk/{result.resource_id}")
    sim = body.simulation or {}
    ls = LoanStore(store)
    book_doc, loan_ids = tenant_book(ls, principal.tenant_id, paths=10_000, seed=7, factors=body.factors)
    if not loan_ids:
        # the state of the tenant's book, not the body, is at fault: 409 (the body may be sent again later)
        raise Problem(409, "no-open-loans", "your institution has no open loans to simulate", title="Conflict")
    book_doc["simulation"] = {**book_doc["simulation"], **sim}
    try:
        book = Book.from_dict(book_doc)
    except BookError as e:
        raise Problem(422, "validation-error", errors=[{"field": "simulation" if "simulation" in str(e) else
                                                        "factors", "message": str(e), "type": "value_error"}]) from None
    cells = len(book.pledges) * book.paths
    limit = int(current_app.config.get("IPLEDGE_MAX_PORTFOLIO_CELLS", DEFAULT_MAX_CELLS))
    if cells > limit:
        raise Problem(422, "validation-error", errors=[{"field": "simulation.paths", "message": f"loans x paths = "
                                                        f"{cells:,} exceeds this server's limit of {limit:,}",
                                                        "type": "value_error"}])
    posterior = loaded_posterior()
    scheduler = current_app.config.get("IPLEDGE_DASK_SCHEDULER")
    engine = "dask" if scheduler else "local"
    stored = store.create_job(principal, request_hash=canonical_hash({"body": raw, "book": book_doc}),
                              model_version=posterior.model_version, seed=book.seed, n_loans=len(book.pledges),
                              paths=book.paths, engine=engine, idem=idem, action="book.risk")
    if not stored.replayed:
        try:
            _pool().submit(run_book_job, store, stored.resource_id, book, loan_ids, posterior, engine, scheduler)
        except RuntimeError as e:
            store.fail_job(stored.resource_id, f"not started: {e}")
    result = result_from_stored(stored)
    return result_response(result, location=f"/v1/book/risk/{result.resource_id}")


@bp.get("/book/risk/<string:job_id>")
@operation("GET", "/v1/book/risk/{job_id}", "Status and result of a book risk job", tags=["book"],
           parameters=[JOB_PARAM], errors=(404,),
           responses={200: (R.Job, "queued | running | done (with result) | failed (with error)")})
def get_book_job(job_id: str):
    job = current_app.extensions["ipledge_store"].get_job(current_principal(), job_id)
    if job is None:
        raise Problem(404, "not-found", f"no book job {job_id!r}", title="Not found")
    return json_response(json.dumps(job, ensure_ascii=False))
