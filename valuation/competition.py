"""Competitive contribution: how much of the product's competitiveness the pledged patents explain
(GB/T 42748-2023 first-level "technical value"; PatentSight Competitive Impact; OECD quality indicators).

Question a lender asks: *of the cash the product earns, how much is owed to these patents rather
than to the brand, the sales force or the absence of rivals?* The card yields ``ip_contribution``,
the share of the product's profit attributed to the IP, used by the cash-flow model (DESIGN §8 step 6):

    ip_contribution = 0.10 + 0.40 x score / 100          (10% for the weakest IP, 50% for the strongest)

unless ``product.ip_contribution`` is given: then that value is used and an extra indicator row
(weight 0, points = the share in percent) says it is an override and what the card would give. The
10-50% band brackets the "25% rule" profit split of licensing practice and the KOTEC practice of
DCF x technology contribution ratio (lending.md); therapeutic royalties of 4-12% of sales (Corey &
Kahn; LES 2008: 4.3-11.6% by stage, market.md) are roughly 15-40% of a 30% margin.

PatentSight's Competitive Impact of a patent family = Technology Relevance (forward citations
relative to patents of the same field and year) x Market Coverage (size of the markets where the
family is in force, relative to the US); GB/T 42748's technical value and the OECD indicators
(forward citations, family size, claims, generality) point the same way. The weights are ours.

Several patents (see :mod:`ipledge.valuation.scorecard`): claim type and forward citations take the
strongest live patent, market coverage the union of live patents' jurisdictions, dependency the
worst of all listed patents. Technical value does not need a grant, so pending applications count
here like granted ones; lapsed, invalidated and expired patents do not.

Claim type (weight 0.25)
    compound 100, formulation 70, device 60, use 55, process 40, other 25.
    Why: a compound (product) claim covers every use and process of the molecule and is the hardest
    to design around; formulation and use claims protect one presentation or one indication; a
    process claim is hard to police (infringement has to be shown in the rival's plant). A device
    claim protects the device itself, but a structure is easier to design around than a molecule.
Competitors and substitutes (0.20)
    100 / (1 + n / 3): 0 -> 100, 1 -> 75, 3 -> 50, 9 -> 25.
    Why: the more substitutes, the less of the price the patent defends. The shape follows the FDA
    generic-price analysis (1 rival ~94% of the brand price, 2: ~52%, 9+: ~20%, market.md),
    softened because these are branded substitutes, not copies.
Forward citations (0.15)
    20 + 80 x ln(1 + c) / ln(31), clamped (0 -> 20, 3 -> 52, 10 -> 76, 30+ -> 100).
    Why: PatentSight's Technology Relevance and the OECD forward-citation indicator: later patents
    building on this one signal technical importance. The request carries no cohort or field, so the
    count is not normalised and young patents are under-rated (read it with the filing date); zero
    citations is not zero value, hence the floor of 20.
Market coverage (0.20)
    100 x sqrt(protected share / 0.77), capped at 100; the share is the pharma-market size of the
    protected jurisdictions (``MARKET_SHARE``), 0.77 = US + EP + JP + CN. CN alone -> 33,
    CN + EP -> 62, CN + US -> 79.
    Why: PatentSight's Market Coverage weights each country by market size; we use pharma sales
    instead of GNI. The square root because the first market protected (usually the home market
    where the product is sold) matters most to *this* product's sales.
Dependency (0.20)
    100 x (0.4 if an exclusive licence is granted out) / sqrt(1 + co-owners), worst patent.
    Why: an exclusive licensee, not the pledgor, practises the invention (the pledgor keeps the
    royalties); each co-owner may exploit the patent and license it non-exclusively, so the
    pledgor's IP is less of its own contribution. GB/T 42748's dependency (exploitation that needs
    third-party patents) cannot be read from the request; ownership and licensing are the part that
    can.

Market shares (``MARKET_SHARE``) are an approximation, not a precise citation: rounded shares of world
prescription-medicine spending in line with the country ranking of the IQVIA Institute's "Global Use
of Medicines" reports: US ~40%, EP (the EPC states; DE+FR+IT+ES+GB ~18%) ~21.5%, CN ~8.5%, JP ~7%.
An office not in the table counts 0.2%; ``WO`` (a PCT application, not a right) counts 0. An EP
patent covers the EPC states, so national EPC codes add nothing once EP is listed.
"""
from __future__ import annotations

import math

from ipledge.valuation.schema import Patent
from ipledge.valuation.facts import PledgeFacts, Reading, clamp
from ipledge.valuation.indicators import Card, Indicator, all_patents, best_of, id_list, plural, worst_of

# --- claim type ------------------------------------------------------------------------------
CLAIM_TYPE_POINTS = {"compound": 100.0, "formulation": 70.0, "device": 60.0, "use": 55.0,
                     "process": 40.0, "other": 25.0}


def claim_type(facts: PledgeFacts) -> Reading:
    pts, best = best_of(facts.live, lambda p: CLAIM_TYPE_POINTS[p.claim_type])
    if best is None:
        return Reading("none", 0.0, "no live patent: nothing protects the product")
    lead = f"strongest of {len(facts.live)} live" if len(facts.live) > 1 else "live patent"
    return Reading(best.claim_type, pts, f"{lead}: {best.claim_type} claim in {best.id} ({pts:.0f} points)")


# --- competitors -----------------------------------------------------------------------------
COMPETITOR_HALF_POINTS = 3.0   # number of competitors at which the indicator is worth 50 points


def competitor_points(n: int) -> float:
    return 100.0 / (1.0 + n / COMPETITOR_HALF_POINTS)


def competitors(facts: PledgeFacts) -> Reading:
    n = facts.req.product.competitors
    note = ("no competing or substitute product" if n == 0
            else f"{plural(n, 'competing or substitute product')} share the market")
    return Reading(n, competitor_points(n), note)


# --- forward citations -----------------------------------------------------------------------
CITATION_FLOOR = 20.0
FULL_CITATIONS = 30


def citation_points(c: int) -> float:
    return CITATION_FLOOR + (100.0 - CITATION_FLOOR) * clamp(math.log1p(c) / math.log1p(FULL_CITATIONS))


def forward_citations(facts: PledgeFacts) -> Reading:
    pts, best = best_of(facts.live, lambda p: citation_points(p.forward_citations))
    if best is None:
        return Reading(0, 0.0, "no live patent")
    total = sum(p.forward_citations for p in facts.live)
    if total == 0:
        return Reading(0, pts, f"no forward citations yet on {all_patents(len(facts.live), 'any of')} "
                               "(live); young patents are rarely cited")
    return Reading(best.forward_citations, pts,
                   f"most cited: {best.id} with {plural(best.forward_citations, 'citation')} "
                   f"({total} across {plural(len(facts.live), 'live patent')})")


# --- market coverage -------------------------------------------------------------------------
EPC_SHARE = {  # EPC member states (approximate share of world medicine spending)
    "DE": 0.055, "FR": 0.037, "IT": 0.033, "GB": 0.030, "ES": 0.025,   # EP-5 ~ 0.18
    "NL": 0.004, "CH": 0.005, "BE": 0.004, "SE": 0.003, "AT": 0.003, "PL": 0.005, "TR": 0.002,
    "DK": 0.001, "IE": 0.001, "PT": 0.001, "GR": 0.001, "FI": 0.001, "NO": 0.001, "CZ": 0.001,
    "HU": 0.001, "RO": 0.001,
}
MARKET_SHARE = {
    "US": 0.40, "CN": 0.085, "JP": 0.07, "EP": round(sum(EPC_SHARE.values()), 3),
    "CA": 0.02, "KR": 0.015, "BR": 0.015, "IN": 0.015, "AU": 0.01, "RU": 0.01, "MX": 0.008,
    "TW": 0.006, "SA": 0.005, "AR": 0.004, "IL": 0.003, "ZA": 0.003, "SG": 0.002, "HK": 0.002,
    "EA": 0.012, **EPC_SHARE,
}
OTHER_OFFICE_SHARE = 0.002
NO_RIGHT_CODES = frozenset({"WO"})
MAJOR_MARKETS_SHARE = MARKET_SHARE["US"] + MARKET_SHARE["EP"] + MARKET_SHARE["JP"] + MARKET_SHARE["CN"]


def market_share(codes: set[str]) -> float:
    """Share of world pharma sales protected by ``codes`` (EP absorbs the national EPC codes)."""
    share = 0.0
    for c in codes:
        if c in NO_RIGHT_CODES or (c in EPC_SHARE and "EP" in codes):
            continue
        share += MARKET_SHARE.get(c, OTHER_OFFICE_SHARE)
    return share


def coverage_points(share: float) -> float:
    return 100.0 * math.sqrt(clamp(share / MAJOR_MARKETS_SHARE))


def market_coverage(facts: PledgeFacts) -> Reading:
    codes = {c for p in facts.live for c in p.jurisdictions}
    share = market_share(codes)
    listed = sorted(codes, key=lambda c: (c != "CN", c))
    if not codes:
        return Reading([], 0.0, "no live patent, so no market protected")
    return Reading(listed, coverage_points(share),
                   f"{', '.join(listed)}: ~{100 * share:.1f}% of world pharma sales protected "
                   f"(US+EP+JP+CN = {100 * MAJOR_MARKETS_SHARE:.1f}%)")


# --- dependency ------------------------------------------------------------------------------
EXCLUSIVE_LICENCE_FACTOR = 0.4


def dependency_points(p: Patent) -> float:
    factor = EXCLUSIVE_LICENCE_FACTOR if p.exclusive_license_out else 1.0
    return 100.0 * factor / math.sqrt(1.0 + p.co_owners)


def _dependency_label(p: Patent) -> str:
    parts = []
    if p.exclusive_license_out:
        parts.append("exclusive licence out")
    if p.co_owners:
        parts.append(plural(p.co_owners, "co-owner"))
    return ", ".join(parts) or "own and unlicensed"


def dependency(facts: PledgeFacts) -> Reading:
    pts, worst = worst_of(facts.patents, dependency_points)
    if pts >= 100.0:
        return Reading("own and unlicensed", pts,
                       f"sole owner of {all_patents(len(facts.patents))}, no exclusive licence out")
    shared = [p for p in facts.patents if dependency_points(p) < 100.0]
    return Reading(_dependency_label(worst), pts,
                   f"{len(shared)} of {len(facts.patents)} shared with others ({id_list(shared)}); "
                   f"weakest: {worst.id}, {_dependency_label(worst)}")


CARD = Card(
    key="competitive_contribution",
    indicators=(
        Indicator("Claim type", 0.25, claim_type),
        Indicator("Competitors and substitutes", 0.20, competitors),
        Indicator("Forward citations", 0.15, forward_citations),
        Indicator("Market coverage", 0.20, market_coverage),
        Indicator("Dependency", 0.20, dependency),
    ),
)

# --- IP contribution share -------------------------------------------------------------------
IP_CONTRIBUTION_FLOOR = 0.10
IP_CONTRIBUTION_SPAN = 0.40


def derived_ip_contribution(score: float) -> float:
    return round(IP_CONTRIBUTION_FLOOR + IP_CONTRIBUTION_SPAN * score / 100.0, 4)


def evaluate(facts: PledgeFacts) -> dict:
    """The card plus ``ip_contribution`` (derived from the score, or the applicant's override)."""
    out = CARD.evaluate(facts)
    derived = derived_ip_contribution(out["score"])
    override = facts.req.product.ip_contribution
    if override is None:
        out["ip_contribution"] = derived
        return out
    out["ip_contribution"] = override
    out["indicators"].append({
        "name": "IP contribution override", "value": override, "points": round(100.0 * override, 1),
        "weight": 0.0,
        "note": (f"override: product.ip_contribution = {override:g} is used instead of the derived "
                 f"{derived:g} (0.10 + 0.40 x {out['score']:g}/100); weight 0, not in the score"),
    })
    return out
