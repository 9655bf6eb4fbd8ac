"""Helpers for the scorecard tests with absolute expectations: build a request that differs from the
clean one (tests/test_scorecards.py) in one input, read one indicator row, and compare its points with a
value computed by hand from the rule in the card's docstring (inputs, expected, got and tolerance are
printed on failure)."""
from __future__ import annotations

import datetime as dt
import json

from test_scorecards import AS_OF, clean_patent, clean_request, scores_of

__all__ = ["AS_OF", "D", "clean_patent", "clean_request", "expect_points", "patent", "row", "score", "scores_of"]

D = dt.date.fromisoformat
R, C, V = "rights_certainty", "competitive_contribution", "revenue_potential"
POINTS_TOL = 0.05     # the response rounds points to one decimal


def patent(**over) -> dict:
    """``clean_patent`` with ``over``; a pending application gets no grant date."""
    p = clean_patent(**over)
    if p["status"] == "pending":
        p.pop("grant_date", None)
    return p


def score(patents: list[dict] | None = None, **over) -> dict:
    return scores_of(clean_request(patents, **over))


def row(scores: dict, card: str, name: str) -> dict:
    rows = [r for r in scores[card]["indicators"] if r["name"] == name]
    assert len(rows) == 1, f"{card}: expected one indicator {name!r}, got {[r['name'] for r in scores[card]['indicators']]}"
    return rows[0]


def expect_points(card: str, name: str, expected: float, patents: list[dict] | None = None,
                  tol: float = POINTS_TOL, **over) -> dict:
    """Score the clean request with ``patents`` / ``over`` and check one indicator's points."""
    s = score(patents, **over)
    r = row(s, card, name)
    inputs = json.dumps({"patents": patents, **over}, default=str)
    assert abs(r["points"] - expected) <= tol, (
        f"{card}/{name}: inputs {inputs}\n expected {expected:.4f}, got {r['points']} (tolerance {tol}); row {r}")
    return r
