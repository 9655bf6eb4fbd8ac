"""A booked loan revalued on the facts known at a date (issue 17).

A loan is booked from a stored assessment (its request) with an amount and a drawdown date; its facts
arrive afterwards as append-only events. :func:`request_at` applies the events dated on or before a
date to the stored request and returns the request (and model parameters) that describe the loan on
that date; :func:`revalue` runs the ordinary assessment on it with the same seed and paths as the
stored request (common random numbers: a change between two valuations comes from the facts and the
passage of time, not from Monte Carlo noise) and :func:`summarise` reads the numbers a lender watches.

How each fact enters the request (every change is one the request schema can already express, so a
revaluation is an ordinary, replayable assessment):

==========================  ==========================================================================
fact                        change to the request at the valuation date
==========================  ==========================================================================
(time)                      ``as_of`` = the date; ``loan.term_years`` = term left since drawdown
                            (at least 0.5 y, the schema minimum); ``loan.amount`` = outstanding balance
phase_result reached        ``product.stage`` = the stage reached
phase_result failed         the current transition has failed, now: peak sales 0 (knock-out
                            ``no_revenue_path``: nothing left to sell) and model parameters
                            ``success_scale = 0`` and ``duration_scale = 0`` make every path fail
                            at time 0, so the product never launches (value 0) and the borrower's
                            financing odds are ``q_after_failure`` in every year (DESIGN §9)
approval                    ``stage = approved``, ``launch_year`` = the event's, else the approval year
launch                      ``stage = approved``, ``launch_year`` = the launch year
vbp_selected (cut c)        peak sales × (1 - c) and ``vbp_exposure = none``: the model has one VBP
                            event with the price × (1 - cut) afterwards (DESIGN §8.5); once it has
                            happened, that is exactly a lower price and no further event
invalidation_decided        upheld / partially upheld -> ``invalidation``; invalidated ->
                            ``status = invalidated`` (the patent leaves the collateral)
fee_payment_missed          ``fees_paid = false`` on the patent (knock-out ``fees_unpaid``)
repayment                   outstanding balance down by the amount
default                     the loan is in default: PD = 1 and the loss is read from today's value
                            distribution (:func:`loss_now`)
recovery                    outstanding balance down by the amount recovered
==========================  ==========================================================================
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ipledge.risk.params import DEFAULT_PARAMS, ModelParams
from ipledge.valuation import units as U
from ipledge.valuation.schema import STAGES, Date, Fraction, Money, PledgeRequest, whole
from ipledge.valuation.terms import DAYS_PER_YEAR

EVENT_TYPES = ("phase_result", "approval", "launch", "vbp_selected", "invalidation_decided",
               "fee_payment_missed", "repayment", "default", "recovery")
RECOVERY_CHANNELS = ("collateral_sale", "licence", "guarantee", "compensation_fund", "insurance", "borrower",
                     "other")
MIN_TERM_YEARS = 0.5    # the request schema's minimum loan term
BALANCE_EPS = 0.01      # CNY: a balance below one fen is repaid


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True,
                              json_schema_extra=U.describe_units)
    date: Date = Field(description="Date the fact became known (YYYY-MM-DD)")
    note: Annotated[str, Field(max_length=500)] | None = Field(default=None, description="Free-text note")

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        U.register(cls)


class PhaseResult(_Event):
    type: Literal["phase_result"] = Field(description="A trial read out: the stage reached, or failed")
    stage: Literal["phase1", "phase2", "phase3", "filed"] = Field(
        description="outcome reached: the stage now reached; outcome failed: the stage whose trial failed "
                    "(the loan's current stage)")
    outcome: Literal["reached", "failed"] = Field(description="reached: the next stage began; failed: the trial "
                                                              "failed")


class Approval(_Event):
    type: Literal["approval"] = Field(description="Marketing approval granted")
    launch_year: whole(U.YEAR, ge=1950, le=2100) | None = Field(
        default=None, description="Planned launch year (default: the approval year)")


class Launch(_Event):
    type: Literal["launch"] = Field(description="The product launched")


class VbpSelected(_Event):
    type: Literal["vbp_selected"] = Field(description="The product won a volume-based procurement award")
    cut: Annotated[Fraction, Field(gt=0, lt=1)] = Field(description="Price cut of the VBP award, e.g. 0.53")


class InvalidationDecided(_Event):
    type: Literal["invalidation_decided"] = Field(description="CNIPA decided an invalidation request")
    patent_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")] = Field(description="The pledged patent concerned")
    outcome: Literal["upheld", "partially_upheld", "invalidated"] = Field(description="The decision")


class FeePaymentMissed(_Event):
    type: Literal["fee_payment_missed"] = Field(description="An annual fee was not paid on time")
    patent_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")] = Field(description="The pledged patent concerned")


class Repayment(_Event):
    type: Literal["repayment"] = Field(description="The borrower repaid part of the balance")
    amount: Annotated[Money, Field(gt=0)] = Field(description="Amount repaid")


class Default(_Event):
    type: Literal["default"] = Field(description="The borrower defaulted")


class Recovery(_Event):
    type: Literal["recovery"] = Field(description="Money recovered after a default")
    amount: Annotated[Money, Field(gt=0)] = Field(description="Amount recovered")
    channel: Literal[RECOVERY_CHANNELS] = Field(description="Where it came from")  # type: ignore[valid-type]


EVENT_MODELS: dict[str, type[_Event]] = {
    "phase_result": PhaseResult, "approval": Approval, "launch": Launch, "vbp_selected": VbpSelected,
    "invalidation_decided": InvalidationDecided, "fee_payment_missed": FeePaymentMissed,
    "repayment": Repayment, "default": Default, "recovery": Recovery,
}
LoanEvent = (PhaseResult | Approval | Launch | VbpSelected | InvalidationDecided | FeePaymentMissed | Repayment
             | Default | Recovery)


class EventError(ValueError):
    """An event that does not fit the loan; ``errors`` are {field, message, type} as for a 422."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _err(field_: str, message: str) -> EventError:
    return EventError([{"field": field_, "message": message, "type": "value_error"}])


def parse_event(raw) -> LoanEvent:
    """Validate an event body; EventError with the field paths (``type`` first) otherwise."""
    from ipledge.valuation.errors import field_errors

    if not isinstance(raw, dict):
        raise _err("(body)", "an event must be a JSON object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in EVENT_MODELS:
        raise _err("type", f"must be one of {', '.join(EVENT_TYPES)}")
    try:
        return EVENT_MODELS[kind].model_validate(raw)
    except ValidationError as e:
        raise EventError(field_errors(e, EVENT_MODELS[kind])) from None


VIEW_KEYS = ("id", "loan_id", "seq", "created_at")   # added by the store around the event's own fields


def event_from_stored(doc: dict) -> LoanEvent:
    return EVENT_MODELS[doc["type"]].model_validate({k: v for k, v in doc.items() if k not in VIEW_KEYS})


# --------------------------------------------------------------------------------------------
# The loan's state after its events


@dataclass(frozen=True)
class Booking:
    amount: float
    drawdown_date: dt.date


@dataclass
class LoanState:
    """What the events say about the loan (before any model is run)."""

    stage: str
    launch_year: int | None
    failed: bool = False
    vbp_cuts: list[float] = field(default_factory=list)
    invalidation: dict[str, str] = field(default_factory=dict)   # patent id -> outcome
    fees_missed: set[str] = field(default_factory=set)
    repaid: float = 0.0
    recovered: float = 0.0
    default_date: dt.date | None = None
    last_date: dt.date | None = None
    balance: float = 0.0

    @property
    def defaulted(self) -> bool:
        return self.default_date is not None

    @property
    def status(self) -> str:
        if self.balance <= BALANCE_EPS:
            return "closed" if self.defaulted else "repaid"
        return "defaulted" if self.defaulted else "active"


def initial_state(req: PledgeRequest, booking: Booking) -> LoanState:
    return LoanState(stage=req.product.stage, launch_year=req.product.launch_year, balance=booking.amount)


def check_event(state: LoanState, req: PledgeRequest, booking: Booking, ev: LoanEvent,
                today: dt.date | None = None, not_before: dt.date | None = None) -> None:
    """Raise EventError (naming the field) when ``ev`` cannot follow the loan's state."""
    today = today or dt.date.today()
    floor = max(d for d in (booking.drawdown_date, state.last_date, not_before) if d is not None)
    if ev.date < floor:
        raise _err("date", f"must not be before {floor} (the drawdown, the last event or the last valuation: "
                           f"a loan's facts are appended in date order)")
    if ev.date > today:
        raise _err("date", f"must not be after today ({today}): a fact is recorded once known")
    if state.status in ("repaid", "closed"):
        raise _err("type", f"the loan is {state.status} (balance 0): no further events")
    pipeline_facts = ("phase_result", "approval", "launch")
    if ev.type in pipeline_facts and state.failed:
        raise _err("type", "the product's development has already failed")
    if ev.type == "phase_result":
        if state.stage == "approved":
            raise _err("stage", "the product is already approved")
        cur = STAGES.index(state.stage)
        if ev.outcome == "reached" and STAGES.index(ev.stage) <= cur:
            raise _err("stage", f"must be a later stage than the current one ({state.stage})")
        if ev.outcome == "failed" and ev.stage != state.stage:
            raise _err("stage", f"a failed trial is the current stage's ({state.stage})")
    elif ev.type == "approval":
        if state.stage == "approved":
            raise _err("type", "the product is already approved")
        if ev.launch_year is not None and not ev.date.year <= ev.launch_year <= ev.date.year + 1:
            raise _err("launch_year", f"must be {ev.date.year} or {ev.date.year + 1} (the approval year or the next)")
    elif ev.type == "vbp_selected":
        if state.stage != "approved":
            raise _err("type", "VBP selects marketed products: record the approval or launch first")
    elif ev.type in ("invalidation_decided", "fee_payment_missed"):
        ids = [p.id for p in req.patents]
        if ev.patent_id not in ids:
            raise _err("patent_id", f"not a pledged patent of this loan ({', '.join(ids)})")
        if state.invalidation.get(ev.patent_id) == "invalidated":
            raise _err("patent_id", f"{ev.patent_id} is already invalidated")
    elif ev.type == "repayment":
        if state.defaulted:
            raise _err("type", "the loan is in default: record money received as a recovery")
        if ev.amount > state.balance + BALANCE_EPS:
            raise _err("amount", f"exceeds the outstanding balance ({state.balance:,.2f})")
    elif ev.type == "default":
        if state.defaulted:
            raise _err("type", "the loan is already in default")
    elif ev.type == "recovery":
        if not state.defaulted:
            raise _err("type", "a recovery follows a default: record a default first")
        if ev.amount > state.balance + BALANCE_EPS:
            raise _err("amount", f"exceeds the outstanding balance ({state.balance:,.2f})")


def apply_event(state: LoanState, ev: LoanEvent) -> None:
    """Fold one (checked) event into the state."""
    state.last_date = ev.date
    if ev.type == "phase_result":
        if ev.outcome == "failed":
            state.failed = True
        else:
            state.stage = ev.stage
    elif ev.type == "approval":
        state.stage, state.launch_year = "approved", ev.launch_year or ev.date.year
    elif ev.type == "launch":
        state.stage, state.launch_year = "approved", ev.date.year
    elif ev.type == "vbp_selected":
        state.vbp_cuts.append(float(ev.cut))
    elif ev.type == "invalidation_decided":
        state.invalidation[ev.patent_id] = ev.outcome
    elif ev.type == "fee_payment_missed":
        state.fees_missed.add(ev.patent_id)
    elif ev.type == "repayment":
        state.repaid += ev.amount
        state.balance = max(0.0, state.balance - ev.amount)
    elif ev.type == "default":
        state.default_date = ev.date
    elif ev.type == "recovery":
        state.recovered += ev.amount
        state.balance = max(0.0, state.balance - ev.amount)


def state_at(req: PledgeRequest, booking: Booking, events: list[LoanEvent], as_of: dt.date | None = None) -> LoanState:
    """The state after the events dated on or before ``as_of`` (all of them when None)."""
    st = initial_state(req, booking)
    for ev in events:
        if as_of is None or ev.date <= as_of:
            apply_event(st, ev)
    return st


def remaining_term(req: PledgeRequest, booking: Booking, as_of: dt.date) -> float:
    elapsed = max(0.0, (as_of - booking.drawdown_date).days / DAYS_PER_YEAR)
    return max(MIN_TERM_YEARS, float(req.loan.term_years) - elapsed)


def request_at(req: PledgeRequest, booking: Booking, state: LoanState, as_of: dt.date,
               params: ModelParams = DEFAULT_PARAMS) -> tuple[PledgeRequest, ModelParams]:
    """The stored request with the facts of ``state`` applied at ``as_of`` (table in the module docstring)."""
    data = req.model_dump(mode="json")
    data["as_of"] = as_of.isoformat()
    data["loan"]["amount"] = max(state.balance, BALANCE_EPS)
    data["loan"]["term_years"] = round(remaining_term(req, booking, as_of), 6)
    prod = data["product"]
    prod["stage"] = state.stage
    if state.stage == "approved":
        prod["launch_year"] = state.launch_year
    if state.vbp_cuts:
        keep = math.prod(1.0 - c for c in state.vbp_cuts)
        prod["peak_sales"] = {k: v * keep for k, v in prod["peak_sales"].items()}
        prod["vbp_exposure"] = "none"
    for p in data["patents"]:
        outcome = state.invalidation.get(p["id"])
        if outcome == "invalidated":
            p["status"], p["invalidation"] = "invalidated", "none"
        elif outcome is not None:
            p["invalidation"] = outcome
        if p["id"] in state.fees_missed:
            p["fees_paid"] = False
    if state.failed:
        prod["peak_sales"] = {"p10": 0.0, "p50": 0.0, "p90": 0.0}   # no product: no revenue path (a knock-out)
        params = ModelParams.from_dict({**params.to_dict(), "success_scale": 0.0, "duration_scale": 0.0})
    return PledgeRequest.model_validate(data), params


# --------------------------------------------------------------------------------------------
# Running the assessment and reading the numbers


def loss_now(histogram: dict, balance: float, haircut: float) -> float:
    """E[max(0, B - (1 - h) V)] for a loan in default, from today's value histogram of the assessment.

    V is the IP value today (what a sale now realises before the haircut). Paths worth 0 lose B; a
    binned path is at its bin's midpoint; the paths above the histogram's top (the top 1% of positive
    values) at the top edge, which overstates their loss slightly (conservative)."""
    n = histogram["paths"]
    if n <= 0:
        return balance
    edges, counts = histogram["edges"], histogram["counts"]
    total = histogram["zero"] * balance
    for lo, hi, c in zip(edges[:-1], edges[1:], counts):
        total += c * max(0.0, balance - (1.0 - haircut) * 0.5 * (lo + hi))
    top = edges[-1] if edges else 0.0
    total += histogram["above"] * max(0.0, balance - (1.0 - haircut) * top)
    return total / n


@dataclass(frozen=True)
class Valuation:
    """The numbers of one revaluation (what is stored in the loan's valuation row)."""

    as_of: str
    balance: float
    collateral_value: float
    ltv: float | None          # balance / collateral value; None when the collateral is worth 0
    pd: float                  # to maturity; 1 once in default
    expected_loss: float
    bank_expected_loss: float
    decision: str
    max_loan: float
    knockouts: tuple[str, ...]
    status: str
    model_version: str
    seed: int

    def to_dict(self) -> dict:
        import dataclasses

        d = dataclasses.asdict(self)
        d["knockouts"] = list(self.knockouts)
        return d


def knockout_codes(response: dict) -> tuple[str, ...]:
    codes = []
    for card in ("rights_certainty", "competitive_contribution", "revenue_potential"):
        codes += [k["code"] for k in response["scores"][card]["knockouts"]]
    return tuple(sorted(set(codes)))


def summarise(response: dict, req: PledgeRequest, state: LoanState) -> Valuation:
    from ipledge.risk.credit import bank_share

    value = float(response["valuation"]["appraised_value"])
    balance = float(state.balance)
    if state.defaulted:
        pd_ = 1.0
        el = loss_now(response["valuation"]["histogram"], balance, req.policy.liquidation_haircut)
        bank_el = bank_share(req) * el
    else:
        pd_ = float(response["credit"]["pd"])
        el = float(response["credit"]["expected_loss"])
        bank_el = float(response["credit"].get("bank_expected_loss", el))
    return Valuation(
        as_of=str(response["as_of"]), balance=balance, collateral_value=value,
        ltv=balance / value if value > 0 else None, pd=pd_, expected_loss=el, bank_expected_loss=bank_el,
        decision=response["recommendation"]["decision"], max_loan=float(response["recommendation"]["max_loan"]),
        knockouts=knockout_codes(response), status=state.status, model_version=str(response["model_version"]),
        seed=int(response["seed"]))


def run_assessment(req: PledgeRequest, params: ModelParams, posterior, assessment_id: str | None = None,
                   created_at: dt.datetime | None = None) -> dict:
    """The assessment document (JSON-ready) of a revalued request."""
    from ipledge.risk.assess import assess

    return _json_ready(assess(req, assessment_id=assessment_id, created_at=created_at, posterior=posterior,
                              params=params))


def _json_ready(obj):
    import json

    def default(o):
        if hasattr(o, "item"):
            return o.item()
        if isinstance(o, (dt.date, dt.datetime)):
            return o.isoformat()
        raise TypeError(type(o).__name__)

    return json.loads(json.dumps(obj, default=default, allow_nan=False))


@dataclass(frozen=True)
class Revaluation:
    valuation: Valuation
    request: dict                 # the revalued request (JSON)
    params: dict | None           # model parameters when they differ from the defaults (a failed trial)
    response: dict                # the assessment document
    change: dict | None           # against the previous valuation
    drivers: list[dict]           # sequential attribution of the change


METRICS = ("collateral_value", "pd", "expected_loss", "ltv")


def _delta(new: Valuation, old: Valuation) -> dict:
    out = {}
    for k in METRICS:
        a, b = getattr(new, k), getattr(old, k)
        out[k] = (a - b) if a is not None and b is not None else None
    out["collateral_value_pct"] = ((new.collateral_value - old.collateral_value) / old.collateral_value
                                   if old.collateral_value > 0 else None)
    out["new_knockouts"] = sorted(set(new.knockouts) - set(old.knockouts))
    out["decision"] = [old.decision, new.decision]
    return out


def _label(ev: LoanEvent) -> str:
    extra = {"phase_result": lambda e: f"{e.stage} {e.outcome}", "vbp_selected": lambda e: f"cut {e.cut:.0%}",
             "invalidation_decided": lambda e: f"{e.patent_id} {e.outcome}",
             "fee_payment_missed": lambda e: e.patent_id, "repayment": lambda e: f"{e.amount:,.0f}",
             "recovery": lambda e: f"{e.amount:,.0f} via {e.channel}", "approval": lambda e: "",
             "launch": lambda e: "", "default": lambda e: ""}[ev.type](ev)
    return f"{ev.type} {ev.date}" + (f" ({extra})" if extra else "")


def revalue(req: PledgeRequest, booking: Booking, events: list[LoanEvent], as_of: dt.date, posterior,
            previous: dict | None = None, params: ModelParams = DEFAULT_PARAMS) -> Revaluation:
    """Revalue the loan at ``as_of`` on the events dated up to then.

    ``previous``: the stored previous valuation ({"valuation": Valuation dict, "as_of", "n_events"}); the
    change against it is attributed sequentially — first the passage of time (as_of, term left) with
    the facts known then, then each new fact in date order, each step a full assessment with the same
    seed — so the drivers' changes add up to the total change exactly.
    """
    known = [e for e in events if e.date <= as_of]
    state = state_at(req, booking, known)
    new_req, new_params = request_at(req, booking, state, as_of, params)
    response = run_assessment(new_req, new_params, posterior)
    val = summarise(response, new_req, state)
    change, drivers = None, []
    if previous is not None:
        old = Valuation(**{**previous["valuation"], "knockouts": tuple(previous["valuation"]["knockouts"])})
        change = _delta(val, old)
        n_old = int(previous["n_events"])
        steps = [("time", f"time to {as_of} (term left, as_of)", known[:n_old])]
        steps += [(e.type, _label(e), known[:i + 1]) for i, e in enumerate(known) if i >= n_old]
        prev_val = old
        for i, (kind, label, evs) in enumerate(steps):
            if i == len(steps) - 1:
                step_val = val
            else:
                st = state_at(req, booking, evs)
                r, p = request_at(req, booking, st, as_of, params)
                step_val = summarise(run_assessment(r, p, posterior), r, st)
            d = _delta(step_val, prev_val)
            drivers.append({"driver": kind, "label": label, **{k: d[k] for k in METRICS},
                            "new_knockouts": d["new_knockouts"]})
            prev_val = step_val
    return Revaluation(valuation=val, request=new_req.model_dump(mode="json"),
                       params=new_params.to_dict() if new_params != params else None,
                       response=response, change=change, drivers=drivers)
