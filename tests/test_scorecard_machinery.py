"""The machinery the three cards share (valuation/scorecard.py): point mappings, best/worst-of
aggregation, the facts every card reads (maturity, in force / pending / dead, exclusivity end), how a
card turns readings into rows and a score, and the helpers that write notes. Expected values are the
rules of the docstrings, written out by hand."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from ipledge.valuation import scorecard
from ipledge.valuation.schema import PledgeRequest
from ipledge.valuation.scorecard import (
    Card, Indicator, Knockout, PledgeFacts, Reading, all_patents, best_of, clamp, cny, id_list, log_ramp, plural, ramp,
    score_request, worst_of,
)
from valuation_helpers import AS_OF, D, clean_request, patent


def facts_of(patents=None, **over) -> PledgeFacts:
    req = PledgeRequest.model_validate(clean_request(patents, **over))
    return PledgeFacts.build(req, launch=D("2030-01-01"), launch_basis="test launch")


@pytest.mark.parametrize("x, lo, hi, expected", [
    (0.5, 0.0, 1.0, 0.5), (-0.1, 0.0, 1.0, 0.0), (1.2, 0.0, 1.0, 1.0), (0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 1.0, 1.0),
    (150.0, 0.0, 100.0, 100.0), (-3.0, 0.0, 100.0, 0.0), (42.0, 0.0, 100.0, 42.0),
])
def test_clamp(x, lo, hi, expected):
    assert clamp(x, lo, hi) == expected, f"clamp({x}, {lo}, {hi}): expected {expected}, got {clamp(x, lo, hi)}"


def test_clamp_defaults_to_the_unit_interval():
    assert (clamp(-1.0), clamp(0.25), clamp(3.0)) == (0.0, 0.25, 1.0)


@pytest.mark.parametrize("x, expected", [(2.0, 0.0), (1.0, 0.0), (3.0, 25.0), (6.0, 100.0), (9.0, 100.0), (4.5, 62.5)])
def test_ramp_is_0_at_x0_100_at_x1_linear_between(x, expected):
    got = ramp(x, 2.0, 6.0)
    assert abs(got - expected) < 1e-12, f"ramp({x}, 2, 6): expected {expected}, got {got}"


@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (-5.0, 0.0), (0.5, 0.0), (1.0, 0.0), (10.0, 0.0), (100.0, 50.0),
                                         (1000.0, 100.0), (1e6, 100.0)])
def test_log_ramp(x, expected):
    got = log_ramp(x, 10.0, 1000.0)
    assert abs(got - expected) < 1e-9, f"log_ramp({x}, 10, 1000): expected {expected}, got {got}"


@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (0.1, 0.0), (0.5, 100.0 * 0.5 * (1.0 - 0.6931471805599453 / 2.302585092994046)),
                                         (1.0, 50.0), (10.0, 100.0)])
def test_log_ramp_below_one(x, expected):
    # x0 = 0.1, x1 = 10: 1 is the midpoint on a log scale; 0 points only at or below x0 (and for x <= 0)
    got = log_ramp(x, 0.1, 10.0)
    assert abs(got - expected) < 1e-9, f"log_ramp({x}, 0.1, 10): expected {expected}, got {got}"


def test_best_and_worst_of_return_the_first_patent_reaching_the_extreme():
    pts = {"A": 30.0, "B": 70.0, "C": 70.0, "D": 10.0, "E": 10.0}
    items = [type("P", (), {"id": k})() for k in pts]
    best, who = best_of(items, lambda p: pts[p.id])
    assert (best, who.id) == (70.0, "B"), f"expected (70.0, 'B'), got {(best, who.id)}"
    worst, who = worst_of(items, lambda p: pts[p.id])
    assert (worst, who.id) == (10.0, "D"), f"expected (10.0, 'D'), got {(worst, who.id)}"
    assert best_of([], lambda p: 1.0) == (0.0, None) and worst_of([], lambda p: 1.0) == (100.0, None)
    neg = [items[0]]
    assert best_of(neg, lambda p: -5.0)[0] == -5.0 and worst_of(neg, lambda p: 250.0)[0] == 250.0


@pytest.mark.parametrize("names, limit, expected", [
    (["A"], 3, "A"), (["A", "B", "C"], 3, "A, B, C"), (["A", "B", "C", "D"], 3, "A, B, C and 1 more"),
    (["A", "B", "C", "D", "E", "F"], 3, "A, B, C and 3 more"), (["A", "B", "C"], 2, "A, B and 1 more"),
])
def test_id_list(names, limit, expected):
    items = [type("P", (), {"id": n})() for n in names]
    assert id_list(items, limit) == expected and scorecard.ids(items) == names


def test_id_list_default_limit_is_three():
    items = [type("P", (), {"id": n})() for n in "ABCD"]
    assert id_list(items) == "A, B, C and 1 more"


@pytest.mark.parametrize("x, expected", [
    (6e8, "CNY 600m"), (1.5e9, "CNY 1.5bn"), (1e9, "CNY 1bn"), (5e9, "CNY 5bn"), (1e6, "CNY 1m"),
    (2.5e7, "CNY 25m"), (999_999, "CNY 999,999"), (0, "CNY 0"), (1234.4, "CNY 1,234"),
])
def test_cny(x, expected):
    assert cny(x) == expected, f"cny({x}): expected {expected!r}, got {cny(x)!r}"


@pytest.mark.parametrize("n, word, expected", [(0, "claim", "0 claims"), (1, "claim", "1 claim"),
                                               (2, "claim", "2 claims")])
def test_plural(n, word, expected):
    assert plural(n, word) == expected


@pytest.mark.parametrize("n, quantifier, expected", [
    (1, "all", "the patent"), (1, "any of", "the patent"), (2, "all", "both patents"), (2, "any of", "either patent"),
    (3, "all", "all 3 patents"), (3, "any of", "any of the 3 patents"),
])
def test_all_patents(n, quantifier, expected):
    assert all_patents(n, quantifier) == expected


def test_all_patents_default_quantifier_is_all():
    assert all_patents(2) == "both patents"


# --- facts -----------------------------------------------------------------------------------
@pytest.mark.parametrize("term, days", [(0.5, 183), (1, 365), (3, 1096), (10, 3652)])   # 3652.5 rounds half to even
def test_maturity_is_as_of_plus_the_term_in_365_25_day_years(term, days):
    f = facts_of(loan={"amount": 1e7, "term_years": term})
    assert f.maturity == AS_OF + dt.timedelta(days=days), f"term {term}: expected +{days} days, got {f.maturity}"


def test_states_and_exclusivity_end():
    patents = [
        patent(id="G", filing_date="2019-05-10"),                                      # in force to 2039-05-09
        patent(id="EDGE", filing_date="2006-11-02", grant_date="2009-01-01"),          # ends on as_of: in force
        patent(id="OLD", filing_date="2006-11-01", grant_date="2009-01-01"),           # ended the day before
        patent(id="P", status="pending", filing_date="2024-01-01"),                    # pending, would run to 2043
        patent(id="PDEAD", status="pending", filing_date="2006-10-01"),                # would-be term over
        patent(id="L", status="lapsed", filing_date="2024-01-01", grant_date="2025-01-01"),
        patent(id="I", status="invalidated", filing_date="2024-01-01", grant_date="2025-01-01"),
    ]
    f = facts_of(patents)
    got = {p.id: f.state(p) for p in f.patents}
    assert got == {"G": "in_force", "EDGE": "in_force", "OLD": "dead", "P": "pending", "PDEAD": "dead",
                   "L": "dead", "I": "dead"}, got
    assert [p.id for p in f.in_force] == ["G", "EDGE"] and [p.id for p in f.live] == ["G", "EDGE", "P"]
    assert f.exclusivity_end == D("2039-05-09"), "pending applications do not count for exclusivity"
    assert f.as_of == AS_OF and f.launch == D("2030-01-01") and f.launch_basis == "test launch"
    assert abs(f.years_to(D("2039-05-09")) - (D("2039-05-09") - AS_OF).days / 365.25) < 1e-12
    assert abs(f.years_to(D("2039-05-09"), start=D("2030-01-01")) - (D("2039-05-09") - D("2030-01-01")).days / 365.25) < 1e-12
    assert facts_of([patents[3], patents[5]]).exclusivity_end is None


def test_expiry_uses_the_launch_as_approval_for_the_14_year_cap():
    p = patent(filing_date="2020-01-10", grant_date="2023-01-10", term_extension_years=5)
    f = facts_of([p])
    assert f.expiry[p["id"]] == D("2044-01-01"), f"14 years after the 2030-01-01 launch, got {f.expiry}"


# --- cards -----------------------------------------------------------------------------------
def _card(readings, knockouts=()):
    inds = tuple(Indicator(f"i{k}", w, (lambda r: lambda f: r)(r)) for k, (r, w) in enumerate(readings))
    return Card("rights_certainty", inds, knockouts)


def test_card_rows_clamp_and_round_points_and_score_is_the_mean_of_rounded_points():
    card = _card([(Reading("a", 123.456, "over"), 0.25), (Reading("b", -7.0, "under"), 0.25),
                  (Reading("c", 42.26, "mid"), 0.25), (Reading("d", 33.34, "mid"), 0.25)])
    out = card.evaluate(facts_of())
    pts = [r["points"] for r in out["indicators"]]
    assert pts == [100.0, 0.0, 42.3, 33.3], pts
    expected = round(0.25 * (100.0 + 0.0 + 42.3 + 33.3), 1)
    assert out["score"] == expected == 43.9, f"expected {expected}, got {out['score']}"
    assert out["indicators"][0] == {"name": "i0", "value": "a", "points": 100.0, "weight": 0.25, "note": "over"}
    assert out["knockouts"] == []


def test_card_score_rounds_to_one_decimal():
    out = _card([(Reading("a", 10.04, ""), 0.5), (Reading("b", 20.0, ""), 0.5)]).evaluate(facts_of())
    assert out["score"] == 15.0, out["score"]
    out = _card([(Reading("a", 0.2, ""), 0.5), (Reading("b", 0.0, ""), 0.5)]).evaluate(facts_of())
    assert out["score"] == 0.1, out["score"]
    out = _card([(Reading("a", 99.9, ""), 0.5), (Reading("b", 100.0, ""), 0.5)]).evaluate(facts_of())
    assert out["score"] == 100.0, out["score"]


def test_card_lists_only_the_knockouts_that_fire_in_rule_order():
    ko = Knockout("fees_unpaid", ["X"], "message", "fix")
    card = _card([(Reading("a", 50.0, ""), 1.0)], knockouts=(lambda f: None, lambda f: ko, lambda f: None))
    assert card.evaluate(facts_of())["knockouts"] == [{"code": "fees_unpaid", "patents": ["X"], "message": "message",
                                                        "fix": "fix"}]
    assert ko.as_dict()["patents"] is not ko.patents, "the response gets a copy of the list"


@pytest.mark.parametrize("weights", [(0.5, 0.5 + 2e-9), (0.5, 0.5 - 2e-9), (0.6, 0.6)])
def test_card_refuses_weights_off_one(weights):
    with pytest.raises(ValueError, match="sum to"):
        Card("bad", tuple(Indicator(f"i{k}", w, lambda f: None) for k, w in enumerate(weights)))


def test_card_accepts_rounding_noise_and_refuses_repeated_names():
    Card("ok", (Indicator("a", 0.1, None), Indicator("b", 0.2, None), Indicator("c", 0.7 + 5e-10, None)))
    with pytest.raises(ValueError, match="repeat"):
        Card("bad", (Indicator("a", 0.5, None), Indicator("a", 0.5, None)))


def test_score_request_exclusivity_end():
    s = score_request(PledgeRequest.model_validate(clean_request()))
    assert s["exclusivity_end"] == "2039-05-09" and list(s)[:3] == list(scorecard.CARD_KEYS)
    s = score_request(PledgeRequest.model_validate(clean_request([patent(status="lapsed")])))
    assert s["exclusivity_end"] is None


def test_facts_readings_and_cards_are_read_only():
    """The cards share one PledgeFacts: none of them can change what the next one reads (frozen dataclasses)."""
    import dataclasses

    f = facts_of()
    ko = Knockout("fees_unpaid", ["X"], "m", "f")
    ind = Indicator("a", 1.0, lambda facts: Reading(1, 1.0, ""))
    objects = [(f, "launch", D("2031-01-01")), (Reading("v", 1.0, "n"), "points", 2.0), (ind, "weight", 0.5),
               (ko, "code", "other"), (Card("c", (ind,)), "key", "other")]
    for obj, attr, value in objects:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, value)


@pytest.mark.parametrize("amount,text", [
    (999_400_000, "CNY 999m"), (999_500_000, "CNY 1bn"), (999_999_999, "CNY 1bn"), (1_000_000_000, "CNY 1bn"),
    (1_234_000_000, "CNY 1.23bn"), (999_400_000_000, "CNY 999bn"), (999_600_000_000, "CNY 1,000bn"),
    (1e13, "CNY 10,000bn"), (5_000_000, "CNY 5m"), (12_345, "CNY 12,345"),
    (999_500_000_000, "CNY 1,000bn"),        # exactly 999.5bn: .3g would read 1e+03bn
    (2_505_001, "CNY 2.51m"),                # 2.505001m rounds up at the third figure (not a tie)
])
def test_money_in_notes_never_reads_in_exponent_notation(amount, text):
    from ipledge.valuation.scorecard import cny

    assert cny(amount) == text, f"cny({amount:,}) = {cny(amount)!r}, expected {text!r}"


def test_a_negative_zero_reading_scores_plus_zero_and_reads_zero_percent():
    """-0.0 is a valid JSON number within a fraction's bounds; the response must not print "points": -0.0 or
    "profit margin -0%"."""
    assert math.copysign(1.0, clamp(-0.0)) == 1.0, "clamp(-0.0) must be +0.0"
    from valuation_helpers import V, row, score

    for product in ({"profit_margin": -0.0}, {"royalty_rate": -0.0}):
        r = row(score(**product), V, "Margin")
        assert math.copysign(1.0, r["points"]) == 1.0 and math.copysign(1.0, r["value"]) == 1.0, (product, r)
        assert "-0" not in r["note"], (product, r)
