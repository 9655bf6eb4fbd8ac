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
import math
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

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


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number (NaN and infinity are not allowed)")
    return v


def _number(v):
    # bool is an int subclass: True must not pass as 1.0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("must be a number")
    return float(v)


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


Number = Annotated[float, BeforeValidator(_number), AfterValidator(_finite)]
Date = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_date_in_range)]
#: free text of a request (names, ids): printable characters only
Text = Annotated[str, AfterValidator(_printable)]
MONEY_MAX = 1e13  #: CNY; the bound of every money field
Money = Annotated[Number, Field(ge=0, le=MONEY_MAX)]
Fraction = Annotated[Number, Field(ge=0, le=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class Applicant(_Model):
    name: Text = Field(min_length=1, max_length=200)
    cash: Money = Field(description="Cash and equivalents today, CNY")
    annual_burn: Money = Field(description="Operating cash outflow per year before revenue, CNY")
    annual_revenue: Money = Field(default=0.0, description="Revenue per year from other products, CNY")


class Patent(_Model):
    id: Text = Field(min_length=1, max_length=64, description="Publication or application number")
    kind: Literal[PATENT_KINDS]  # type: ignore[valid-type]
    status: Literal[PATENT_STATUSES]  # type: ignore[valid-type]
    filing_date: Date
    grant_date: Date | None = Field(default=None, validate_default=True)
    term_extension_years: Annotated[Number, Field(ge=0, le=5)] = 0.0
    jurisdictions: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=lambda: ["CN"], min_length=1, max_length=60,
        description="Two-letter office codes where the family is protected (CN, US, EP, JP, ...)")
    independent_claims: Annotated[StrictInt, Field(ge=1, le=200)] = 1
    total_claims: Annotated[StrictInt, Field(ge=1, le=1000)] = Field(default=1, validate_default=True)
    forward_citations: Annotated[StrictInt, Field(ge=0, le=100000)] = 0
    claim_type: Literal[CLAIM_TYPES] = "other"  # type: ignore[valid-type]
    invalidation: Literal[INVALIDATION] = "none"  # type: ignore[valid-type]
    litigation_pending: StrictBool = False
    co_owners: Annotated[StrictInt, Field(ge=0, le=50)] = 0
    co_owner_consent: StrictBool = True
    existing_pledge: StrictBool = False
    exclusive_license_out: StrictBool = False
    fees_paid: StrictBool = True

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


class PeakSales(_Model):
    p10: Money
    p50: Money
    p90: Money

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
        return v


class Product(_Model):
    name: Text = Field(min_length=1, max_length=200)
    therapeutic_area: TherapeuticArea
    modality: Modality
    stage: Stage
    launch_year: Annotated[StrictInt, Field(ge=1950, le=2100)] | None = Field(
        default=None, validate_default=True,
        description="Required when stage is approved; ignored otherwise (the simulator draws it)")
    peak_sales: PeakSales
    years_to_peak: Annotated[Number, Field(ge=0, le=20)] = 5.0
    profit_margin: Annotated[Number, Field(ge=0, le=1)] = 0.30
    ip_contribution: Fraction | None = None
    royalty_rate: Annotated[Number, Field(ge=0, le=0.5)] | None = None
    competitors: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    vbp_exposure: Literal[VBP_EXPOSURE] = "none"  # type: ignore[valid-type]
    nrdl_listed: StrictBool = False
    development_cost: dict[Literal[COSTED_STAGES], Annotated[Number, Field(ge=0, le=1e12)]] | None = Field(  # type: ignore[valid-type]
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
    amount: Annotated[Number, Field(gt=0, le=1e12)]
    term_years: Annotated[Number, Field(ge=0.5, le=10)]
    rate: Annotated[Number, Field(ge=0, le=0.3)] = 0.05
    repayment: Literal["bullet", "amortizing"] = "bullet"


class SchemeCaps(_Model):
    """Optional compensation caps of the fund under scheme custom (CNY; the excess stays with the bank)."""

    per_loan: Annotated[Number, Field(gt=0, le=1e13)] | None = None
    per_enterprise: Annotated[Number, Field(gt=0, le=1e13)] | None = None
    per_year: Annotated[Number, Field(gt=0, le=1e13)] | None = None


class Sharing(_Model):
    scheme: Literal[SHARING_SCHEMES] = "none"  # type: ignore[valid-type]
    shares: dict[Literal[PARTIES], Fraction] | None = Field(  # type: ignore[valid-type]
        default=None, validate_default=True,
        description="Loss shares by party; only with scheme custom; must sum to 1")
    caps: SchemeCaps | None = Field(default=None, description="Fund caps; only with scheme custom")
    party_limits: dict[Literal[PARTIES], Annotated[Number, Field(ge=0, le=1)]] | None = Field(  # type: ignore[valid-type]
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
    max_expected_loss: Annotated[Number, Field(gt=0, le=1)] = 0.02
    max_ltv: Annotated[Number, Field(gt=0, le=1)] = Field(
        default=0.30, description="LTV cap; 0.30 = CCB's cap, top of the typical 15-30% (lending.md)")
    liquidation_haircut: Annotated[Number, Field(ge=0, lt=1)] = 0.5
    discount_rate: Annotated[Number, Field(ge=0, le=0.5)] = 0.105
    profile: Literal[BANK_PROFILES] = Field(  # type: ignore[valid-type]
        default="custom", description="Bank policy profile: caps by patent kind, amount, term, remaining life")
    max_total_expected_loss: Annotated[Number, Field(gt=0, le=1)] = Field(
        default=0.03, description="Limit on the EL rate of all loss-bearing parties together")
    max_pd_annual: Annotated[Number, Field(gt=0, le=1)] = Field(
        default=0.10, description="Limit on the one-year (annualised) probability of default")
    expected_loss_basis: Literal["annual", "lifetime"] = Field(
        default="annual", description="Which EL rate the bank and total limits read")


class Simulation(_Model):
    paths: Annotated[StrictInt, Field(ge=1000, le=200_000)] = 10_000
    seed: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] = 7


class FinancingRecord(_Model):
    """GB/T 42748 financing and insurance history of the pledged patents (indicator E9)."""

    ip_loans_repaid: Annotated[StrictInt, Field(ge=0, le=100)] = Field(
        default=0, description="Earlier IP-pledge loans on these patents repaid and released")
    ip_loan_defaults: Annotated[StrictInt, Field(ge=0, le=100)] = Field(
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
    technical_fields: Annotated[StrictInt, Field(ge=1, le=100)] | None = Field(
        default=None, description="T6 number of IPC subclasses (e.g. A61K, C07D) the claims cover")
    ipc_sections: Annotated[StrictInt, Field(ge=1, le=8)] | None = Field(
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
    licences_and_transfers: Annotated[StrictInt, Field(ge=0, le=1000)] | None = Field(
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
    applicant: Applicant
    patents: list[Patent] = Field(min_length=1, max_length=50)
    product: Product
    loan: Loan
    sharing: Sharing = Field(default_factory=Sharing)
    policy: Policy = Field(default_factory=Policy)
    simulation: Simulation = Field(default_factory=Simulation)
    pipeline: PipelineOptions = Field(default_factory=PipelineOptions)
    scenario: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")] | None = None
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
