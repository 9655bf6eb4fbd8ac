"""Response models of the API (DESIGN §5). Field names are a contract read by banks' clients.

These models document the responses (OpenAPI) and let tests check real responses against them.
They allow extra fields so that adding a key is never a breaking change; renaming one is.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- money: every amount in CNY is rounded to the fen (0.01) in the API's answers ----------------------
FEN = 2   #: decimals of an amount in CNY in an API response
MONEY_NOTE = "CNY, rounded to the fen (2 decimals)"

#: dotted paths of the amounts in an assessment (``[]``: every item of a list)
ASSESSMENT_MONEY = (
    "valuation.appraised_value", "valuation.p5", "valuation.p50", "valuation.p95", "valuation.mc_std_error",
    "valuation.cash_flows[].mean", "valuation.cash_flows[].p5", "valuation.cash_flows[].p95",
    "valuation.histogram.edges[]", "valuation.histogram.mean",
    "credit.ead", "credit.expected_loss", "credit.var_99", "credit.es_99", "credit.bank_expected_loss",
    "recommendation.max_loan", "recommendation.risk_supported_max_loan", "risk_sharing[].expected_loss",
)
READINESS_MONEY = tuple(f"assessment.{p}" for p in ASSESSMENT_MONEY) + (
    "financeable_amount", "requested_amount", "actions[].max_loan_before", "actions[].max_loan_after",
    "actions[].gain", "actions[].params.amount", "limits.cap_amount", "ltv_range.max_loan.p10",
    "ltv_range.max_loan.p50", "ltv_range.max_loan.p90", "ltv_range.max_loan.min", "ltv_range.max_loan.max",
    "ltv_range.points[].max_loan", "value_histogram.edges[]", "value_histogram.mean",
)
STRESS_ROW_MONEY = tuple(f"[].{k}" for k in ("appraised_value", "max_loan", "var_99", "p5"))


def round_money(doc, paths=ASSESSMENT_MONEY):
    """``doc`` with the float at each of ``paths`` rounded to the fen (in place; also returned).

    Rounding happens once, where a response is built, so what is stored, returned and replayed agree.
    """
    def walk(node, parts):
        if node is None:
            return node
        if not parts:
            return round(node, FEN) if isinstance(node, float) else node
        head, rest = parts[0], parts[1:]
        if head == "[]" or head.endswith("[]"):
            key = head[:-2]
            items = node.get(key) if key else node
            if isinstance(items, list):
                for i, item in enumerate(items):
                    items[i] = walk(item, rest)
            return node
        if isinstance(node, dict) and head in node:
            node[head] = walk(node[head], rest)
        return node

    for path in paths:
        walk(doc, [p for p in path.replace("[]", "[].").split(".") if p])
    return doc


# -- scores (valuation/scorecard.py) ---------------------------------------------------------

class Indicator(_Out):
    name: str
    value: float | str | list | bool | None = Field(description="The input the indicator reads")
    points: float = Field(description="Points 0..100 given by the indicator's rule")
    weight: float = Field(description="Weight of the indicator in its scorecard")
    note: str = Field(description="One line a loan officer can read")


class Knockout(_Out):
    code: str
    patents: list[str] = Field(description="Ids of the patents concerned (empty when the whole pledge is)")
    message: str
    fix: str | None = Field(description="What the applicant can do about it")


class Scorecard(_Out):
    score: float = Field(ge=0, le=100)
    indicators: list[Indicator]
    knockouts: list[Knockout]


class CompetitiveScorecard(Scorecard):
    ip_contribution: float = Field(ge=0, le=1, description="Share of product profit attributed to the IP")


class Scores(_Out):
    rights_certainty: Scorecard
    competitive_contribution: CompetitiveScorecard
    revenue_potential: Scorecard
    exclusivity_end: dt.date | None = Field(description="Latest expiry of the pledged rights incl. extension")


# -- risk -------------------------------------------------------------------------------------

class PApproval(_Out):
    mean: float = Field(ge=0, le=1)
    hdi_90: list[float] = Field(min_length=2, max_length=2)


class Pipeline(_Out):
    stage: str
    p_approval: PApproval
    transitions: dict[str, float] = Field(description="Mean success probability of each remaining transition")
    expected_launch_year: float | None


class CashFlow(_Out):
    year: int
    mean: float = Field(description=f"Mean IP cash flow of the year; {MONEY_NOTE}")
    p5: float = Field(description=MONEY_NOTE)
    p95: float = Field(description=MONEY_NOTE)


class Valuation(_Out):
    currency: str
    appraised_value: float = Field(description=f"Mean IP value today (rNPV); {MONEY_NOTE}")
    p5: float = Field(description=f"5th percentile of the IP value; {MONEY_NOTE}")
    p50: float = Field(description=f"Median IP value; {MONEY_NOTE}")
    p95: float = Field(description=f"95th percentile of the IP value; {MONEY_NOTE}")
    prob_zero: float = Field(ge=0, le=1)
    exclusivity_end: dt.date | None
    cash_flows: list[CashFlow]


class Credit(_Out):
    pd: float
    lgd: float | None
    ead: float = Field(description=f"Mean exposure at default; {MONEY_NOTE}")
    expected_loss: float = Field(description=f"Expected loss of all parties; {MONEY_NOTE}")
    expected_loss_rate: float
    var_99: float = Field(description=f"99% value at risk of the loss; {MONEY_NOTE}")


class Recommendation(_Out):
    decision: Literal["approve", "approve_with_conditions", "decline"]
    ltv: float
    max_loan: float = Field(description=f"Amount the bank can lend now: 0 when a knock-out applies; {MONEY_NOTE}")
    risk_supported_max_loan: float = Field(
        description="Largest amount the risk model supports, before knock-outs (what clearing them would allow); "
                    + MONEY_NOTE)
    risk_supported_ltv: float
    requested_ltv: float | None
    required_guarantee_share: float | None = Field(
        description="Guarantee share that would make the requested amount acceptable; null if none can")
    conditions: list[str]
    reasons: list[str]


class RiskShare(_Out):
    party: str
    share: float
    expected_loss: float = Field(description=f"Expected loss borne by the party; {MONEY_NOTE}")


class _AssessmentHead(_Out):
    id: str
    created_at: dt.datetime
    as_of: dt.date
    model_version: str
    seed: int
    scenario: str | None


class AssessmentResponse(_AssessmentHead):
    """One stored assessment: scores, pipeline risk, valuation, credit and the lending recommendation."""

    schema_version: str
    scores: Scores
    pipeline: Pipeline
    valuation: Valuation
    credit: Credit
    recommendation: Recommendation
    risk_sharing: list[RiskShare]


class AssessmentSummary(_AssessmentHead):
    decision: Literal["approve", "approve_with_conditions", "decline"]
    applicant: str
    loan_amount: float


class AssessmentList(_Out):
    items: list[AssessmentSummary] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


# -- service ----------------------------------------------------------------------------------

class Health(_Out):
    status: Literal["ok"]
    version: str
    schema_version: str
    model_version: str | None = Field(description="Version of the loaded pipeline posterior (null if none)")


class ModelDiagnostics(_Out):
    r_hat_max: float | None
    ess_bulk_min: float | None


class ModelInfo(_Out):
    """The ``ipledge model show --json`` document of the loaded pipeline posterior."""

    model_version: str
    diagnostics: ModelDiagnostics
    p_approval: list[dict]
    ppc: dict | list
    sources: list


class FieldError(_Out):
    field: str = Field(description="Path of the offending field, e.g. patents[0].grant_date")
    message: str
    type: str | None = None


class Problem(_Out):
    """RFC 9457 problem details (media type application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
