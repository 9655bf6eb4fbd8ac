"""Inputs that tell apart mutants registered as equivalent in tools/mutation_equivalents/ (audit h-audit).

Each test states the rule, computes the expected value from it, and prints inputs, expected, got and
the tolerance on failure. Each one kills one registry entry that is not equivalent (the entry is
removed from its TOML in the same commit).

- risk/collateral.py ``collateral_values``: ``resolved_from = ... if patents.uncertain.any() else 0``
  mutated to ``else 1``. The registry said only column 0 (overwritten by today's appraisal) changes.
  But with ``resolved_from = 1`` ``_launched_values`` enters its resolution branch for the paths
  launched before today and calls ``expected_accrual``, which stacks one row per usable patent: with
  no usable patent (every patent lapsed or invalidated) ``np.stack([])`` raises ValueError, so the
  mutant cannot value a marketed product whose patents are all dead, a valid request (schema:
  patents may all be lapsed; stage approved with a launch_year before as_of).
- risk/collateral.py ``collateral_values``: ``pre = ... & (gone[None, :] > years_)`` mutated to ``>=``.
  The registry said gone (failure or abandonment time) equals an integer year end with probability 0.
  Not on the engine's own revaluation path: after a failed programme risk/revalue.py ``request_at``
  sets ``duration_scale = 0`` (and ``success_scale = 0``), and the request keeps its stress scenario
  (schema field ``scenario``); under ``trial_delay_2y`` (extra_delay_years + 2) every completion time
  is then exactly 0 x duration + 2 = 2.0, so gone == 2 on every path. At t = 2 the mutant keeps the
  paths whose every transition has resolved (k = K stages passed or failed) in the regression sample, and
  ``expected_launch`` indexes ``stage_means[K]``: IndexError. A booked loan in the filed stage whose
  filing fails cannot be revalued under the mutant.
"""
from __future__ import annotations

import numpy as np
import pytest

import datetime as dt

from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.revalue import Booking, parse_event, revalue
from ipledge.valuation.schema import PledgeRequest
from ipledge.risk.simulate import PatentTable, simulate

from loan_helpers import case_request
from risk_helpers import case, fixed_posterior

PATHS = 200
TOL = 0.0          # the rule gives exact numbers: 0 after today, today's appraisal in column 0


@pytest.mark.parametrize("dead_status", ["lapsed", "invalidated"])
def test_marketed_product_without_a_usable_patent_has_collateral_zero_after_today(dead_status):
    """Rule (risk/collateral.py): column 0 is today's appraisal (pv.mean()); after today a path whose
    rights are not in force (no usable patent: no exclusivity) is worth 0. A marketed product (launched
    2022, as_of 2026-11-01) whose only patent is dead must be valued, not raise."""
    req = case("generic_small_molecule_marketed")
    data = req.model_dump(mode="json")
    for p in data["patents"]:
        p["status"] = dead_status
        p["invalidation"] = "none"
    req = type(req).model_validate(data)
    patents = PatentTable.from_request(req, DEFAULT_PARAMS)
    inputs = (f"case generic_small_molecule_marketed, patents {dead_status}, stage {req.product.stage}, "
              f"launch_year {req.product.launch_year}, as_of {req.as_of}, paths {PATHS}, seed 3")
    assert patents.base.size == 0 and not patents.uncertain.any(), (
        f"{inputs}: expected no usable patent, got base={patents.base}, uncertain={patents.uncertain}")

    sim = simulate(req, 0.5, fixed_posterior(), n=PATHS, seed=3)

    assert (sim.launch_period <= 0).all(), f"{inputs}: expected launched before today, got {sim.launch_period[:5]}"
    Y = int(np.ceil(req.loan.term_years - 1e-9))
    got = sim.collateral
    assert got.shape == (PATHS, Y + 1), f"{inputs}: expected shape {(PATHS, Y + 1)}, got {got.shape}"
    want0 = float(sim.pv.mean())
    err0 = float(np.abs(got[:, 0] - want0).max())
    assert err0 <= TOL, f"{inputs}: column 0 expected {want0} (today's appraisal), got {got[:3, 0]}, tolerance {TOL}"
    err = float(np.abs(got[:, 1:]).max())
    assert err <= TOL, f"{inputs}: after today expected 0 (no exclusivity), got max |V_t| {err}, tolerance {TOL}"


def test_revaluing_a_failed_filing_under_the_trial_delay_stress_values_the_collateral_at_zero():
    """Rule (risk/revalue.py, DESIGN 8.8): once the programme has failed the IP is worth 0 (knock-out
    no_revenue_path). The stored request carries scenario trial_delay_2y; revalue sets success_scale and
    duration_scale to 0, so every completion (and failure) time is exactly 2.0 years: an integer year end.
    The revaluation must still return collateral 0, not raise."""
    data = case_request("biologic_phase3_coowned", term_years=3)
    data["scenario"] = "trial_delay_2y"
    req = PledgeRequest.model_validate(data)
    booking = Booking(1.0e8, dt.date(2026, 11, 5))
    events = [parse_event({"type": "phase_result", "date": "2026-11-08", "stage": "filed", "outcome": "reached"}),
              parse_event({"type": "phase_result", "date": "2026-11-10", "stage": "filed", "outcome": "failed"})]
    as_of = dt.date(2026, 11, 20)
    inputs = (f"case biologic_phase3_coowned, term 3 y, scenario trial_delay_2y, booked 1e8 on {booking}, "
              f"filed reached 2026-11-08 then failed 2026-11-10, revalued {as_of}")
    got = revalue(req, booking, events, as_of, fixed_posterior()).valuation
    want = 0.0
    assert abs(got.collateral_value - want) <= TOL, (
        f"{inputs}: collateral expected {want}, got {got.collateral_value}, tolerance {TOL}")
    assert "no_revenue_path" in got.knockouts, (
        f"{inputs}: knock-outs expected to include no_revenue_path, got {got.knockouts}")
