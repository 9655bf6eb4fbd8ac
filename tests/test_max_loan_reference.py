"""The max loan against a brute-force grid of amounts, loss sharing, and properties where no cap binds
(issue 12).

The family of cases: a marketed maker (the anaesthetic case) with thin cash and a burn above its
margin, a 3-year bullet, the LTV cap lifted to 100%: its expected-loss rate climbs with the amount as
the collateral covers less of it, so a risk limit, not a cap, sets the max loan. The reference is a
fine grid of amounts evaluated on the same paths, every limit computed by hand from the loss array
(tests/reference_helpers.py). Every test asserts that no cap binds, so none can silently turn into a
cap-bound tautology.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reference_helpers import check, grid_max_loan, hand_limits
from risk_helpers import case, fixed_posterior

from ipledge.risk.credit import ltv_search, run_credit
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.simulate import simulate

IPC = 0.3
CAPS = ("policy_ltv_cap", "scheme_cap", "profile_max_amount", "borrower_capacity")
# no shrinking: a failure prints its (unshrunk) example at once instead of minutes of re-runs
PROPS = settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
                 phases=[Phase.explicit, Phase.reuse, Phase.generate])


def thin_cash(cash=5e6, burn=1e8, haircut=0.7, rate=0.05, sharing=None, amount=2e7, paths=4000, total=0.03):
    return case("anaesthetic_injectable", applicant={"cash": cash, "annual_burn": burn},
                loan={"amount": amount, "term_years": 3, "rate": rate, "repayment": "bullet"},
                policy={"max_ltv": 1.0, "liquidation_haircut": haircut, "max_total_expected_loss": total},
                sharing=sharing or {"scheme": "none"}, simulation={"paths": paths, "seed": 11})


def hand_thresholds(req, shares):
    """Limits as the request and the documented defaults state them (risk/params.py party_limits)."""
    pol = req.policy
    th = {"bank_el": pol.max_expected_loss, "total_el": pol.max_total_expected_loss, "pd": pol.max_pd_annual}
    own = req.sharing.party_limits or {}
    for party, w in shares.items():
        if party != "bank" and w > 0:
            th[f"party:{party}"] = own.get(party, DEFAULT_PARAMS.party_limits[party])
    return th


def hand_cap(req, value):
    """Policy LTV cap × appraised value, and 35% of cash + 50% of revenue (borrower capacity)."""
    bc = DEFAULT_PARAMS.borrower_capacity
    return min(req.policy.max_ltv * value, bc["cash"] * req.applicant.cash + bc["revenue"] * req.applicant.annual_revenue)


def searched_and_reference(req, shares, party_basis=None, paths=None):
    """(engine's LtvResult, grid answer, grid resolution, cap) on the same simulated paths."""
    sim = simulate(req, IPC, fixed_posterior(), n=paths)
    res = ltv_search(sim, req)
    th = hand_thresholds(req, shares)
    U = hand_cap(req, sim.appraised_value)

    def passes(amounts):
        return hand_limits(run_credit(sim, req, amounts), req.loan.term_years, shares, th, party_basis)[1]

    ref, step = grid_max_loan(passes, U)
    return sim, res, ref, step, U, passes


def assert_matches_grid(label, req, res, ref, step, U, passes, **inputs):
    assert res.binding not in CAPS, f"{label}: cap-bound ({res.binding}); the case must be risk-bound"
    assert ref < 0.9 * U, f"{label}: grid answer {ref:,.0f} too close to the cap {U:,.0f}"
    tol = max(DEFAULT_PARAMS.search_rel_tol * ref, DEFAULT_PARAMS.search_abs_tol) + step
    check(f"{label}: max loan vs grid", res.max_loan, ref, tol, binding=res.binding, cap=U, **inputs)
    ok = passes(np.array([res.max_loan, res.max_loan + tol + step]))
    assert ok[0] and not ok[1], (f"{label}: by hand, limits at the answer {res.max_loan:,.0f} pass={ok[0]} "
                                 f"(expected True) and just above it pass={ok[1]} (expected False)")


def test_el_bound_max_loan_matches_a_fine_grid_and_the_ltv_cap_does_not_bind():
    req = thin_cash()
    sim, res, ref, step, U, passes = searched_and_reference(req, {"bank": 1.0})
    assert res.binding == "bank_el", f"expected the bank EL limit to bind, got {res.binding}"
    assert res.max_loan < 0.5 * req.policy.max_ltv * sim.appraised_value, "the LTV cap must be far from binding"
    assert_matches_grid("no sharing", req, res, ref, step, U, passes, cash=5e6, burn=1e8, haircut=0.7)


SHARED = {"bank": 0.6, "guarantor": 0.4}


def test_loss_sharing_moves_the_max_loan_and_each_answer_matches_its_grid():
    """Bank 60% / guarantor 40%: with a guarantor that accepts 5% a year the bank's limit reads 60% of
    the loss and the answer rises (the total limit binds); with the default 1% guarantor fee its own
    limit binds below the unshared answer. A search that ignored sharing would return the same amount."""
    answers = {}
    for label, sharing, shares in (
            ("none", {"scheme": "none"}, {"bank": 1.0}),
            ("guarantor at 5%", {"scheme": "custom", "shares": SHARED, "party_limits": {"guarantor": 0.05}}, SHARED),
            ("guarantor at its 1% fee", {"scheme": "custom", "shares": SHARED}, SHARED),
            ("zhuhai (fund 40%, lifetime limit)", {"scheme": "zhuhai"}, {"bank": 0.6, "fund": 0.4})):
        req = thin_cash(sharing=sharing)
        _, res, ref, step, U, passes = searched_and_reference(req, shares, DEFAULT_PARAMS.party_limit_basis)
        assert_matches_grid(label, req, res, ref, step, U, passes, sharing=sharing)
        answers[label] = (res.max_loan, res.binding)
    none = answers["none"][0]
    assert answers["guarantor at 5%"][0] > 1.3 * none, answers
    assert answers["zhuhai (fund 40%, lifetime limit)"][0] > 1.3 * none, answers
    assert answers["guarantor at its 1% fee"][0] < 0.8 * none, answers
    assert answers["guarantor at its 1% fee"][1] == "party:guarantor", answers


def test_a_request_that_passes_every_limit_is_approved():
    """A request at 90% of the grid max loan: by hand every limit passes (annual bank EL, total EL,
    annual PD, LTV cap, borrower capacity, no profile); the assessment must approve it in full."""
    from ipledge.risk.assess import assess

    probe = thin_cash()
    _, _, ref, _, _, _ = searched_and_reference(probe, {"bank": 1.0})
    amount = round(0.9 * ref, -4)
    req = thin_cash(amount=amount)
    resp = assess(req, escalate=False)
    sim = simulate(req, resp["scores"]["competitive_contribution"]["ip_contribution"], fixed_posterior())
    check("same paths as the assessment", sim.appraised_value, resp["valuation"]["appraised_value"], 1e-9)
    run = run_credit(sim, req, [amount])
    vals, ok = hand_limits(run, 3.0, {"bank": 1.0}, hand_thresholds(req, {"bank": 1.0}))
    lifetime_el = float(run.loss[0].mean() / amount)
    assert ok[0] and amount <= hand_cap(req, sim.appraised_value), (
        f"by hand the request of {amount:,.0f} must pass: {({k: float(v[0]) for k, v in vals.items()})}")
    rec = resp["recommendation"]
    assert rec["decision"] == "approve", (
        f"request {amount:,.0f} passes every limit by hand (annual bank EL {float(vals['bank_el'][0]):.4f}, "
        f"lifetime {lifetime_el:.4f}, annual PD {float(vals['pd'][0]):.4f}) but got {rec['decision']}: "
        f"{rec['reasons'][-1]}")
    assert rec["max_loan"] >= amount and all(c["passed"] for c in rec["checks"]), rec["checks"]
    for c in rec["checks"]:
        if c["limit"] in vals:
            check(f"check {c['limit']}", c["value"], float(vals[c["limit"]][0]), 1e-12, amount=amount)


# -- properties on inputs where a risk limit binds ---------------------------------------------------
# The family above with cash 1-10m, burn 105-130m, haircut 55-85%, rate 3-10%: the bank's EL limit
# binds between about CNY 6m and 40m while the cap is the appraised value (about CNY 56m).

cash_s = st.floats(1e6, 1e7)
burn_s = st.floats(1.05e8, 1.3e8)
haircut_s = st.floats(0.55, 0.85)
rate_s = st.floats(0.03, 0.10)


def risk_bound_max_loan(req):
    res = ltv_search(simulate(req, IPC, fixed_posterior(), n=2000), req)
    assert res.binding not in CAPS, (
        f"generated inputs became cap-bound ({res.binding}, max loan {res.max_loan:,.0f}): "
        f"cash={req.applicant.cash:,.0f} burn={req.applicant.annual_burn:,.0f} "
        f"haircut={req.policy.liquidation_haircut} rate={req.loan.rate}")
    return res.max_loan


@PROPS
@given(cash=cash_s, burn=burn_s, haircut=haircut_s, rate=rate_s)
def test_search_matches_the_grid_wherever_a_risk_limit_binds(cash, burn, haircut, rate):
    req = thin_cash(cash, burn, haircut, rate, paths=2000)
    _, res, ref, step, U, passes = searched_and_reference(req, {"bank": 1.0}, paths=2000)
    assert_matches_grid("generated", req, res, ref, step, U, passes, cash=cash, burn=burn, haircut=haircut,
                        rate=rate)


@PROPS
@given(cash=cash_s, burn=burn_s, haircut=st.floats(0.55, 0.75), dh=st.floats(0.02, 0.1))
def test_risk_bound_max_loan_falls_with_the_haircut(cash, burn, haircut, dh):
    a = risk_bound_max_loan(thin_cash(cash, burn, haircut))
    b = risk_bound_max_loan(thin_cash(cash, burn, haircut + dh))
    assert b < a, f"haircut {haircut:.3f} -> {haircut + dh:.3f}: max loan {a:,.0f} -> {b:,.0f} (expected lower)"


@PROPS
@given(cash=cash_s, burn=burn_s, haircut=haircut_s, rate=st.floats(0.03, 0.07), dr=st.floats(0.01, 0.03))
def test_risk_bound_max_loan_never_rises_with_the_loan_rate(cash, burn, haircut, rate, dr):
    a = risk_bound_max_loan(thin_cash(cash, burn, haircut, rate))
    b = risk_bound_max_loan(thin_cash(cash, burn, haircut, rate + dr))
    assert b <= a * (1 + DEFAULT_PARAMS.search_rel_tol), f"rate {rate:.3f} -> {rate + dr:.3f}: {a:,.0f} -> {b:,.0f}"


@PROPS
@given(cash=cash_s, burn=burn_s, haircut=st.floats(0.7, 0.85), bank=st.floats(0.8, 1.0), shift=st.floats(0.05, 0.1))
def test_risk_bound_max_loan_rises_as_a_guarantor_takes_more(cash, burn, haircut, bank, shift):
    def req(b):
        shares = {"bank": b, "guarantor": round(1.0 - b, 12)} if b < 1 else {"bank": 1.0}
        return thin_cash(cash, burn, haircut, total=0.2, sharing={"scheme": "custom", "shares": shares,
                                                                  "party_limits": {"guarantor": 0.2}})
    a, b = risk_bound_max_loan(req(bank)), risk_bound_max_loan(req(bank - shift))
    assert b > a, f"bank share {bank:.3f} -> {bank - shift:.3f}: max loan {a:,.0f} -> {b:,.0f} (expected higher)"

