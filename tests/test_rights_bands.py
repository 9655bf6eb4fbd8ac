"""Rights certainty (valuation/rights.py): every indicator's points at each band of its documented rule
and at the boundaries, computed by hand from the module docstring, and the knock-outs at their edges.

The clean request (tests/test_scorecards.py) values on 2026-11-01 one granted invention filed 2019-05-10
(expires 2039-05-09), a 3-year loan (matures 2029-11-01: 1,096 days of 365.25-day years, rounded).
"""
from __future__ import annotations

import datetime as dt
import math

import pytest

from valuation_helpers import AS_OF, D, R, expect_points, patent, row, score

LN30 = math.log(30)


def maturity(term_years: float) -> dt.date:
    return AS_OF + dt.timedelta(days=round(term_years * 365.25))


# --- status and type: granted in force invention 100 / utility 60 / design 40; pending 20 / 10 / 10; dead 0
@pytest.mark.parametrize("kind, status, filing, expected", [
    ("invention", "granted", "2019-05-10", 100.0),
    ("utility_model", "granted", "2022-01-05", 60.0),
    ("design", "granted", "2022-01-05", 40.0),
    ("invention", "pending", "2024-01-01", 20.0),
    ("utility_model", "pending", "2026-03-01", 10.0),
    ("design", "pending", "2026-03-01", 10.0),
    ("invention", "lapsed", "2019-05-10", 0.0),
    ("invention", "invalidated", "2019-05-10", 0.0),
    ("invention", "granted", "2005-01-10", 0.0),        # expired 2025-01-09
    ("invention", "granted", "2006-11-02", 100.0),      # expires 2026-11-01 = as_of: still in force that day
    ("invention", "granted", "2006-11-01", 0.0),        # expired 2026-10-31, the day before as_of
    ("invention", "pending", "2006-11-02", 20.0),       # would-be term runs to as_of: still pending
    ("invention", "pending", "2006-11-01", 0.0),        # would-be term over: dead
])
def test_status_and_type_points(kind, status, filing, expected):
    grant = (D(filing) + dt.timedelta(days=700)).isoformat()
    p = patent(kind=kind, status=status, filing_date=filing, grant_date=grant)
    expect_points(R, "Status and type", expected, [p], loan={"amount": 1e7, "term_years": 0.5})


def test_status_takes_the_strongest_patent():
    weak = patent(id="CN2U", kind="utility_model", filing_date="2022-01-05", grant_date="2022-09-01")
    pending = patent(id="CN3A", status="pending", filing_date="2024-01-01")
    r = expect_points(R, "Status and type", 60.0, [pending, weak])
    assert "CN2U" in r["note"] and r["value"] == "granted utility model", r


# --- stability: upheld 100, none 80, partially upheld 55, pending 20; worst of all patents
@pytest.mark.parametrize("levels, expected", [
    (["upheld"], 100.0), (["none"], 80.0), (["partially_upheld"], 55.0), (["pending"], 20.0),
    (["upheld", "none"], 80.0), (["upheld", "partially_upheld", "none"], 55.0), (["none", "pending"], 20.0),
])
def test_stability_points_worst_of(levels, expected):
    patents = [patent(id=f"CN{i}B", invalidation=lv) for i, lv in enumerate(levels)]
    expect_points(R, "Stability", expected, patents)


# --- remaining term vs loan term: 100 x (years from maturity to latest in-force expiry) / 10, clamped
@pytest.mark.parametrize("filing, term, expiry", [
    ("2019-05-10", 3, "2039-05-09"),     # 9.52 y after maturity
    ("2009-11-02", 3, "2029-11-01"),     # expires on the maturity date: 0
    ("2009-06-01", 3, "2029-05-31"),     # expires before maturity: clamped to 0
    ("2025-01-01", 3, "2044-12-31"),     # 15 y after maturity: clamped to 100
    ("2017-03-01", 0.5, "2037-02-28"),   # half-year loan: 183 days
    ("2017-03-01", 10, "2037-02-28"),    # 10-year loan
])
def test_remaining_term_points(filing, term, expiry):
    p = patent(filing_date=filing, grant_date="2022-03-01" if filing < "2022" else "2026-01-01")
    years_after = (D(expiry) - maturity(term)).days / 365.25
    expected = 100.0 * min(1.0, max(0.0, years_after / 10.0))
    r = expect_points(R, "Remaining term vs loan term", expected, [p], loan={"amount": 1e7, "term_years": term},
                      stage="approved", launch_year=2020)
    left = round((D(expiry) - AS_OF).days / 365.25, 1)
    assert r["value"] == left, f"filed {filing}: expected value {left} y left, got {r['value']}"


def test_remaining_term_counts_the_latest_in_force_patent_only():
    old = patent(id="CN1B", filing_date="2015-01-01", grant_date="2018-01-01")        # 2034-12-31
    young = patent(id="CN2B", filing_date="2019-05-10")                                 # 2039-05-09
    pending = patent(id="CN3A", status="pending", filing_date="2025-01-01")            # would run to 2044
    lapsed = patent(id="CN4B", status="lapsed", filing_date="2024-01-01", grant_date="2025-06-01")
    expected = 100.0 * (D("2039-05-09") - maturity(3)).days / 365.25 / 10.0
    expect_points(R, "Remaining term vs loan term", expected, [old, young, pending, lapsed])
    r = expect_points(R, "Remaining term vs loan term", 0.0, [pending, lapsed])
    assert r["value"] == 0.0, r


# --- claim breadth: 0.6 x independent points (1: 40, 2: 60, 3: 80, 4+: 100) + 0.4 x 100 ln(total)/ln(30), capped
def claims_by_hand(independent: int, total: int) -> float:
    ind = {1: 40.0, 2: 60.0, 3: 80.0}.get(independent, 100.0)
    tot = 100.0 if total >= 30 else 100.0 * math.log(total) / LN30
    return 0.6 * ind + 0.4 * tot


@pytest.mark.parametrize("independent, total", [(1, 1), (2, 2), (3, 20), (4, 29), (4, 30), (5, 31), (9, 200), (5, 5),
                                                (1, 30), (1, 45)])
def test_claim_breadth_points(independent, total):
    p = patent(independent_claims=independent, total_claims=total)
    expect_points(R, "Claim breadth", claims_by_hand(independent, total), [p])


def test_claim_breadth_pending_counts_half_dead_counts_nothing():
    pending = patent(id="CN1A", status="pending", independent_claims=3, total_claims=20, filing_date="2024-01-01")
    expect_points(R, "Claim breadth", 0.5 * claims_by_hand(3, 20), [pending])
    small = patent(id="CN2B", independent_claims=1, total_claims=1)
    lapsed = patent(id="CN3B", status="lapsed", independent_claims=9, total_claims=200)
    r = expect_points(R, "Claim breadth", claims_by_hand(1, 1), [lapsed, small])
    assert "CN2B" in r["note"] and r["value"] == "1 independent / 1 total", r
    r = expect_points(R, "Claim breadth", 0.0, [lapsed])
    assert "no live patent" in r["note"], r


def test_claim_breadth_takes_the_strongest_and_the_first_on_a_tie():
    a = patent(id="CN1B", independent_claims=1, total_claims=5)
    b = patent(id="CN2B", independent_claims=3, total_claims=20)
    c = patent(id="CN3B", independent_claims=3, total_claims=20)
    r = expect_points(R, "Claim breadth", claims_by_hand(3, 20), [a, b, c])
    assert "CN2B" in r["note"] and "CN3B" not in r["note"], f"expected the first strongest (CN2B), got {r['note']}"


# --- jurisdictions: 40 + 60 log2(n) / 3, clamped; union over live patents; 0 without a live patent
@pytest.mark.parametrize("codes", [["CN"], ["CN", "US"], ["CN", "US", "EP"], ["CN", "US", "EP", "JP"],
                                   ["CN", "US", "EP", "JP", "KR"], ["CN", "US", "EP", "JP", "KR", "CA", "AU", "BR"],
                                   ["CN", "US", "EP", "JP", "KR", "CA", "AU", "BR", "IN"]])
def test_jurisdiction_points(codes):
    expected = 40.0 + 60.0 * min(1.0, math.log2(len(codes)) / 3.0)
    r = expect_points(R, "Jurisdictions", expected, [patent(jurisdictions=codes)])
    assert r["value"][0] == "CN" and sorted(r["value"]) == sorted(codes), r


def test_jurisdiction_points_of_no_office_is_zero():
    from ipledge.valuation import rights

    assert rights.jurisdiction_points(0) == 0.0 and rights.jurisdiction_points(1) == 40.0


def test_jurisdictions_union_of_live_patents_only():
    a = patent(id="CN1B", jurisdictions=["CN", "US"])
    b = patent(id="CN2A", status="pending", filing_date="2024-01-01", jurisdictions=["CN", "EP"])
    dead = patent(id="CN3B", status="lapsed", jurisdictions=["JP", "KR", "CA", "AU"])
    r = expect_points(R, "Jurisdictions", 40.0 + 60.0 * math.log2(3) / 3.0, [a, b, dead])
    assert r["value"] == ["CN", "EP", "US"], r
    r = expect_points(R, "Jurisdictions", 0.0, [dead])
    assert r["value"] == [], r


# --- ownership: sole 100; consent 80 - 10 per further co-owner, floor 40; no consent 0; worst of
@pytest.mark.parametrize("co_owners, consent, expected", [
    (0, True, 100.0), (0, False, 100.0), (1, True, 80.0), (2, True, 70.0), (4, True, 50.0), (5, True, 40.0),
    (6, True, 40.0), (50, True, 40.0), (1, False, 0.0), (3, False, 0.0),
])
def test_ownership_points(co_owners, consent, expected):
    expect_points(R, "Ownership", expected, [patent(co_owners=co_owners, co_owner_consent=consent)])


def test_ownership_worst_patent_named():
    r = expect_points(R, "Ownership", 70.0, [patent(id="CN1B"), patent(id="CN2B", co_owners=2)])
    assert "CN2B" in r["note"] and "1 of 2 co-owned" in r["note"] and r["value"] == "2 co-owners, consent given", r


# --- encumbrances: existing pledge 0, exclusive licence out 50, none 100; worst of
@pytest.mark.parametrize("flags, expected", [
    ([(False, False)], 100.0), ([(False, True)], 50.0), ([(True, False)], 0.0), ([(True, True)], 0.0),
    ([(False, False), (False, True)], 50.0), ([(False, True), (True, False)], 0.0),
])
def test_encumbrance_points(flags, expected):
    patents = [patent(id=f"CN{i}B", existing_pledge=pl, exclusive_license_out=lic) for i, (pl, lic) in enumerate(flags)]
    expect_points(R, "Encumbrances", expected, patents)


# --- fees: all paid 100, any unpaid 0; litigation: none 100, any pending suit 30
@pytest.mark.parametrize("paid, expected", [([True], 100.0), ([True, True], 100.0), ([True, False], 0.0)])
def test_fee_points(paid, expected):
    expect_points(R, "Fees", expected, [patent(id=f"CN{i}B", fees_paid=f) for i, f in enumerate(paid)])


@pytest.mark.parametrize("suits, expected", [([False], 100.0), ([False, False], 100.0), ([False, True], 30.0),
                                             ([True, True], 30.0)])
def test_litigation_points(suits, expected):
    expect_points(R, "Litigation", expected, [patent(id=f"CN{i}B", litigation_pending=s) for i, s in enumerate(suits)])


def test_clean_request_score_is_the_weighted_mean_of_hand_computed_points():
    term = round(100.0 * (D("2039-05-09") - maturity(3)).days / 365.25 / 10.0, 1)
    hand = [(100.0, 0.25), (80.0, 0.15), (term, 0.20), (round(claims_by_hand(3, 20), 1), 0.10),
            (round(40.0 + 20.0 * math.log2(3), 1), 0.05), (100.0, 0.075), (100.0, 0.075), (100.0, 0.05),
            (100.0, 0.05)]
    expected = sum(p * w for p, w in hand)
    got = score()[R]["score"]
    assert abs(got - expected) <= 0.05 + 1e-9, f"clean request: expected {expected:.3f}, got {got} (tolerance 0.05)"


# --- knock-outs at their edges
def test_expiry_on_the_maturity_date_is_not_a_knockout_the_day_before_is():
    marketed = {"stage": "approved", "launch_year": 2020}
    on_time = score([patent(filing_date="2009-11-02", grant_date="2012-01-01")], **marketed)   # ends 2029-11-01
    assert [k["code"] for k in on_time[R]["knockouts"]] == [], on_time[R]["knockouts"]
    late = score([patent(id="CN9B", filing_date="2009-11-01", grant_date="2012-01-01")], **marketed)   # 2029-10-31
    kos = late[R]["knockouts"]
    assert [k["code"] for k in kos] == ["expires_before_maturity"] and kos[0]["patents"] == ["CN9B"], kos
    assert "2029-10-31" in kos[0]["message"] and "2029-11-01" in kos[0]["message"], kos[0]


def test_no_granted_in_force_message_and_fix_name_the_patents():
    one = score([patent(id="CN1A", status="pending", filing_date="2024-01-01")])[R]["knockouts"]
    assert one[0]["code"] == "no_granted_in_force" and one[0]["message"].startswith("The only patent is not"), one
    assert "wait for the grant of CN1A" in one[0]["fix"], one
    two = score([patent(id="CN1B", status="lapsed"), patent(id="CN2B", status="invalidated")])[R]["knockouts"]
    assert two[0]["message"].startswith("None of the 2 patents is"), two
    assert "invalidated invention, lapsed invention" in two[0]["message"] and "wait for" not in two[0]["fix"], two


def test_row_helper_finds_every_rights_indicator():
    s = score()
    names = ["Status and type", "Stability", "Remaining term vs loan term", "Claim breadth", "Jurisdictions",
             "Ownership", "Encumbrances", "Fees", "Litigation"]
    weights = [row(s, R, n)["weight"] for n in names]
    assert weights == [0.25, 0.15, 0.20, 0.10, 0.05, 0.075, 0.075, 0.05, 0.05], weights


@pytest.mark.parametrize("co_owners, consent, fires", [(0, False, False), (0, True, False), (1, True, False),
                                                        (1, False, True), (3, False, True)])
def test_co_owner_consent_knockout_needs_co_owners_without_consent(co_owners, consent, fires):
    # a sole owner needs nobody's consent; co-owners who consented do not block the registration
    kos = [k["code"] for k in score([patent(co_owners=co_owners, co_owner_consent=consent)])[R]["knockouts"]]
    assert ("co_owner_consent_missing" in kos) is fires, (
        f"co_owners={co_owners}, consent={consent}: expected knock-out {fires}, got knock-outs {kos}")
