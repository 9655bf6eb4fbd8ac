"""Rights certainty: the legal value of the pledged patents (GB/T 42748-2023 first-level "legal value").

Question a lender asks: *if the borrower defaults, do we hold enforceable, registrable, unencumbered
rights that will still run long enough to be sold?* GB/T 42748-2023 structures patent value as legal,
technical and economic value (3 first-level, 14 second-level, 27 third-level indicators) and leaves the
choice of indicators and their weights to the use case (licensing, finance, tax, enforcement,
management). This card is our selection for the finance (pledge) use case; its indicators follow the
legal-value items of CNIPA's earlier patent value analysis system (stability, term, multi-country
filing, licensing state, dependency), plus what CNIPA's pledge registration checks (ownership,
existing pledges, fees). The weights are ours and favour what decides whether a pledge can be
registered and sold: status and term.

Several patents (see :mod:`ipledge.valuation.scorecard`): status and type, remaining term and claim breadth
take the strongest patent; jurisdictions the union over live patents; stability, ownership,
encumbrances, fees and litigation the worst patent among all listed.

Status and type (weight 0.25)
    Granted and in force: invention 100, utility model 60, design 40. Pending: invention 20, utility
    model or design 10. Lapsed, invalidated or expired: 0.
    Why: only granted, in-force patents can be registered as pledges (CNIPA, lending.md). Utility
    models and designs are registered without substantive examination, so their validity is
    untested: Bank of Communications lends up to 15% on utility models against 25% on inventions
    (ratio 0.6, lending.md); CCB takes inventions and utility models only, hence designs lowest.
    A pending application may be granted later, possibly narrower.
Stability (0.15)
    Invalidation request upheld (patent survived) 100, none 80, partially upheld 55, pending 20.
    Why: a patent that survived a request before CNIPA is the most certain; a partial upholding
    narrows the claims; a pending request may wipe the right out during the loan.
Remaining term vs loan term (0.20)
    100 x (years from loan maturity to the latest in-force expiry) / 10, clamped to 0..100.
    Why: on default at maturity the bank sells the remaining protected years; years beyond 10 add
    little at the 10.5% pharma discount rate (market.md; year 10 is discounted to 0.37). Expiry
    before maturity is also a knock-out.
Claim breadth (0.10)
    Per patent 0.6 x independent-claims points (1: 40, 2: 60, 3: 80, 4+: 100) + 0.4 x total-claims
    points (log scale, 1 claim 0, 30+ claims 100); x 0.5 for a pending application, x 0 if dead.
    Why: the OECD patent quality indicators use the number of claims as a proxy for breadth of
    protection; each independent claim is a separate scope a challenger must knock out. Pending
    claims often narrow in examination.
Jurisdictions (0.05)
    40 + 60 x log2(n) / 3, clamped (1 office 40, 2: 60, 4: 80, 8+: 100); 0 without a live patent.
    Why: multi-country filing is a legal-value item of CNIPA's value analysis system (and the OECD
    family-size indicator); the pledge is registered on the CN right only, hence the low weight.
Ownership (0.075)
    Sole owner 100; co-owned with every owner's consent 80, minus 10 per further co-owner, floor
    40; co-owned without consent 0.
    Why: CNIPA will not register a pledge on a co-owned patent without all owners' consent
    (lending.md); by default each co-owner may exploit the patent and grant non-exclusive licences,
    which a buyer on enforcement has to live with.
Encumbrances (0.075)
    Existing pledge 0; exclusive licence out 50; none 100.
    Why: a patent already pledged cannot secure a second lender first; an exclusive licence
    survives a forced sale, so the buyer gets royalties, not the market.
Fees (0.05)
    All annual fees paid 100, any unpaid 0.
    Why: a patent whose annual fee stays unpaid lapses after the grace period; also a knock-out.
Litigation (0.05)
    No pending suit 100, any pending suit 30.
    Why: a suit puts validity (defendants answer with an invalidation request) or ownership (an
    ownership dispute suspends registration) in play during the loan.

Knock-outs (codes are part of the response contract): ``no_granted_in_force``,
``expires_before_maturity`` (the latest in-force expiry is before as_of + loan term),
``existing_pledge``, ``co_owner_consent_missing`` (co-owners and no consent), ``fees_unpaid``.
Each lists the patents concerned and the fix the enterprise must make.
"""
from __future__ import annotations

import math

from ipledge.valuation.schema import Patent
from ipledge.valuation.facts import PledgeFacts, Reading, clamp, ramp
from ipledge.valuation.indicators import Card, Indicator, Knockout, all_patents, best_of, id_list, ids, plural, worst_of

# --- status and type -------------------------------------------------------------------------
STATUS_TYPE_POINTS = {
    ("in_force", "invention"): 100.0,
    ("in_force", "utility_model"): 60.0,
    ("in_force", "design"): 40.0,
    ("pending", "invention"): 20.0,
    ("pending", "utility_model"): 10.0,
    ("pending", "design"): 10.0,
}
KIND_LABEL = {"invention": "examined invention", "utility_model": "utility model (unexamined)",
              "design": "design (unexamined)"}


def _status_points(facts: PledgeFacts, p: Patent) -> float:
    return STATUS_TYPE_POINTS.get((facts.state(p), p.kind), 0.0)


def _patent_label(facts: PledgeFacts, p: Patent) -> str:
    state = facts.state(p)
    if state == "dead":
        why = p.status if p.status in ("lapsed", "invalidated") else "expired"
        return f"{why} {p.kind.replace('_', ' ')}"
    return f"{'granted' if state == 'in_force' else 'pending'} {p.kind.replace('_', ' ')}"


def status_and_type(facts: PledgeFacts) -> Reading:
    pts, best = best_of(facts.patents, lambda p: _status_points(facts, p))
    n_in = len(facts.in_force)
    head = f"{n_in} of {len(facts.patents)} granted in force"
    if n_in == 0:
        return Reading(_patent_label(facts, best), pts,
                       f"{head}; best is {_patent_label(facts, best)} {best.id}, which cannot be pledged")
    return Reading(_patent_label(facts, best), pts, f"{head}; strongest: {KIND_LABEL[best.kind]} {best.id}")


# --- stability -------------------------------------------------------------------------------
INVALIDATION_POINTS = {"upheld": 100.0, "none": 80.0, "partially_upheld": 55.0, "pending": 20.0}
INVALIDATION_LABEL = {"upheld": "upheld after an invalidation request", "none": "never challenged",
                      "partially_upheld": "partially upheld (claims narrowed)",
                      "pending": "invalidation request pending"}


def stability(facts: PledgeFacts) -> Reading:
    pts, worst = worst_of(facts.patents, lambda p: INVALIDATION_POINTS[p.invalidation])
    challenged = [p for p in facts.patents if p.invalidation == worst.invalidation]
    if len(facts.patents) == 1:
        note = f"{worst.id}: {INVALIDATION_LABEL[worst.invalidation]}"
    elif len(challenged) == len(facts.patents):
        note = f"{all_patents(len(facts.patents))}: {INVALIDATION_LABEL[worst.invalidation]}"
    else:
        note = (f"weakest of {len(facts.patents)}: {INVALIDATION_LABEL[worst.invalidation]} "
                f"({id_list(challenged)})")
    return Reading(worst.invalidation.replace("_", " "), pts, note)


# --- remaining term against the loan term ----------------------------------------------------
FULL_TERM_AFTER_MATURITY_YEARS = 10.0


def remaining_term(facts: PledgeFacts) -> Reading:
    end = facts.exclusivity_end
    term = facts.req.loan.term_years
    if end is None:
        return Reading(0.0, 0.0, f"no granted patent in force; loan term {term:g} y")
    left = facts.years_to(end)
    after = facts.years_to(end, start=facts.maturity)
    pts = ramp(after, 0.0, FULL_TERM_AFTER_MATURITY_YEARS)
    if after < 0:
        note = f"latest expiry {end} is {-after:.1f} y before loan maturity {facts.maturity} ({term:g} y loan)"
    else:
        note = f"latest expiry {end}: {left:.1f} y left, {after:.1f} y past maturity of the {term:g} y loan"
    return Reading(round(left, 1), pts, note)


# --- claim breadth ---------------------------------------------------------------------------
STATE_FACTOR = {"in_force": 1.0, "pending": 0.5, "dead": 0.0}
FULL_TOTAL_CLAIMS = 30


def independent_claim_points(n: int) -> float:
    return min(100.0, 40.0 + 20.0 * (n - 1))


def total_claim_points(n: int) -> float:
    return 100.0 if n >= FULL_TOTAL_CLAIMS else 100.0 * math.log(n) / math.log(FULL_TOTAL_CLAIMS)


def _claim_points(facts: PledgeFacts, p: Patent) -> float:
    raw = 0.6 * independent_claim_points(p.independent_claims) + 0.4 * total_claim_points(p.total_claims)
    return raw * STATE_FACTOR[facts.state(p)]


def claim_breadth(facts: PledgeFacts) -> Reading:
    pts, best = best_of(facts.patents, lambda p: _claim_points(facts, p))
    value = f"{best.independent_claims} independent / {best.total_claims} total"
    state = facts.state(best)
    qual = {"in_force": "", "pending": " (pending: counted at half)", "dead": " (no live patent)"}[state]
    lead = "strongest" if len(facts.patents) > 1 else "claims"
    return Reading(value, pts, f"{lead}: {best.id} with {plural(best.independent_claims, 'independent claim')}, "
                               f"{best.total_claims} in total{qual}")


# --- jurisdictions ---------------------------------------------------------------------------
def covered_jurisdictions(facts: PledgeFacts) -> list[str]:
    """Sorted union of the offices of all live patents (CN first)."""
    codes = {c for p in facts.live for c in p.jurisdictions}
    return sorted(codes, key=lambda c: (c != "CN", c))


def jurisdiction_points(n: int) -> float:
    return 0.0 if n == 0 else 40.0 + 60.0 * clamp(math.log2(n) / 3.0)


def jurisdictions(facts: PledgeFacts) -> Reading:
    codes = covered_jurisdictions(facts)
    if not codes:
        return Reading([], 0.0, "no live patent, so no protected jurisdiction")
    return Reading(codes, jurisdiction_points(len(codes)),
                   f"family protected in {plural(len(codes), 'jurisdiction')}: {', '.join(codes)}")


# --- ownership -------------------------------------------------------------------------------
def ownership_points(p: Patent) -> float:
    if p.co_owners == 0:
        return 100.0
    if not p.co_owner_consent:
        return 0.0
    return max(40.0, 80.0 - 10.0 * (p.co_owners - 1))


def _ownership_label(p: Patent) -> str:
    if p.co_owners == 0:
        return "sole owner"
    return f"{plural(p.co_owners, 'co-owner')}, {'consent given' if p.co_owner_consent else 'no consent'}"


def ownership(facts: PledgeFacts) -> Reading:
    pts, worst = worst_of(facts.patents, ownership_points)
    shared = [p for p in facts.patents if p.co_owners > 0]
    if not shared:
        return Reading("sole owner", pts, f"applicant is sole owner of {all_patents(len(facts.patents))}")
    return Reading(_ownership_label(worst), pts,
                   f"{len(shared)} of {len(facts.patents)} co-owned; weakest: {worst.id}, {_ownership_label(worst)}")


# --- encumbrances ----------------------------------------------------------------------------
def encumbrance_points(p: Patent) -> float:
    if p.existing_pledge:
        return 0.0
    return 50.0 if p.exclusive_license_out else 100.0


def encumbrances(facts: PledgeFacts) -> Reading:
    pledged = [p for p in facts.patents if p.existing_pledge]
    licensed = [p for p in facts.patents if p.exclusive_license_out]
    pts, _ = worst_of(facts.patents, encumbrance_points)
    parts = []
    if pledged:
        parts.append(f"already pledged: {id_list(pledged)}")
    if licensed:
        parts.append(f"exclusive licence out: {id_list(licensed)}")
    value = ([f"pledge x{len(pledged)}"] if pledged else []) + ([f"exclusive licence x{len(licensed)}"] if licensed else [])
    if not parts:
        return Reading("none", pts, f"no pledge or exclusive licence on {all_patents(len(facts.patents), 'any of')}")
    return Reading(value, pts, "; ".join(parts))


# --- fees ------------------------------------------------------------------------------------
def fees(facts: PledgeFacts) -> Reading:
    unpaid = [p for p in facts.patents if not p.fees_paid]
    if not unpaid:
        return Reading("all paid", 100.0, f"annual fees paid on {all_patents(len(facts.patents))}")
    return Reading(f"unpaid on {len(unpaid)}", 0.0, f"{len(unpaid)} of {len(facts.patents)} with annual fees unpaid: "
                                                   f"{id_list(unpaid)}")


# --- litigation ------------------------------------------------------------------------------
LITIGATION_POINTS = 30.0


def litigation(facts: PledgeFacts) -> Reading:
    sued = [p for p in facts.patents if p.litigation_pending]
    if not sued:
        return Reading("none", 100.0, f"no pending suit on {all_patents(len(facts.patents), 'any of')}")
    return Reading(f"pending on {len(sued)}", LITIGATION_POINTS,
                   f"{len(sued)} of {len(facts.patents)} in pending litigation: {id_list(sued)}")


# --- knock-outs ------------------------------------------------------------------------------
def ko_no_granted_in_force(facts: PledgeFacts) -> Knockout | None:
    if facts.in_force:
        return None
    n = len(facts.patents)
    states = ", ".join(sorted({_patent_label(facts, p) for p in facts.patents}))
    pending = [p for p in facts.patents if p.status == "pending"]
    fix = ("Pledge at least one granted, in-force patent covering the product"
           + (f" (or wait for the grant of {id_list(pending)})" if pending else "")
           + "; CNIPA registers pledges only on valid patents")
    return Knockout("no_granted_in_force", ids(facts.patents),
                    f"{'The only patent is not' if n == 1 else f'None of the {n} patents is'} granted and in force "
                    f"on {facts.as_of} ({states})", fix)


def ko_expires_before_maturity(facts: PledgeFacts) -> Knockout | None:
    end = facts.exclusivity_end
    if end is None or end >= facts.maturity:
        return None
    return Knockout("expires_before_maturity", ids(facts.in_force),
                    f"The latest in-force patent expires on {end}, before the loan matures on {facts.maturity}",
                    f"Shorten the loan so that it matures by {end}, or add a granted patent on the product "
                    f"that runs beyond {facts.maturity}")


def ko_existing_pledge(facts: PledgeFacts) -> Knockout | None:
    pledged = [p for p in facts.patents if p.existing_pledge]
    if not pledged:
        return None
    return Knockout("existing_pledge", ids(pledged),
                    f"{plural(len(pledged), 'patent')} already pledged: {id_list(pledged)}",
                    "Repay and release the existing pledge registered with CNIPA (deregistration) before "
                    "re-pledging, or take these patents out of the pledge")


def ko_co_owner_consent_missing(facts: PledgeFacts) -> Knockout | None:
    missing = [p for p in facts.patents if p.co_owners > 0 and not p.co_owner_consent]
    if not missing:
        return None
    return Knockout("co_owner_consent_missing", ids(missing),
                    f"Co-owned without the co-owners' consent to the pledge: {id_list(missing)}",
                    "Obtain the written consent of every co-owner to the pledge and file it with the CNIPA "
                    "pledge registration")


def ko_fees_unpaid(facts: PledgeFacts) -> Knockout | None:
    unpaid = [p for p in facts.patents if not p.fees_paid]
    if not unpaid:
        return None
    return Knockout("fees_unpaid", ids(unpaid),
                    f"Annual fees unpaid on {id_list(unpaid)}; the patents lapse when the grace period ends",
                    "Pay the outstanding annual fees (with any late surcharge) to CNIPA and show the receipts")


CARD = Card(
    key="rights_certainty",
    indicators=(
        Indicator("Status and type", 0.25, status_and_type),
        Indicator("Stability", 0.15, stability),
        Indicator("Remaining term vs loan term", 0.20, remaining_term),
        Indicator("Claim breadth", 0.10, claim_breadth),
        Indicator("Jurisdictions", 0.05, jurisdictions),
        Indicator("Ownership", 0.075, ownership),
        Indicator("Encumbrances", 0.075, encumbrances),
        Indicator("Fees", 0.05, fees),
        Indicator("Litigation", 0.05, litigation),
    ),
    knockouts=(ko_no_granted_in_force, ko_expires_before_maturity, ko_existing_pledge,
               ko_co_owner_consent_missing, ko_fees_unpaid),
)
