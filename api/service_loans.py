"""What the loan, alert, book and replay views do, without Flask (the CLI calls the same functions).

Every write validates first (422 naming the field, nothing stored), then checks the Idempotency-Key,
then runs the revaluation, then commits the record, its valuation, its alerts and their audit rows in
one transaction before answering.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from ipledge.api.problems import Problem
from ipledge.api.service import Result, check_idempotency, result_from_stored
from ipledge.api.store import Principal, Store, canonical_hash
from ipledge.api.store_loans import ConcurrentUpdate, LoanRecord, LoanStore
from ipledge.risk.monitoring import Monitoring, alerts_for, resolve
from ipledge.risk.revalue import (Booking, EventError, LoanEvent, check_event, event_from_stored, parse_event, revalue,
                          state_at)
from ipledge.valuation.errors import field_errors
from ipledge.valuation import units as U
from ipledge.valuation.schema import FEN, Date, Number, PledgeRequest

MAX_LIMIT = 100


class LoanBody(BaseModel):
    """Book a loan from one of your stored assessments."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True,
                              json_schema_extra=U.describe_units)
    assessment_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="Id of the assessment to book from (POST /v1/assessments)")
    amount: Annotated[Number, Field(ge=FEN, le=1e12), U.CNY] = Field(description="Amount drawn (at least one fen)")
    drawdown_date: Date = Field(description="Date drawn (YYYY-MM-DD): not before the assessment's as_of, not after "
                                            "today")
    reference: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="The lender's own loan reference")
    monitoring: Monitoring | None = Field(default=None, description="Alert triggers (defaults when omitted)")


class EventBody(RootModel[Annotated[LoanEvent, Field(discriminator="type")]]):
    """A fact about a loan (its ``type`` selects the fields); documents the events route's body."""


class RevaluationBody(BaseModel):
    """Revalue on demand at ``as_of`` (default today) on the facts recorded so far."""

    model_config = ConfigDict(extra="forbid")
    as_of: Date | None = Field(default=None, description="Date to value at (YYYY-MM-DD); default today")


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: Annotated[str, Field(max_length=1000)] | None = Field(default=None, description="Why; kept in the audit "
                                                                                       "log")


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _invalid(errors: list[dict]) -> Problem:
    return Problem(422, "validation-error", errors=errors)


def _one(field: str, message: str) -> Problem:
    return _invalid([{"field": field, "message": message, "type": "value_error"}])


def _validate(model, raw):
    if raw is None:
        raw = {}
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise _invalid(field_errors(e, model)) from None


def _not_found(kind: str, ident: str) -> Problem:
    return Problem(404, "not-found", f"no {kind} {ident!r}", title="Not found")


def _conflict() -> Problem:
    return Problem(409, "concurrent-update", "another request changed this loan at the same time; retry",
                   title="Conflict")


def _priced(paths: int, runs: int):
    """A revaluation is simulation work: in an API request it is priced and admitted like an assessment
    (tenant work budget and in-flight cap, ipledge.api.limits.heavy_work); from the CLI it just runs."""
    from flask import has_request_context

    if not has_request_context():
        return contextlib.nullcontext()
    from ipledge.api.limits import heavy_work

    return heavy_work(int(paths), runs)


def _booking(loan: LoanRecord) -> Booking:
    return Booking(float(loan.amount), dt.date.fromisoformat(loan.drawdown_date))


def _events(store: LoanStore, loan_id: str):
    return [event_from_stored(e) for e in store.events(loan_id)]


def _alert_views(rows) -> list[dict]:
    from ipledge.api.store_loans import _alert_view

    return [_alert_view(a) for a in rows]


# --------------------------------------------------------------------------------------------
# loans


def book_loan(store: Store, principal: Principal, raw, idem_key: str | None, posterior) -> Result:
    from ipledge.api.store_loans import _valuation_view

    body = _validate(LoanBody, raw)
    ls = LoanStore(store)
    idem, prior = check_idempotency(store, principal, "POST /v1/loans", idem_key, raw)
    if prior is not None:
        return result_from_stored(prior)
    found = ls.assessment_for_booking(principal, body.assessment_id)
    if found is None:
        # a 404 like GET /v1/assessments/{id}: the body names a resource this tenant does not have
        raise _not_found("assessment", body.assessment_id)
    request, _ = found
    req = PledgeRequest.model_validate(request)
    if req.scenario:   # a stress run is not a decision to lend on: revaluations would carry the shock
        raise _one("assessment_id", f"assessment under stress scenario '{req.scenario}': book from the base "
                                    f"assessment")
    if body.drawdown_date < req.as_of:
        raise _one("drawdown_date", f"must not be before the assessment's as_of ({req.as_of})")
    if body.drawdown_date > today():
        raise _one("drawdown_date", f"must not be after today ({today()})")
    monitoring = resolve(body.monitoring or Monitoring(), req.policy.max_ltv)
    booking = Booking(body.amount, body.drawdown_date)
    with _priced(req.simulation.paths, 1):
        reval = revalue(req, booking, [], body.drawdown_date, posterior)
    alerts = alerts_for(monitoring, reval.valuation.to_dict(), None)   # e.g. booked above the LTV limit

    def view(loan_id, row, added):
        return {"id": loan_id, "assessment_id": body.assessment_id, "reference": body.reference,
                "amount": body.amount, "drawdown_date": body.drawdown_date.isoformat(), "status": "active",
                "balance": body.amount, "monitoring": monitoring, "latest_valuation": _valuation_view(row),
                "alerts": _alert_views(added)}

    try:
        stored = ls.book_loan(principal, assessment_id=body.assessment_id, amount=body.amount,
                              drawdown_date=body.drawdown_date.isoformat(), reference=body.reference,
                              monitoring=monitoring, request=request, reval=reval, alerts=alerts, view=view,
                              input_hash=canonical_hash(raw), idem=idem)
    except ConcurrentUpdate:
        raise _conflict() from None
    return result_from_stored(stored)


def get_loan(store: Store, principal: Principal, loan_id: str) -> Result:
    view = LoanStore(store).loan_view(principal, loan_id)
    if view is None:
        raise _not_found("loan", loan_id)
    return Result(200, json.dumps(view, ensure_ascii=False), resource_id=loan_id)


def _limit(limit_arg: str | None) -> int:
    if limit_arg is None:
        return 20
    if not limit_arg.isdigit() or not 1 <= int(limit_arg) <= MAX_LIMIT:
        raise _one("limit", f"must be an integer 1..{MAX_LIMIT}")
    return int(limit_arg)


def _page(rows: list[dict], limit: int) -> str:
    from ipledge.api.service import _encode_cursor

    page, more = rows[:limit], len(rows) > limit
    return json.dumps({"items": page, "next_cursor": _encode_cursor(page[-1]["id"]) if more and page else None},
                      ensure_ascii=False)


def list_loans(store: Store, principal: Principal, limit_arg: str | None, cursor: str | None) -> Result:
    from ipledge.api.service import _decode_cursor

    limit = _limit(limit_arg)
    before = _decode_cursor(cursor) if cursor is not None else None
    return Result(200, _page(LoanStore(store).list_loans(principal, limit + 1, before), limit))


def _loan_for_write(store: Store, principal: Principal, loan_id: str, what: str, idem_key: str | None, raw):
    """(LoanStore, idempotency tuple, stored replay or None, loan) for a POST under /v1/loans/{id}/; 404 when
    the loan is absent or another tenant's (checked after the replay lookup, which is per tenant anyway)."""
    ls = LoanStore(store)
    idem, prior = check_idempotency(store, principal, f"POST /v1/loans/{loan_id}/{what}", idem_key, raw)
    if prior is not None:
        return ls, idem, prior, None
    loan = ls.loan(principal, loan_id)
    if loan is None:
        raise _not_found("loan", loan_id)
    return ls, idem, None, loan


def add_event(store: Store, principal: Principal, loan_id: str, raw, idem_key: str | None, posterior) -> Result:
    from ipledge.api.store_loans import _event_view, _valuation_view

    try:
        ev = parse_event(raw)
    except EventError as e:
        raise _invalid(e.errors) from None
    ls, idem, prior, loan = _loan_for_write(store, principal, loan_id, "events", idem_key, raw)
    if prior is not None:
        return result_from_stored(prior)
    req = PledgeRequest.model_validate(loan.request)
    events = _events(ls, loan_id)
    prev = ls.latest_valuation(loan_id)
    state = state_at(req, _booking(loan), events)
    try:
        check_event(state, req, _booking(loan), ev, today=today(),
                    not_before=dt.date.fromisoformat(prev["as_of"]) if prev else None)
    except EventError as e:
        raise _invalid(e.errors) from None
    doc = ev.model_dump(mode="json", exclude_none=True)
    with _priced(req.simulation.paths, 2):     # the passage of time, then the fact
        reval = revalue(req, _booking(loan), events + [ev], ev.date, posterior, previous=prev)
    alerts = alerts_for(loan.monitoring, reval.valuation.to_dict(), prev["valuation"] if prev else None, doc)

    def view(ev_row, row, added):
        return {"event": _event_view(ev_row), "valuation": _valuation_view(row), "alerts": _alert_views(added)}

    try:
        stored = ls.append_event(principal, loan, seq=len(events), event=doc, reval=reval, alerts=alerts,
                                 val_seq=(prev["seq"] + 1) if prev else 0, view=view, idem=idem)
    except ConcurrentUpdate:
        raise _conflict() from None
    return result_from_stored(stored)


def revalue_loan(store: Store, principal: Principal, loan_id: str, raw, idem_key: str | None, posterior) -> Result:
    """On-demand revaluation (API, and ``ipledge revalue`` with the loan's tenant as principal)."""
    from ipledge.api.store_loans import _valuation_view

    body = _validate(RevaluationBody, raw)
    ls, idem, prior, loan = _loan_for_write(store, principal, loan_id, "revaluations", idem_key, raw)
    if prior is not None:
        return result_from_stored(prior)
    as_of = body.as_of or today()
    prev = ls.latest_valuation(loan_id)
    if prev is not None and as_of < dt.date.fromisoformat(prev["as_of"]):
        raise _one("as_of", f"must not be before the latest valuation ({prev['as_of']})")
    if as_of > today():
        raise _one("as_of", f"must not be after today ({today()})")
    events = _events(ls, loan_id)
    req = PledgeRequest.model_validate(loan.request)
    with _priced(req.simulation.paths, 2):
        reval = revalue(req, _booking(loan), events, as_of, posterior, previous=prev)
    alerts = alerts_for(loan.monitoring, reval.valuation.to_dict(), prev["valuation"] if prev else None)

    def view(row, added):
        return {"valuation": _valuation_view(row), "alerts": _alert_views(added)}

    try:
        stored = ls.add_revaluation(principal, loan, reval=reval, alerts=alerts,
                                    val_seq=(prev["seq"] + 1) if prev else 0, n_events=len(events), view=view,
                                    input_hash=canonical_hash({"loan": loan_id, "as_of": as_of.isoformat()}),
                                    idem=idem)
    except ConcurrentUpdate:
        raise _conflict() from None
    return result_from_stored(stored)


def valuation_document(store: Store, principal: Principal, loan_id: str, valuation_id: str) -> Result:
    text = LoanStore(store).valuation_document(principal, loan_id, valuation_id)
    if text is None:
        raise _not_found("valuation", valuation_id)
    return Result(200, text)


# --------------------------------------------------------------------------------------------
# alerts

ALERT_STATUS = ("open", "acknowledged")


def list_alerts(store: Store, principal: Principal, status: str | None, loan_id: str | None,
                limit_arg: str | None, cursor: str | None) -> Result:
    from ipledge.api.service import _decode_cursor

    if status is not None and status not in ALERT_STATUS:
        raise _one("status", f"must be one of {', '.join(ALERT_STATUS)}")
    if loan_id is not None and len(loan_id) > 64:
        raise _one("loan_id", "at most 64 characters")
    limit = _limit(limit_arg)
    before = _decode_cursor(cursor) if cursor is not None else None
    return Result(200, _page(LoanStore(store).list_alerts(principal, status, loan_id, limit + 1, before), limit))


def ack_alert(store: Store, principal: Principal, alert_id: str, raw) -> Result:
    body = _validate(AckBody, raw)
    out = LoanStore(store).ack_alert(principal, alert_id, body.note)
    if out is None:
        raise _not_found("alert", alert_id)
    alert, _ = out
    return Result(200, json.dumps(alert, ensure_ascii=False), resource_id=alert_id)


# --------------------------------------------------------------------------------------------
# the book


def open_loans(ls: LoanStore, tenant_id: int) -> list[tuple[LoanRecord, dict]]:
    """The tenant's active loans (balance > 0, not in default) with their latest valuation."""
    return [(ln, v) for ln, v in ls.tenant_loans(tenant_id) if v is not None and v["status"] == "active"]


def tenant_book(ls: LoanStore, tenant_id: int, *, paths: int, seed: int, chunk_paths: int | None = None,
                factors="on") -> tuple[dict, list[str]]:
    """(book dict, loan ids in pledge order) of the tenant's open loans at their latest valuations."""
    from ipledge.risk.book import book_dict

    items = open_loans(ls, tenant_id)
    return (book_dict([v["request"] for _, v in items], paths=paths, seed=seed, chunk_paths=chunk_paths,
                      factors=factors), [ln.id for ln, _ in items])


def tenant_outcomes(ls: LoanStore, tenant_id: int, as_of: dt.date | None = None) -> dict:
    from ipledge.risk.book import outcomes

    events = ls.tenant_events(tenant_id)
    loans = [{"loan_id": ln.id, "request": ln.request, "amount": ln.amount, "drawdown_date": ln.drawdown_date,
              "events": events.get(ln.id, [])} for ln, _ in ls.tenant_loans(tenant_id)]
    return outcomes(loans, as_of or today())


def book_default_evidence(store: Store, tenant: str, as_of: dt.date | None = None) -> dict:
    """Default/recovery evidence of a tenant's book (for ``ipledge calibrate --from-book``)."""
    from ipledge.risk.book import default_evidence

    ls = LoanStore(store)
    tid = ls.tenant_id(tenant)
    if tid is None:
        raise ValueError(f"no tenant {tenant!r}")
    return default_evidence(tenant_outcomes(ls, tid, as_of))


# --------------------------------------------------------------------------------------------
# replay


def diff_paths(a, b, path: str = "", out: list | None = None, limit: int = 200) -> list[dict]:
    """Field paths where two JSON documents differ (exact comparison), with both values."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                out.append({"field": p, "stored": a.get(k), "replayed": b.get(k)})
            else:
                diff_paths(a[k], b[k], p, out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff_paths(x, y, f"{path}[{i}]", out, limit)
    elif a != b or type(a) is not type(b):
        out.append({"field": path or "(document)", "stored": a, "replayed": b})
    return out


def replay(row: dict, posterior) -> dict:
    """Recompute a stored assessment from its stored request, seed and model version.

    When the served model is not the stored one, nothing is recomputed: the answer names the version
    that reproduces it."""
    from ipledge.api.service import assessment_document
    from ipledge.risk.assess import model_version

    stored = json.loads(row["response_text"])
    served = model_version(posterior)
    out = {"assessment_id": row["id"], "stored_model_version": row["model_version"],
           "served_model_version": served, "seed": row["seed"], "stored_hash": canonical_hash(stored)}
    if row["model_version"] != served:
        return {**out, "identical": None, "recomputed": False, "reproduce_with": row["model_version"],
                "message": f"stored with model {row['model_version']}, this server serves {served}: replay it where "
                           f"{row['model_version']} is served (its posterior file, `ipledge model use`); "
                           f"recomputing with another model would prove nothing"}
    try:
        req = PledgeRequest.model_validate(row["request"])
    except ValidationError as e:
        return {**out, "identical": False, "recomputed": False,
                "message": f"the stored request no longer validates: {field_errors(e)[0]}"}
    created = dt.datetime.fromisoformat(str(stored["created_at"]).replace("Z", "+00:00"))
    again = assessment_document(req, assessment_id=row["id"], created_at=created, posterior=posterior)
    h2 = canonical_hash(again)
    diffs = diff_paths(stored, again)
    out.update(identical=(h2 == out["stored_hash"]), recomputed=True, replay_hash=h2,
               differences=diffs[:50], n_differences=len(diffs))
    if diffs and stored.get("params_hash") != again.get("params_hash"):
        out["message"] = (f"model parameters changed (params_hash {stored.get('params_hash')} -> "
                          f"{again.get('params_hash')}) under the same model version")
    return out


def replay_assessment(store: Store, principal: Principal, assessment_id: str, posterior) -> Result:
    ls = LoanStore(store)
    row = ls.assessment_row(principal.tenant_id, assessment_id)
    if row is None:
        raise Problem(404, "not-found", f"no assessment {assessment_id!r}", title="Not found")
    doc = replay(row, posterior)
    ls.audit(principal, "assessment.replay", assessment_id=assessment_id, input_hash=doc["stored_hash"],
             model_version=row["model_version"], seed=row["seed"],
             decision={True: "identical", False: "differs", None: "not_recomputed"}[doc["identical"]])
    return Result(200, json.dumps(doc, ensure_ascii=False, default=str))
