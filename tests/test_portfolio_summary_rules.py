"""The portfolio summary and the fund's yearly caps (ipledge.risk.portfolio) in small monetary units, by hand.

Losses below 1 CNY are losses: EL and ES shares, and the years in which the fund pays, must not depend on the
unit. The yearly caps: each loan's fund compensation is its share of the loss capped per loan; the loans of one
enterprise are scaled together to the per-enterprise cap when their total exceeds it (and only then, however
small the cap); compensation falls in the calendar year as_of.year + default period.
"""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from ipledge.risk import portfolio as pf
from risk_helpers import case


def pledge(name, area, amount, scheme="none", year=2026):
    return NS(loan=NS(amount=amount), applicant=NS(name=name), as_of=dt.date(year, 1, 1),
              product=NS(name=f"{name} drug", therapeutic_area=area, stage="phase2", vbp_exposure="low"),
              sharing=NS(scheme=scheme))


def small_book(n):
    return NS(pledges=[pledge("A", "oncology", 1.0), pledge("B", "other", 3.0)], paths=n, seed=1, chunk_paths=n,
              factors=pf.FactorModel.off())


def test_shares_of_a_book_whose_losses_are_below_one_unit():
    loss = np.array([[0.3, 0.1, 0.1, 0.0],
                     [0.0, 0.3, 0.0, 0.1]])
    # totals 0.3, 0.4, 0.1, 0.1: EL 0.225; the worst ceil(1% x 4) = 1 path is path 1: ES 0.4 (0.1 + 0.3)
    out = pf.summarise(small_book(4), loss, loss > 0)
    assert out["expected_loss"] == pytest.approx(0.225, rel=1e-12) and out["es_99"] == pytest.approx(0.4, rel=1e-12)
    want = [(0.125 / 0.225, 0.1, 0.25), (0.1 / 0.225, 0.3, 0.75)]      # (EL share, ES contribution, ES share)
    for ln, (el_share, es_c, es_share) in zip(out["loans"], want):
        got = (ln["el_contribution"], ln["es_contribution"], ln["es_share"])
        assert got == pytest.approx((el_share, es_c, es_share), rel=1e-12), \
            f"loan {ln['index']}: expected (EL share, ES contribution, ES share) {(el_share, es_c, es_share)}, got {got}"
    areas = {a["therapeutic_area"]: a for a in out["concentration"]["by_therapeutic_area"]}
    for area, (el_share, _, es_share) in zip(("oncology", "other"), want):
        got = (areas[area]["el_share"], areas[area]["es_share"])
        assert got == pytest.approx((el_share, es_share), rel=1e-12), f"{area}: expected {(el_share, es_share)}, got {got}"


def test_two_paths_have_a_standard_error():
    loss = np.array([[0.3, 0.1], [0.0, 0.0]])
    out = pf.summarise(small_book(2), loss, loss > 0)
    # sd (ddof 1) of 0.3 and 0.1 is 0.2 / sqrt(2); divided by sqrt(2) paths: 0.1
    assert out["mc_std_error_el"] == pytest.approx(0.1, rel=1e-12), out["mc_std_error_el"]


def test_a_book_without_losses_has_no_shares():
    out = pf.summarise(small_book(3), np.zeros((2, 3)), np.zeros((2, 3), bool))
    for a in out["concentration"]["by_therapeutic_area"]:
        assert (a["el_share"], a["es_share"]) == (0.0, 0.0), a
    for ln in out["loans"]:
        assert (ln["el_contribution"], ln["es_share"]) == (0.0, 0.0), ln


def custom(caps, name):
    sharing = {"scheme": "custom", "shares": {"bank": 0.5, "fund": 0.5}, "caps": caps}
    return case("oncology_antibody_phase2", applicant={"name": name}, sharing=sharing)


def by_year(out):
    assert len(out) == 1, out
    return {r["year"]: (r["expected_compensation"], r["prob_cap_binds"]) for r in out[0]["by_year"]}


def test_a_compensation_below_one_unit_is_paid_in_its_year():
    # Guangzhou 2023: fund 50%; a loss of 1 CNY in period 1 of a 2026 loan is 0.5 CNY paid in 2027
    book = NS(pledges=[pledge("A", "oncology", 1e6, "guangzhou_2023")])
    out = pf.yearly_caps(book, np.array([[1.0, 0.0]]), np.array([[1, 0]]))
    assert by_year(out) == {2027: (pytest.approx(0.25, rel=1e-12), 0.0)}, out


def test_two_loans_of_one_enterprise_over_its_cap_are_scaled_together():
    caps = {"per_loan": 10.0, "per_enterprise": 15.0, "per_year": 12.0}
    pledges = [custom(caps, "X"), custom(caps, "X"), custom(caps, "Y")]
    y0 = pledges[0].as_of.year
    loss = np.array([[30.0, 30.0], [30.0, 0.0], [30.0, 0.0]])
    period = np.array([[1, 1], [1, 0], [2, 0]])
    out = pf.yearly_caps(NS(pledges=pledges), loss, period)
    # path 0: X's loans 10 + 10 (per-loan cap) = 20 > 15: scaled by 3/4 to 7.5 each, all in y0 + 1: 15 > 12;
    #         Y's 10 in y0 + 2. Path 1: X's first loan alone, 10 < 15: not scaled, 10 in y0 + 1.
    want = {y0 + 1: (pytest.approx((15 + 10) / 2, rel=1e-12), 0.5), y0 + 2: (pytest.approx(10 / 2, rel=1e-12), 0.0)}
    assert by_year(out) == want, f"expected {want}, got {out}"
    assert out[0]["prob_yearly_cap_binds"] == 0.5 and out[0]["first_year_cap_binds"] == y0 + 1, out


def test_an_enterprise_cap_below_one_unit_scales_by_the_cap_over_the_total():
    caps = {"per_enterprise": 0.5, "per_year": 0.6}
    pledges = [custom(caps, "X"), custom(caps, "X")]
    y0 = pledges[0].as_of.year
    out = pf.yearly_caps(NS(pledges=pledges), np.array([[0.8], [0.8]]), np.array([[1], [1]]))
    # compensations 0.4 + 0.4 = 0.8 > 0.5: scaled by 0.5 / 0.8 to 0.25 each: 0.5 paid in y0 + 1, under 0.6
    assert by_year(out) == {y0 + 1: (pytest.approx(0.5, rel=1e-12), 0.0)}, out


def test_a_total_equal_to_its_enterprise_cap_is_paid_in_full_however_small_the_cap():
    cap = 2.0 ** -1030                                  # a (subnormal) cap below the 1e-300 guard against 0 / 0
    caps = {"per_enterprise": cap, "per_year": 1.0}
    pledges = [custom(caps, "X"), custom(caps, "X")]
    y0 = pledges[0].as_of.year
    out = pf.yearly_caps(NS(pledges=pledges), np.full((2, 1), cap), np.array([[1], [1]]))
    # compensations cap / 2 each (exact in binary): total = cap, not over it: paid in full
    got = by_year(out)
    assert got == {y0 + 1: (cap, 0.0)}, f"expected {cap!r} paid in {y0 + 1}, got {got}"
    assert math.isfinite(cap) and cap > 0


@pytest.mark.parametrize("caps, paid", [
    ({"per_enterprise": 5e6, "per_year": 6e6}, 5e6),                       # the enterprise cap alone
    ({"per_loan": 8e6, "per_enterprise": 5e6, "per_year": 6e6}, 5e6),      # the lower of the two
    ({"per_loan": 4e6, "per_enterprise": 5e6, "per_year": 6e6}, 4e6),
])
def test_a_lone_loan_is_held_to_its_enterprise_cap_as_in_its_own_loss_split(caps, paid):
    """A 40m loss on a 50% fund share is 20m before caps; the fund pays at most min(per loan, per enterprise)
    for an enterprise with one loan, as credit.split_paths pays it, so the 6m yearly cap never binds. Before the
    fix the yearly view paid 20m (or the per-loan cap) and reported the yearly cap binding on every path."""
    pledges = [custom(caps, "X")]
    y0 = pledges[0].as_of.year
    out = pf.yearly_caps(NS(pledges=pledges), np.array([[40e6]]), np.array([[1]]))
    assert by_year(out) == {y0 + 1: (pytest.approx(paid, rel=1e-12), 0.0)}, (
        f"caps {caps}, loss 40m at 50%: expected {paid:,.0f} paid in {y0 + 1}, cap not binding; got {out}")
