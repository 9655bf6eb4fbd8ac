"""The collateral at a year end uses what is known then (no look-ahead), on the two edges where it once did not:
an approved product that launches after the first year end, and a path whose patent terms all end before
their outcomes are resolved while a stress keeps generics out after expiry.

Reference values are written from the rule, not from the engine's helpers: a path not launched at t whose
rights have all run out at t is worth 0 at t whatever it later does; paths with the same known history at t
are worth the same at t."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ipledge.risk import collateral
from ipledge.risk import simulate as sm
from ipledge.risk.assess import assess
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import load_posterior
from risk_helpers import case


def collateral_of(req, prm, n=2000):
    res = sm.simulate(req, 0.3, load_posterior(), prm, n=n)
    patents = sm.PatentTable.from_request(req, prm)
    return res, collateral.collateral_values(res, patents, prm.vbp_hazard[req.product.vbp_exposure], 4)


def test_an_approved_product_launching_after_the_first_year_end_is_valued_on_its_known_launch_date():
    """Approved, launch mid-2027, appraised 2026-01-05: at the end of year 1 nothing distinguishes the paths
    (the launch date is the request's; sales are drawn at launch), so every path is worth the same positive
    amount; from year 2 on each path has launched and carries its own value. Before the fix the year-1 value
    asked for the expected launch of a product with no stage left and raised IndexError (a 500 in the API)."""
    req = case("anaesthetic_injectable", as_of="2026-01-05", product={"launch_year": 2027})
    res, v = collateral_of(req, DEFAULT_PARAMS)
    assert (res.launch_period == 2).all(), np.unique(res.launch_period)
    y1 = v[:, 1]
    assert y1.min() > 0 and np.ptp(y1) <= 1e-9 * y1.max(), (
        f"year 1, launch at {res.launch_time[0]:.3f} y: expected one positive value for every path, got "
        f"{y1.min():,.0f}..{y1.max():,.0f}")
    assert np.ptp(v[:, 2]) > 0.01 * v[:, 2].mean(), "after launch the paths' own sales must show"
    out = assess(req)
    assert out["recommendation"]["decision"] in ("approve", "approve_with_conditions"), out["recommendation"]


def expired_before_resolution_case(filings):
    """A phase 3 biologic whose two patents end soon after as_of (2026-11-01), one still pending (so the
    outcomes resolve after ``patent_resolution_years``)."""
    pats = case("biologic_phase3_coowned").model_dump(mode="json")["patents"]
    pats[0] = dict(pats[0], filing_date=filings[0], status="pending", grant_date=None, term_extension_years=0)
    pats[1] = dict(pats[1], filing_date=filings[1], grant_date="2012-03-05")
    return case("biologic_phase3_coowned", patents=pats, simulation={"paths": 2000, "seed": 3})


@pytest.mark.parametrize("shift", [0.0, 6.0])
@pytest.mark.parametrize("filings, t, last_expiry", [
    (("2009-03-20", "2009-03-25"), 3, 2.4),     # both terms end about 2.4 years after as_of
    (("2010-11-02", "2010-11-02"), 4, 4.0),     # both end 2030-11-01: 1461 days, exactly the end of year 4
])
def test_an_unlaunched_path_whose_rights_have_run_out_is_worth_nothing_whatever_it_later_does(shift, filings, t,
                                                                                             last_expiry):
    """Resolution after 5 years; generics kept out ``shift`` years after expiry (a stress). At the end of year t
    every patent term has ended (a term ending exactly at the year end has ended): the known rights are gone, so
    each path not launched by then is worth 0, those that will later launch as well as those that will fail.
    With a shift of 6 years the engine used to give the paths that would launch their own launched value (a mean
    of about CNY 200m at t = 3 against 0 for the others): the future seen from year t."""
    req = expired_before_resolution_case(filings)
    prm = dataclasses.replace(DEFAULT_PARAMS, patent_resolution_years=5, exclusivity_shift_years=shift)
    res, v = collateral_of(req, prm)
    patents = sm.PatentTable.from_request(req, prm)
    assert patents.uncertain.any() and abs(patents.base.max() - last_expiry) < 0.05, patents.base
    assert t < prm.patent_resolution_years
    unlaunched = res.launch_period > t
    will_launch = unlaunched & (res.launch_period <= res.T)
    assert will_launch.sum() >= 100 and (unlaunched & ~will_launch).sum() >= 100, "both kinds of path needed"
    got = v[unlaunched, t]
    assert not got.any(), (
        f"shift {shift}: expected 0 at t = {t} on {unlaunched.sum()} unlaunched paths; got mean "
        f"{v[will_launch, t].mean():,.0f} on those that later launch, {v[unlaunched & ~will_launch, t].mean():,.0f}"
        f" on the others")
