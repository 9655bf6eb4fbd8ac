"""CN patent term rules (valuation/terms.py) beyond tests/test_terms.py: fractional term compensation,
the module's own limits (5 years, invention patents only) even for a patent built without the schema's
checks, calendar arithmetic, and the remaining term of pending and dead patents."""
from __future__ import annotations

import datetime as dt

import pytest

from ipledge.valuation import terms
from ipledge.valuation.schema import Patent

D = dt.date.fromisoformat
AS_OF = D("2026-11-01")


def built(**kw) -> Patent:
    """A patent built without validation (the module must apply its own rules)."""
    base = {"id": "CN1", "kind": "invention", "status": "granted", "filing_date": D("2015-01-01"),
            "grant_date": D("2018-01-01"), "term_extension_years": 0.0}
    base.update(kw)
    return Patent.model_construct(**base)


@pytest.mark.parametrize("years, days", [(0.5, 183), (1.0, 365), (2.0, 730), (3.7, 1351), (5.0, 1826)])
def test_compensation_adds_the_years_in_365_25_day_years(years, days):
    got = terms.expiry_date(built(term_extension_years=years))
    expected = D("2034-12-31") + dt.timedelta(days=days)
    assert got == expected, f"{years} y compensation on 2034-12-31: expected {expected}, got {got}"


def test_compensation_is_capped_at_5_years_by_the_module_itself():
    got = terms.expiry_date(built(term_extension_years=7.0))
    expected = D("2034-12-31") + dt.timedelta(days=1826)
    assert got == expected, f"7 y asked: expected the 5-year maximum {expected}, got {got}"


@pytest.mark.parametrize("kind, base", [("utility_model", "2024-12-31"), ("design", "2024-12-31")])
def test_compensation_never_extends_other_kinds(kind, base):
    got = terms.expiry_date(built(kind=kind, term_extension_years=3.0), approval_date=D("2016-01-01"))
    assert got == D(base), f"{kind}: expected the statutory {base}, got {got}"


def test_cap_exactly_on_the_extended_end_and_no_extension_ignores_the_cap():
    # extended end 2034-12-31 + 1826 d = 2039-12-31; approval 2025-12-31 -> cap 2039-12-31: equal, unchanged
    assert terms.expiry_date(built(term_extension_years=5.0), approval_date=D("2025-12-31")) == D("2039-12-31")
    # no compensation: the cap is irrelevant even when it would be earlier than the statutory end
    assert terms.expiry_date(built(), approval_date=D("2010-01-01")) == D("2034-12-31")


@pytest.mark.parametrize("start, years, expected", [
    ("2020-02-29", 1, "2021-02-28"), ("2020-02-29", 4, "2024-02-29"), ("2019-05-10", 20, "2039-05-10"),
    ("2021-12-31", 14, "2035-12-31"), ("2024-02-29", 15, "2039-02-28"), ("2024-02-29", 13, "2037-02-28"),
])
def test_add_years(start, years, expected):
    assert terms.add_years(D(start), years) == D(expected)


@pytest.mark.parametrize("kind, filing, years", [
    ("invention", "2000-01-01", 20), ("utility_model", "2022-01-01", 10), ("design", "2021-05-31", 10),
    ("design", "2021-06-01", 15), ("design", "2030-01-01", 15),
])
def test_statutory_term_years(kind, filing, years):
    assert terms.statutory_term_years(kind, D(filing)) == years


def test_leap_day_design_runs_to_the_end_of_february():
    # 15 years from 2024-02-29: 2039 has no 29 February, so the term ends on 2039-02-28 (Civil Code art. 202)
    assert terms.base_expiry("design", D("2024-02-29")) == D("2039-02-28")


def test_kind_read_at_run_time_is_compared_by_value():
    kind = "".join(["des", "ign"])      # a string built at run time, as read from a file, not a literal
    assert terms.statutory_term_years(kind, D("2022-01-01")) == 15


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown patent kind 'plant'"):
        terms.statutory_term_years("plant", D("2020-01-01"))


def test_remaining_term_of_pending_and_dead_patents():
    pending = built(status="pending", grant_date=None, filing_date=D("2024-01-01"))    # would run to 2043-12-31
    got = terms.remaining_term_years(pending, AS_OF)
    expected = (D("2043-12-31") - AS_OF).days / 365.25
    assert abs(got - expected) < 1e-12, f"pending: expected {expected}, got {got}"
    assert terms.remaining_term_years(built(), D("2034-12-31")) == 0.0
    assert terms.remaining_term_years(built(), D("2035-06-30")) == 0.0, "never negative"
    assert abs(terms.remaining_term_years(built(), D("2033-12-31")) - 365 / 365.25) < 1e-12


def test_in_force_uses_the_extended_expiry():
    p = built(term_extension_years=2.0)           # 2034-12-31 + 730 d = 2036-12-30
    assert terms.in_force(p, D("2036-12-30")) and not terms.in_force(p, D("2036-12-31"))


def test_exclusivity_end_counts_pending_only_when_asked_and_never_dead_ones():
    granted = built(id="G", filing_date=D("2015-01-01"))
    pending = built(id="P", status="pending", grant_date=None, filing_date=D("2016-01-01"))
    lapsed = built(id="L", status="lapsed", filing_date=D("2020-01-01"))
    assert terms.exclusivity_end([granted, pending, lapsed], AS_OF) == D("2034-12-31")
    assert terms.exclusivity_end([granted, pending, lapsed], AS_OF, include_pending=True) == D("2035-12-31")
    assert terms.exclusivity_end([lapsed], AS_OF, include_pending=True) is None


def test_years_between():
    assert terms.years_between(D("2026-01-01"), D("2027-01-01")) == 365 / 365.25
    assert terms.years_between(D("2027-01-01"), D("2026-01-01")) == -365 / 365.25
