"""The machinery the three cards share: indicators, knock-outs, a card's weighted score, and the
aggregation helpers (best of / worst of a bundle of patents) described in :mod:`ipledge.valuation.scorecard`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ipledge.valuation import evidence
from ipledge.valuation.facts import PledgeFacts, Reading, clamp
from ipledge.valuation.schema import Patent


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
    return evidence.apply(key, rows, facts, lambda e, r: indicator_row(Indicator(e.name, e.weight, None), r))


def indicator_row(ind: Indicator, r: Reading) -> dict:
    points = round(clamp(float(r.points), 0.0, 100.0), 1)
    return {"name": ind.name, "value": r.value, "points": points, "weight": ind.weight, "note": r.note}


# ----------------------------------------------------------------------------------------------
# Small point-mapping and aggregation helpers
# ----------------------------------------------------------------------------------------------


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
    """Money as a loan officer says it: CNY 600m, CNY 1.5bn (never in exponent notation)."""
    if x >= 999.5e6:                 # from here three significant figures in millions would read "1e+03m"
        bn = x / 1e9
        return f"CNY {bn:.3g}bn" if bn < 999.5 else f"CNY {bn:,.0f}bn"
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
