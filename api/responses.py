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
    mean: float
    p5: float
    p95: float


class Valuation(_Out):
    currency: str
    appraised_value: float = Field(description="Mean IP value today (rNPV), CNY")
    p5: float
    p50: float
    p95: float
    prob_zero: float = Field(ge=0, le=1)
    exclusivity_end: dt.date | None
    cash_flows: list[CashFlow]


class Credit(_Out):
    pd: float
    lgd: float | None
    ead: float
    expected_loss: float
    expected_loss_rate: float
    var_99: float


class Recommendation(_Out):
    decision: Literal["approve", "approve_with_conditions", "decline"]
    ltv: float
    max_loan: float = Field(description="Amount the bank can lend now: 0 when a knock-out applies")
    risk_supported_max_loan: float = Field(
        description="Largest amount the risk model supports, before knock-outs (what clearing them would allow)")
    risk_supported_ltv: float
    requested_ltv: float | None
    required_guarantee_share: float | None = Field(
        description="Guarantee share that would make the requested amount acceptable; null if none can")
    conditions: list[str]
    reasons: list[str]


class RiskShare(_Out):
    party: str
    share: float
    expected_loss: float


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
    request_id: str | None = Field(default=None, description="X-Request-Id of the request (quote it to support)")
