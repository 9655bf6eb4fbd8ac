"""Evidence an applicant can add for GB/T 42748-2023 indicators ipledge cannot derive (request ``evidence``).

Each evidence field, when given, becomes one more indicator row of the scorecard of its GB/T
dimension (legal -> rights_certainty, technical -> competitive_contribution, economic ->
revenue_potential; the crosswalk in ``valuation/data/gbt42748_crosswalk.yaml`` names the GB/T code).
The card's existing indicators keep their relative weights and share what is left:

    score = (1 - W) x sum_i w_i p_i  +  sum_e w_e p_e        W = sum of the weights of the GIVEN evidence

so with no evidence the card and every golden number are exactly as before, and the weights still sum
to 1 (the score stays the weighted mean of the rows shown). Every points table rises along the
vocabulary's order in :mod:`ipledge.valuation.schema` (least to most favourable), so a more favourable
level never lowers the card (DESIGN §6 properties, tested with hypothesis).

Weights and why. The evidence is stated by the applicant (with ``evidence.basis`` naming the
documents), not examined by CNIPA or computed by ipledge, so together it carries at most 14% of
rights certainty, 28% of competitive contribution and 26% of revenue potential: the registered and
reviewed facts keep the larger share. Within a card the items closest to the card's question weigh
most: design-around difficulty (0.08) for rights that can be enforced, technical effect (0.08) for
the IP's part in the product's competitiveness, market share (0.06) and licence history (0.05, a
price paid for the rights) for revenue. IPC field counts (0.02 each) weigh least: the OECD
generality indicators are weak value signals for a single product's patents.
The GB/T indicator list is a reconstruction whose count matches the standard (27); its second-level
grouping and finance-scenario weights are not confirmed, so these weights are ours, not the standard's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from ipledge.valuation import schema
from ipledge.valuation.facts import PledgeFacts, Reading, clamp


@dataclass(frozen=True)
class EvidenceIndicator:
    field: str            # attribute of schema.Evidence
    code: str             # GB/T 42748 indicator code of the crosswalk
    card: str             # scorecard it feeds
    name: str             # row name in the card
    weight: float
    points: Callable[[Any], float]
    label: Callable[[Any], str]
    best: Any = None      # a well-documented favourable level (readiness: "add evidence for X")
    worst: Any = None     # the least favourable level


def _ends(vocab: tuple[str, ...]) -> dict:
    return {"best": vocab[-1], "worst": vocab[0]}


def _table(vocab: tuple[str, ...], pts: tuple[float, ...]) -> Callable[[str], float]:
    if len(vocab) != len(pts) or list(pts) != sorted(pts):
        raise ValueError(f"points {pts} must rise along {vocab}")
    table = dict(zip(vocab, pts))
    return lambda v: table[v]


def _words(v: Any) -> str:
    return str(v).replace("_", " ")


# --- points rules (each rises with the favourable direction) ------------------------------------
DESIGN_AROUND_POINTS = _table(schema.DESIGN_AROUND, (15.0, 60.0, 100.0))
FREEDOM_TO_OPERATE_POINTS = _table(schema.FREEDOM_TO_OPERATE, (10.0, 60.0, 100.0))
TECHNICAL_PROBLEM_POINTS = _table(schema.TECHNICAL_PROBLEM, (30.0, 65.0, 100.0))
ORIGINALITY_POINTS = _table(schema.ORIGINALITY, (25.0, 50.0, 75.0, 100.0))
TECHNICAL_EFFECT_POINTS = _table(schema.TECHNICAL_EFFECT, (10.0, 40.0, 75.0, 100.0))
COMPLEMENTARY_POINTS = _table(schema.COMPLEMENTARY_TECHNOLOGY, (20.0, 60.0, 80.0, 100.0))
# growth > mature > emerging: an emerging technology's adoption is still uncertain, a declining one
# is being replaced within the loan's horizon
LIFE_CYCLE_POINTS = _table(schema.TECHNOLOGY_LIFE_CYCLE, (10.0, 50.0, 70.0, 100.0))
DEFENSIVE_POINTS = _table(schema.DEFENSIVE_VALUE, (40.0, 70.0, 100.0))
POLICY_FIT_POINTS = _table(schema.POLICY_FIT, (0.0, 50.0, 75.0, 100.0))
LITIGATION_RECORD_POINTS = _table(schema.LITIGATION_RECORD, (10.0, 60.0, 70.0, 100.0))
FULL_MARKET_SHARE = 0.4          # a 40% segment share is market leadership
LICENCE_FLOOR = 30.0             # no licence yet is not no value


def technical_fields_points(n: int) -> float:
    """Like family size: 1 subclass 40, 2: 60, 4: 80, 8+: 100 (log2)."""
    return 40.0 + 60.0 * clamp(math.log2(n) / 3.0)


def ipc_sections_points(n: int) -> float:
    return min(100.0, 40.0 + 20.0 * (n - 1))


def market_share_points(s: float) -> float:
    return 100.0 * clamp(s / FULL_MARKET_SHARE)


def licence_points(n: int) -> float:
    """30 with none, 65 with one, 82.5 with three: each recorded contract is a price paid for the rights."""
    return LICENCE_FLOOR + (100.0 - LICENCE_FLOOR) * n / (n + 1.0)


def financing_points(f: schema.FinancingRecord) -> float:
    """0 after any default; else 50 + 15 per repaid IP loan (up to 2) + 20 with IP insurance."""
    if f.ip_loan_defaults > 0:
        return 0.0
    return 50.0 + 15.0 * min(f.ip_loans_repaid, 2) + (20.0 if f.ip_insurance else 0.0)


def _financing_label(f: schema.FinancingRecord) -> str:
    return (f"{f.ip_loans_repaid} IP loan(s) repaid, {f.ip_loan_defaults} in default, "
            f"{'insured' if f.ip_insurance else 'no IP insurance'}")


R, C, V = "rights_certainty", "competitive_contribution", "revenue_potential"
INDICATORS: tuple[EvidenceIndicator, ...] = (
    EvidenceIndicator("design_around", "L4", R, "Design-around difficulty (evidence)", 0.08,
                      DESIGN_AROUND_POINTS, _words, **_ends(schema.DESIGN_AROUND)),
    EvidenceIndicator("freedom_to_operate", "L7", R, "Freedom to operate (evidence)", 0.06,
                      FREEDOM_TO_OPERATE_POINTS, _words, **_ends(schema.FREEDOM_TO_OPERATE)),
    EvidenceIndicator("technical_problem", "T1", C, "Technical problem (evidence)", 0.04,
                      TECHNICAL_PROBLEM_POINTS, _words, **_ends(schema.TECHNICAL_PROBLEM)),
    EvidenceIndicator("originality", "T2", C, "Originality (evidence)", 0.05, ORIGINALITY_POINTS, _words, **_ends(schema.ORIGINALITY)),
    EvidenceIndicator("technical_effect", "T3", C, "Technical effect (evidence)", 0.08,
                      TECHNICAL_EFFECT_POINTS, _words, **_ends(schema.TECHNICAL_EFFECT)),
    EvidenceIndicator("technical_fields", "T6", C, "Technical fields (evidence)", 0.02,
                      technical_fields_points, lambda n: f"{n} IPC subclass(es)", best=8, worst=1),
    EvidenceIndicator("ipc_sections", "T7", C, "Breadth of fields (evidence)", 0.02,
                      ipc_sections_points, lambda n: f"{n} IPC section(s)", best=4, worst=1),
    EvidenceIndicator("complementary_technology", "T8", C, "Complementary technology (evidence)", 0.04,
                      COMPLEMENTARY_POINTS, _words, **_ends(schema.COMPLEMENTARY_TECHNOLOGY)),
    EvidenceIndicator("technology_life_cycle", "T10", C, "Technology life cycle (evidence)", 0.03,
                      LIFE_CYCLE_POINTS, _words, **_ends(schema.TECHNOLOGY_LIFE_CYCLE)),
    EvidenceIndicator("defensive_value", "E2", V, "Defensive value (evidence)", 0.04, DEFENSIVE_POINTS, _words, **_ends(schema.DEFENSIVE_VALUE)),
    EvidenceIndicator("market_share", "E6", V, "Market share (evidence)", 0.06, market_share_points,
                      lambda s: f"{100 * s:.1f}% of its segment", best=FULL_MARKET_SHARE, worst=0.0),
    EvidenceIndicator("policy_fit", "E7", V, "Industrial-policy fit (evidence)", 0.03, POLICY_FIT_POINTS, _words, **_ends(schema.POLICY_FIT)),
    EvidenceIndicator("licences_and_transfers", "E8", V, "Licences and transfers (evidence)", 0.05,
                      licence_points, lambda n: f"{n} recorded contract(s)", best=3, worst=0),
    EvidenceIndicator("financing", "E9", V, "Financing and insurance history (evidence)", 0.04,
                      financing_points, _financing_label,
                      best={"ip_loans_repaid": 2, "ip_insurance": True}, worst={"ip_loan_defaults": 1}),
    EvidenceIndicator("litigation_record", "E10", V, "Litigation and arbitration record (evidence)", 0.04,
                      LITIGATION_RECORD_POINTS, _words, **_ends(schema.LITIGATION_RECORD)),
)
BY_FIELD = {e.field: e for e in INDICATORS}
MAX_EVIDENCE_WEIGHT = {card: round(sum(e.weight for e in INDICATORS if e.card == card), 6) for card in (R, C, V)}


def given(req: schema.PledgeRequest) -> list[EvidenceIndicator]:
    """Evidence indicators whose field the request fills."""
    ev = req.evidence
    if ev is None:
        return []
    return [e for e in INDICATORS if getattr(ev, e.field) is not None]


def reading(e: EvidenceIndicator, req: schema.PledgeRequest) -> Reading:
    v = getattr(req.evidence, e.field)
    basis = req.evidence.basis
    note = f"GB/T 42748 {e.code}, stated by the applicant" + (f"; basis: {basis}" if basis else "; no basis given")
    value = v.model_dump() if isinstance(v, schema.FinancingRecord) else v
    return Reading(value, e.points(v), f"{e.label(v)} ({note})")


def apply(card_key: str, rows: list[dict], facts: PledgeFacts, make_row) -> list[dict]:
    """The card's rows with its given evidence appended and the existing weights scaled by (1 - W)."""
    ev = [e for e in given(facts.req) if e.card == card_key]
    if not ev:
        return rows
    share = 1.0 - sum(e.weight for e in ev)
    scaled = [{**r, "weight": round(r["weight"] * share, 6)} for r in rows]
    return scaled + [make_row(e, reading(e, facts.req)) for e in ev]
