"""The facts every scorecard reads (:class:`PledgeFacts`), an indicator's reading and the point rules.

The lowest room of the scorecards: the cards (:mod:`ipledge.valuation.rights`, ``competition``, ``revenue``),
the evidence rows (:mod:`ipledge.valuation.evidence`) and the card machinery
(:mod:`ipledge.valuation.indicators`) build on it; it imports none of them. Dates and rules are described in
:mod:`ipledge.valuation.scorecard`.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ipledge.valuation import terms
from ipledge.valuation.schema import Patent, PledgeRequest

# ----------------------------------------------------------------------------------------------
# Facts shared by all cards
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PledgeFacts:
    """The request plus the dates every card needs, computed once."""

    req: PledgeRequest
    launch: dt.date                       # expected (or actual) launch, also used as approval date
    launch_basis: str                     # how ``launch`` was obtained, for notes
    expiry: dict[str, dt.date] = field(default_factory=dict)

    @classmethod
    def build(cls, req: PledgeRequest, launch: dt.date, launch_basis: str) -> "PledgeFacts":
        expiry = {p.id: terms.expiry_date(p, approval_date=launch) for p in req.patents}
        return cls(req=req, launch=launch, launch_basis=launch_basis, expiry=expiry)

    @property
    def as_of(self) -> dt.date:
        return self.req.as_of

    @property
    def patents(self) -> list[Patent]:
        return self.req.patents

    @property
    def maturity(self) -> dt.date:
        """Loan maturity: as_of + term_years (years of 365.25 days)."""
        return self.as_of + dt.timedelta(days=round(self.req.loan.term_years * terms.DAYS_PER_YEAR))

    def state(self, p: Patent) -> str:
        """'in_force', 'pending' (application whose would-be term has not run out) or 'dead'."""
        alive = self.expiry[p.id] >= self.as_of
        if p.status == "granted" and alive:
            return "in_force"
        if p.status == "pending" and alive:
            return "pending"
        return "dead"

    @property
    def in_force(self) -> list[Patent]:
        return [p for p in self.patents if self.state(p) == "in_force"]

    @property
    def live(self) -> list[Patent]:
        return [p for p in self.patents if self.state(p) != "dead"]

    @property
    def exclusivity_end(self) -> dt.date | None:
        ends = [self.expiry[p.id] for p in self.in_force]
        return max(ends) if ends else None

    def years_to(self, d: dt.date, start: dt.date | None = None) -> float:
        return terms.years_between(start or self.as_of, d)


# ----------------------------------------------------------------------------------------------
# Indicators, knock-outs, cards
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What one indicator found: the input as read, its points 0..100 and a one-line note."""

    value: Any
    points: float
    note: str


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """x within [lo, hi]; at an end the end itself, so a -0.0 reading scores 0.0 points, not -0.0."""
    return lo if x <= lo else hi if x >= hi else x


def ramp(x: float, x0: float, x1: float) -> float:
    """Points 0 at ``x0``, 100 at ``x1``, linear between, flat outside (x1 > x0)."""
    return 100.0 * clamp((x - x0) / (x1 - x0))


def log_ramp(x: float, x0: float, x1: float) -> float:
    """As :func:`ramp` on a log scale; 0 points for x <= 0."""
    return 0.0 if x <= 0 else ramp(math.log(x), math.log(x0), math.log(x1))
