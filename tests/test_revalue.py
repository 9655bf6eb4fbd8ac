"""Facts applied to a stored request (risk/revalue.py), the default-state loss, alert triggers and the
weight of a book's history (risk/book.py). Failures print inputs, expected, got and tolerance."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from loan_helpers import case_request
from ipledge.risk.revalue import (Booking, EventError, check_event, loss_now, parse_event, request_at, revalue,
                          state_at)
from ipledge.valuation.schema import PledgeRequest

D0 = dt.date(2026, 11, 5)
LINEAR_TOL = 1e-9     # IP cash flows are linear in peak sales: a known cut scales the value exactly


@pytest.fixture(scope="module")
def posterior():
    from ipledge.risk.posterior import load_posterior

    return load_posterior()


def _req(name: str, **loan) -> PledgeRequest:
    return PledgeRequest.model_validate(case_request(name, **loan))


def _events(*docs):
    return [parse_event(d) for d in docs]


def test_time_and_balance_enter_the_request():
    req = _req("anaesthetic_injectable")
    b = Booking(1.0e7, D0)
    st = state_at(req, b, _events({"type": "repayment", "date": "2026-11-20", "amount": 4.0e6}))
    new, params = request_at(req, b, st, dt.date(2027, 11, 5))
    assert new.loan.amount == 6.0e6 and new.as_of == dt.date(2027, 11, 5)
    assert new.loan.term_years == pytest.approx(req.loan.term_years - 365 / 365.25, abs=1e-6)
    assert params.success_scale == 1.0 and new.product == req.product


def test_known_vbp_cut_scales_the_value_exactly(posterior):
    """After a VBP award with cut c, the value is (1 - c) x the value with no VBP risk at all (same seed)."""
    req = _req("anaesthetic_injectable")
    b = Booking(1.0e7, D0)
    cut = 0.6
    got = revalue(req, b, _events({"type": "vbp_selected", "date": "2026-11-10", "cut": cut}),
                  dt.date(2026, 11, 10), posterior).valuation.collateral_value
    plain = req.model_copy(update={"product": req.product.model_copy(update={"vbp_exposure": "none"})})
    ref = revalue(plain, b, [], dt.date(2026, 11, 10), posterior).valuation.collateral_value
    expected = (1 - cut) * ref
    assert got == pytest.approx(expected, rel=LINEAR_TOL), ("cut", cut, "expected", expected, "got", got)


def test_pipeline_facts(posterior):
    req = _req("biologic_phase3_coowned")
    b = Booking(1.0e8, D0)
    day = dt.date(2026, 11, 20)
    up = request_at(req, b, state_at(req, b, _events(
        {"type": "phase_result", "date": "2026-11-10", "stage": "filed", "outcome": "reached"})), day)[0]
    assert up.product.stage == "filed"
    appr = request_at(req, b, state_at(req, b, _events({"type": "approval", "date": "2026-11-10"})), day)[0]
    assert appr.product.stage == "approved" and appr.product.launch_year == 2026
    base = revalue(req, b, [], day, posterior).valuation
    fail = revalue(req, b, _events({"type": "phase_result", "date": "2026-11-10", "stage": "phase3",
                                    "outcome": "failed"}), day, posterior).valuation
    assert fail.collateral_value == 0.0 and "no_revenue_path" in fail.knockouts
    assert fail.pd > base.pd, ("a failed trial must raise PD", base.pd, fail.pd)
    # failed now: the borrower raises money with q_after_failure in every year, exactly as a borrower whose
    # odds are that low throughout (same seed, nothing to sell)
    from ipledge.risk.params import DEFAULT_PARAMS, ModelParams

    q = DEFAULT_PARAMS.q_after_failure
    low = ModelParams.from_dict({**DEFAULT_PARAMS.to_dict(), "q_base": q, "q_after_success": q})
    nothing = req.model_copy(update={"product": req.product.model_copy(update={
        "peak_sales": req.product.peak_sales.model_copy(update={"p10": 0.0, "p50": 0.0, "p90": 0.0})})})
    ref = revalue(nothing, b, [], day, posterior, params=low).valuation
    assert fail.pd == ref.pd, ("PD after a failure", "expected", ref.pd, "got", fail.pd)
    filed = revalue(req, b, _events({"type": "phase_result", "date": "2026-11-10", "stage": "filed",
                                     "outcome": "reached"}), day, posterior).valuation
    assert filed.collateral_value > base.collateral_value, (base.collateral_value, filed.collateral_value)


def test_patent_facts(posterior):
    req = _req("anaesthetic_injectable")
    pid = req.patents[0].id
    b = Booking(1.0e7, D0)
    day = dt.date(2026, 11, 20)
    fees = revalue(req, b, _events({"type": "fee_payment_missed", "date": "2026-11-10", "patent_id": pid}), day,
                   posterior).valuation
    assert "fees_unpaid" in fees.knockouts
    ev = _events({"type": "invalidation_decided", "date": "2026-11-10", "patent_id": pid, "outcome": "invalidated"})
    new = request_at(req, b, state_at(req, b, ev), day)[0]
    assert new.patents[0].status == "invalidated"


def test_default_loss_from_the_value_histogram():
    """loss_now vs the exact mean of max(0, B - (1-h) V) on the paths the histogram was built from."""
    from ipledge.risk.assess import value_histogram

    rng = np.random.default_rng(3)
    pv = np.where(rng.random(20_000) < 0.3, 0.0, rng.lognormal(np.log(5e7), 0.6, 20_000))
    B, h = 4.0e7, 0.5
    exact = float(np.maximum(0.0, B - (1 - h) * pv).mean())
    hist = value_histogram(pv)
    tol = (1 - h) * (hist["edges"][1] - hist["edges"][0]) / 2 + (1 - h) * 0.01 * pv.max()
    got = loss_now(hist, B, h)
    assert abs(got - exact) <= tol, ("expected", exact, "got", got, "tol", tol)


def test_event_order_rules():
    req = _req("biologic_phase3_coowned")
    b = Booking(1.0e8, D0)
    st = state_at(req, b, [])
    ev = parse_event({"type": "repayment", "date": "2026-11-04", "amount": 1.0})
    with pytest.raises(EventError) as e:
        check_event(st, req, b, ev, today=dt.date(2026, 12, 1))
    assert e.value.errors[0]["field"] == "date"


def test_triggers_fire_on_the_edge_only():
    from ipledge.risk.monitoring import alerts_for

    policy = {"max_ltv": 0.5, "value_drop": 0.2, "pd_rise": 0.1, "knockouts": True}

    def val(value, pd, balance=1e7, kos=()):
        return {"collateral_value": value, "ltv": balance / value if value else None, "pd": pd, "balance": balance,
                "knockouts": list(kos), "status": "active"}

    assert alerts_for(policy, val(3e7, 0.1), None) == []
    first = {a["trigger"] for a in alerts_for(policy, val(1.5e7, 0.25), val(3e7, 0.1))}
    assert first == {"ltv_above", "value_down", "pd_up"}, first
    # still above the LTV limit, value down 6.7% and PD up 5 points: nothing new
    assert alerts_for(policy, val(1.4e7, 0.30), val(1.5e7, 0.25)) == []
    # just under the thresholds: nothing; just over: the trigger
    assert alerts_for(policy, val(2.41e7, 0.199), val(3e7, 0.1)) == []
    assert {a["trigger"] for a in alerts_for(policy, val(2.39e7, 0.201), val(3e7, 0.1))} == {"value_down", "pd_up"}
    ko = alerts_for(policy, val(3e7, 0.1, kos=["fees_unpaid"]), val(3e7, 0.1))
    assert [a["trigger"] for a in ko] == ["knockout"] and "grace period" in ko[0]["message"]


def test_book_history_weight():
    """n0 gives the prior the stated spread; at loan_years_to_matter the expected shift is one prior sd."""
    from scipy import stats

    from ipledge.risk.book import data_weight, loan_years_to_matter, posterior_mean, prior_strength

    p0, cv = 0.05, 0.5
    n0 = prior_strength(p0, cv)
    prior = stats.beta(n0 * p0, n0 * (1 - p0))
    assert prior.mean() == pytest.approx(p0, rel=1e-12)
    assert prior.std() / prior.mean() == pytest.approx(cv, rel=1e-9), (n0, prior.std())
    for ratio in (2.0, 3.0, 0.2):
        n = loan_years_to_matter(p0, cv, ratio)
        shift = posterior_mean(p0, n0, ratio * p0 * n, n) - p0
        assert abs(shift) == pytest.approx(cv * p0, rel=1e-9), (ratio, n, shift)
        assert data_weight(n, n0) == pytest.approx(cv / abs(ratio - 1), rel=1e-9)
    assert loan_years_to_matter(p0, cv, 1.4) == float("inf")
