"""Revenue potential (valuation/revenue.py): every indicator's points at each band of its documented
rule, computed by hand from the module docstring, the expected launch per stage, and the knock-outs at
their edges. The clean request is a phase 2 product valued on 2026-11-01, protected until 2039-05-09."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from ipledge.valuation import revenue
from ipledge.valuation.schema import PledgeRequest
from valuation_helpers import AS_OF, D, V, clean_request, expect_points, patent, score

LN500 = math.log(5e9 / 1e7)


@pytest.mark.parametrize("p50, expected", [
    (0.0, 0.0), (5e6, 0.0), (1e7, 0.0), (1e8, 100.0 * math.log(10) / LN500), (6e8, 100.0 * math.log(60) / LN500),
    (5e9, 100.0), (8e9, 100.0),
])
def test_peak_sales_points(p50, expected):
    r = expect_points(V, "Peak sales (p50)", expected, peak_sales={"p10": p50 / 2, "p50": p50, "p90": p50 * 2})
    assert r["value"] == p50, r


@pytest.mark.parametrize("p10, p90, expected", [
    (6e8, 6e8, 100.0), (2e8, 1.5e9, 100.0 * (1.0 - math.log(7.5) / math.log(20))), (1e8, 2e9, 0.0),
    (5e7, 2e9, 0.0), (0.0, 1.5e9, 0.0), (2.8e8, 1.5e9, 100.0 * (1.0 - math.log(1.5e9 / 2.8e8) / math.log(20))),
])
def test_spread_points(p10, p90, expected):
    r = expect_points(V, "Forecast spread (p90/p10)", expected, peak_sales={"p10": p10, "p50": 6e8, "p90": p90})
    assert r["value"] == ("p10 = 0" if p10 == 0 else round(p90 / p10, 2)), r


def test_spread_without_a_forecast():
    r = expect_points(V, "Forecast spread (p90/p10)", 0.0, peak_sales={"p10": 0.0, "p50": 0.0, "p90": 0.0})
    assert r["value"] == "no forecast", r


# the module docstring's probabilities of reaching the market, in percent
@pytest.mark.parametrize("stage, expected", [
    ("preclinical", 5.4), ("phase1", 7.9), ("phase2", 15.1), ("phase3", 52.4), ("filed", 90.6), ("approved", 100.0),
])
def test_stage_points(stage, expected):
    over = {"stage": stage, **({"launch_year": 2024} if stage == "approved" else {})}
    expect_points(V, "Development stage", expected, **over)


@pytest.mark.parametrize("margin, royalty, expected", [
    (0.0, None, 0.0), (0.25, None, 50.0), (0.5, None, 100.0), (0.8, None, 100.0),
    (0.3, 0.0, 0.0), (0.0, 0.05, 40.0), (0.9, 0.125, 100.0), (0.3, 0.3, 100.0),
])
def test_margin_points(margin, royalty, expected):
    r = expect_points(V, "Margin", expected, profit_margin=margin, royalty_rate=royalty)
    assert r["value"] == (margin if royalty is None else royalty), r


@pytest.mark.parametrize("listed, expected", [(True, 100.0), (False, 50.0)])
def test_reimbursement_points(listed, expected):
    expect_points(V, "Reimbursement (NRDL)", expected, nrdl_listed=listed)


@pytest.mark.parametrize("exposure, expected", [("none", 100.0), ("low", 88.0), ("medium", 70.5), ("high", 55.9)])
def test_vbp_points(exposure, expected):
    expect_points(V, "VBP exposure", expected, vbp_exposure=exposure)


# expected remaining development (docstring): half the current stage + the later stages
# (preclinical 1.0, phase1 2.3, phase2 3.6, phase3 3.3, filed 1.3 years)
DEV_YEARS = {"preclinical": 0.5 + 2.3 + 3.6 + 3.3 + 1.3, "phase1": 1.15 + 3.6 + 3.3 + 1.3, "phase2": 1.8 + 3.3 + 1.3,
             "phase3": 1.65 + 1.3, "filed": 0.65}


@pytest.mark.parametrize("stage", sorted(DEV_YEARS))
def test_expected_launch_per_stage(stage):
    product = PledgeRequest.model_validate(clean_request(stage=stage)).product
    launch, basis = revenue.expected_launch(product, AS_OF)
    expected = AS_OF + dt.timedelta(days=round(DEV_YEARS[stage] * 365.25))
    assert launch == expected, f"{stage} from {AS_OF}: expected {expected}, got {launch}"
    assert f"{DEV_YEARS[stage]:.1f} y of development left from {stage}" in basis, basis


def test_no_development_left_once_approved():
    assert revenue.remaining_development_years("approved") == 0.0
    assert abs(revenue.remaining_development_years("filed") - 0.65) < 1e-12


def test_exclusivity_after_launch_points():
    end = D("2039-05-09")
    launch = AS_OF + dt.timedelta(days=round(DEV_YEARS["phase2"] * 365.25))
    expect_points(V, "Exclusivity after launch", 100.0 * (end - launch).days / 365.25 / 10.0)
    # marketed: counts from today; long protection: clamped at 100
    expect_points(V, "Exclusivity after launch", 100.0, stage="approved", launch_year=2020)
    shorter = patent(filing_date="2015-01-10", grant_date="2018-01-10")    # ends 2035-01-09
    years = (D("2035-01-09") - D("2027-06-26")).days / 365.25              # filed: launch in 237 days
    r = expect_points(V, "Exclusivity after launch", 100.0 * years / 10.0, [shorter], stage="filed")
    assert r["value"] == round(years, 1), r
    # expires before launch: 0 (never negative); nothing in force: 0
    old = patent(filing_date="2010-01-10", grant_date="2013-01-10")       # ends 2030-01-09, launch 2033
    r = expect_points(V, "Exclusivity after launch", 0.0, [old])
    assert r["value"] == 0.0, r
    r = expect_points(V, "Exclusivity after launch", 0.0, [patent(status="lapsed")])
    assert r["value"] == 0.0 and "no granted patent in force" in r["note"], r


def test_exclusivity_window_without_a_granted_patent_is_zero():
    from ipledge.valuation.scorecard import PledgeFacts

    req = PledgeRequest.model_validate(clean_request([patent(status="pending", filing_date="2024-01-01")]))
    facts = PledgeFacts.build(req, launch=D("2030-01-01"), launch_basis="test")
    assert revenue.exclusivity_window(facts) == 0.0


def test_no_exclusivity_at_launch_edge():
    # filed -> launch 2026-11-01 + 237 days = 2027-06-26
    on_launch = score([patent(filing_date="2007-06-27", grant_date="2010-01-01")], stage="filed")   # ends 2027-06-26
    kos = on_launch[V]["knockouts"]
    assert [k["code"] for k in kos] == ["no_exclusivity_at_launch"] and "2027-06-26" in kos[0]["message"], kos
    after = score([patent(filing_date="2007-06-28", grant_date="2010-01-01")], stage="filed")       # ends 2027-06-27
    assert after[V]["knockouts"] == [], after[V]["knockouts"]
    nothing = score([patent(status="lapsed")], stage="filed")
    assert nothing[V]["knockouts"] == [], "no granted patent is the rights card's knock-out, not this one"


@pytest.mark.parametrize("over, why", [
    ({"peak_sales": {"p10": 0, "p50": 0, "p90": 0}}, "the median peak-sales forecast is zero"),
    ({"royalty_rate": 0.0}, "the royalty rate is zero"),
    ({"profit_margin": 0.0}, "the profit margin is zero"),
    ({"profit_margin": 0.0, "royalty_rate": 0.05}, None),      # a licence earns even without a margin
    ({"profit_margin": 0.01}, None),
])
def test_no_revenue_path(over, why):
    kos = score(**over)[V]["knockouts"]
    if why is None:
        assert kos == [], f"{over}: expected no knock-out, got {kos}"
    else:
        assert [k["code"] for k in kos] == ["no_revenue_path"] and why in kos[0]["message"], f"{over}: {kos}"
        assert kos[0]["patents"] == [], kos


@pytest.mark.parametrize("p50, expected", [(1e7, 0.0), (math.sqrt(1e7 * 5e9), 50.0), (5e9, 100.0),
                                           (1e7 * 500 ** 0.25, 25.0)])
def test_peak_sales_points_unrounded_at_the_ends_and_geometric_points_of_the_log_scale(p50, expected):
    """The rule "10m scores 0, 5bn scores 100" on a log scale, read before the response rounds to 0.1: the
    geometric midpoint scores exactly 50, the quarter point 25 (a CNY 1 shift of either end moves these by
    ~1e-9 to 1e-5 points, far above the 1e-11 tolerance and far below the response's resolution)."""
    from ipledge.valuation.scorecard import PledgeFacts

    req = PledgeRequest.model_validate(clean_request(peak_sales={"p10": p50 / 2, "p50": p50, "p90": p50 * 2}))
    facts = PledgeFacts.build(req, launch=D("2030-01-01"), launch_basis="test")
    got = revenue.peak_sales(facts).points
    assert abs(got - expected) <= 1e-11, f"p50 {p50!r}: expected {expected} points, got {got!r} (tolerance 1e-11)"
