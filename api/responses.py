"""Response models of the API. Field names are a contract read by banks' clients.

These models generate the response schemas of /v1/openapi.json, and every JSON response is checked
against its operation's model before it is sent (:func:`check`, called from :mod:`ipledge.api.routes`): extra
fields are forbidden, so a field cannot be in a response without being in the document. Adding a field
means adding it here (optional, so stored documents of earlier versions still validate); renaming one
is a breaking change. Units ride in the annotations (:mod:`ipledge.valuation.units`) and reach the descriptions.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, ValidationError

from ipledge.valuation import units as U

Cny = Annotated[float, U.CNY]
CnyYear = Annotated[float, U.CNY_PER_YEAR]
Frac = Annotated[float, U.FRACTION]
Prob = Annotated[float, U.PROBABILITY]
Pts = Annotated[float, U.POINTS]
Count = Annotated[int, U.COUNT]
Dimless = Annotated[float, U.DIMENSIONLESS]
Years = Annotated[float, U.YEARS]
Seed = Annotated[int, U.DIMENSIONLESS]
Seconds = Annotated[float, U.SECONDS]
Decision = Literal["approve", "approve_with_conditions", "decline"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=U.describe_units)


_ADAPTERS: dict[Any, TypeAdapter] = {}


def check(model, doc):
    """``doc`` (a JSON-ready dict or list) validated against the response ``model``; raises
    ResponseContractError on a field the model (and so the OpenAPI document) does not describe.
    The bytes sent are the engine's own document (stored and replayed documents keep their hash)."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    try:
        adapter.validate_python(doc)
    except ValidationError as e:   # the server's fault, never the client's 422
        raise ResponseContractError(f"response does not match {getattr(model, '__name__', model)}: {e}") from None
    return doc


class ResponseContractError(RuntimeError):
    """A response the OpenAPI document does not describe (a 500: a bug to fix here or in the engine)."""


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
    name: str = Field(description="Indicator of the scorecard")
    value: float | str | list | dict | bool | None = Field(
        description="The input the indicator reads (its unit in `note`; an object for the financing record)")
    points: Pts = Field(description="Points given by the indicator's rule")
    weight: Frac = Field(description="Weight of the indicator in its scorecard")
    note: str = Field(description="One line a loan officer can read")


class Knockout(_Out):
    code: str = Field(description="Knock-out code, e.g. fees_unpaid, existing_pledge")
    patents: list[str] = Field(description="Ids of the patents concerned (empty when the whole pledge is)")
    message: str = Field(description="What disqualifies the pledge")
    fix: str | None = Field(description="What the applicant can do about it")


class Scorecard(_Out):
    score: Pts = Field(ge=0, le=100, description="Weighted score of the scorecard")
    indicators: list[Indicator] = Field(description="The rows of the scorecard")
    knockouts: list[Knockout] = Field(description="Knock-outs raised by this scorecard (max_loan 0 while any stands)")


class CompetitiveScorecard(Scorecard):
    ip_contribution: Frac = Field(ge=0, le=1, description="Share of product profit attributed to the IP")


class GbtIndicator(_Out):
    """One GB/T 42748-2023 third-level indicator and what in the assessment speaks to it."""

    dimension: Literal["legal", "technical", "economic"] = Field(description="GB/T 42748 dimension")
    code: str = Field(description="Crosswalk code: L1-L7, T1-T10, E1-E10")
    name_zh: str = Field(description="Name of the indicator in the standard (Chinese)")
    name_en: str = Field(description="English rendering of the name")
    status: Literal["evidenced", "derived", "missing"] = Field(
        description="evidenced: a request field states it; derived: computed from related inputs or the "
                    "simulation; missing: nothing in the request speaks to it")
    value: float | str | list | dict | bool | None = Field(description="What was read or derived; null if missing")
    rating: Pts | None = Field(ge=0, le=100, description="Rating by the crosswalk rule; null if missing")
    source: str = Field(description="Request fields and scorecard row (or evidence field, or simulation) used")
    scorecard: str | None = Field(default=None, description="Scorecard the indicator rests on or feeds")
    row: str | None = Field(default=None, description="Name of the scorecard row that rates it ('simulation' "
                                                      "for a simulated quantity); null if missing")


class GbtCoverage(_Out):
    evidenced: Count = Field(ge=0, le=27, description="Indicators a request field states")
    derived: Count = Field(ge=0, le=27, description="Indicators derived from related inputs or the simulation")
    missing: Count = Field(ge=0, le=27, description="Indicators nothing in the request speaks to")
    total: Annotated[Literal[27], U.COUNT] = Field(description="Indicators of the standard")


class Gbt42748(_Out):
    """Crosswalk of the assessment to the 27 indicators of GB/T 42748-2023. The list is a reconstruction
    whose count matches the standard; its second-level grouping and finance-scenario weights are not
    confirmed and not used."""

    standard: str | None = Field(default=None, description="The standard: GB/T 42748-2023")
    indicators: list[GbtIndicator] = Field(min_length=27, max_length=27, description="The 27 indicators")
    coverage: GbtCoverage = Field(description="How many indicators are evidenced, derived, missing")
    caveat: str | None = Field(default=None, description="What the crosswalk is and is not (English)")
    caveat_zh: str | None = Field(default=None, description="The caveat in Chinese")
    labels: dict[str, dict[str, dict[str, str]]] | None = Field(
        default=None, description="Labels by language (zh, en) of the status, dimension and scorecard codes: "
                                  "a map language -> kind -> code -> label")


class Scores(_Out):
    rights_certainty: Scorecard = Field(description="Legal certainty of the pledged rights")
    competitive_contribution: CompetitiveScorecard = Field(description="What the IP contributes against competition")
    revenue_potential: Scorecard = Field(description="Revenue potential of the protected product")
    exclusivity_end: dt.date | None = Field(description="Latest expiry of the pledged rights incl. extension")
    gbt42748: Gbt42748 | None = Field(default=None, description="GB/T 42748-2023 coverage of this assessment")


# -- risk -------------------------------------------------------------------------------------

class PApproval(_Out):
    mean: Prob = Field(ge=0, le=1, description="Mean probability of approval from the current stage")
    hdi_90: list[Prob] = Field(min_length=2, max_length=2, description="90% interval of that probability")


class Pipeline(_Out):
    stage: str = Field(description="Stage of the product (request)")
    p_approval: PApproval = Field(description="Probability of approval, posterior predictive")
    transitions: dict[str, Prob] = Field(description="Mean success probability of each remaining transition, "
                                                     "by transition name (phase1_to_phase2, ...)")
    expected_launch_year: Annotated[float | None, U.YEAR] = Field(
        description="Mean launch year over the paths that launch; null if none")
    simulated_p_approval: Prob | None = Field(default=None, description="Share of simulated paths that reach approval")
    region: Literal["global", "china"] | None = Field(
        default=None, description="pipeline.region of the request: which success rates were used")


class CashFlow(_Out):
    year: Annotated[int, U.YEAR] = Field(description="Calendar year of the cash flow")
    mean: Cny = Field(description=f"Mean IP cash flow of the year; {MONEY_NOTE}")
    p5: Cny = Field(description=f"5th percentile of the year's IP cash flow; {MONEY_NOTE}")
    p95: Cny = Field(description=f"95th percentile of the year's IP cash flow; {MONEY_NOTE}")


class Histogram(_Out):
    edges: list[Cny] = Field(description="Bin edges of the IP value (one more than counts)")
    counts: list[Count] = Field(description="Paths in each bin")
    paths: Count = Field(description="Paths behind the histogram")
    zero: Count = Field(description="Paths on which the IP is worth nothing")
    above: Count = Field(description="Paths above the last edge")
    mean: Cny = Field(description="Mean IP value")


class Valuation(_Out):
    currency: str = Field(description="Currency of every amount: CNY")
    appraised_value: Cny = Field(description=f"Mean IP value today (rNPV); {MONEY_NOTE}")
    p5: Cny = Field(description=f"5th percentile of the IP value; {MONEY_NOTE}")
    p50: Cny = Field(description=f"Median IP value; {MONEY_NOTE}")
    p95: Cny = Field(description=f"95th percentile of the IP value; {MONEY_NOTE}")
    mc_std_error: Cny | None = Field(default=None, description="Monte Carlo standard error of appraised_value")
    prob_zero: Prob = Field(ge=0, le=1, description="Share of paths on which the IP is worth nothing")
    exclusivity_end: dt.date | None = Field(description="Latest expiry of the pledged rights")
    horizon_years: Years | None = Field(default=None, description="Years of cash flows valued")
    ip_share_of_sales: Frac | None = Field(default=None, description="Profit margin x IP contribution: the IP's "
                                                                     "share of each sale")
    paths: Count | None = Field(default=None, description="Monte Carlo paths behind the figures")
    cash_flows: list[CashFlow] = Field(description="IP cash flow by year")
    histogram: Histogram | None = Field(default=None, description="Distribution of the IP value")
    value_after_exclusivity: Cny | None = Field(
        default=None, description="PV of the IP share of what the product earns after the rights end; "
                                  "reported only, never in the LTV, the cap or the collateral")
    development_cost_pv: Cny | None = Field(
        default=None, description="PV of the remaining development cost borne by the IP (with abandonment)")
    abandonment_probability: Prob | None = Field(
        default=None, ge=0, le=1, description="Share of paths on which the holder stops paying for the trials")


class Credit(_Out):
    pd: Prob = Field(description="Probability of default to maturity")
    lgd: Frac | None = Field(description="Loss given default (mean over defaulting paths); null if none default")
    ead: Cny = Field(description=f"Mean exposure at default; {MONEY_NOTE}")
    expected_loss: Cny = Field(description=f"Expected loss of all parties; {MONEY_NOTE}")
    expected_loss_rate: Frac = Field(description="Expected loss / loan amount, to maturity")
    var_99: Cny = Field(description=f"99% value at risk of the loss; {MONEY_NOTE}")
    es_99: Cny | None = Field(default=None, description=f"99% expected shortfall of the loss; {MONEY_NOTE}")
    maturity_years: Years | None = Field(default=None, description="Term of the loan")
    pd_annual: Prob | None = Field(default=None, description="One-year PD: 1 - (1 - pd)^(1/term)")
    expected_loss_rate_annual: Frac | None = Field(default=None, description="EL rate annualised like pd_annual")
    bank_expected_loss: Cny | None = Field(default=None, description=f"Bank's expected loss (fund caps applied); "
                                                                     f"{MONEY_NOTE}")
    bank_expected_loss_rate: Frac | None = Field(
        default=None, description="Bank's EL rate (fund caps applied), to maturity: the rate policy.max_expected_loss "
                                  "limits (annualised when expected_loss_basis is annual)")
    bank_expected_loss_rate_annual: Frac | None = Field(default=None, description="Bank's EL rate annualised")
    expected_loss_basis: Literal["annual", "lifetime"] | None = Field(
        default=None, description="Which EL rate the limits read (policy.expected_loss_basis)")


class LimitCheck(_Out):
    limit: str = Field(description="bank_el | total_el | pd | party:<name> | policy_ltv_cap | profile_max_amount | "
                                   "borrower_capacity")
    value: Annotated[float | None, U.DIMENSIONLESS] = Field(
        description="The figure at the requested amount, in the limit's unit (a rate for the EL and PD limits, "
                    "CNY for amounts)")
    threshold: Annotated[float, U.DIMENSIONLESS] = Field(description="The limit, in the same unit as value")
    passed: bool = Field(description="value within the limit")
    basis: str = Field(description="annual or lifetime, or what the limit is computed on")


class Recommendation(_Out):
    decision: Decision = Field(description="The lending decision")
    ltv: Frac = Field(description="max_loan / appraised value")
    max_loan: Cny = Field(description=f"Amount the bank can lend now: 0 when a knock-out applies; {MONEY_NOTE}")
    max_loan_std_error: Cny | None = Field(default=None, description="Monte Carlo standard error of max_loan")
    risk_supported_max_loan: Cny = Field(
        description="Largest amount the risk model supports, before knock-outs (what clearing them would allow); "
                    + MONEY_NOTE)
    risk_supported_ltv: Frac = Field(description="risk_supported_max_loan / appraised value")
    requested_ltv: Frac | None = Field(description="Requested amount / appraised value; null when the value is 0")
    required_guarantee_share: Frac | None = Field(
        description="Guarantee share that would make the requested amount acceptable; null if none can")
    conditions: list[str] = Field(description="Conditions of an approve_with_conditions")
    reasons: list[str] = Field(description="Why: the limits and knock-outs behind the decision")
    binding_constraint: str | None = Field(
        default=None, description="Limit that sets max_loan: bank_el, total_el, pd, party:<name>, scheme_cap, "
                                  "policy_ltv_cap, borrower_capacity or knockout")
    checks: list[LimitCheck] | None = Field(default=None, description="Every limit at the requested amount")
    ltv_std_error: Frac | None = Field(default=None, description="Monte Carlo standard error of the LTV; "
                                                                 "null where the binding limit is flat")
    paths: Count | None = Field(default=None, description="Paths behind the figures (more than requested when "
                                                          "the LTV error exceeded 1 pp: see paths_note)")
    paths_note: str | None = Field(default=None, description="Why the paths were raised, when they were")


class RiskShare(_Out):
    party: str = Field(description="bank, guarantor, fund, insurer or appraiser")
    share: Frac = Field(description="Share of the loss the party bears")
    expected_loss: Cny = Field(description=f"Expected loss borne by the party; {MONEY_NOTE}")


class _AssessmentHead(_Out):
    id: str = Field(description="Id of the assessment")
    created_at: dt.datetime = Field(description="When it was computed (UTC)")
    as_of: dt.date = Field(description="Valuation date of the request")
    model_version: str = Field(description="Pipeline model and simulator version that computed it")
    seed: Seed = Field(description="Random seed used")
    scenario: str | None = Field(description="Stress scenario it ran under; null for the case as entered")


class AssessmentResponse(_AssessmentHead):
    """One stored assessment: scores, pipeline risk, valuation, credit and the lending recommendation."""

    schema_version: str = Field(description="Request schema version (v1)")
    params_hash: str | None = Field(default=None, description="Hash of the model parameters used (replay checks it)")
    scores: Scores = Field(description="The three scorecards and the GB/T 42748 crosswalk")
    pipeline: Pipeline = Field(description="Development risk of the product")
    valuation: Valuation = Field(description="Monte Carlo rNPV of the IP")
    credit: Credit = Field(description="Default and loss figures of the loan")
    recommendation: Recommendation = Field(description="The lending decision and amount")
    risk_sharing: list[RiskShare] = Field(description="Expected loss by loss-bearing party")


class AssessmentSummary(_AssessmentHead):
    decision: Decision = Field(description="The lending decision")
    applicant: str = Field(description="Applicant name")
    loan_amount: Cny = Field(description="Amount asked for")


class AssessmentList(_Out):
    items: list[AssessmentSummary] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


# -- service ----------------------------------------------------------------------------------

class Health(_Out):
    status: Literal["ok"] = Field(description="Always ok when the process answers")
    version: str = Field(description="Version of ipledge")
    schema_version: str = Field(description="Request schema version")
    model_version: str | None = Field(description="Version of the loaded pipeline posterior (null if none)")


class Ready(_Out):
    status: Literal["ready"] = Field(description="Every dependency answers")
    checks: dict[str, str] = Field(description="Dependency (database, redis, model) -> ok")


class ModelDiagnostics(_Out):
    r_hat_max: Dimless | None = Field(description="Largest R-hat of the posterior (1.01 or less is converged)")
    ess_bulk_min: Annotated[float | None, U.COUNT] = Field(description="Smallest bulk effective sample size")
    divergences: Count | None = Field(default=None, description="Divergent transitions of the sampler")


class ModelApproval(_Out):
    therapeutic_area: str = Field(description="Therapeutic area, or ALL")
    modality: str | None = Field(description="Modality; null for all")
    stage: str = Field(description="Stage the probability starts from")
    mean: Prob = Field(description="Mean probability of approval")
    hdi_90: list[Prob] = Field(description="90% predictive interval")


class ModelTransition(_Out):
    therapeutic_area: str = Field(description="Therapeutic area, or ALL")
    modality: str | None = Field(description="Modality; null for all")
    transition: str = Field(description="phase1_to_phase2, ...")
    mean: Prob = Field(description="Mean success probability a new programme faces")
    interval_90: list[Prob] = Field(description="90% predictive interval, between-edition drift included")


class DriftScale(_Out):
    mean: Dimless = Field(description="Posterior mean of the between-edition drift scale (logit)")
    interval_90: list[Dimless] = Field(description="Its 90% interval")


class ReferenceRow(_Out):
    area: str = Field(description="Therapeutic area, or ALL")
    figure: str = Field(description="Published figure (source and quantity)")
    modality: str | None = Field(description="Modality; null for all")
    quantity: str = Field(description="Transition or approval probability compared")
    rate: Prob = Field(description="The published rate")
    region: str = Field(description="global or china")
    role: str = Field(description="fitted (in-sample) or held out")
    mean: Prob = Field(description="Model's mean for the same quantity")
    interval_90: list[Prob] = Field(description="Model's 90% predictive interval")
    inside: bool = Field(description="The published rate lies in the interval")


class ReferenceCheck(_Out):
    inside: Count = Field(description="Published figures inside the predictive interval")
    figures: Count = Field(description="Published figures compared")
    rows: list[ReferenceRow] = Field(description="One row per figure")
    note: str | None = Field(default=None, description="What the check does and does not show")


class Ppc(_Out):
    cells: Count = Field(description="Data cells checked")
    coverage: Frac = Field(description="Share of cells inside the interval")
    inside: Count = Field(description="Cells inside the interval")
    interval: Frac = Field(description="Width of the interval (0.94 = 94%)")
    outside: list[dict[str, Any]] = Field(description="The cells outside, with their observed and predicted counts")
    passed: bool = Field(description="Coverage at least the interval's nominal level")


class Served(_Out):
    path: str = Field(description="Posterior file served")
    model_version: str = Field(description="Its model version")
    source: str = Field(description="shipped, or the `ipledge model use` record")


class ModelInfo(_Out):
    """The ``ipledge model show --json`` document of the loaded pipeline posterior."""

    model_version: str = Field(description="Version of the pipeline posterior")
    region: Literal["global", "china"] | None = Field(default=None, description="Region of the tables")
    served: Served | None = Field(default=None, description="Which posterior file is served")
    interval: str | None = Field(default=None, description="What the intervals are")
    diagnostics: ModelDiagnostics = Field(description="Sampler diagnostics")
    drift_scale: DriftScale | None = Field(default=None, description="Between-edition drift of success rates")
    p_approval: list[ModelApproval] = Field(description="Probability of approval by area, modality and stage")
    transitions: list[ModelTransition] | None = Field(
        default=None, description="Success probability of each transition by area and modality")
    reference_check: ReferenceCheck | None = Field(default=None, description="Published figures vs predictive "
                                                                             "intervals")
    ppc: Ppc = Field(description="Posterior predictive check")
    sources: list[str] = Field(description="Data sources of the fit")


class FieldError(_Out):
    field: str = Field(description="Path of the offending field, e.g. patents[0].grant_date")
    message: str = Field(description="What is wrong, with the unit of a number")
    type: str | None = Field(default=None, description="pydantic error type, e.g. less_than_equal")


class Problem(BaseModel):
    """RFC 9457 problem details (media type application/problem+json). Open to extension members
    (RFC 9457 §3.2), e.g. `checks` of a 503 from /v1/health/ready."""

    model_config = ConfigDict(extra="allow", json_schema_extra=U.describe_units)
    type: str = Field(description="URI of the problem type")
    title: str = Field(description="Short summary of the problem type")
    status: Annotated[int, U.DIMENSIONLESS] = Field(description="HTTP status code")
    detail: str = Field(description="What went wrong with this request")
    instance: str | None = Field(default=None, description="Path of the request")
    errors: list[FieldError] | None = Field(default=None, description="One entry per invalid field")
    request_id: str | None = Field(default=None, description="X-Request-Id of the request (quote it to support)")


# -- loans, alerts, book, replay (issue 17) ----------------------------------------------------

LoanStatus = Literal["active", "defaulted", "repaid", "closed"]


class Driver(_Out):
    driver: str = Field(description="time (the passage of time at the facts known before) or an event type")
    label: str = Field(description="What the step is, in words")
    collateral_value: Cny | None = Field(description="Change of the collateral value due to this step")
    pd: Prob | None = Field(description="Change of the PD to maturity due to this step")
    expected_loss: Cny | None = Field(description="Change of the expected loss due to this step")
    ltv: Frac | None = Field(description="Change of the LTV due to this step")
    new_knockouts: list[str] = Field(description="Knock-outs this step raised")


class ValuationChange(_Out):
    collateral_value: Cny | None = Field(default=None, description="Change against the previous valuation")
    collateral_value_pct: Frac | None = Field(default=None, description="Relative change of the collateral value "
                                                                        "(-0.2 = down 20%)")
    pd: Prob | None = Field(default=None, description="Change of the PD to maturity (absolute)")
    expected_loss: Cny | None = Field(default=None, description="Change of the expected loss")
    ltv: Frac | None = Field(default=None, description="Change of the LTV (absolute); null when either is null")
    new_knockouts: list[str] | None = Field(default=None, description="Knock-outs not in the previous valuation")
    decision: list[Decision] | None = Field(default=None, description="[before, after] when the decision changed")


class LoanValuation(_Out):
    """One revaluation of a loan: the numbers a lender watches, the change and its drivers."""

    id: str = Field(description="Id of the valuation")
    loan_id: str = Field(description="Id of the loan")
    seq: Count = Field(description="0 for the booking valuation, then 1, 2, ...")
    as_of: dt.date = Field(description="Date the loan was valued at")
    reason: Literal["booking", "event", "on_demand"] = Field(description="What caused the valuation")
    event_id: str | None = Field(description="Event that caused it (reason event)")
    created_at: dt.datetime | None = Field(default=None, description="When it was computed (UTC)")
    balance: Cny = Field(description="Outstanding balance")
    collateral_value: Cny = Field(description="IP value today (rNPV mean) at as_of")
    ltv: Frac | None = Field(description="Balance / collateral value; null when the collateral is worth 0")
    pd: Prob = Field(description="PD to maturity (1 once in default)")
    expected_loss: Cny = Field(description="Expected loss of all parties on the balance")
    bank_expected_loss: Cny = Field(description="The bank's expected loss on the balance")
    decision: Decision = Field(description="Decision the assessment would give today")
    max_loan: Cny = Field(description="Amount the bank could lend today on this collateral")
    knockouts: list[str] = Field(description="Knock-out codes standing at as_of")
    status: LoanStatus = Field(description="Status of the loan at as_of")
    model_version: str = Field(description="Model that computed it")
    seed: Seed = Field(description="Random seed used")
    change: ValuationChange | None = Field(description="Against the previous valuation (null for the first)")
    drivers: list[Driver] = Field(description="Sequential attribution of the change; sums to it")
    assessment: str = Field(description="URL of the full assessment document of this valuation")


class MonitoringSources(_Out):
    max_ltv: str = Field(description="given at booking, or assessment policy.max_ltv")
    value_drop: str = Field(description="given at booking, or assumption")
    pd_rise: str = Field(description="given at booking, or assumption")


class MonitoringOut(_Out):
    max_ltv: Frac = Field(description="Alert when the LTV on the balance exceeds this")
    value_drop: Frac = Field(description="Alert when the collateral value falls by more than this share")
    pd_rise: Prob = Field(description="Alert when the PD to maturity rises by more than this (absolute)")
    knockouts: bool = Field(description="Alert on a new knock-out or a lost invalidation")
    sources: MonitoringSources = Field(description="Where each number comes from")


class AlertNumbers(_Out):
    """The numbers behind an alert (which ones depends on the trigger)."""

    ltv: Frac | None = Field(default=None, description="LTV on the balance (ltv_above); null when the collateral "
                                                       "is worth 0")
    threshold: Annotated[float | None, U.DIMENSIONLESS] = Field(
        default=None, description="The trigger's limit: an LTV, a share of value or a PD rise (fractions)")
    balance: Cny | None = Field(default=None, description="Outstanding balance")
    collateral_value: Cny | None = Field(default=None, description="Collateral value now")
    repay_to_cure: Cny | None = Field(default=None, description="Repayment that brings the LTV back under the limit")
    change: Annotated[float | None, U.DIMENSIONLESS] = Field(
        default=None, description="value_down: relative change of the value (fraction); pd_up: PD rise (probability)")
    previous: Annotated[float | None, U.DIMENSIONLESS] = Field(
        default=None, description="Previous value (CNY) or PD (probability)")
    value: Annotated[float | None, U.DIMENSIONLESS] = Field(default=None, description="New value (CNY) or PD "
                                                                                       "(probability)")
    knockouts: list[str] | None = Field(default=None, description="New knock-out codes")
    patent_id: str | None = Field(default=None, description="Patent invalidated (invalidation_lost)")


class AlertOut(_Out):
    id: str = Field(description="Id of the alert")
    loan_id: str = Field(description="Loan it concerns")
    valuation_id: str = Field(description="Valuation that raised it")
    trigger: Literal["ltv_above", "value_down", "pd_up", "knockout", "invalidation_lost"] = Field(
        description="Which trigger fired")
    status: Literal["open", "acknowledged"] = Field(description="open until acknowledged")
    action: Literal["top_up_collateral", "add_guarantee", "call_loan"] = Field(description="Suggested action")
    numbers: AlertNumbers = Field(description="The numbers behind the alert")
    message: str = Field(description="The alert in words")
    created_at: dt.datetime | None = Field(default=None, description="When it was raised (UTC)")
    acknowledged_at: dt.datetime | None = Field(description="When it was acknowledged (UTC)")
    acknowledged_by: str | None = Field(description="Key id that acknowledged it")
    note: str | None = Field(default=None, description="Note given with the acknowledgement")


class LoanOut(_Out):
    """A booked loan (the request's own ``Loan`` is the amount asked for)."""

    id: str = Field(description="Id of the loan")
    assessment_id: str = Field(description="Assessment it was booked from")
    reference: str | None = Field(description="The lender's own loan reference")
    amount: Cny = Field(description="Amount drawn")
    drawdown_date: dt.date = Field(description="Date drawn")
    created_at: dt.datetime | None = Field(default=None, description="When it was booked (UTC)")
    status: LoanStatus = Field(description="Status of the loan")
    balance: Cny = Field(description="Outstanding balance")
    monitoring: MonitoringOut = Field(description="Alert triggers with the source of each number")
    latest_valuation: LoanValuation | None = Field(description="The latest valuation")
    alerts: list[AlertOut] | None = Field(default=None, description="Alerts raised at booking (POST /v1/loans only)")


class LoanEventOut(_Out):
    """A stored fact about a loan: the request's event fields (by type) and where it sits in the loan."""

    id: str = Field(description="Id of the event")
    loan_id: str = Field(description="Id of the loan")
    seq: Count = Field(description="0, 1, 2, ... in the order recorded")
    created_at: dt.datetime | None = Field(default=None, description="When it was recorded (UTC)")
    type: str = Field(description="Event type (see POST /v1/loans/{id}/events)")
    date: dt.date = Field(description="Date the fact became known")
    note: str | None = Field(default=None, description="Free-text note")
    stage: str | None = Field(default=None, description="phase_result: stage reached or failed")
    outcome: str | None = Field(default=None, description="phase_result: reached | failed; invalidation_decided: "
                                                          "upheld | partially_upheld | invalidated")
    launch_year: Annotated[int | None, U.YEAR] = Field(default=None, description="approval: planned launch year")
    cut: Frac | None = Field(default=None, description="vbp_selected: price cut")
    patent_id: str | None = Field(default=None, description="invalidation_decided, fee_payment_missed: the patent")
    amount: Cny | None = Field(default=None, description="repayment, recovery: amount")
    channel: str | None = Field(default=None, description="recovery: where the money came from")


class LoanDetail(LoanOut):
    events: list[LoanEventOut] = Field(description="Every recorded fact, oldest first")
    valuations: list[LoanValuation] = Field(description="Every valuation, oldest first")


class LoanList(_Out):
    items: list[LoanOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class AlertList(_Out):
    items: list[AlertOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class EventResult(_Out):
    event: LoanEventOut = Field(description="The stored event")
    valuation: LoanValuation = Field(description="The revaluation it caused")
    alerts: list[AlertOut] = Field(description="Alerts the revaluation raised")


class RevaluationResult(_Out):
    valuation: LoanValuation = Field(description="The stored valuation")
    alerts: list[AlertOut] = Field(description="Alerts it raised")


class Difference(_Out):
    field: str = Field(description="Dotted path of the field that differs")
    stored: Any = Field(description="Stored value")
    replayed: Any = Field(description="Recomputed value")


class ReplayResult(_Out):
    assessment_id: str = Field(description="Assessment replayed")
    identical: bool | None = Field(description="null when not recomputed (another model version is served)")
    recomputed: bool = Field(description="Whether it was recomputed")
    stored_model_version: str = Field(description="Model version that computed the stored document")
    served_model_version: str = Field(description="Model version this server serves")
    seed: Seed | None = Field(default=None, description="Stored seed, used again")
    stored_hash: str = Field(description="SHA-256 of the canonical JSON of the stored document")
    replay_hash: str | None = Field(default=None, description="SHA-256 of the recomputed document")
    differences: list[Difference] | None = Field(default=None, description="{field, stored, replayed}, at most 50")
    n_differences: Count | None = Field(default=None, description="All differences (differences lists 50)")
    reproduce_with: str | None = Field(default=None, description="Model version that reproduces it")
    message: str | None = Field(default=None, description="Why it was not recomputed or why it differs")


# -- stress and portfolio jobs (api/routes/stress.py, api/routes/book.py) -----------------------

class Scenario(_Out):
    name: str = Field(description="Name to pass in `scenarios`")
    description: str = Field(description="What the scenario shocks, in words")
    set: dict[str, Any] = Field(description="Shocks: a map parameter path (model.vbp_cut_mean, loan.rate, ...) -> "
                                            "a value, or {scale|add|at_least: number}")
    sources: list[str] = Field(description="Where the shock sizes come from")


class StressChange(_Out):
    appraised_value: Cny | None = Field(default=None, description="Change against the base row")
    pd: Prob | None = Field(default=None, description="Change of the PD (absolute)")
    expected_loss_rate: Frac | None = Field(default=None, description="Change of the EL rate (absolute)")
    bank_expected_loss_rate: Frac | None = Field(default=None, description="Change of the bank's EL rate")
    ltv: Frac | None = Field(default=None, description="Change of the LTV (absolute)")
    max_loan: Cny | None = Field(default=None, description="Change of max_loan")


class StressRow(_Out):
    scenario: str = Field(description="base, or the scenario's name")
    description: str | None = Field(default=None, description="The scenario in words")
    assessment_id: str | None = Field(default=None, description="Assessment stressed")
    appraised_value: Cny = Field(description=f"Mean IP value; {MONEY_NOTE}")
    p5: Cny | None = Field(default=None, description=f"5th percentile of the IP value; {MONEY_NOTE}")
    prob_zero: Prob | None = Field(default=None, description="Share of paths on which the IP is worth nothing")
    pd: Prob = Field(description="PD to maturity")
    expected_loss_rate: Frac = Field(description="EL rate of all parties")
    bank_expected_loss_rate: Frac | None = Field(default=None, description="Bank's EL rate")
    var_99: Cny | None = Field(default=None, description=f"99% VaR of the loss; {MONEY_NOTE}")
    ltv: Frac = Field(description="max_loan / appraised value")
    requested_ltv: Frac | None = Field(default=None, description="Requested amount / appraised value")
    max_loan: Cny | None = Field(default=None, description=f"Amount the bank can lend; {MONEY_NOTE}")
    decision: Decision = Field(description="The lending decision under the scenario")
    change: StressChange | None = Field(default=None, description="Against the base row (absent on it)")
    params_hash: str | None = Field(default=None, description="Hash of the model parameters under the scenario")
    paths: Count | None = Field(default=None, description="Paths behind the row")
    seed: Seed | None = Field(default=None, description="Seed (the base's: common random numbers)")


class StressRows(RootModel[list[StressRow]]):
    """Rows: base first, then each scenario, on the same seed."""


class ScenarioList(RootModel[list[Scenario]]):
    """The built-in scenarios."""


class PortfolioFactors(_Out):
    on: bool = Field(description="Common factors switched on")
    funding: Dimless | None = Field(default=None, description="Loading on the funding-winter factor")
    vbp: Dimless | None = Field(default=None, description="Loading on the VBP-wave factor")
    rate_sd: Annotated[float | None, U.RATE] = Field(default=None, description="Standard deviation of the rate factor")


class PortfolioLoan(_Out):
    index: Count = Field(description="Position of the pledge in the book")
    loan_id: str | None = Field(default=None, description="The loan (book risk of booked loans)")
    applicant: str = Field(description="Applicant name")
    product: str = Field(description="Product name")
    therapeutic_area: str = Field(description="Therapeutic area")
    stage: str = Field(description="Stage")
    vbp_exposure: str = Field(description="VBP exposure")
    amount: Cny = Field(description="Exposure")
    pd: Prob = Field(description="PD to maturity")
    expected_loss: Cny = Field(description="Expected loss")
    el_contribution: Cny = Field(description="Contribution to the book's expected loss")
    es_contribution: Cny = Field(description="Contribution to the book's 99% expected shortfall")
    es_share: Frac = Field(description="Share of the book's ES")


class AreaConcentration(_Out):
    therapeutic_area: str = Field(description="Therapeutic area")
    n_loans: Count = Field(description="Loans in the area")
    exposure: Cny = Field(description="Exposure in the area")
    expected_loss: Cny = Field(description="Expected loss in the area")
    es_contribution: Cny = Field(description="Contribution to the book's ES")
    exposure_share: Frac = Field(description="Share of the book's exposure")
    el_share: Frac = Field(description="Share of the book's expected loss")
    es_share: Frac = Field(description="Share of the book's ES")


class Concentration(_Out):
    by_therapeutic_area: list[AreaConcentration] = Field(description="Exposure and loss by area")
    hhi_exposure_by_area: Frac = Field(description="Herfindahl index of exposure by area (1 = one area)")


class PortfolioResult(_Out):
    n_loans: Count = Field(description="Pledges in the book")
    paths: Count = Field(description="Monte Carlo paths")
    seed: Seed = Field(description="Random seed")
    chunk_paths: Count | None = Field(default=None, description="Paths per task")
    factors: PortfolioFactors = Field(description="Common factors used")
    exposure: Cny = Field(description="Total exposure")
    expected_loss: Cny = Field(description="Expected loss of the book")
    expected_loss_rate: Frac = Field(description="Expected loss / exposure")
    var_99: Cny = Field(description="99% VaR of the book's loss")
    es_99: Cny = Field(description="99% expected shortfall of the book's loss")
    var_99_rate: Frac = Field(description="var_99 / exposure")
    es_99_rate: Frac = Field(description="es_99 / exposure")
    mc_std_error_el: Cny = Field(description="Monte Carlo standard error of expected_loss")
    expected_defaults: Annotated[float, U.COUNT] = Field(description="Expected number of defaults")
    prob_any_default: Prob = Field(description="Probability that at least one loan defaults")
    loans: list[PortfolioLoan] = Field(description="Each loan's figures and contributions")
    concentration: Concentration = Field(description="Concentration by therapeutic area")
    scheme_yearly_caps: list[dict[str, Any]] = Field(
        description="Per scheme with a yearly cap: how often and by how much the cap binds")
    engine: str = Field(description="local or dask")
    tasks: Count = Field(description="Tasks run")
    model_version: str = Field(description="Pipeline model version")
    wall_seconds: Seconds = Field(description="Wall time of the run")


class Job(_Out):
    job_id: str = Field(description="Id of the job (poll GET .../{job_id})")
    status: Literal["queued", "running", "done", "failed"] = Field(description="State of the job")
    submitted_at: dt.datetime | None = Field(default=None, description="When it was accepted (UTC)")
    started_at: dt.datetime | None = Field(default=None, description="null until a worker starts the job")
    finished_at: dt.datetime | None = Field(default=None, description="When it finished (UTC)")
    n_loans: Count | None = Field(default=None, description="Pledges in the book")
    paths: Count | None = Field(default=None, description="Monte Carlo paths")
    seed: Seed | None = Field(default=None, description="Random seed")
    engine: str | None = Field(default=None, description="local or dask")
    model_version: str | None = Field(default=None, description="Pipeline model version")
    result: PortfolioResult | None = Field(default=None, description="When done")
    error: str | None = Field(default=None, description="When failed")


# -- readiness (risk/readiness.py) --------------------------------------------------------------

class ReadinessLimits(_Out):
    max_ltv: Frac = Field(description="policy.max_ltv")
    ltv_cap: Frac = Field(description="LTV cap that applies (policy and profile)")
    cap_amount: Cny = Field(description="ltv_cap x appraised value")
    max_expected_loss: Frac = Field(description="policy.max_expected_loss")
    bank_expected_loss_rate: Frac = Field(description="Bank's EL rate at the requested amount")


class ReadinessWeights(_Out):
    scorecards: Frac = Field(description="Weight of the mean scorecard score")
    coverage: Frac = Field(description="Weight of the financeable share of the request")
    decision: Frac = Field(description="Weight of the decision")


class ReadinessComponents(_Out):
    scorecards: Pts = Field(description="Mean of the three scorecard scores")
    coverage: Frac = Field(description="Financeable amount / requested amount, at most 1")
    decision: Pts = Field(description="Points of the decision (approve 100, with conditions 50, decline 0)")
    weights: ReadinessWeights = Field(description="Weights of the three components")


class Blocker(_Out):
    code: str = Field(description="Knock-out code")
    message: str = Field(description="What disqualifies the pledge")
    fix: str | None = Field(description="What the applicant can do about it")
    patents: list[str] = Field(description="Patents concerned")


class MaxLoanRange(_Out):
    p10: Cny = Field(description="10th percentile of max_loan over the runs")
    p50: Cny = Field(description="Median")
    p90: Cny = Field(description="90th percentile")
    min: Cny = Field(description="Smallest")
    max: Cny = Field(description="Largest")
    degenerate: bool = Field(description="Every run gives the same amount")


class LtvPoint(_Out):
    label: str = Field(description="What was perturbed")
    ltv: Frac = Field(description="Risk-supported LTV of the run")
    max_loan: Cny = Field(description="Risk-supported max loan of the run")


class LtvRange(_Out):
    p10: Frac = Field(description="10th percentile of the risk-supported LTV over the runs")
    p50: Frac = Field(description="Median")
    p90: Frac = Field(description="90th percentile")
    basis: str = Field(description="What the range is over, in words")
    kind: Literal["inputs", "scenarios"] = Field(description="ltv_basis of the request")
    runs: Count = Field(description="Runs behind the range")
    blocked: bool = Field(description="A knock-out stands: the amount is 0 whatever the LTV")
    max_loan: MaxLoanRange = Field(description="The same runs in CNY")
    points: list[LtvPoint] = Field(description="One point per run")


class ScoreChange(_Out):
    card: str = Field(description="Scorecard the evidence feeds")
    before: Pts = Field(description="Score now")
    best: Pts = Field(description="Score at the most favourable level")
    worst: Pts = Field(description="Score at the least favourable level")


class ActionParams(_Out):
    """Parameters of a readiness action (which ones depends on the action)."""

    scheme: str | None = Field(default=None, description="join_scheme: the risk-compensation scheme")
    shares: dict[str, Frac] | None = Field(default=None, description="join_scheme: loss share by party")
    loan_cap: Cny | None = Field(default=None, description="join_scheme: the scheme's cap per loan; null if none")
    share: Frac | None = Field(default=None, description="add_guarantee: guarantee share")
    offices: list[str] | None = Field(default=None, description="extend_family: offices to file in")
    patents: list[str] | None = Field(default=None, description="Patents the action concerns (pay_fees, "
                                                               "co_owner_consent, release_pledge, grant_pending, "
                                                               "extend_family)")
    years: Years | None = Field(default=None, description="shorten_term: the new term")
    end: dt.date | None = Field(default=None, description="shorten_term: when the patents expire")
    actions: list[str] | None = Field(default=None, description="clear_all_blockers: the actions combined")
    from_: str | None = Field(default=None, alias="from", description="advance_stage: stage now")
    to: str | None = Field(default=None, description="advance_stage: stage after")
    launch_next_year: bool | None = Field(default=None, description="advance_stage: approval with launch next year")
    amount: Cny | None = Field(default=None, description="raise_equity: amount raised (one year of burn)")
    code: str | None = Field(default=None, description="add_evidence: GB/T 42748 indicator code")
    name_zh: str | None = Field(default=None, description="add_evidence: indicator name (Chinese)")
    name_en: str | None = Field(default=None, description="add_evidence: indicator name (English)")
    field: str | None = Field(default=None, description="add_evidence: evidence field")
    card: str | None = Field(default=None, description="add_evidence: scorecard it feeds")
    before: Pts | None = Field(default=None, description="add_evidence: scorecard score now")
    best: Pts | None = Field(default=None, description="add_evidence: score at the most favourable level")
    worst: Pts | None = Field(default=None, description="add_evidence: score at the least favourable level")
    best_level: str | float | dict[str, Any] | None = Field(
        default=None, description="add_evidence: most favourable level (a number for a count, an object for financing)")
    worst_level: str | float | dict[str, Any] | None = Field(
        default=None, description="add_evidence: least favourable level (a number for a count, an object for financing)")


class ReadinessAction(_Out):
    action: str = Field(description="Action code")
    description: str = Field(description="The action in words")
    params: ActionParams = Field(description="Parameters of the action (which depend on the action)")
    max_loan_before: Cny = Field(description="Financeable amount before")
    max_loan_after: Cny = Field(description="Financeable amount after the action")
    gain: Cny = Field(description="max_loan_after - max_loan_before")
    ltv_after: Frac = Field(description="LTV after the action")
    decision_before: Decision = Field(description="Decision before")
    decision_after: Decision = Field(description="Decision after")
    effect: Literal["amount", "decision", "none"] = Field(description="What the action changes")
    no_effect: str | None = Field(description="Why it changes nothing (effect none)")
    binding_after: str | None = Field(description="Limit that sets the amount after the action")
    guarantee_after: Frac | None = Field(description="Guarantee share needed after the action")
    covers_request_after: bool = Field(description="The amount after covers the request")
    blockers_after: list[str] = Field(description="Knock-outs standing after the action")
    measured_on: str = Field(description="case, or the base it was measured on")
    changes: dict[str, Any] = Field(description="The request fields the action changes, with their new values "
                                                "(a partial PledgeRequest)")
    gbt_code: str | None = Field(default=None, description="GB/T 42748 indicator of an evidence action")
    evidence_field: str | None = Field(default=None, description="Request field of an evidence action")
    score_change: ScoreChange | None = Field(default=None, description="Effect of the evidence on its scorecard")
    rank: Count = Field(description="1 = largest gain")


class Readiness(_Out):
    """Financing readiness (POST /v1/readiness)."""

    binding: str | None = Field(description="Limit that sets the amount now")
    limits: ReadinessLimits = Field(description="The limits the amount meets")
    readiness_score: Pts = Field(description="0.4 scorecards + 0.4 coverage + 0.2 decision")
    readiness_components: ReadinessComponents = Field(description="The three parts of the score")
    blockers: list[Blocker] = Field(description="Knock-outs with their fix")
    ltv_range: LtvRange = Field(description="Range of the risk-supported LTV")
    actions: list[ReadinessAction] = Field(description="Actions that apply, ranked by gain")
    financeable_amount: Cny = Field(description="Amount the enterprise can borrow now")
    requested_amount: Cny = Field(description="Amount asked for")
    seed: Seed = Field(description="Random seed (every run uses it)")
    paths: Count = Field(description="Monte Carlo paths of each run")
    value_histogram: Histogram = Field(description="Distribution of the IP value")
    assessment: AssessmentResponse = Field(description="The base assessment")
