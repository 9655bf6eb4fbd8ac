"""The committee's recommendation (ipledge.risk.decision.recommend) on hand-built inputs.

Every branch of the decision rule in the module docstring, and every number the reasons quote, worked out
by hand: requested 40m against an appraised 100m is an LTV of exactly 40%; a counter-offer is made from
25% of the request (10m) up; a guarantee share is quoted in whole percent. No simulation runs here.
"""
from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np

from ipledge.risk.decision import label, recommend

M = 1e6
PARAMS = NS(min_offer_fraction=0.25, max_guarantee_share=0.80)
PIPELINE = {"p_approval": {"mean": 0.30, "hdi_90": (0.20, 0.40)}}
CREDIT = {"pd": 0.10, "pd_annual": 0.035, "lgd": 0.60}


def request(amount=40 * M, stage="phase2", patents=(("CN101", "granted"), ("CN102", "pending"), ("CN103", "granted"))):
    return NS(loan=NS(amount=amount, term_years=3), product=NS(stage=stage),
              patents=[NS(id=i, status=s) for i, s in patents])


def scores(*knockouts):
    cards = {c: {"knockouts": []} for c in ("rights_certainty", "competitive_contribution", "revenue_potential")}
    cards["rights_certainty"]["knockouts"] = list(knockouts)
    return cards


def valuation(value=100 * M):
    return {"appraised_value": value, "p5": 10 * M, "p95": 250 * M, "prob_zero": 0.55}


def search(max_loan, binding="bank_el", grid=()):
    return NS(max_loan=max_loan, binding=binding, grid=np.array(grid or [max_loan], dtype=float))


def check(limit, value, threshold, passed, basis="annual"):
    return {"limit": limit, "value": value, "threshold": threshold, "passed": passed, "basis": basis}


PASSING = [check("bank_el", 0.0125, 0.02, True), check("pd", 0.035, 0.05, True),
           check("policy_ltv_cap", 0.40, 0.50, True, "ltv"), check("borrower_capacity", 40 * M, 60 * M, True, "CNY")]
FAILING = [check("bank_el", 0.03, 0.02, False), check("pd", 0.035, 0.05, True)]


def run(req=None, sc=None, val=None, ltv=None, guarantee=None, checks=None):
    return recommend(req or request(), sc or scores(), PIPELINE, val or valuation(), CREDIT, ltv, guarantee, PARAMS,
                     checks)


def expect(name, got, expected, **inputs):
    assert got == expected, f"{name}: inputs {inputs}\n expected {expected!r}\n got      {got!r}"


def test_a_request_that_passes_every_limit_is_approved_at_no_less_than_the_request():
    out = run(ltv=search(30 * M), checks=PASSING)
    expect("decision", out["decision"], "approve")
    expect("max_loan", out["max_loan"], 40 * M, search_max_loan=30 * M)
    expect("ltv", out["ltv"], 0.40)
    expect("requested_ltv", out["requested_ltv"], 0.40, requested=40 * M, value=100 * M)
    expect("condition", out["conditions"][0], "Register the pledge of CN101, CN103 with CNIPA before drawdown.")
    expect("approval reason", out["reasons"][0], "Probability of approval from phase2: 30.0% (90% HDI 20.0%-40.0%); "
                                                 "55.0% of simulated paths leave the IP worth nothing.")
    expect("value reason", out["reasons"][1], "Appraised IP value CNY 100.0m (p5 CNY 10.0m, p95 CNY 250.0m); "
                                              "requested CNY 40.0m is an LTV of 40.0%.")
    expect("max loan reason", out["reasons"][3],
           "Max loan CNY 40.0m (LTV 40.0%) is set by the bank expected-loss rate.")


def test_every_check_is_quoted_with_its_unit_and_basis():
    checks = PASSING[:2] + [check("total_el", 0.0125, 0.03, True, "lifetime"), *PASSING[2:]]
    text = run(ltv=search(40 * M), checks=checks)["reasons"][2]
    expect("checks reason", text,
           "At the requested amount: PD 10.0% over 3 years (3.5% a year), LGD 60.0%; checks: "
           "bank expected-loss rate 1.25% vs limit 2.00%/yr (pass); "
           "one-year probability of default 3.50% vs limit 5.00%/yr (pass); "
           "total expected-loss rate (all parties) 1.25% vs limit 3.00% lifetime (pass); "
           "policy LTV cap 40.0% vs limit 50% (pass); "
           "borrower capacity (35% of cash + 50% of a year's revenue) CNY 40.0m vs limit CNY 60.0m (pass).")


def test_a_marketed_product_has_no_approval_reason_and_parties_are_named():
    out = run(req=request(stage="approved"), ltv=search(40 * M), checks=PASSING)
    assert out["reasons"][0].startswith("Appraised IP value"), out["reasons"][0]
    expect("party label", label("party:guarantor"), "guarantor's expected-loss rate on its share")
    expect("plain label", label("pd"), "one-year probability of default")


def test_a_smaller_amount_or_a_guarantee_is_offered_as_a_condition():
    ltv = search(20 * M, grid=[5 * M, 20 * M, 22 * M, 40 * M])
    out = run(ltv=ltv, guarantee=0.35, checks=FAILING)
    expect("decision", out["decision"], "approve_with_conditions")
    expect("options", out["conditions"],
           ["Reduce the amount to CNY 20.0m (LTV 20.0%).",
            "Or keep CNY 40.0m with a guarantee covering at least 35% of the bank's loss."])
    expect("max loan reason", out["reasons"][-1], "Max loan CNY 20.0m (LTV 20.0%) is set by the bank expected-loss "
                                                  "rate; every limit holds up to it and CNY 22.0m breaks it.")
    expect("ltv", out["ltv"], 0.20)
    expect("required_guarantee_share", out["required_guarantee_share"], 0.35)


def test_a_cap_bound_answer_says_every_risk_limit_holds_there():
    out = run(ltv=search(20 * M, binding="policy_ltv_cap", grid=[20 * M, 40 * M]), checks=FAILING)
    expect("max loan reason", out["reasons"][-1],
           "Max loan CNY 20.0m (LTV 20.0%) is set by the policy LTV cap (every risk limit holds there).")


def test_the_smallest_counter_offer_is_a_quarter_of_the_request():
    at = run(ltv=search(10 * M), checks=FAILING)           # exactly 25% of 40m: still offered
    expect("decision at 25%", at["decision"], "approve_with_conditions", max_loan=10 * M, requested=40 * M)
    below = run(ltv=search(9.9 * M), guarantee=0.0, checks=FAILING)   # below it, and a zero guarantee is none
    expect("decision below 25%", below["decision"], "decline", max_loan=9.9 * M, requested=40 * M)
    expect("decline reason", below["reasons"][-1],
           "No amount of at least 25% of the request and no guarantee of at most 80% satisfies every limit "
           "(failing at the request: bank expected-loss rate).")


def test_no_amount_passing_says_which_limit_fails_at_the_smallest_amount():
    out = run(ltv=search(0.0, binding="pd"), checks=FAILING)
    expect("decision", out["decision"], "decline")
    expect("reason", out["reasons"][3], "No amount from CNY 10,000 up keeps every limit: the one-year probability "
                                        "of default fails even at the smallest amount tried.")


def test_a_knockout_declines_lends_nothing_and_says_what_clearing_it_allows():
    ko = {"code": "no_granted_patent", "message": "nothing granted", "fix": "Grant a patent."}
    out = run(sc=scores(ko), ltv=search(30 * M), guarantee=0.2, checks=PASSING)
    expect("decision", out["decision"], "decline")
    expect("max_loan", (out["max_loan"], out["ltv"]), (0.0, 0.0))
    expect("risk supported", (out["risk_supported_max_loan"], out["risk_supported_ltv"]), (40 * M, 0.40))
    expect("first reason", out["reasons"][0], "Knock-out (no_granted_patent): nothing granted")
    expect("cleared reason", out["reasons"][-1],
           "Once the knock-outs are cleared, the risk model supports up to CNY 40.0m (LTV 40.0%).")
    expect("conditions", out["conditions"], ["Grant a patent."])
    expect("required_guarantee_share", out["required_guarantee_share"], None)


def test_an_asset_worth_nothing_has_no_ltv():
    out = run(val=valuation(0.0), ltv=search(0.0, binding="policy_ltv_cap"), checks=FAILING)
    expect("requested_ltv", out["requested_ltv"], None)
    expect("ltv", out["ltv"], 0.0)
    assert out["reasons"][1].endswith("is an LTV of n/a (no value)."), out["reasons"][1]


def test_any_positive_value_gives_an_ltv_however_small():
    """The rule is value > 0, not a threshold: CNY 0.5 of value still gives LTVs (huge ones)."""
    out = run(req=request(amount=1.0), val=valuation(0.5), ltv=search(0.25, binding="policy_ltv_cap"),
              checks=FAILING)
    expect("requested_ltv", out["requested_ltv"], 2.0, requested=1.0, value=0.5)
    expect("ltv", out["ltv"], 0.5, max_loan=0.25, value=0.5)
    assert out["reasons"][1].endswith("is an LTV of 200.0%."), out["reasons"][1]
    assert "(LTV 50.0%)" in out["reasons"][-1], out["reasons"][-1]
    ko = {"code": "k", "message": "m", "fix": "f"}
    cleared = run(req=request(amount=1.0), sc=scores(ko), val=valuation(0.5), ltv=search(0.25), checks=FAILING)
    assert cleared["reasons"][-1].endswith("(LTV 50.0%)."), cleared["reasons"][-1]


def test_a_positive_max_loan_against_no_value_quotes_no_ltv():
    """recommend() guards each LTV it prints: a max loan of CNY 5m against an appraised value of 0 (hand-made:
    the search caps the amount at 0 when the value is 0) reads "LTV n/a" instead of dividing by zero."""
    out = run(val=valuation(0.0), ltv=search(5 * M, binding="borrower_capacity"), checks=FAILING)
    expect("max loan reason", out["reasons"][3],
           "Max loan CNY 5.0m (LTV n/a) is set by the borrower capacity (35% of cash + 50% of a year's revenue) "
           "(every risk limit holds there).", max_loan=5 * M, value=0.0)
    expect("ltv", (out["ltv"], out["requested_ltv"]), (0.0, None))


def test_no_counter_offer_of_nothing_even_without_a_minimum_fraction():
    """With min_offer_fraction 0 every amount is "at least 0% of the request", but an offer of CNY 0 is no
    offer: a failing request whose max loan is 0 is declined."""
    params = NS(min_offer_fraction=0.0, max_guarantee_share=0.80)
    out = recommend(request(), scores(), PIPELINE, valuation(), CREDIT, search(0.0), None, params, FAILING)
    expect("decision", out["decision"], "decline", max_loan=0.0, min_offer_fraction=0.0)
    expect("conditions", out["conditions"], [])
    expect("decline reason", out["reasons"][-1],
           "No amount of at least 0% of the request and no guarantee of at most 80% satisfies every limit "
           "(failing at the request: bank expected-loss rate).")
