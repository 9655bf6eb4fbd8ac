"""Borrower default, loss, LTV search, guarantee and loss sharing (DESIGN §9)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_helpers import case, fixed_posterior

from ipledge.risk.credit import SCHEMES, DebtSchedule, ltv_search, required_guarantee_share, run_credit, split_loss
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.posterior import load_posterior
from ipledge.risk.simulate import simulate

PROPS = settings(max_examples=8, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


def check(name, got, expected, tol, **inputs):
    assert abs(got - expected) <= tol, (
        f"{name}: inputs={inputs} expected={expected!r} got={got!r} tolerance={tol!r}")


def sim_for(req, n=2000, posterior=None):
    return simulate(req, 0.3, posterior or load_posterior(), n=n)


def max_loan(req, n=2000, posterior=None):
    return ltv_search(sim_for(req, n, posterior), req).max_loan


def with_(req, **sections):
    data = req.model_dump(mode="json")
    for k, v in sections.items():
        data[k] = {**data[k], **v} if isinstance(v, dict) and isinstance(data.get(k), dict) else v
    return type(req).model_validate(data)


def test_debt_schedules():
    b = DebtSchedule.from_loan(3, 0.05, "bullet")
    np.testing.assert_allclose(b.service, [0.05, 0.05, 1.05])
    a = DebtSchedule.from_loan(2.5, 0.10, "amortizing")
    np.testing.assert_allclose(a.service - a.interest, [0.4, 0.4, 0.2])       # principal by time share
    np.testing.assert_allclose(a.interest, [0.10, 0.06 * 1.0, 0.02 * 0.5])
    check("amortising principal", float((a.service - a.interest).sum()), 1.0, 1e-12)


def test_pd_of_a_cash_short_borrower_is_one_minus_q():
    """No cash, no sales, a one-year zero-rate bullet: year 1 ends short, so PD = 1 - q_base."""
    req = with_(case("anaesthetic_injectable"),
                applicant={"cash": 0.0, "annual_burn": 1e7, "annual_revenue": 0.0},
                product={"peak_sales": {"p10": 0.0, "p50": 0.0, "p90": 0.0}},
                loan={"term_years": 1, "rate": 0.0, "repayment": "bullet"})
    n = 20000
    run = run_credit(sim_for(req, n, fixed_posterior()), req, [req.loan.amount])
    s = run.summary()
    q = DEFAULT_PARAMS.q_base
    check("PD", s["pd"], 1 - q, 4 * math.sqrt(q * (1 - q) / n), q_base=q)
    check("LGD with worthless collateral", s["lgd"], 1.0, 1e-12)
    check("EAD", s["ead"], req.loan.amount, 1e-6)


def test_loss_is_exposure_less_haircut_collateral():
    req = case("biologic_phase3_coowned")
    sim = sim_for(req, 3000)
    run = run_credit(sim, req, [req.loan.amount])
    d = run.defaulted[0]
    assert d.any()
    t = run.default_period[0][d]
    coll = sim.collateral[np.flatnonzero(d), t] * (1 - req.policy.liquidation_haircut)
    np.testing.assert_allclose(run.loss[0][d], np.maximum(run.ead[0][d] - coll, 0.0), rtol=1e-12)
    assert np.all(run.loss[0][~d] == 0)


LOSS_PATHS = np.array([0.0, 4e6, 1.6e7, 3e7, 6e7])     # per-path losses of one loan, CNY


@pytest.mark.parametrize("scheme", sorted(SCHEMES) + ["custom"])
def test_each_party_bears_its_share_up_to_the_funds_per_loan_cap(scheme):
    """Replaces "loss shares sum to EL" (true by construction, issue 12). By hand from
    risk/data/schemes.yaml, path by path: each party its share of the loss; the capped fund at most
    min(per_loan, per_enterprise) on the loan, the rest of its share staying with the bank."""
    import yaml

    from ipledge.risk.credit import party_expected_losses
    from ipledge.risk.schemes import scheme_of

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "risk" / "data" / "schemes.yaml").read_text())
    custom = {"bank": 0.3, "guarantor": 0.2, "fund": 0.5}
    sharing = ({"scheme": scheme, "shares": custom, "caps": {"per_loan": 1.2e7}} if scheme == "custom"
               else {"scheme": scheme})
    req = with_(case("oncology_antibody_phase2"), sharing=sharing)
    shares = custom if scheme == "custom" else raw[scheme]["shares"]
    caps = {"per_loan": 1.2e7} if scheme == "custom" else (raw[scheme].get("caps") or {})
    cap = min(caps.get("per_loan", math.inf), caps.get("per_enterprise", math.inf))
    want = {p: w * LOSS_PATHS for p, w in shares.items()}
    if "fund" in want and math.isfinite(cap):
        assert (want["fund"] > cap).sum() >= 2, f"{scheme}: the loss paths must exceed the fund's cap"
        paid = np.minimum(want["fund"], cap)
        want["bank"] = want.get("bank", 0.0) + want["fund"] - paid
        want["fund"] = paid
    rows = {r["party"]: r for r in split_loss(req, float(LOSS_PATHS.mean()), LOSS_PATHS)}
    in_limits = party_expected_losses(scheme_of(req), LOSS_PATHS[None, :])
    assert set(rows) == set(shares), (scheme, sorted(rows), sorted(shares))
    for party, parts in want.items():
        el = float(parts.mean())
        check(f"{scheme}: {party}'s expected loss (response)", rows[party]["expected_loss"], el, 1e-6,
              shares=shares, cap=cap, losses=LOSS_PATHS.tolist())
        check(f"{scheme}: {party}'s expected loss (limits)", float(in_limits[party][0]), el, 1e-6,
              shares=shares, cap=cap)
        check(f"{scheme}: {party}'s share", rows[party]["share"], shares[party], 1e-12)


def test_ltv_search_answer_is_a_first_crossing_and_respects_the_cap():
    req = case("biologic_phase3_coowned", policy={"max_ltv": 0.9})
    sim = sim_for(req, 3000)
    res = ltv_search(sim, req)
    assert res.max_loan <= req.policy.max_ltv * sim.appraised_value + 1e-6
    below = res.grid < res.max_loan
    assert np.all(res.bank_el_rate[below] <= req.policy.max_expected_loss + 1e-12)


def test_required_guarantee_share_brings_the_bank_within_the_limit():
    assert required_guarantee_share(0.01, 0.02, 0.8) == 0.0
    g = required_guarantee_share(0.05, 0.02, 0.8)
    assert g == 0.6 and (1 - g) * 0.05 <= 0.02 + 1e-12
    assert required_guarantee_share(0.5, 0.02, 0.8) is None


# -- monotonicity of the max loan (hypothesis, fixed seed) -------------------------------------------

BASE = "biologic_phase3_coowned"


@PROPS
@given(h=st.floats(0.1, 0.8), dh=st.floats(0.05, 0.19))
def test_max_loan_never_rises_with_the_haircut(h, dh):
    a = max_loan(case(BASE, policy={"liquidation_haircut": h}))
    b = max_loan(case(BASE, policy={"liquidation_haircut": min(h + dh, 0.99)}))
    assert b <= a + 1e-6, f"haircut {h} -> {h + dh}: max loan {a} -> {b}"


@PROPS
@given(r=st.floats(0.03, 0.2), dr=st.floats(0.01, 0.1))
def test_max_loan_never_rises_with_the_discount_rate(r, dr):
    a = max_loan(case(BASE, policy={"discount_rate": r}))
    b = max_loan(case(BASE, policy={"discount_rate": r + dr}))
    assert b <= a + 1e-6, f"discount rate {r} -> {r + dr}: max loan {a} -> {b}"


@PROPS
@given(scale=st.floats(1.05, 3.0))
def test_max_loan_never_falls_with_peak_sales(scale):
    base = case(BASE)
    ps = base.product.peak_sales
    up = case(BASE, product={"peak_sales": {"p10": ps.p10 * scale, "p50": ps.p50 * scale, "p90": ps.p90 * scale}})
    a, b = max_loan(base), max_loan(up)
    assert b >= a - 1e-6, f"peak sales x{scale}: max loan {a} -> {b}"


@PROPS
@given(bank=st.floats(0.2, 1.0), shift=st.floats(0.05, 0.5))
def test_max_loan_never_falls_with_a_guarantee_share(bank, shift):
    def req(b):
        shares = {"bank": b, "guarantor": 1.0 - b} if b < 1 else {"bank": 1.0}
        return case(BASE, sharing={"scheme": "custom", "shares": shares}, policy={"max_ltv": 1.0})
    lower_bank = max(bank - shift, 0.05)
    a, b = max_loan(req(bank)), max_loan(req(lower_bank))
    assert b >= a - 1e-6, f"bank share {bank} -> {lower_bank}: max loan {a} -> {b}"


@PROPS
@given(stage=st.sampled_from(["phase1", "phase2", "phase3", "filed"]))
def test_max_loan_never_rises_at_an_earlier_stage(stage):
    order = ["preclinical", "phase1", "phase2", "phase3", "filed"]
    earlier = order[order.index(stage) - 1]
    sharing = {"scheme": "guangzhou_5311"}
    a = max_loan(case(BASE, product={"stage": stage}, sharing=sharing))
    b = max_loan(case(BASE, product={"stage": earlier}, sharing=sharing))
    assert b <= a + 1e-6, f"stage {stage} -> {earlier}: max loan {a} -> {b}"
