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


class GbtIndicator(_Out):
    """One GB/T 42748-2023 third-level indicator and what in the assessment speaks to it."""

    dimension: Literal["legal", "technical", "economic"]
    code: str = Field(description="Crosswalk code: L1-L7, T1-T10, E1-E10")
    name_zh: str
    name_en: str
    status: Literal["evidenced", "derived", "missing"] = Field(
        description="evidenced: a request field states it; derived: computed from related inputs or the "
                    "simulation; missing: nothing in the request speaks to it")
    value: float | str | list | dict | bool | None = Field(description="What was read or derived; null if missing")
    rating: float | None = Field(ge=0, le=100, description="0..100 by the crosswalk rule; null if missing")
    source: str = Field(description="Request fields and scorecard row (or evidence field, or simulation) used")
    scorecard: str | None = Field(default=None, description="Scorecard the indicator rests on or feeds")
    row: str | None = Field(default=None, description="Name of the scorecard row that rates it ('simulation' "
                                                      "for a simulated quantity); null if missing")


class GbtCoverage(_Out):
    evidenced: int = Field(ge=0, le=27)
    derived: int = Field(ge=0, le=27)
    missing: int = Field(ge=0, le=27)
    total: Literal[27]


class Gbt42748(_Out):
    """Crosswalk of the assessment to the 27 indicators of GB/T 42748-2023. The list is a reconstruction
    whose count matches the standard; its second-level grouping and finance-scenario weights are not
    confirmed and not used."""

    indicators: list[GbtIndicator] = Field(min_length=27, max_length=27)
    coverage: GbtCoverage
    caveat: str | None = None
    labels: dict[str, dict[str, dict[str, str]]] | None = Field(
        default=None, description="Labels by language (zh, en) of the status, dimension and scorecard codes")


class Scores(_Out):
    rights_certainty: Scorecard
    competitive_contribution: CompetitiveScorecard
    revenue_potential: Scorecard
    exclusivity_end: dt.date | None = Field(description="Latest expiry of the pledged rights incl. extension")
    gbt42748: Gbt42748 | None = Field(default=None, description="GB/T 42748-2023 coverage of this assessment")


# -- risk -------------------------------------------------------------------------------------

class PApproval(_Out):
    mean: float = Field(ge=0, le=1)
    hdi_90: list[float] = Field(min_length=2, max_length=2)


class Pipeline(_Out):
    stage: str
    p_approval: PApproval
    transitions: dict[str, float] = Field(description="Mean success probability of each remaining transition")
    expected_launch_year: float | None
    region: Literal["global", "china"] | None = Field(
        default=None, description="pipeline.region of the request: which success rates were used")


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
    value_after_exclusivity: float | None = Field(
        default=None, description="PV of the IP share of what the product earns after the rights end, CNY; "
                                  "reported only, never in the LTV, the cap or the collateral")
    development_cost_pv: float | None = Field(
        default=None, description="PV of the remaining development cost borne by the IP (with abandonment), CNY")
    abandonment_probability: float | None = Field(
        default=None, ge=0, le=1, description="Share of paths on which the holder stops paying for the trials")


class Credit(_Out):
    pd: float
    lgd: float | None
    ead: float = Field(description=f"Mean exposure at default; {MONEY_NOTE}")
    expected_loss: float = Field(description=f"Expected loss of all parties; {MONEY_NOTE}")
    expected_loss_rate: float
    var_99: float = Field(description=f"99% value at risk of the loss; {MONEY_NOTE}")
    pd_annual: float | None = Field(default=None, description="One-year PD: 1 - (1 - pd)^(1/term)")
    expected_loss_rate_annual: float | None = Field(default=None, description="EL rate annualised like pd_annual")
    bank_expected_loss_rate: float | None = Field(default=None, description="Bank's EL rate (fund caps applied)")
    expected_loss_basis: Literal["annual", "lifetime"] | None = None


class LimitCheck(_Out):
    limit: str = Field(description="bank_el | total_el | pd | party:<name> | policy_ltv_cap | profile_max_amount | "
                                   "borrower_capacity")
    value: float | None
    threshold: float
    passed: bool
    basis: str


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
    binding_constraint: str | None = Field(
        default=None, description="Limit that sets max_loan: bank_el, total_el, pd, party:<name>, scheme_cap, "
                                  "policy_ltv_cap, borrower_capacity or knockout")
    checks: list[LimitCheck] | None = Field(default=None, description="Every limit at the requested amount")
    ltv_std_error: float | None = Field(default=None, description="Monte Carlo standard error of the LTV; "
                                                                   "null where the binding limit is flat")
    paths: int | None = Field(default=None, description="Paths behind the figures (more than requested when "
                                                         "the LTV error exceeded 1 pp: see paths_note)")


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
    p_approval: list[dict] = Field(description="{therapeutic_area (or ALL), modality, stage, mean, hdi_90}: "
                                               "probability of approval; hdi_90 is the 90% predictive interval")
    ppc: dict | list
    sources: list
    region: Literal["global", "china"] | None = None
    served: dict | None = Field(default=None, description="{path, model_version, source} of the served posterior")
    transitions: list[dict] | None = Field(
        default=None, description="{therapeutic_area (or ALL), modality, transition, mean, interval_90}: success "
                                  "probability a new programme faces, between-edition drift included")
    reference_check: dict | None = Field(default=None, description="Published figures vs predictive intervals")
    drift_scale: dict | None = None


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


# -- loans, alerts, book, replay (issue 17) ----------------------------------------------------

class Driver(_Out):
    driver: str = Field(description="time (the passage of time at the facts known before) or an event type")
    label: str
    collateral_value: float | None
    pd: float | None
    expected_loss: float | None
    ltv: float | None
    new_knockouts: list[str]


class LoanValuation(_Out):
    """One revaluation of a loan: the numbers a lender watches, the change and its drivers."""

    id: str
    loan_id: str
    seq: int
    as_of: dt.date
    reason: Literal["booking", "event", "on_demand"]
    event_id: str | None
    balance: float = Field(description="Outstanding balance, CNY")
    collateral_value: float = Field(description="IP value today (rNPV mean) at as_of, CNY")
    ltv: float | None = Field(description="Balance / collateral value; null when the collateral is worth 0")
    pd: float = Field(description="PD to maturity (1 once in default)")
    expected_loss: float
    bank_expected_loss: float
    decision: Literal["approve", "approve_with_conditions", "decline"]
    max_loan: float
    knockouts: list[str]
    status: Literal["active", "defaulted", "repaid", "closed"]
    model_version: str
    seed: int
    change: dict | None = Field(description="Against the previous valuation (null for the first)")
    drivers: list[Driver] = Field(description="Sequential attribution of the change; sums to it")
    assessment: str = Field(description="URL of the full assessment document of this valuation")


class LoanOut(_Out):
    """A booked loan (the request's own ``Loan`` is the amount asked for)."""

    id: str
    assessment_id: str
    reference: str | None
    amount: float
    drawdown_date: dt.date
    status: Literal["active", "defaulted", "repaid", "closed"]
    balance: float
    monitoring: dict = Field(description="Alert triggers with the source of each number")
    latest_valuation: LoanValuation | None


class LoanEventOut(_Out):
    id: str
    loan_id: str
    seq: int
    type: str
    date: dt.date


class LoanDetail(LoanOut):
    events: list[LoanEventOut]
    valuations: list[LoanValuation]


class LoanList(_Out):
    items: list[LoanOut] = Field(description="Newest first")
    next_cursor: str | None


class AlertOut(_Out):
    id: str
    loan_id: str
    valuation_id: str
    trigger: Literal["ltv_above", "value_down", "pd_up", "knockout", "invalidation_lost"]
    status: Literal["open", "acknowledged"]
    action: Literal["top_up_collateral", "add_guarantee", "call_loan"]
    numbers: dict
    message: str
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None


class AlertList(_Out):
    items: list[AlertOut] = Field(description="Newest first")
    next_cursor: str | None


class EventResult(_Out):
    event: LoanEventOut
    valuation: LoanValuation
    alerts: list[AlertOut]


class RevaluationResult(_Out):
    valuation: LoanValuation
    alerts: list[AlertOut]


class ReplayResult(_Out):
    assessment_id: str
    identical: bool | None = Field(description="null when not recomputed (another model version is served)")
    recomputed: bool
    stored_model_version: str
    served_model_version: str
    stored_hash: str = Field(description="SHA-256 of the canonical JSON of the stored document")
    replay_hash: str | None = None
    differences: list[dict] | None = Field(default=None, description="{field, stored, replayed}, at most 50")
    reproduce_with: str | None = Field(default=None, description="Model version that reproduces it")
