"""Competitive contribution (valuation/competition.py): every indicator's points at each band of its
documented rule, computed by hand from the module docstring, the market-share table's invariants, and
the IP contribution share derived from the score."""
from __future__ import annotations

import math

import pytest

from ipledge.valuation import competition
from valuation_helpers import C, expect_points, patent, row, score

# shares quoted in the module docstring (US ~40%, EP ~21.5%, CN ~8.5%, JP ~7%; EP-5 ~18%; other 0.2%; WO 0)
US, EP, CN, JP, EP5, OTHER = 0.40, 0.215, 0.085, 0.07, 0.18, 0.002
MAJORS = US + EP + JP + CN


@pytest.mark.parametrize("claim_type, expected", [
    ("compound", 100.0), ("formulation", 70.0), ("device", 60.0), ("use", 55.0), ("process", 40.0), ("other", 25.0),
])
def test_claim_type_points(claim_type, expected):
    r = expect_points(C, "Claim type", expected, [patent(claim_type=claim_type)])
    assert r["value"] == claim_type, r


def test_claim_type_strongest_live_patent_pending_counts_dead_does_not():
    dead = patent(id="CN1B", status="lapsed", claim_type="compound")
    process = patent(id="CN2B", claim_type="process")
    use = patent(id="CN3A", status="pending", filing_date="2024-01-01", claim_type="use")
    r = expect_points(C, "Claim type", 55.0, [dead, process, use])
    assert "CN3A" in r["note"] and "strongest of 2 live" in r["note"], r
    r = expect_points(C, "Claim type", 0.0, [dead])
    assert r["value"] == "none", r


@pytest.mark.parametrize("n", [0, 1, 2, 3, 9, 30, 1000])
def test_competitor_points(n):
    r = expect_points(C, "Competitors and substitutes", 100.0 / (1.0 + n / 3.0), competitors=n)
    assert r["value"] == n, r


@pytest.mark.parametrize("citations", [0, 1, 3, 10, 29, 30, 31, 5000])
def test_forward_citation_points(citations):
    expected = 20.0 + 80.0 * min(1.0, math.log(1 + citations) / math.log(31))
    expect_points(C, "Forward citations", expected, [patent(forward_citations=citations)])


def test_forward_citations_most_cited_live_patent():
    dead = patent(id="CN1B", status="lapsed", forward_citations=500)
    a = patent(id="CN2B", forward_citations=3)
    b = patent(id="CN3B", forward_citations=10)
    r = expect_points(C, "Forward citations", 20.0 + 80.0 * math.log(11) / math.log(31), [dead, a, b])
    assert r["value"] == 10 and "CN3B" in r["note"] and "13 across 2 live patents" in r["note"], r
    r = expect_points(C, "Forward citations", 0.0, [dead])
    assert r["value"] == 0, r
    r = expect_points(C, "Forward citations", 20.0, [patent(forward_citations=0)])
    assert "no forward citations yet" in r["note"] and r["value"] == 0, r


@pytest.mark.parametrize("codes, share", [
    (["CN"], CN), (["CN", "EP"], CN + EP), (["CN", "US"], CN + US), (["CN", "US", "EP", "JP"], MAJORS),
    (["CN", "US", "EP", "JP", "KR", "CA"], None),                 # beyond the majors: capped at 100
    (["CN", "EP", "DE", "FR"], CN + EP),                          # EP absorbs the national EPC codes
    (["CN", "DE", "FR", "IT", "ES", "GB"], CN + EP5),             # national codes count without EP
    (["CN", "WO"], CN),                                           # a PCT application is not a right
    (["CN", "ZZ"], CN + OTHER),                                   # an office not in the table
    (["WO"], 0.0),
])
def test_market_coverage_points(codes, share):
    expected = 100.0 if share is None else 100.0 * math.sqrt(min(1.0, share / MAJORS))
    r = expect_points(C, "Market coverage", expected, [patent(jurisdictions=codes)])
    assert r["value"][0] == ("CN" if "CN" in codes else codes[0]) and sorted(r["value"]) == sorted(codes), r


def test_market_coverage_union_of_live_patents():
    a = patent(id="CN1B", jurisdictions=["CN"])
    b = patent(id="CN2A", status="pending", filing_date="2024-01-01", jurisdictions=["US"])
    dead = patent(id="CN3B", status="lapsed", jurisdictions=["EP", "JP"])
    expect_points(C, "Market coverage", 100.0 * math.sqrt((CN + US) / MAJORS), [a, b, dead])
    r = expect_points(C, "Market coverage", 0.0, [dead])
    assert r["value"] == [], r


def test_market_share_table_is_a_partition_of_world_sales():
    shares = competition.MARKET_SHARE
    national_epc = set(competition.EPC_SHARE)
    assert shares["US"] == US and shares["CN"] == CN and shares["JP"] == JP and shares["EP"] == EP, shares
    assert math.isclose(sum(competition.EPC_SHARE[c] for c in ("DE", "FR", "IT", "GB", "ES")), EP5), competition.EPC_SHARE
    assert math.isclose(sum(competition.EPC_SHARE.values()), EP, abs_tol=5e-4), "EP is the sum of the EPC states"
    bad = {c: s for c, s in shares.items() if not 0.0 < s <= US}
    assert not bad, f"every office's share must be in (0, US share {US}]: {bad}"
    below_jp = {c: s for c, s in shares.items() if c not in ("US", "EP", "CN", "JP") and s >= JP}
    assert not below_jp, f"offices other than the four majors must be smaller than JP ({JP}): {below_jp}"
    total = sum(s for c, s in shares.items() if c not in national_epc)
    assert total <= 1.0, f"shares of world sales (EP once, no national EPC codes) sum to {total} > 1"
    assert competition.OTHER_OFFICE_SHARE == OTHER and competition.market_share({"WO"}) == 0.0


@pytest.mark.parametrize("licence, co_owners, expected", [
    (False, 0, 100.0), (True, 0, 40.0), (False, 1, 100.0 / math.sqrt(2)), (False, 3, 50.0), (True, 3, 20.0),
])
def test_dependency_points(licence, co_owners, expected):
    p = patent(exclusive_license_out=licence, co_owners=co_owners)
    r = expect_points(C, "Dependency", expected, [p])
    assert (r["value"] == "own and unlicensed") == (expected == 100.0), r


def test_dependency_worst_of_all_patents_named():
    shared = patent(id="CN2B", co_owners=3, status="lapsed")      # defects count on every listed patent
    r = expect_points(C, "Dependency", 50.0, [patent(id="CN1B"), shared])
    assert "1 of 2 shared" in r["note"] and "CN2B" in r["note"] and r["value"] == "3 co-owners", r


def test_ip_contribution_from_a_hand_computed_score():
    # clean request: compound 100, 3 competitors 50, 4 citations, CN+US+EP, sole and unlicensed 100
    cites = round(20.0 + 80.0 * math.log(5) / math.log(31), 1)
    cover = round(100.0 * math.sqrt((CN + US + EP) / MAJORS), 1)
    expected_score = round(0.25 * 100.0 + 0.20 * 50.0 + 0.15 * cites + 0.20 * cover + 0.20 * 100.0, 1)
    s = score()
    assert abs(s[C]["score"] - expected_score) <= 0.05 + 1e-9, f"expected score {expected_score}, got {s[C]['score']}"
    expected = 0.10 + 0.40 * s[C]["score"] / 100.0
    assert abs(s[C]["ip_contribution"] - expected) <= 5e-5, (
        f"score {s[C]['score']}: expected ip_contribution {expected:.5f}, got {s[C]['ip_contribution']} (tol 5e-5)")
    for sc, share in [(0.0, 0.10), (100.0, 0.50), (50.0, 0.30), (12.345, 0.1494)]:
        got = competition.derived_ip_contribution(sc)
        assert got == share, f"score {sc}: expected {share} (0.10 + 0.40 x score / 100, 4 decimals), got {got}"


def test_ip_contribution_override_row():
    s = score(ip_contribution=0.234)
    r = row(s, C, "IP contribution override")
    assert s[C]["ip_contribution"] == 0.234 and r["points"] == 23.4 and r["weight"] == 0.0, r
    assert r["value"] == 0.234 and "0.234" in r["note"], r
    r = row(score(ip_contribution=0.12345), C, "IP contribution override")
    assert r["points"] == 12.3, f"points are the share in percent to one decimal: expected 12.3, got {r['points']}"
