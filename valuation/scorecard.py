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

- ``rights_certainty``      legal value       -> :mod:`ipledge.valuation.rights`
- ``competitive_contribution`` technical value -> :mod:`ipledge.valuation.competition`
- ``revenue_potential``     economic value    -> :mod:`ipledge.valuation.revenue`

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
capped at 14 years after the (expected) approval (``ipledge.valuation.terms``); for a product not yet approved
the approval date is the expected launch computed in :mod:`ipledge.valuation.revenue`, for an approved one
1 July of ``launch_year``. "In force" = granted and that expiry not passed; "live" = in force, or
pending with its would-be term not run out. ``exclusivity_end`` = latest expiry among in-force
patents (pending ones are not counted here: the simulator weighs them by their grant probability).
"""
from __future__ import annotations

from ipledge.valuation import competition, gbt42748, revenue, rights
from ipledge.valuation.facts import PledgeFacts, Reading, clamp, log_ramp, ramp  # noqa: F401  (re-exported)
from ipledge.valuation.indicators import (  # noqa: F401  (re-exported: the machinery's public names)
    Card, Indicator, Knockout, all_patents, best_of, cny, id_list, ids, indicator_row, plural, worst_of)
from ipledge.valuation.schema import PledgeRequest

CARD_KEYS = ("rights_certainty", "competitive_contribution", "revenue_potential")


def score_request(req: PledgeRequest) -> dict:
    """The ``scores`` object of response schema v1 (DESIGN §5) plus ``exclusivity_end`` and ``gbt42748``
    (the GB/T 42748-2023 coverage, :mod:`ipledge.valuation.gbt42748`; an assessment replaces it with the
    simulation's derived quantities).

    Deterministic: the same request always gives the same dict.
    """
    launch, basis = revenue.expected_launch(req.product, req.as_of)
    facts = PledgeFacts.build(req, launch, basis)
    out = {
        "rights_certainty": rights.CARD.evaluate(facts),
        "competitive_contribution": competition.evaluate(facts),
        "revenue_potential": revenue.CARD.evaluate(facts),
    }
    end = facts.exclusivity_end
    out["exclusivity_end"] = end.isoformat() if end else None
    out["gbt42748"] = gbt42748.crosswalk(out, req)
    return out
