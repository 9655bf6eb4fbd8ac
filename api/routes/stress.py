"""Stress scenarios and portfolio stress (DESIGN §10-12).

- ``GET /v1/scenarios``: the built-in scenarios with their shocks and sources.
- ``POST /v1/assessments/{id}/stress``: the stored request of one of the tenant's assessments, run as
  the base and under each scenario on the same seed; answers the rows (a list, first row ``base``).
- ``POST /v1/portfolio/stress``: a book of pledges as a background job (202 + job id);
  ``GET /v1/portfolio/stress/{job_id}`` answers its status and, when done, the result.

Jobs run on a thread pool inside the API process and are kept in memory (per process, lost on
restart, finished jobs kept for ``IPLEDGE_JOB_TTL`` seconds). With several gunicorn workers a job is
only visible to the worker that accepted it: serve with one worker for this endpoint, or move jobs to
the database (not done: needs a table and a migration in api/store.py).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from api.auth import current_principal
from api.bodies import read_json
from api.openapi import operation
from api.problems import Problem
from api.routes import bp, json_response

MAX_SCENARIOS = 20
DEFAULT_MAX_CELLS = 50_000_000   # loans x paths of one portfolio job (e.g. 5,000 pledges x 10,000 paths)
DEFAULT_JOB_TTL = 3600


class StressBody(BaseModel):
    """Scenarios to run: names of built-ins, or ``all``."""

    model_config = ConfigDict(extra="forbid")
    scenarios: list[str] | None = Field(default=None, max_length=MAX_SCENARIOS,
                                        description="Built-in scenario names (GET /v1/scenarios)")
    all: bool = Field(default=False, description="Run every built-in scenario")


class BookBody(BaseModel):
    """A book of pledges (DESIGN §11)."""

    model_config = ConfigDict(extra="forbid")
    pledges: list[dict] = Field(min_length=1, description="PledgeRequest v1 objects (schema PledgeRequest)")
    simulation: dict | None = Field(default=None, description="{paths: 1000.., seed, chunk_paths}")
    factors: str | dict | None = Field(default="on", description="on | off | {funding, vbp, rate_sd}")
    name: str | None = None
    description: str | None = None


ROWS_SCHEMA = {"application/json": {"type": "array", "items": {
    "type": "object", "required": ["scenario", "appraised_value", "pd", "expected_loss_rate", "ltv", "decision"],
    "properties": {"scenario": {"type": "string"}, "appraised_value": {"type": "number"},
                   "pd": {"type": "number"}, "expected_loss_rate": {"type": "number"},
                   "ltv": {"type": "number"}, "decision": {"type": "string"},
                   "change": {"type": "object"}}}}}
SCENARIOS_SCHEMA = {"application/json": {"type": "array", "items": {
    "type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                                     "set": {"type": "object"}, "sources": {"type": "array"}}}}}
JOB_SCHEMA = {"application/json": {"type": "object", "required": ["job_id", "status"], "properties": {
    "job_id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "failed"]},
    "result": {"type": "object"}, "error": {"type": "string"}}}}


def _posterior():
    model = current_app.extensions["ipledge_model"]
    if model.posterior is None:
        raise Problem(503, "model-unavailable", model.error or "the pipeline model is not loaded",
                      title="Model unavailable")
    return model.posterior


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", errors=[{"field": field, "message": message, "type": "value_error"}])


def _dumps(obj) -> str:
    from api.service import finite_or_none, to_json_ready

    return json.dumps(to_json_ready(finite_or_none(obj)), ensure_ascii=False)


# ------------------------------------------------------------------------------------------ scenarios


@bp.get("/scenarios")
@operation("GET", "/v1/scenarios", "The built-in stress scenarios, their shocks and sources", tags=["stress"],
           responses={200: (SCENARIOS_SCHEMA, "Scenarios (name, description, set, sources)")})
def list_scenarios():
    from scenarios.loader import builtin_names, load_scenario

    out = []
    for name in builtin_names():
        s = load_scenario(name)
        out.append({"name": s.name, "description": " ".join(s.description.split()), "set": s.set,
                    "sources": s.sources})
    return json_response(json.dumps(out, ensure_ascii=False))


def stored_request(store, principal, assessment_id: str) -> dict | None:
    """The request JSON of the tenant's assessment, or None (absent or another tenant's: same answer)."""
    from api.store import Assessment

    with store.Session() as s:
        text = s.scalar(sa.select(Assessment.request_json).where(
            Assessment.id == assessment_id, Assessment.tenant_id == principal.tenant_id))
    return json.loads(text) if text is not None else None


ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.post("/assessments/<string:assessment_id>/stress")
@operation("POST", "/v1/assessments/{id}/stress", "Stress a stored assessment under named scenarios",
           tags=["stress"], request=StressBody, parameters=[ID_PARAM], errors=(404, 503),
           request_example={"scenarios": ["vbp_price_cut", "funding_winter"]},
           responses={200: (ROWS_SCHEMA, "Rows: base first, then each scenario, on the same seed")},
           description="Re-runs the stored request (without its own scenario) as the base and under each "
                       "scenario with the same seed and paths, so differences are the scenario's effect.")
def stress_assessment(assessment_id: str):
    from pydantic import ValidationError

    from risk.stress import stress_rows
    from scenarios.loader import ScenarioError
    from valuation.errors import field_errors
    from valuation.schema import PledgeRequest

    principal = current_principal()
    raw = read_json()
    try:
        body = StressBody.model_validate(raw)
    except ValidationError as e:
        raise Problem(422, "validation-error", errors=field_errors(e)) from None
    if not body.all and not body.scenarios:
        raise _invalid("scenarios", "give scenario names or \"all\": true")
    store = current_app.extensions["ipledge_store"]
    data = stored_request(store, principal, assessment_id)
    if data is None:
        raise Problem(404, "not-found", f"no assessment {assessment_id!r}", title="Not found")
    from scenarios.loader import builtin_names

    known = set(builtin_names())
    for i, name in enumerate(body.scenarios or []):
        if name not in known:  # built-ins only over HTTP (no file paths)
            raise _invalid(f"scenarios[{i}]", f"unknown scenario '{name}'; built-ins: {', '.join(sorted(known))}")
    req = PledgeRequest.model_validate(data)
    try:
        rows = stress_rows(req, body.scenarios or [], _posterior(), all_=body.all)
    except ScenarioError as e:
        raise _invalid("scenarios", str(e)) from None
    for r in rows:
        r["assessment_id"] = assessment_id
    return json_response(_dumps(rows))


# ------------------------------------------------------------------------------------------ portfolio jobs


class JobRegistry:
    """Portfolio jobs of this process: a thread pool and an in-memory table (see module docstring)."""

    def __init__(self, workers: int = 1, ttl: float = DEFAULT_JOB_TTL):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ipledge-portfolio")
        self.jobs: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.ttl = ttl

    def _expire(self) -> None:
        now = time.time()
        for jid in [j for j, v in self.jobs.items() if v.get("_finished", now) < now - self.ttl]:
            del self.jobs[jid]

    def submit(self, tenant_id: int, book, posterior, engine: str = "local", scheduler: str | None = None) -> dict:
        jid = uuid.uuid4().hex
        job = {"job_id": jid, "status": "queued", "submitted_at": _now(), "n_loans": len(book.pledges),
               "paths": book.paths, "seed": book.seed, "engine": engine, "_tenant": tenant_id}
        with self.lock:
            self._expire()
            self.jobs[jid] = job
        self.pool.submit(self._run, jid, book, posterior, engine, scheduler)
        return self.view(tenant_id, jid)

    def _run(self, jid, book, posterior, engine, scheduler) -> None:
        from risk.portfolio import run_portfolio

        with self.lock:
            self.jobs[jid].update(status="running", started_at=_now())
        try:
            res = run_portfolio(book, posterior, engine=engine, scheduler=scheduler)
            update = {"status": "done", "result": json.loads(_dumps(res))}
        except Exception as e:  # noqa: BLE001 - the job reports its failure; the API keeps serving
            update = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        with self.lock:
            self.jobs[jid].update(update, finished_at=_now(), _finished=time.time())

    def view(self, tenant_id: int, jid: str) -> dict | None:
        with self.lock:
            job = self.jobs.get(jid)
            if job is None or job["_tenant"] != tenant_id:
                return None
            return {k: v for k, v in job.items() if not k.startswith("_")}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _registry() -> JobRegistry:
    app = current_app
    reg = app.extensions.get("ipledge_portfolio_jobs")
    if reg is None:
        with _REG_LOCK:
            reg = app.extensions.get("ipledge_portfolio_jobs")
            if reg is None:
                reg = JobRegistry(int(app.config.get("IPLEDGE_PORTFOLIO_WORKERS", 1)),
                                  float(app.config.get("IPLEDGE_JOB_TTL", DEFAULT_JOB_TTL)))
                app.extensions["ipledge_portfolio_jobs"] = reg
    return reg


_REG_LOCK = threading.Lock()
JOB_PARAM = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


@bp.post("/portfolio/stress")
@operation("POST", "/v1/portfolio/stress", "Simulate a book of pledges with common factors (background job)",
           tags=["stress"], request=BookBody, errors=(503,),
           responses={202: (JOB_SCHEMA, "Job accepted; poll Location (GET /v1/portfolio/stress/{job_id})")},
           description="EL, VaR 99%, ES 99%, each loan's contribution to EL and ES, concentration by "
                       "therapeutic area. Jobs are kept in the memory of the API process.")
def submit_portfolio():
    from pydantic import ValidationError

    from risk.portfolio import Book, BookError
    from valuation.errors import field_errors

    principal = current_principal()
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
    posterior = _posterior()
    scheduler = current_app.config.get("IPLEDGE_DASK_SCHEDULER")
    job = _registry().submit(principal.tenant_id, book, posterior, "dask" if scheduler else "local", scheduler)
    resp = json_response(json.dumps(job), 202, {"Location": f"/v1/portfolio/stress/{job['job_id']}"})
    return resp


@bp.get("/portfolio/stress/<string:job_id>")
@operation("GET", "/v1/portfolio/stress/{job_id}", "Status and result of a portfolio stress job",
           tags=["stress"], parameters=[JOB_PARAM], errors=(404,),
           responses={200: (JOB_SCHEMA, "queued | running | done (with result) | failed (with error)")})
def get_portfolio_job(job_id: str):
    job = _registry().view(current_principal().tenant_id, job_id)
    if job is None:
        raise Problem(404, "not-found", f"no portfolio job {job_id!r}", title="Not found")
    return json_response(json.dumps(job))
