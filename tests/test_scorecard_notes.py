"""What each indicator row tells a loan officer (``value`` and ``note``): the patents it is about, the
counts, and the number the rule read, for one patent and for several. The checks look for those facts,
not for the exact wording around them."""
from __future__ import annotations

import pytest

from valuation_helpers import C, R, V, patent, row, score


def facts(card: str, name: str, patents=None, **over) -> tuple:
    r = row(score(patents, **over), card, name)
    return r["value"], r["note"]


def has(note: str, *parts: str, absent: tuple[str, ...] = ()) -> None:
    missing = [p for p in parts if p not in note]
    present = [p for p in absent if p in note]
    assert not missing and not present, f"note {note!r}: expected to contain {missing}, not to contain {present}"


THREE = [patent(id="CN1B"), patent(id="CN2B"), patent(id="CN3B")]


# --- rights certainty -------------------------------------------------------------------------
def test_status_notes():
    value, note = facts(R, "Status and type", [patent(id="CN1A", status="pending", filing_date="2024-01-01")])
    assert value == "pending invention"
    has(note, "0 of 1 granted in force", "pending invention CN1A", "cannot be pledged")
    value, note = facts(R, "Status and type", [patent(id="CN1B", status="lapsed"), patent(id="CN2B", kind="design",
                                                                                          filing_date="2023-01-01",
                                                                                          grant_date="2023-08-01")])
    assert value == "granted design"
    has(note, "1 of 2 granted in force", "design (unexamined) CN2B", absent=("cannot",))
    value, _ = facts(R, "Status and type", [patent(filing_date="2000-01-01", grant_date="2003-01-01")])
    assert value == "expired invention"
    value, _ = facts(R, "Status and type", [patent(status="invalidated")])
    assert value == "invalidated invention"


def test_stability_notes():
    value, note = facts(R, "Stability", [patent(id="CN1B", invalidation="partially_upheld")])
    assert value == "partially upheld"
    has(note, "CN1B", "partially upheld (claims narrowed)")
    _, note = facts(R, "Stability", [patent(id="CN1B"), patent(id="CN2B")])
    has(note, "both patents", "never challenged", absent=("weakest",))
    _, note = facts(R, "Stability", [patent(id="CN1B", invalidation="upheld"), patent(id="CN2B", invalidation="pending"),
                                     patent(id="CN3B", invalidation="pending")])
    has(note, "weakest of 3", "invalidation request pending", "(CN2B, CN3B)", absent=("CN1B",))


def test_remaining_term_notes():
    value, note = facts(R, "Remaining term vs loan term")
    assert value == 12.5
    has(note, "latest expiry 2039-05-09", "12.5 y left", "9.5 y past maturity", "3 y loan")
    value, note = facts(R, "Remaining term vs loan term", [patent(filing_date="2009-06-01", grant_date="2012-01-01")],
                        stage="approved", launch_year=2020)
    assert value == 2.6
    has(note, "2029-05-31 is 0.4 y before loan maturity 2029-11-01", "(3 y loan)")
    # expiring on the maturity date is not "before" it (and not a knock-out either)
    _, note = facts(R, "Remaining term vs loan term", [patent(filing_date="2009-11-02", grant_date="2012-01-01")],
                    stage="approved", launch_year=2020)
    has(note, "latest expiry 2029-11-01", "0.0 y past maturity", absent=("before",))
    value, note = facts(R, "Remaining term vs loan term", [patent(status="lapsed")], loan={"amount": 1e7, "term_years": 2.5})
    assert value == 0.0
    has(note, "no granted patent in force", "loan term 2.5 y")


def test_claim_breadth_notes():
    value, note = facts(R, "Claim breadth", [patent(id="CN1B", independent_claims=1, total_claims=7)])
    assert value == "1 independent / 7 total"
    has(note, "claims: CN1B with 1 independent claim,", "7 in total", absent=("strongest", "pending"))
    _, note = facts(R, "Claim breadth", [patent(id="CN1A", status="pending", filing_date="2024-01-01"),
                                         patent(id="CN2B", status="lapsed")])
    has(note, "strongest: CN1A with 3 independent claims", "(pending: counted at half)")


def test_jurisdiction_notes():
    _, note = facts(R, "Jurisdictions", [patent(jurisdictions=["CN"])])
    has(note, "1 jurisdiction: CN")
    _, note = facts(R, "Jurisdictions")
    has(note, "3 jurisdictions: CN, EP, US")
    _, note = facts(R, "Jurisdictions", [patent(status="lapsed")])
    has(note, "no live patent")


def test_ownership_notes():
    value, note = facts(R, "Ownership", THREE)
    assert value == "sole owner"
    has(note, "sole owner of all 3 patents")
    value, note = facts(R, "Ownership", [patent(id="CN1B", co_owners=1), patent(id="CN2B", co_owners=1,
                                                                             co_owner_consent=False)])
    assert value == "1 co-owner, no consent"
    has(note, "2 of 2 co-owned", "weakest: CN2B")


def test_encumbrance_notes():
    value, note = facts(R, "Encumbrances", [patent(id="CN1B")])
    assert value == "none"
    has(note, "on the patent")
    value, note = facts(R, "Encumbrances", [patent(id="CN1B", existing_pledge=True),
                                            patent(id="CN2B", exclusive_license_out=True),
                                            patent(id="CN3B", exclusive_license_out=True)])
    assert value == ["pledge x1", "exclusive licence x2"], value
    has(note, "already pledged: CN1B", "exclusive licence out: CN2B, CN3B")
    value, note = facts(R, "Encumbrances", [patent(id="CN1B", exclusive_license_out=True), patent(id="CN2B")])
    assert value == ["exclusive licence x1"], value
    has(note, "exclusive licence out: CN1B", absent=("pledged",))
    value, _ = facts(R, "Encumbrances", [patent(id="CN1B", existing_pledge=True)])
    assert value == ["pledge x1"], value


def test_fee_and_litigation_notes():
    value, note = facts(R, "Fees", [patent(id="CN1B"), patent(id="CN2B", fees_paid=False)])
    assert value == "unpaid on 1"
    has(note, "1 of 2 with annual fees unpaid: CN2B")
    value, note = facts(R, "Fees", THREE)
    assert value == "all paid"
    has(note, "all 3 patents")
    value, note = facts(R, "Litigation", [patent(id="CN1B", litigation_pending=True), patent(id="CN2B")])
    assert value == "pending on 1"
    has(note, "1 of 2 in pending litigation: CN1B")
    value, note = facts(R, "Litigation", THREE)
    assert value == "none"
    has(note, "any of the 3 patents")


def test_contract_knockout_messages_name_the_patents():
    kos = score([patent(id="CN1B", existing_pledge=True, fees_paid=False, co_owners=1, co_owner_consent=False),
                 patent(id="CN2B", existing_pledge=True)])[R]["knockouts"]
    by = {k["code"]: k for k in kos}
    assert by["existing_pledge"]["patents"] == ["CN1B", "CN2B"], by
    has(by["existing_pledge"]["message"], "2 patents already pledged: CN1B, CN2B")
    assert by["co_owner_consent_missing"]["patents"] == ["CN1B"] and "CN1B" in by["co_owner_consent_missing"]["message"]
    assert by["fees_unpaid"]["patents"] == ["CN1B"] and "CN1B" in by["fees_unpaid"]["message"]


# --- competitive contribution --------------------------------------------------------------
def test_competitive_notes():
    _, note = facts(C, "Claim type")
    has(note, "live patent: compound claim in CN113456789B (100 points)")
    value, note = facts(C, "Competitors and substitutes", competitors=0)
    assert value == 0
    has(note, "no competing or substitute product")
    _, note = facts(C, "Competitors and substitutes", competitors=1)
    has(note, "1 competing or substitute product share")
    _, note = facts(C, "Forward citations", [patent(id="CN1B", forward_citations=1), patent(id="CN2B")])
    has(note, "most cited: CN2B with 4 citations", "5 across 2 live patents")
    _, note = facts(C, "Forward citations", [patent(id="CN1B", forward_citations=1)])
    has(note, "CN1B with 1 citation", "1 live patent")
    _, note = facts(C, "Market coverage")
    has(note, "CN, EP, US: ~70.0% of world pharma sales", "77.0%")


def test_dependency_notes():
    value, note = facts(C, "Dependency", [patent(id="CN1B"), patent(id="CN2B")])
    assert value == "own and unlicensed"
    has(note, "sole owner of both patents")
    value, note = facts(C, "Dependency", [patent(id="CN1B", co_owners=1),
                                          patent(id="CN2B", co_owners=2, exclusive_license_out=True)])
    assert value == "exclusive licence out, 2 co-owners", value
    has(note, "2 of 2 shared with others (CN1B, CN2B)", "weakest: CN2B")


def test_ip_contribution_override_note_gives_the_derived_share():
    s = score(ip_contribution=0.35)
    note = row(s, C, "IP contribution override")["note"]
    derived = round(0.10 + 0.40 * s[C]["score"] / 100.0, 4)
    has(note, "0.35", f"{derived:g}", f"{s[C]['score']:g}/100")


# --- revenue potential -------------------------------------------------------------------------
def test_revenue_notes():
    _, note = facts(V, "Peak sales (p50)")
    has(note, "median peak sales CNY 600m a year")
    _, note = facts(V, "Forecast spread (p90/p10)")
    has(note, "CNY 1.5bn / CNY 200m = 7.5x")
    _, note = facts(V, "Forecast spread (p90/p10)", peak_sales={"p10": 0.0, "p50": 6e8, "p90": 1.5e9})
    has(note, "low case is zero sales", "p90 CNY 1.5bn")
    _, note = facts(V, "Development stage")
    has(note, "15.1% chance of reaching the market from phase2")
    _, note = facts(V, "Development stage", stage="approved", launch_year=2022)
    has(note, "approved and marketed")
    _, note = facts(V, "Margin", royalty_rate=0.05)
    has(note, "royalty 5.0% of sales")
    for m, shown in [(0.35, "35%"), (0.6, "60%")]:
        _, note = facts(V, "Margin", profit_margin=m)
        has(note, f"profit margin {shown}")
    value, note = facts(V, "Reimbursement (NRDL)", nrdl_listed=True)
    assert value == "NRDL listed"
    has(note, "on the National Reimbursement Drug List")
    value, note = facts(V, "Reimbursement (NRDL)")
    assert value == "not listed"
    has(note, "not on the NRDL")
    value, note = facts(V, "VBP exposure", vbp_exposure="medium")
    assert value == "medium"
    has(note, "15% a year chance", "~71% of price expected kept after 5 y")
    _, note = facts(V, "VBP exposure", vbp_exposure="low")          # 1 - 0.53 x (1 - 0.95^5) = 88.0%
    has(note, "low exposure: 5% a year chance", "~88% of price expected kept")


@pytest.mark.parametrize("over, parts", [
    ({}, ("of protected sales: expected launch 2033-03", "6.4 y of development left from phase2", "2039-05-09")),
    ({"stage": "approved", "launch_year": 2020}, ("12.5 y of protected sales: launched 2020",)),
])
def test_exclusivity_notes(over, parts):
    _, note = facts(V, "Exclusivity after launch", **over)
    has(note, *parts)


def test_no_exclusivity_at_launch_names_the_granted_patents():
    kos = score([patent(id="CN1B", filing_date="2007-06-27", grant_date="2010-01-01"),
                 patent(id="CN2A", status="pending", filing_date="2025-01-01")], stage="filed")[V]["knockouts"]
    assert kos[0]["patents"] == ["CN1B"], kos
    has(kos[0]["message"], "2027-06-26", "expected launch 2027-06")
