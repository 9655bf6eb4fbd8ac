"""Cost to complete with the option to abandon (issue 10; risk/development.py).

Common random numbers make these exact: the same seed gives the same paths with and without costs,
so the cost run can be checked path by path against the free run.
"""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from risk_helpers import case, fixed_posterior

from ipledge.risk.development import default_phase_cost, ip_cost_share
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import simulate

FREE = {"phase3": 0.0, "filed": 0.0}
N = 6000


def _sim(name, cost, post, n=N, **product):
    return simulate(case(name, product={"development_cost": cost, **product}), 0.3, post, n=n)


def test_default_phase_cost_is_per_study_cost_times_studies_times_china_factor_times_fx():
    p = DEFAULT_PARAMS
    want = 310e6 * 1.0 * 0.30 * 7.1                      # Fernando 2021 phase III x assumptions
    assert default_phase_cost("phase3", p) == pytest.approx(want), (default_phase_cost("phase3", p), want)
    assert default_phase_cost("filed", p) == 0.0


def test_cost_paid_today_lowers_the_value_by_exactly_its_ip_share_or_abandons():
    """Phase 3 under way: its remaining cost is paid today, so V = max(0, V_free - share × cost)."""
    post = fixed_posterior()
    free = _sim("biologic_phase3_coowned", FREE, post)
    share = ip_cost_share(free.ip_share, case("biologic_phase3_coowned").product.profit_margin)
    for cost in (1e8, 5e8, 5e9):
        sim = _sim("biologic_phase3_coowned", {"phase3": cost, "filed": 0.0}, post)
        want = max(0.0, free.appraised_value - share * cost)
        assert sim.appraised_value == pytest.approx(want, rel=1e-9, abs=1e-3), (
            f"cost {cost:,.0f}: expected max(0, {free.appraised_value:,.0f} - {share:.3f} x cost) = {want:,.0f}, "
            f"got {sim.appraised_value:,.0f}")
        abandoned = want == 0.0
        assert sim.development.abandoned.all() == abandoned and sim.development.abandoned.any() == abandoned
        assert float(sim.development.cost_pv.mean()) == pytest.approx(0.0 if abandoned else share * cost)
        if abandoned:
            assert not sim.sales.any() and not sim.collateral[:, 1:].any(), "abandoned: no sales, no collateral"


@pytest.mark.parametrize("factor", [0.02, 0.1, 0.3, 1.0])
def test_option_value_is_never_negative_and_beats_always_going_on(factor):
    """Phase 2 asset: the holder's rule is worth at least 0 and at least 'pay for every phase'."""
    post = load_posterior()
    params = DEFAULT_PARAMS.from_dict({"china_cost_factor": factor})
    req = case("oncology_antibody_phase2")
    free_req = case("oncology_antibody_phase2", product={"development_cost": {"phase2": 0.0, "phase3": 0.0,
                                                                                 "filed": 0.0}})
    sim = simulate(req, 0.3, post, params, n=N)
    free = simulate(free_req, 0.3, post, params, n=N)
    costs = sim.development.policy.costs
    starts = np.c_[np.zeros(N), sim.completion_times[:, :-1]]
    reached = np.c_[np.ones(N, bool), sim.passed[:, :-1]]
    always = free.pv - (reached * costs * (1 + req.policy.discount_rate) ** -starts).sum(axis=1)
    v = sim.appraised_value
    assert v >= 0.0, f"factor {factor}: negative value {v:,.0f}"
    assert v >= always.mean() - 1e-6 * abs(always.mean()), (
        f"factor {factor}: option value {v:,.0f} below always-continue {always.mean():,.0f}")
    assert v <= free.appraised_value + 1e-6, f"factor {factor}: value with costs {v:,.0f} above free"
    assert 0.0 <= sim.development.abandoned.mean() <= 1.0
    if always.mean() < 0:
        assert sim.development.abandoned.any(), f"factor {factor}: paying everywhere loses money, yet no abandonment"


def test_development_cost_names_the_field_when_a_phase_is_already_done():
    with pytest.raises(ValidationError) as e:
        case("oncology_antibody_phase2", product={"development_cost": {"phase1": 1e7}})
    assert "development_cost" in str(e.value) and "phase1" in str(e.value), str(e.value)
    with pytest.raises(ValidationError) as e:
        case("oncology_antibody_phase2", product={"development_cost": {"phase3": -1.0}})
    assert "development_cost" in str(e.value), str(e.value)
    with pytest.raises(ValidationError):
        case("oncology_antibody_phase2", product={"development_cost": {"phase4": 1.0}})


def test_requested_ltv_and_cap_use_the_value_up_to_exclusivity_end():
    """Post-expiry earnings are reported apart and never enter the LTV, the cap or the collateral."""
    from ipledge.risk.assess import assess

    req = case("medical_consumable_utility", simulation={"paths": 2000, "seed": 7})
    a = assess(req)
    v, r = a["valuation"], a["recommendation"]
    assert v["value_after_exclusivity"] > 0, v["value_after_exclusivity"]
    assert r["requested_ltv"] == pytest.approx(req.loan.amount / v["appraised_value"], rel=1e-12), (r, v)
    cap = req.policy.max_ltv * v["appraised_value"]
    assert r["risk_supported_max_loan"] <= cap * (1 + 1e-9) + 1e-6, (r["risk_supported_max_loan"], cap)
    assert a["model_version"].endswith("/sim-2"), a["model_version"]
