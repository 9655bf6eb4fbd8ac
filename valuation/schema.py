"""Request schema v1 of a pledge assessment (DESIGN.md §4).

The field names are a contract read by clients and independent checks: extend, never rename.
Every model forbids extra fields and non-finite numbers; numbers and booleans are strict (the
string ``"5"`` is not a number, ``"true"`` is not a boolean) so a client's type bug surfaces as a
422 naming the field instead of being silently coerced. Dates are ISO ``YYYY-MM-DD`` strings (or
``datetime.date`` from YAML); integers are not accepted as dates.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from ipledge.valuation import units as U

SCHEMA_VERSION = "v1"

THERAPEUTIC_AREAS: tuple[str, ...] = (
    "hematology", "metabolic", "infectious_disease", "ophthalmology", "autoimmune", "allergy",
    "gastroenterology", "respiratory", "psychiatry", "endocrine", "neurology", "oncology",
    "cardiovascular", "urology", "other", "tcm", "device",
)
MODALITIES = ("small_molecule", "biologic", "vaccine", "cell_gene", "tcm", "device")
STAGES = ("preclinical", "phase1", "phase2", "phase3", "filed", "approved")
PATENT_KINDS = ("invention", "utility_model", "design")
PATENT_STATUSES = ("granted", "pending", "lapsed", "invalidated")
CLAIM_TYPES = ("compound", "formulation", "process", "use", "device", "other")
INVALIDATION = ("none", "upheld", "partially_upheld", "pending")
VBP_EXPOSURE = ("none", "low", "medium", "high")
SHARING_SCHEMES = ("none", "guangzhou_5311", "zhongshan", "zhuhai", "custom",
                   "guangzhou_2023", "guangzhou_55", "shenzhen")   # catalogue: risk/data/schemes.yaml
BANK_PROFILES = ("custom", "ccb", "bocom")                       # risk/data/bank_profiles.yaml
PARTIES = ("bank", "guarantor", "fund", "insurer", "appraiser")
# Evidence an applicant can add for GB/T 42748-2023 indicators (valuation/evidence.py rates them).
# Each vocabulary runs from the least to the most favourable level.
DESIGN_AROUND = ("easy", "costly", "not_found")
FREEDOM_TO_OPERATE = ("blocked", "licensed", "clear")
TECHNICAL_PROBLEM = ("incremental", "improves_standard_of_care", "unmet_need")
ORIGINALITY = ("me_too", "fast_follower", "best_in_class", "first_in_class")
TECHNICAL_EFFECT = ("none_shown", "preclinical", "clinical_efficacy", "clinical_superiority")
COMPLEMENTARY_TECHNOLOGY = ("third_party_controlled", "licensed", "available", "none_needed")
TECHNOLOGY_LIFE_CYCLE = ("decline", "emerging", "mature", "growth")
DEFENSIVE_VALUE = ("none_known", "cross_licence_leverage", "deterred_entry")
POLICY_FIT = ("restricted", "neutral", "encouraged", "national_priority")
LITIGATION_RECORD = ("lost", "settled", "none", "won")

TherapeuticArea = Literal[THERAPEUTIC_AREAS]  # type: ignore[valid-type]
Modality = Literal[MODALITIES]  # type: ignore[valid-type]
Stage = Literal[STAGES]  # type: ignore[valid-type]
COSTED_STAGES = STAGES[:-1]   # phases with a cost to complete (issue 10)


def _iso_date(v):
    if isinstance(v, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError("must be a date in the form YYYY-MM-DD") from None
    raise ValueError("must be a date in the form YYYY-MM-DD")


#: dates a pledge can carry: China's Patent Law took effect on 1985-04-01 (no earlier filing is in
#: force), and nothing is planned past 2100; a year like 9999 is a typo, not a valuation date
DATE_MIN, DATE_MAX = dt.date(1985, 1, 1), dt.date(2100, 12, 31)


def _date_in_range(v: dt.date) -> dt.date:
    if not DATE_MIN <= v <= DATE_MAX:
        raise ValueError(f"must be between {DATE_MIN} and {DATE_MAX}")
    return v


#: C0 and C1 control characters, DEL, line/paragraph separators and bidirectional overrides: never
#: in a name or an id (they are stored, printed on reports and sent on to other systems)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _printable(v: str) -> str:
    m = _CONTROL.search(v)
    if m:
        raise ValueError(f"must not contain control characters (found U+{ord(m.group()):04X} at position "
                         f"{m.start()})")
    return v


#: a JSON number: int or float, never a bool or a string, never NaN/Infinity. A plain (strict) float
#: schema, not a validator function around one, so bounds added with ``Annotated[Number, Field(ge=...)]``
#: reach the JSON schema as ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
#: the JSON form of a Date: ISO YYYY-MM-DD in DATE_MIN..DATE_MAX (the year range as a pattern: JSON Schema
#: has no minimum for dates)
DATE_PATTERN = r"^(198[5-9]|199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Date = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_date_in_range),
                 WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN})]
#: the same set as a JSON Schema pattern, so a client (or a generator) knows a name with a control character is
#: refused, and that it needs one character that is not a space (surrounding spaces are stripped); the
#: validator above gives the readable message
_C = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
PRINTABLE_PATTERN = f"^[^{_C}]*[^\\s{_C}][^{_C}]*$"


class _PrintableInSchema:
    """Adds :data:`PRINTABLE_PATTERN` to a text field's JSON schema (validation is :func:`_printable`'s)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        schema = handler(core_schema)
        schema.setdefault("pattern", PRINTABLE_PATTERN)
        return schema


#: free text of a request (names, ids): printable characters only
Text = Annotated[str, AfterValidator(_printable), _PrintableInSchema]
MONEY_MAX = 1e13  #: CNY; the bound of every money field
FEN = 0.01        #: CNY; the smallest amount of a loan (below it ratios to the amount overflow: a 500, not an answer)
Money = Annotated[Number, Field(ge=0, le=MONEY_MAX), U.CNY]
MoneyPerYear = Annotated[Number, Field(ge=0, le=MONEY_MAX), U.CNY_PER_YEAR]
Fraction = Annotated[Number, Field(ge=0, le=1), U.FRACTION]


def quantity(unit: U.Unit, **bounds):
    """A bounded number with its unit: ``quantity(U.YEARS, ge=0, le=20)``."""
    return Annotated[Number, Field(**bounds), unit]


def _integral(v):
    """104.0 is the integer 104 in JSON (and in JSON Schema's ``integer``): take it as such; 104.5, a bool or a
    string still fail the strict integer check with its message."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def whole(unit: U.Unit = U.COUNT, **bounds):
    """A bounded strict integer with its unit (default: a count); a JSON number with no fraction counts."""
    return Annotated[StrictInt, Field(**bounds), BeforeValidator(_integral), unit]  # bounds first: JSON Schema keywords


def _rules(*rules: dict):
    """``json_schema_extra`` of a model whose validators enforce cross-field rules: the units' descriptions
    plus the rules JSON Schema can state (``allOf`` of if/then), so generators and validators know them.
    Orderings (p10 <= p50 <= p90, filing before grant before as_of) and sums (shares = 1) it cannot state."""
    def extra(schema: dict, model) -> None:
        U.describe_units(schema, model)
        schema["allOf"] = list(rules)
    return extra


def _when(field: str, value, then: dict) -> dict:
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": then}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True,
                              json_schema_extra=U.describe_units)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        U.register(cls)


class Applicant(_Model):
    name: Text = Field(min_length=1, max_length=200, description="Legal name of the borrowing enterprise")
    cash: Money = Field(description="Cash and equivalents today")
    annual_burn: MoneyPerYear = Field(description="Operating cash outflow before revenue")
    annual_revenue: MoneyPerYear = Field(default=0.0, description="Revenue from other products")


class Patent(_Model):
    model_config = ConfigDict(json_schema_extra=_rules(
        _when("status", "granted", {"required": ["grant_date"], "properties": {"grant_date": {"type": "string"}}}),
        _when("status", "pending", {"properties": {"grant_date": {"type": "null"}}}),
        {"if": {"properties": {"kind": {"not": {"const": "invention"}}}, "required": ["kind"]},
         "then": {"properties": {"term_extension_years": {"maximum": 0}}}}))
    id: Text = Field(min_length=1, max_length=64, description="Publication or application number")
    kind: Literal[PATENT_KINDS] = Field(description="CNIPA patent type")  # type: ignore[valid-type]
    status: Literal[PATENT_STATUSES] = Field(description="Legal status today")  # type: ignore[valid-type]
    filing_date: Date = Field(description="Filing date (YYYY-MM-DD); the 20/10-year term runs from it")
    grant_date: Date | None = Field(default=None, validate_default=True,
                                    description="Grant date (YYYY-MM-DD); required when granted, empty while pending")
    term_extension_years: quantity(U.YEARS, ge=0, le=5) = Field(
        default=0.0, description="Patent term compensation for a new drug (Patent Law art. 42), invention patents only")
    jurisdictions: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=lambda: ["CN"], min_length=1, max_length=60, json_schema_extra={"uniqueItems": True},
        description="Two-letter office codes where the family is protected (CN, US, EP, JP, ...)")
    independent_claims: whole(ge=1, le=200) = Field(default=1, description="Independent claims")
    total_claims: whole(ge=1, le=1000) = Field(default=1, validate_default=True,
                                               description="All claims, at least independent_claims")
    forward_citations: whole(ge=0, le=100000) = Field(default=0, description="Later patents citing this one")
    claim_type: Literal[CLAIM_TYPES] = Field(  # type: ignore[valid-type]
        default="other", description="Strongest claim protecting the product (compound > formulation > ...)")
    invalidation: Literal[INVALIDATION] = Field(  # type: ignore[valid-type]
        default="none", description="Outcome of invalidation requests at CNIPA")
    litigation_pending: StrictBool = Field(default=False, description="Infringement or ownership suit pending")
    co_owners: whole(ge=0, le=50) = Field(default=0, description="Co-owners besides the applicant")
    co_owner_consent: StrictBool = Field(default=True, description="Every co-owner consents to the pledge")
    existing_pledge: StrictBool = Field(default=False, description="Already pledged to another lender")
    exclusive_license_out: StrictBool = Field(default=False, description="Exclusively licensed to a third party")
    fees_paid: StrictBool = Field(default=True, description="Annual fees paid up (no lapse risk)")

    @field_validator("grant_date")
    @classmethod
    def _grant(cls, v, info: ValidationInfo):
        status, filing = info.data.get("status"), info.data.get("filing_date")
        if status == "granted" and v is None:
            raise ValueError("grant_date is required when status is granted")
        if status == "pending" and v is not None:
            raise ValueError("grant_date must be empty while status is pending")
        if v is not None and filing is not None and v <= filing:
            raise ValueError("grant_date must be after filing_date")
        return v

    @field_validator("term_extension_years")
    @classmethod
    def _extension(cls, v, info: ValidationInfo):
        # Patent Law art. 42: term compensation exists only for invention patents of new drugs
        if v > 0 and info.data.get("kind") not in (None, "invention"):
            raise ValueError("term_extension_years applies to invention patents only")
        return v

    @field_validator("jurisdictions")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError("jurisdictions must not repeat")
        return v

    @field_validator("total_claims")
    @classmethod
    def _claims(cls, v, info: ValidationInfo):
        ind = info.data.get("independent_claims")
        if ind is not None and v < ind:
            raise ValueError("total_claims must be at least independent_claims")
        return v


SPREAD_MAX = 1000.0  #: widest ratio of p90 to p50 and of p50 to a positive p10


class PeakSales(_Model):
    p10: MoneyPerYear = Field(description="Peak sales, 10th percentile (pessimistic); 0 (a fat lower tail) or at "
                                          "least p50 / 1,000")
    p50: MoneyPerYear = Field(description="Peak sales, median; at least p10")
    p90: MoneyPerYear = Field(description="Peak sales, 90th percentile (optimistic); at least p50 and at most "
                                          "1,000 x p50")

    @field_validator("p50")
    @classmethod
    def _p50(cls, v, info: ValidationInfo):
        if "p10" in info.data and v < info.data["p10"]:
            raise ValueError("p50 must not be below p10")
        return v

    @field_validator("p90")
    @classmethod
    def _p90(cls, v, info: ValidationInfo):
        if "p50" in info.data and v < info.data["p50"]:
            raise ValueError("p90 must not be below p50")
        if info.data.get("p50") == 0 and v > 0:
            raise ValueError("p90 must be 0 when p50 is 0 (a lognormal needs a positive median)")
        p10, p50 = info.data.get("p10"), info.data.get("p50")
        # three orders of magnitude either side of the median: wider is not a forecast, and the lognormal's
        # spread (log p90 - log p10) / 2.56 would overflow the simulation's sales
        if p50 and v > SPREAD_MAX * p50 * (1 + 1e-9):       # (1 + 1e-9): a stressed copy scales all three
            raise ValueError(f"p90 must be at most {SPREAD_MAX:,.0f} x p50 (got {v / p50:.3g} x)")
        if p50 and p10 and p10 * SPREAD_MAX * (1 + 1e-9) < p50:
            raise ValueError(f"p10 must be 0 or at least p50 / {SPREAD_MAX:,.0f} (got p50 / {p50 / p10:.3g})")
        return v


class Product(_Model):
    model_config = ConfigDict(json_schema_extra=_rules(
        _when("stage", "approved", {"required": ["launch_year"], "properties": {"launch_year": {"type": "integer"}}}),
        *(_when("stage", st, {"properties": {"development_cost": {"anyOf": [
            {"type": "null"}, {"type": "object", "propertyNames": {"enum": list(STAGES[STAGES.index(st):-1])}}]}}})
          for st in STAGES)))
    name: Text = Field(min_length=1, max_length=200, description="Product (drug or device) name or code")
    therapeutic_area: TherapeuticArea = Field(description="Therapeutic area (sets the pipeline success rates)")
    modality: Modality = Field(description="Modality (small molecule, biologic, ...)")
    stage: Stage = Field(description="Development stage today")
    launch_year: whole(U.YEAR, ge=1950, le=2100) | None = Field(
        default=None, validate_default=True,
        description="Required when stage is approved; ignored otherwise (the simulator draws it)")
    peak_sales: PeakSales = Field(description="Peak annual sales of the product: p10, p50, p90")
    years_to_peak: quantity(U.YEARS, ge=0, le=20) = Field(default=5.0, description="Years from launch to peak sales")
    profit_margin: Fraction = Field(default=0.30, description="Operating margin on the product's sales")
    ip_contribution: Fraction | None = Field(
        default=None, description="Share of the product's profit owed to the pledged patents; default: the "
                                  "competitive-contribution scorecard")
    royalty_rate: quantity(U.FRACTION, ge=0, le=0.5) | None = Field(
        default=None, description="Royalty on sales if the patents are licensed; relief-from-royalty cross-check")
    competitors: whole(ge=0, le=1000) = Field(default=0, description="Competing products on the market or in phase 3")
    vbp_exposure: Literal[VBP_EXPOSURE] = Field(  # type: ignore[valid-type]
        default="none", description="Exposure to volume-based procurement price cuts")
    nrdl_listed: StrictBool = Field(default=False, description="Listed in the National Reimbursement Drug List")
    development_cost: dict[Literal[COSTED_STAGES], quantity(U.CNY, ge=0, le=1e12)] | None = Field(  # type: ignore[valid-type]
        default=None, validate_default=True,
        description="Remaining development cost of the product per remaining phase, CNY, today's prices "
                    "(the current phase: what is left of it), paid at the phase's start; phases not "
                    "given use the defaults of risk/params.py (per-study costs, Fernando 2021)")

    @field_validator("development_cost")
    @classmethod
    def _development_cost(cls, v, info: ValidationInfo):
        stage = info.data.get("stage")
        if v and stage in STAGES:
            done = [k for k in v if STAGES.index(k) < STAGES.index(stage)]
            if done:
                raise ValueError(f"phase(s) {', '.join(done)} already completed at stage {stage}; give the "
                                 f"remaining phases only ({', '.join(STAGES[STAGES.index(stage):-1]) or 'none'})")
        return v

    @field_validator("launch_year")
    @classmethod
    def _launch(cls, v, info: ValidationInfo):
        if info.data.get("stage") == "approved" and v is None:
            raise ValueError("launch_year is required when stage is approved")
        return v


class Loan(_Model):
    amount: quantity(U.CNY, ge=FEN, le=1e12) = Field(description="Amount asked for (at least one fen)")
    term_years: quantity(U.YEARS, ge=0.5, le=10) = Field(description="Term of the loan")
    rate: quantity(U.RATE, ge=0, le=0.3) = Field(default=0.05, description="Interest rate")
    repayment: Literal["bullet", "amortizing"] = Field(
        default="bullet", description="bullet: principal at maturity; amortizing: equal instalments")


class SchemeCaps(_Model):
    """Optional compensation caps of the fund under scheme custom (CNY; the excess stays with the bank)."""

    per_loan: quantity(U.CNY, gt=0, le=1e13) | None = Field(default=None, description="Fund's cap per loan")
    per_enterprise: quantity(U.CNY, gt=0, le=1e13) | None = Field(default=None,
                                                                  description="Fund's cap per enterprise")
    per_year: quantity(U.CNY_PER_YEAR, gt=0, le=1e13) | None = Field(default=None,
                                                                     description="Fund's cap per year, all loans")


class Sharing(_Model):
    model_config = ConfigDict(json_schema_extra=_rules({"anyOf": [
        {"required": ["scheme", "shares"], "properties": {"scheme": {"const": "custom"},
                                                          "shares": {"type": "object", "minProperties": 1}},
         "if": {"required": ["caps"], "properties": {"caps": {"type": "object"}}},
         "then": {"properties": {"shares": {"required": ["fund"]}}}},
        {"properties": {"scheme": {"not": {"const": "custom"}}, "shares": {"type": "null"}, "caps": {"type": "null"}}},
    ]}))
    scheme: Literal[SHARING_SCHEMES] = Field(  # type: ignore[valid-type]
        default="none", description="Municipal risk-compensation scheme (catalogue) or custom shares")
    shares: dict[Literal[PARTIES], Fraction] | None = Field(  # type: ignore[valid-type]
        default=None, validate_default=True,
        description="Loss shares by party; only with scheme custom; must sum to 1")
    caps: SchemeCaps | None = Field(default=None, description="Fund caps; only with scheme custom")
    party_limits: dict[Literal[PARTIES], quantity(U.RATE, ge=0, le=1)] | None = Field(  # type: ignore[valid-type]
        default=None, description="Annual EL-rate limit on a party's share (a guarantor's fee, ...); "
                                  "overrides the defaults in risk/params.py")

    @field_validator("shares")
    @classmethod
    def _shares(cls, v, info: ValidationInfo):
        scheme = info.data.get("scheme")
        if scheme == "custom":
            if not v:
                raise ValueError("shares are required when scheme is custom")
            total = sum(v.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"shares must sum to 1 (got {total:.6g})")
        elif v is not None and scheme is not None:
            raise ValueError("shares may be given only when scheme is custom")
        return v

    @field_validator("caps")
    @classmethod
    def _caps(cls, v, info: ValidationInfo):
        if v is not None and info.data.get("scheme") != "custom":
            raise ValueError("caps may be given only when scheme is custom (catalogue schemes carry their own)")
        if v is not None and "fund" not in (info.data.get("shares") or {}):
            raise ValueError("caps apply to the fund: give the fund a share")
        return v


class Policy(_Model):
    max_expected_loss: quantity(U.FRACTION, gt=0, le=1) = Field(
        default=0.02, description="Limit on the bank's expected-loss rate (expected loss / amount)")
    max_ltv: quantity(U.FRACTION, gt=0, le=1) = Field(
        default=0.30, description="LTV cap; 0.30 = CCB's cap, top of the typical 15-30%")
    liquidation_haircut: quantity(U.FRACTION, ge=0, lt=1) = Field(
        default=0.5, description="Share of the IP value lost in a forced sale")
    discount_rate: quantity(U.RATE, ge=0, le=0.5) = Field(default=0.105, description="Discount rate of the rNPV")
    profile: Literal[BANK_PROFILES] = Field(  # type: ignore[valid-type]
        default="custom", description="Bank policy profile: caps by patent kind, amount, term, remaining life")
    max_total_expected_loss: quantity(U.FRACTION, gt=0, le=1) = Field(
        default=0.03, description="Limit on the EL rate of all loss-bearing parties together")
    max_pd_annual: quantity(U.PROBABILITY, gt=0, le=1) = Field(
        default=0.10, description="Limit on the one-year (annualised) probability of default")
    expected_loss_basis: Literal["annual", "lifetime"] = Field(
        default="annual", description="Which EL rate the bank and total limits read")


class Simulation(_Model):
    paths: whole(ge=1000, le=200_000) = Field(default=10_000, description="Monte Carlo paths")
    seed: whole(U.DIMENSIONLESS, ge=0, le=2**63 - 1) = Field(
        default=7, description="Random seed; the same request and seed give the same figures")


class FinancingRecord(_Model):
    """GB/T 42748 financing and insurance history of the pledged patents (indicator E9)."""

    ip_loans_repaid: whole(ge=0, le=100) = Field(
        default=0, description="Earlier IP-pledge loans on these patents repaid and released")
    ip_loan_defaults: whole(ge=0, le=100) = Field(
        default=0, description="Earlier IP-pledge loans on these patents in default or enforced")
    ip_insurance: StrictBool = Field(default=False, description="Patent (enforcement or pledge) insurance in force")


class Evidence(_Model):
    """Optional evidence for the GB/T 42748-2023 indicators ipledge cannot derive from the rest of the
    request. Each field, when given, moves its indicator to ``evidenced`` and adds an indicator to the
    scorecard of its GB/T dimension (weights in valuation/evidence.py). Stated for the pledged bundle."""

    design_around: Literal[DESIGN_AROUND] | None = Field(  # type: ignore[valid-type]
        default=None, description="L4 non-avoidability: how hard a rival finds it to design around the claims")
    freedom_to_operate: Literal[FREEDOM_TO_OPERATE] | None = Field(  # type: ignore[valid-type]
        default=None, description="L7 dependency: third-party patents the product needs (FTO opinion)")
    technical_problem: Literal[TECHNICAL_PROBLEM] | None = Field(  # type: ignore[valid-type]
        default=None, description="T1 importance of the technical problem solved")
    originality: Literal[ORIGINALITY] | None = Field(  # type: ignore[valid-type]
        default=None, description="T2 originality of the invention")
    technical_effect: Literal[TECHNICAL_EFFECT] | None = Field(  # type: ignore[valid-type]
        default=None, description="T3 best technical effect shown")
    technical_fields: whole(ge=1, le=100) | None = Field(
        default=None, description="T6 number of IPC subclasses (e.g. A61K, C07D) the claims cover")
    ipc_sections: whole(ge=1, le=8) | None = Field(
        default=None, description="T7 breadth: number of IPC sections (A-H) the claims cover")
    complementary_technology: Literal[COMPLEMENTARY_TECHNOLOGY] | None = Field(  # type: ignore[valid-type]
        default=None, description="T8 dependence on complementary technology (device, assay, platform)")
    technology_life_cycle: Literal[TECHNOLOGY_LIFE_CYCLE] | None = Field(  # type: ignore[valid-type]
        default=None, description="T10 life-cycle phase of the technology")
    defensive_value: Literal[DEFENSIVE_VALUE] | None = Field(  # type: ignore[valid-type]
        default=None, description="E2 defensive value shown")
    market_share: Fraction | None = Field(
        default=None, description="E6 the product's share of its market segment (0..1)")
    policy_fit: Literal[POLICY_FIT] | None = Field(  # type: ignore[valid-type]
        default=None, description="E7 fit with industrial policy (national catalogues, priority review)")
    licences_and_transfers: whole(ge=0, le=1000) | None = Field(
        default=None, description="E8 licence and transfer contracts on the patents recorded with CNIPA")
    financing: FinancingRecord | None = Field(default=None, description="E9 financing and insurance history")
    litigation_record: Literal[LITIGATION_RECORD] | None = Field(  # type: ignore[valid-type]
        default=None, description="E10 outcome of concluded infringement suits and arbitrations")
    basis: str | None = Field(default=None, min_length=1, max_length=2000,
                              description="Documents behind the evidence (FTO opinion, trial ids, contracts)")


PIPELINE_REGIONS = ("global", "china")


class PipelineOptions(_Model):
    """Options of the pipeline-success model (issue 13)."""

    region: Literal[PIPELINE_REGIONS] = Field(  # type: ignore[valid-type]
        default="global",
        description="global: BIO/QLS/Informa success rates with between-edition drift (default). china: "
                    "the same with an offset calibrated on Wang et al. 2022 (China IND-to-approval 21%; "
                    "biologics 29%, chemical drugs 19%) - an option, not the default: one study of "
                    "INDs 2003-2019 with assumed group sizes and no per-phase or per-area detail")


class PledgeRequest(_Model):
    """One pledge: the applicant, the pledged patents, the protected product and the loan asked for."""

    as_of: Date = Field(default_factory=dt.date.today, description="Valuation date; default today")
    applicant: Applicant = Field(description="The borrowing enterprise")
    patents: list[Patent] = Field(min_length=1, max_length=50, description="The pledged patents")
    product: Product = Field(description="The product the patents protect")
    loan: Loan = Field(description="The loan asked for")
    sharing: Sharing = Field(default_factory=Sharing, description="Risk sharing with a fund, guarantor or insurer")
    policy: Policy = Field(default_factory=Policy, description="The bank's lending limits")
    simulation: Simulation = Field(default_factory=Simulation, description="Monte Carlo settings")
    pipeline: PipelineOptions = Field(default_factory=PipelineOptions, description="Pipeline-model options")
    scenario: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")] | None = Field(
        default=None, description="Built-in stress scenario to run the assessment under (GET /v1/scenarios)")
    evidence: Evidence | None = Field(
        default=None, description="Optional GB/T 42748-2023 evidence (see Evidence); absent = scores unchanged")

    @field_validator("patents")
    @classmethod
    def _patents(cls, v, info: ValidationInfo):
        as_of = info.data.get("as_of")
        for i, p in enumerate(v):
            if as_of is not None and as_of < p.filing_date:
                raise ValueError(f"patents[{i}].filing_date is after as_of ({as_of})")
            if as_of is not None and p.grant_date is not None and as_of < p.grant_date:
                raise ValueError(f"patents[{i}].grant_date is after as_of ({as_of})")
        ids = [p.id for p in v]
        if len(set(ids)) != len(ids):
            raise ValueError("patents must not repeat an id")
        return v

    @field_validator("product")
    @classmethod
    def _product(cls, v, info: ValidationInfo):
        as_of = info.data.get("as_of")
        if as_of is not None and v.stage == "approved" and v.launch_year > as_of.year + 1:
            raise ValueError("launch_year of an approved product must not be later than next year")
        return v
