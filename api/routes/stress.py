"""Stress scenarios and portfolio stress (DESIGN §10-12).

- ``GET /v1/scenarios``: the built-in scenarios with their shocks and sources.
- ``POST /v1/assessments/{id}/stress``: the stored request of one of the tenant's assessments, run as
  the base and under each scenario on the same seed; answers the rows (a list, first row ``base``).
- ``POST /v1/portfolio/stress``: a book of pledges as a background job (202 + job id);
  ``GET /v1/portfolio/stress/{job_id}`` answers its status and, when done, the result.

Portfolio jobs live in the database (table ``portfolio_jobs``, migration 0002): the POST commits the
queued job (and its append-only ``portfolio.submit`` audit record) before answering 202, the job then
runs on a thread pool of the worker that accepted it (``IPLEDGE_PORTFOLIO_WORKERS`` threads, default
1) and writes running / done / failed to its row; the GET reads the row, so any gunicorn worker
answers. A job whose worker died (crash, restart, OOM kill) is not resumed: it stays ``queued`` or
``running`` for good; its ``submitted_at`` / ``started_at`` tell a client how old it is, and it should
resubmit. Job rows are kept (no expiry).
"""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ipledge.api import responses as R
from ipledge.api.auth import current_principal
from ipledge.api.bodies import idempotency_key, read_json
from ipledge.api.examples import example_request
from ipledge.api.openapi import operation
from ipledge.api.problems import Problem
from ipledge.api.responses import STRESS_ROW_MONEY, round_money
from ipledge.api.service import loaded_posterior
from ipledge.api.routes import bp, json_response, result_response

log = logging.getLogger("ipledge.api")

MAX_SCENARIOS = 20
DEFAULT_MAX_CELLS = 50_000_000   # loans x paths of one portfolio job (e.g. 5,000 pledges x 10,000 paths)


def _stress_schema(schema: dict) -> None:
    """The rule the view enforces, in the schema: scenario names (built-ins), or ``all: true``."""
    from ipledge.scenarios.loader import builtin_names

    schema["properties"]["scenarios"]["anyOf"][0]["items"]["enum"] = sorted(builtin_names())
    schema["anyOf"] = [{"required": ["scenarios"], "properties": {"scenarios": {"type": "array", "minItems": 1}}},
                       {"required": ["all"], "properties": {"all": {"const": True}}}]


class StressBody(BaseModel):
    """Scenarios to run: names of built-ins, or ``all``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_stress_schema)
    scenarios: list[str] | None = Field(default=None, max_length=MAX_SCENARIOS,
                                        description="Built-in scenario names (GET /v1/scenarios)")
    all: bool = Field(default=False, description="Run every built-in scenario")


#: what ipledge.risk.portfolio.Book.from_dict reads (it validates; these schemas document the same rules)
BOOK_SIMULATION = WithJsonSchema({
    "anyOf": [{"type": "object", "additionalProperties": False, "properties": {
        "paths": {"type": "integer", "minimum": 1000, "maximum": 1_000_000,
                  "description": "Monte Carlo paths (default 10,000). Unit: count."},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1,
                 "description": "Random seed (default 7). Unit: dimensionless."},
        "chunk_paths": {"type": "integer", "minimum": 100, "maximum": 1_000_000,
                        "description": "Paths per task (at most paths). Unit: count."}}}, {"type": "null"}],
    "description": "Monte Carlo settings of the book: paths, seed, chunk_paths"})
BOOK_FACTORS = WithJsonSchema({
    "anyOf": [{"enum": ["on", "off"]}, {"type": "object", "additionalProperties": False, "properties": {
        "funding": {"type": "number", "minimum": 0, "exclusiveMaximum": 1,
                    "description": "Loading on the funding-winter factor. Unit: dimensionless."},
        "vbp": {"type": "number", "minimum": 0, "exclusiveMaximum": 1,
                "description": "Loading on the VBP-wave factor. Unit: dimensionless."},
        "rate_sd": {"type": "number", "minimum": 0, "maximum": 0.1,
                    "description": "Standard deviation of the rate factor. Unit: fraction per year (0.05 = 5% a "
                                   "year)."}}}, {"type": "null"}],
    "default": "on", "description": "Common factors: on (the defaults), off, or {funding, vbp, rate_sd}"})


class BookBody(BaseModel):
    """A book of pledges (DESIGN §11)."""

    model_config = ConfigDict(extra="forbid")
    pledges: Annotated[list[dict], WithJsonSchema({
        "type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/PledgeRequest"}})] = Field(
        min_length=1, description="PledgeRequest v1 objects (schema PledgeRequest)")
    simulation: Annotated[dict | None, BOOK_SIMULATION] = Field(default=None, description="{paths: 1000.., seed, "
                                                                                          "chunk_paths}")
    factors: Annotated[str | dict | None, BOOK_FACTORS] = Field(default="on", description="on | off | {funding, "
                                                                                          "vbp, rate_sd}")
    name: str | None = Field(default=None, description="Name of the book (echoed in the audit record)")
    description: str | None = Field(default=None, description="What the book is")


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", errors=[{"field": field, "message": message, "type": "value_error"}])


def _dumps(obj) -> str:
    from ipledge.api.service import finite_or_none, to_json_ready

    return json.dumps(to_json_ready(finite_or_none(obj)), ensure_ascii=False)


# ------------------------------------------------------------------------------------------ scenarios


@bp.get("/scenarios")
@operation("GET", "/v1/scenarios", "The built-in stress scenarios, their shocks and sources", tags=["stress"],
           responses={200: (R.ScenarioList, "Scenarios (name, description, set, sources)")})
def list_scenarios():
    from ipledge.scenarios.loader import builtin_names, load_scenario

    out = []
    for name in builtin_names():
        s = load_scenario(name)
        out.append({"name": s.name, "description": " ".join(s.description.split()), "set": s.set,
                    "sources": s.sources})
    return json_response(json.dumps(out, ensure_ascii=False))


ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.post("/assessments/<string:assessment_id>/stress")
@operation("POST", "/v1/assessments/{id}/stress", "Stress a stored assessment under named scenarios",
           tags=["stress"], request=StressBody, parameters=[ID_PARAM], errors=(404, 503),
           request_example={"scenarios": ["vbp_price_cut", "funding_winter"]},
           responses={200: (R.StressRows, "Rows: base first, then each scenario, on the same seed")},
           description="Re-runs the stored request (without its own scenario) as the base and under each "
                       "scenario with the same seed and paths, so differences are the scenario's effect.")
def stress_assessment(assessment_id: str):
    from pydantic import ValidationError

    from ipledge.risk.stress import stress_rows
    from ipledge.scenarios.loader import ScenarioError
    from ipledge.valuation.errors import field_errors
    from ipledge.valuation.schema import PledgeRequest

    principal = current_principal()
    raw = read_json()
    try:
        body = StressBody.model_validate(raw)
    except ValidationError as e:
        raise Problem(422, "validation-error", errors=field_errors(e)) from None
    if not body.all and not body.scenarios:
        raise _invalid("scenarios", "give scenario names or \"all\": true")
    store = current_app.extensions["ipledge_store"]
    data = store.get_assessment_request(principal, assessment_id)
    if data is None:
        raise Problem(404, "not-found", f"no assessment {assessment_id!r}", title="Not found")
    from ipledge.scenarios.loader import builtin_names

    known = set(builtin_names())
    for i, name in enumerate(body.scenarios or []):
        if name not in known:  # built-ins only over HTTP (no file paths)
            raise _invalid(f"scenarios[{i}]", f"unknown scenario '{name}'; built-ins: {', '.join(sorted(known))}")
    req = PledgeRequest.model_validate(data)
    from ipledge.api import compute
    from ipledge.api.limits import heavy_work

    n_runs = 1 + (len(known) if body.all else len(set(body.scenarios or [])))
    try:
        loaded_posterior()  # 503 when this worker has no model
        with heavy_work(req.simulation.paths, n_runs) as background:
            rows = compute.call(stress_rows, req, body.scenarios or [], None, all_=body.all, background=background)
    except ScenarioError as e:
        raise _invalid("scenarios", str(e)) from None
    for r in rows:
        r["assessment_id"] = assessment_id
    return json_response(_dumps(round_money(rows, STRESS_ROW_MONEY)))


# ------------------------------------------------------------------------------------------ portfolio jobs


def _run_job(store, job_id: str, book, posterior, engine: str, scheduler: str | None) -> None:
    """Body of a pool thread: queued -> running -> done | failed, each state committed to the job's row."""
    from ipledge.risk.portfolio import run_portfolio

    try:
        if not store.mark_running(job_id):
            return
        try:
            result = _dumps(run_portfolio(book, posterior, engine=engine, scheduler=scheduler))
        except Exception as e:  # noqa: BLE001 - the job reports its failure; the API keeps serving
            store.fail_job(job_id, f"{type(e).__name__}: {e}")
            return
        try:
            store.finish_job(job_id, result)
        except Exception as e:  # noqa: BLE001 - e.g. the result could not be stored
            log.exception("portfolio job %s: result not stored", job_id)
            store.fail_job(job_id, f"result not stored: {type(e).__name__}: {e}")
    except Exception:  # noqa: BLE001 - the database is unreachable: the job stays queued/running
        log.exception("portfolio job %s: state not recorded", job_id)


def _pool() -> ThreadPoolExecutor:
    """This worker's thread pool for portfolio jobs (one per app, created on first use)."""
    app = current_app
    pool = app.extensions.get("ipledge_portfolio_pool")
    if pool is None:
        with _POOL_LOCK:
            pool = app.extensions.get("ipledge_portfolio_pool")
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=int(app.config.get("IPLEDGE_PORTFOLIO_WORKERS", 1)),
                                          thread_name_prefix="ipledge-portfolio")
                app.extensions["ipledge_portfolio_pool"] = pool
    return pool


_POOL_LOCK = threading.Lock()
POOL_BACKLOG = 8  # jobs waiting in one worker's pool before new ones are refused (503)


def _admit_job(store, principal, cells: int) -> None:
    """Bounded queue: at most IPLEDGE_PORTFOLIO_QUEUE unfinished jobs per tenant (429), at most
    POOL_BACKLOG waiting in this worker (503); the work (loans x paths) is charged to the tenant."""
    from ipledge.api.limits import budgets

    cap = int(current_app.config.get("IPLEDGE_PORTFOLIO_QUEUE", 4))
    if store.count_unfinished_jobs(principal) >= cap:
        raise Problem(429, "job-queue-full", f"{cap} portfolio jobs of this tenant are queued or running; "
                                             "retry when one has finished", title="Too many requests",
                      headers={"Retry-After": "30"})
    pool = current_app.extensions.get("ipledge_portfolio_pool")
    if pool is not None and pool._work_queue.qsize() >= POOL_BACKLOG:
        raise Problem(503, "job-queue-full", "the portfolio job queue of this server is full; retry later",
                      title="Service busy", headers={"Retry-After": "30"})
    budgets().charge("tenant", str(principal.tenant_id), cells, current_app.config["IPLEDGE_WORK_LIMIT"])
JOB_PARAM = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
PORTFOLIO_ENDPOINT = "POST /v1/portfolio/stress"


@bp.post("/portfolio/stress")
@operation("POST", "/v1/portfolio/stress", "Simulate a book of pledges with common factors (background job)",
           tags=["stress"], request=BookBody, errors=(503,), idempotent_post=True,
           request_example={"pledges": [example_request(paths=1000)],
                            "simulation": {"paths": 1000, "seed": 5, "chunk_paths": 500}, "factors": "on"},
           responses={202: (R.Job, "Job accepted and stored (committed before this response); poll "
                                        "Location (GET /v1/portfolio/stress/{job_id}). A replay of the same "
                                        "Idempotency-Key returns the first 202 again with "
                                        "`Idempotent-Replayed: true` and starts nothing")},
           description="EL, VaR 99%, ES 99%, each loan's contribution to EL and ES, concentration by "
                       "therapeutic area. The job is stored in the database, so any API worker answers "
                       "its status; it runs on the worker that accepted it.")
def submit_portfolio():
    """Validate the book (422 with field paths, nothing stored), commit the queued job and its audit
    record, answer 202 + Location, then run the job on this worker's thread pool.

    A job is not resumed if this worker dies: it stays ``queued``/``running`` (see ``started_at``).
    """
    from pydantic import ValidationError

    from ipledge.api.service import check_idempotency, result_from_stored
    from ipledge.api.store import canonical_hash
    from ipledge.risk.portfolio import Book, BookError
    from ipledge.valuation.errors import field_errors

    principal = current_principal()
    key = idempotency_key()
    raw = read_json()
    try:
        BookBody.model_validate(raw)
        book = Book.from_dict(raw)
    except ValidationError as e:
        raise Problem(422, "validation-error", errors=field_errors(e)) from None
    except BookError as e:
        raise _invalid("book", str(e)) from None
    cells = len(book.pledges) * book.paths
    limit = int(current_app.config.get("IPLEDGE_MAX_PORTFOLIO_CELLS", DEFAULT_MAX_CELLS))
    if cells > limit:
        raise _invalid("simulation.paths", f"pledges x paths = {cells:,} exceeds this server's limit of {limit:,}")
    store = current_app.extensions["ipledge_store"]
    idem, prior = check_idempotency(store, principal, PORTFOLIO_ENDPOINT, key, raw)
    if prior is not None:
        result = result_from_stored(prior)
        return result_response(result, location=f"/v1/portfolio/stress/{result.resource_id}")
    _admit_job(store, principal, cells)
    posterior = loaded_posterior()
    scheduler = current_app.config.get("IPLEDGE_DASK_SCHEDULER")
    engine = "dask" if scheduler else "local"
    stored = store.create_job(principal, request_hash=canonical_hash(raw), model_version=posterior.model_version,
                              seed=book.seed, n_loans=len(book.pledges), paths=book.paths, engine=engine,
                              idem=idem)
    if not stored.replayed:  # replayed: a concurrent request with the same key created (and runs) the job
        try:
            _pool().submit(_run_job, store, stored.resource_id, book, posterior, engine, scheduler)
        except RuntimeError as e:  # the pool is shut down (worker exiting): say so instead of queued forever
            store.fail_job(stored.resource_id, f"not started: {e}")
    result = result_from_stored(stored)
    return result_response(result, location=f"/v1/portfolio/stress/{result.resource_id}")


@bp.get("/portfolio/stress/<string:job_id>")
@operation("GET", "/v1/portfolio/stress/{job_id}", "Status and result of a portfolio stress job",
           tags=["stress"], parameters=[JOB_PARAM], errors=(404,),
           responses={200: (R.Job, "queued | running | done (with result) | failed (with error); "
                                        "a job still queued/running long after `started_at` was lost with "
                                        "its worker and will not finish: resubmit it")})
def get_portfolio_job(job_id: str):
    """The job's row, read from the database (so any gunicorn worker answers).

    Another tenant's job and a missing one are the same 404. Jobs are not resurrected: a job whose
    worker died stays ``running`` (or ``queued``); ``started_at`` / ``submitted_at`` show its age.
    """
    job = current_app.extensions["ipledge_store"].get_job(current_principal(), job_id)
    if job is None:
        raise Problem(404, "not-found", f"no portfolio job {job_id!r}", title="Not found")
    return json_response(json.dumps(job, ensure_ascii=False))
