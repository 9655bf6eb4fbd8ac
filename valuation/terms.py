"""Patent term rules under Chinese law (Patent Law, 2020 amendment, in force 2021-06-01).

- invention: 20 years from the filing date (art. 42);
- utility model: 10 years from filing;
- design: 15 years from filing when filed on or after 2021-06-01, 10 years when filed before;
- new-drug term compensation (art. 42 §3): up to 5 years on an invention patent, and the total
  effective term after marketing approval may not exceed 14 years.

The term runs from the filing date and ends on the day before its anniversary (a patent filed on
2019-05-10 expires at the end of 2039-05-09). Only a granted patent whose term has not run out can
be registered as a pledge (CNIPA pledge registration measures); lapsed and invalidated ones confer
no exclusivity.
"""
from __future__ import annotations

import datetime as dt

from ipledge.valuation.schema import Patent

DESIGN_15Y_FROM = dt.date(2021, 6, 1)
MAX_EXTENSION_YEARS = 5.0
MAX_EFFECTIVE_TERM_AFTER_APPROVAL_YEARS = 14
DAYS_PER_YEAR = 365.25


def add_years(d: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later; 29 February falls back to 28 February."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def statutory_term_years(kind: str, filing_date: dt.date) -> int:
    if kind == "invention":
        return 20
    if kind == "utility_model":
        return 10
    if kind == "design":
        return 15 if filing_date >= DESIGN_15Y_FROM else 10
    raise ValueError(f"unknown patent kind {kind!r}")


def base_expiry(kind: str, filing_date: dt.date) -> dt.date:
    """Last day of the statutory term, before any extension.

    The day before the anniversary; a 29 February filing whose anniversary year has no 29 February
    runs to the end of February (Civil Code art. 202: no corresponding day -> last day of the month).
    """
    anniversary = add_years(filing_date, statutory_term_years(kind, filing_date))
    if anniversary.day != filing_date.day:      # 29 Feb fell back to 28 Feb, the month's last day
        return anniversary
    return anniversary - dt.timedelta(days=1)


def expiry_date(patent: Patent, approval_date: dt.date | None = None) -> dt.date:
    """Expiry including term compensation, capped at 14 years after marketing approval when known."""
    end = base_expiry(patent.kind, patent.filing_date)
    ext = min(patent.term_extension_years, MAX_EXTENSION_YEARS)
    if ext > 0 and patent.kind == "invention":
        extended = end + dt.timedelta(days=round(ext * DAYS_PER_YEAR))
        if approval_date is not None:
            cap = add_years(approval_date, MAX_EFFECTIVE_TERM_AFTER_APPROVAL_YEARS)
            extended = max(end, min(extended, cap))
        end = extended
    return end


def in_force(patent: Patent, as_of: dt.date) -> bool:
    """Granted, not lapsed or invalidated, and its term not yet run out."""
    return patent.status == "granted" and expiry_date(patent) >= as_of


def remaining_term_years(patent: Patent, as_of: dt.date) -> float:
    """Years from ``as_of`` to expiry (0 when expired); pending patents count their would-be term."""
    if patent.status in ("lapsed", "invalidated"):
        return 0.0
    return max(0.0, (expiry_date(patent) - as_of).days / DAYS_PER_YEAR)


def exclusivity_end(patents: list[Patent], as_of: dt.date, include_pending: bool = False) -> dt.date | None:
    """Latest expiry among granted in-force patents (and pending ones when asked); None if there is none."""
    ends = [expiry_date(p) for p in patents
            if in_force(p, as_of) or (include_pending and p.status == "pending")]
    return max(ends) if ends else None


def years_between(a: dt.date, b: dt.date) -> float:
    return (b - a).days / DAYS_PER_YEAR
