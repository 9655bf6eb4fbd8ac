"""CN patent term rules (valuation/terms.py): statutory terms, the design-patent 2021-06-01 boundary,
leap days, new-drug term compensation and its 14-year cap, and what counts as in force."""
from __future__ import annotations

import datetime as dt

import pytest

from ipledge.valuation import terms
from ipledge.valuation.schema import Patent

D = dt.date.fromisoformat
AS_OF = D("2026-11-01")


def patent(**kw) -> Patent:
    base = {"id": "CN1", "kind": "invention", "status": "granted", "filing_date": "2019-05-10",
            "grant_date": "2022-03-01"}
    base.update(kw)
    if base["status"] == "pending":
        base.pop("grant_date", None)
    return Patent.model_validate(base)


@pytest.mark.parametrize("kind, filing, expected", [
    ("invention", "2019-05-10", "2039-05-09"),        # 20 years, ends the day before the anniversary
    ("utility_model", "2019-05-10", "2029-05-09"),    # 10 years
    ("design", "2021-05-31", "2031-05-30"),           # filed before 2021-06-01: 10 years
    ("design", "2021-06-01", "2036-05-31"),           # filed from 2021-06-01: 15 years
    ("design", "2015-01-01", "2024-12-31"),
    ("invention", "2020-02-29", "2040-02-28"),        # leap day, anniversary exists: day before
    ("utility_model", "2020-02-29", "2030-02-28"),    # leap day, no 29 Feb in 2030: end of February
    ("invention", "2019-12-31", "2039-12-30"),
])
def test_statutory_expiry(kind, filing, expected):
    got = terms.expiry_date(patent(kind=kind, filing_date=filing, grant_date="2022-03-01"))
    assert got == D(expected), f"{kind} filed {filing}: expected {expected}, got {got}"


def test_design_term_boundary_is_the_2021_amendment():
    assert terms.statutory_term_years("design", D("2021-05-31")) == 10
    assert terms.statutory_term_years("design", D("2021-06-01")) == 15
    assert terms.DESIGN_15Y_FROM == D("2021-06-01")


def test_extension_adds_years_without_approval_date():
    p = patent(filing_date="2015-01-01", grant_date="2018-01-01", term_extension_years=5)
    base = D("2034-12-31")
    got = terms.expiry_date(p)
    expected = base + dt.timedelta(days=round(5 * 365.25))
    assert got == expected, f"expected {expected}, got {got}"


@pytest.mark.parametrize("approval, expected", [
    ("2024-06-01", "2038-06-01"),   # 14 years after approval caps the 5-year compensation
    ("2027-03-01", None),           # cap 2041-03-01 is beyond base + 5 y: the full extension counts
    ("2015-06-01", "2034-12-31"),   # cap before the statutory end: the statutory term still stands
])
def test_extension_capped_14_years_after_approval(approval, expected):
    p = patent(filing_date="2015-01-01", grant_date="2018-01-01", term_extension_years=5)
    got = terms.expiry_date(p, approval_date=D(approval))
    want = D(expected) if expected else D("2034-12-31") + dt.timedelta(days=round(5 * 365.25))
    assert got == want, f"approval {approval}: expected {want}, got {got}"


def test_extension_never_applies_to_other_kinds_and_schema_refuses_it():
    with pytest.raises(Exception, match="invention patents only"):
        patent(kind="utility_model", term_extension_years=1)


@pytest.mark.parametrize("status, in_force", [
    ("granted", True), ("pending", False), ("lapsed", False), ("invalidated", False),
])
def test_in_force_needs_a_granted_live_patent(status, in_force):
    p = patent(status=status)
    assert terms.in_force(p, AS_OF) is in_force, f"{status}: expected in_force={in_force}"


def test_expired_granted_patent_is_not_in_force():
    p = patent(filing_date="2005-03-01", grant_date="2008-03-01")   # expired 2025-02-28
    assert not terms.in_force(p, AS_OF)
    assert terms.in_force(p, D("2025-02-28")) and not terms.in_force(p, D("2025-03-01"))


def test_remaining_term():
    p = patent()
    got = terms.remaining_term_years(p, AS_OF)
    expected = (D("2039-05-09") - AS_OF).days / 365.25
    assert abs(got - expected) < 1e-12, f"expected {expected}, got {got}"
    assert terms.remaining_term_years(patent(status="lapsed"), AS_OF) == 0.0
    assert terms.remaining_term_years(patent(status="invalidated"), AS_OF) == 0.0
    assert terms.remaining_term_years(patent(filing_date="2000-01-01", grant_date="2003-01-01"), AS_OF) == 0.0


def test_exclusivity_end_latest_in_force():
    a = patent(id="A", filing_date="2015-01-01", grant_date="2018-01-01")
    b = patent(id="B", filing_date="2019-05-10")
    c = patent(id="C", status="pending", filing_date="2024-01-01")
    d = patent(id="D", status="lapsed", filing_date="2023-01-01", grant_date="2024-01-01")
    assert terms.exclusivity_end([a, b, c, d], AS_OF) == D("2039-05-09")
    assert terms.exclusivity_end([a, b, c, d], AS_OF, include_pending=True) == D("2043-12-31")
    assert terms.exclusivity_end([c, d], AS_OF) is None
