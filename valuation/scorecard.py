"""The three valuation scorecards of a pledge and the machinery they share (DESIGN.md §5-6).

A scorecard is a table of indicators. Each indicator reads one aspect of the request, maps it to
points 0..100 with a documented rule and carries a weight; the card's score is the weighted mean of
the points (weights sum to 1 per card, points and score are rounded to one decimal and the score is
the weighted mean of the *rounded* points, so a reader can recompute it from the response). Every
indicator is reported with the input as a loan officer reads it (``value``) and a one-line note.
Knock-outs (conditions under which a lender will not take the pledge at all) are listed beside the
score, never folded into a low number: the decision layer declines on any of them and the readiness
page lists them as blockers with their ``fix``.

The cards follow GB/T 42748-2023 (Patent evaluation guideline, CNIPA / PBoC / NFRA), which values a
patent on three first-level indicators, legal, technical and economic value (14 second-level, 27
third-level indicators, weights chosen per use case; the finance use case is ours):

- ``rights_certainty``      legal value       -> :mod:`valuation.rights`
- ``competitive_contribution`` technical value -> :mod:`valuation.competition`
- ``revenue_potential``     economic value    -> :mod:`valuation.revenue`

Several patents in one request. A bank registers the pledge on every listed patent and, on default,
sells them as one bundle. So two aggregation rules cover every per-patent indicator:

- *best of* for what the bundle gives the bank: status and type, remaining term, claim breadth,
  claim type, forward citations (the strongest patent of the bundle is what a buyer pays for), and the
  *union* of jurisdictions;
- *worst of* for defects, over **every** listed patent whatever its status: invalidation, ownership,
  encumbrances, fees, litigation, dependency. One defective patent clouds the whole registration, and
  challengers attack the patent that blocks them, i.e. the one that matters. Counting defects on all
  patents (not only the in-force ones) also keeps the scores monotone: granting a pending patent
  never brings a new defect into view.

Both rules are monotone, which is what makes the properties of DESIGN §6 hold: improving one input of
one patent in the favourable direction never lowers its card's score.

Dates shared by the cards (:class:`PledgeFacts`): a patent's expiry includes its term compensation,
capped at 14 years after the (expected) approval (``valuation.terms``); for a product not yet approved
the approval date is the expected launch computed in :mod:`valuation.revenue`, for an approved one
1 July of ``launch_year``. "In force" = granted and that expiry not passed; "live" = in force, or
pending with its would-be term not run out. ``exclusivity_end`` = latest expiry among in-force
patents (pending ones are not counted here: the simulator weighs them by their grant probability).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from valuation import terms
from valuation.schema import Patent, PledgeRequest

CARD_KEYS = ("rights_certainty", "competitive_contribution", "revenue_potential")


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


@dataclass(frozen=True)
class Indicator:
    name: str
    weight: float
    read: Callable[[PledgeFacts], Reading]


@dataclass(frozen=True)
class Knockout:
    code: str
    patents: list[str]
    message: str
    fix: str

    def as_dict(self) -> dict:
        return {"code": self.code, "patents": list(self.patents), "message": self.message, "fix": self.fix}


KnockoutRule = Callable[[PledgeFacts], "Knockout | None"]


@dataclass(frozen=True)
class Card:
    key: str
    indicators: tuple[Indicator, ...]
    knockouts: tuple[KnockoutRule, ...] = ()

    def __post_init__(self) -> None:
        total = sum(i.weight for i in self.indicators)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"{self.key}: indicator weights sum to {total}, not 1")
        names = [i.name for i in self.indicators]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: indicator names repeat")

    def evaluate(self, facts: PledgeFacts) -> dict:
        rows = [indicator_row(i, i.read(facts)) for i in self.indicators]
        rows = _with_evidence(self.key, rows, facts)
        score = round(sum(r["points"] * r["weight"] for r in rows), 1)
        kos = [k.as_dict() for rule in self.knockouts if (k := rule(facts)) is not None]
        return {"score": clamp(score, 0.0, 100.0), "indicators": rows, "knockouts": kos}


def _with_evidence(key: str, rows: list[dict], facts: PledgeFacts) -> list[dict]:
    """Rows plus the request's GB/T 42748 evidence for this card (none given: rows unchanged)."""
    from valuation import evidence  # builds on this module's machinery

    return evidence.apply(key, rows, facts, lambda e, r: indicator_row(Indicator(e.name, e.weight, None), r))


def indicator_row(ind: Indicator, r: Reading) -> dict:
    points = round(clamp(float(r.points), 0.0, 100.0), 1)
    return {"name": ind.name, "value": r.value, "points": points, "weight": ind.weight, "note": r.note}


# ----------------------------------------------------------------------------------------------
# Small point-mapping and aggregation helpers
# ----------------------------------------------------------------------------------------------

def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def ramp(x: float, x0: float, x1: float) -> float:
    """Points 0 at ``x0``, 100 at ``x1``, linear between, flat outside (x1 > x0)."""
    return 100.0 * clamp((x - x0) / (x1 - x0))


def log_ramp(x: float, x0: float, x1: float) -> float:
    """As :func:`ramp` on a log scale; 0 points for x <= 0."""
    return 0.0 if x <= 0 else ramp(math.log(x), math.log(x0), math.log(x1))


def best_of(patents: Iterable[Patent], points: Callable[[Patent], float]) -> tuple[float, Patent | None]:
    """Highest points among ``patents`` and the first patent reaching them; (0, None) if empty."""
    best, who = 0.0, None
    for p in patents:
        pts = points(p)
        if who is None or pts > best:
            best, who = pts, p
    return best, who


def worst_of(patents: Iterable[Patent], points: Callable[[Patent], float]) -> tuple[float, Patent | None]:
    """Lowest points among ``patents`` and the first patent reaching them; (100, None) if empty."""
    worst, who = 100.0, None
    for p in patents:
        pts = points(p)
        if who is None or pts < worst:
            worst, who = pts, p
    return worst, who


def ids(patents: Iterable[Patent]) -> list[str]:
    return [p.id for p in patents]


def id_list(patents: Iterable[Patent], limit: int = 3) -> str:
    """'CN1, CN2 and 3 more' for notes."""
    names = ids(patents)
    head = ", ".join(names[:limit])
    return head if len(names) <= limit else f"{head} and {len(names) - limit} more"


def cny(x: float) -> str:
    """Money as a loan officer says it: CNY 600m, CNY 1.5bn."""
    if x >= 1e9:
        return f"CNY {x / 1e9:.3g}bn"
    if x >= 1e6:
        return f"CNY {x / 1e6:.3g}m"
    return f"CNY {x:,.0f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def all_patents(n: int, quantifier: str = "all") -> str:
    """'the patent', 'both patents' / 'either patent', 'all 3 patents' / 'any of the 3 patents'."""
    if n == 1:
        return "the patent"
    if n == 2:
        return "both patents" if quantifier == "all" else "either patent"
    return f"all {n} patents" if quantifier == "all" else f"any of the {n} patents"


# ----------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------

def score_request(req: PledgeRequest) -> dict:
    """The ``scores`` object of response schema v1 (DESIGN §5) plus ``exclusivity_end`` and ``gbt42748``
    (the GB/T 42748-2023 coverage, :mod:`valuation.gbt42748`; an assessment replaces it with the
    simulation's derived quantities).

    Deterministic: the same request always gives the same dict.
    """
    # The card modules build on this module's machinery, so they are imported here, not at the top.
    from valuation import competition, revenue, rights

    launch, basis = revenue.expected_launch(req.product, req.as_of)
    facts = PledgeFacts.build(req, launch, basis)
    out = {
        "rights_certainty": rights.CARD.evaluate(facts),
        "competitive_contribution": competition.evaluate(facts),
        "revenue_potential": revenue.CARD.evaluate(facts),
    }
    end = facts.exclusivity_end
    out["exclusivity_end"] = end.isoformat() if end else None
    from valuation import gbt42748

    out["gbt42748"] = gbt42748.crosswalk(out, req)
    return out
