"""The credit model (ipledge.risk.credit) against a path-by-path reference written from its module docstring.

The engine runs every candidate amount and path at once with arrays; the reference below walks one path and
one amount at a time in plain Python, with the debt schedule written out by hand (per unit of principal:
bullet = all principal at maturity; amortising = principal in proportion to each period's length; interest =
balance x rate x period length). Inputs are synthetic (no simulation): sales, phase successes, a failure or
an abandonment, a stressed trial delay, collateral values and financing uniforms are fixed arrays, so every
rule (runway target, hazard within a part-year, failure news, default when net cash < 0, EAD with the
period's interest, haircut collateral, 0 collateral after a failure) is exercised on known numbers.
Also: limits, annualisation and the guarantee share against closed forms.
"""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from ipledge.risk import credit
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.schemes import Scheme

M = 1e6


def schedule_by_hand(term, rate, repayment):
    periods = math.ceil(term - 1e-9)
    frac = [min(1.0, term - k) for k in range(periods)]
    if repayment == "bullet":
        principal = [0.0] * (periods - 1) + [1.0]
    else:
        principal = [f / sum(frac) for f in frac]
    balance = [1.0 - sum(principal[:k]) for k in range(periods)]
    interest = [balance[k] * rate * frac[k] for k in range(periods)]
    return frac, balance, interest


def reference_path(i, A, sim, req, u):
    """(defaulted, period, EAD, loss) of path i at amount A, by the rules of the ipledge.risk.credit docstring."""
    p, app = sim.params, req.applicant
    margin, h = req.product.profit_margin, req.policy.liquidation_haircut
    frac, balance, interest = schedule_by_hand(req.loan.term_years, req.loan.rate, req.loan.repayment)
    runway = p.runway_target_years * max(app.annual_burn - app.annual_revenue * margin, 0.0)
    failed_at = sim.failure_time[i]
    delay_until = None
    if p.extra_delay_years > 0:
        failed_at = max(failed_at - p.extra_delay_years, 0.0)
        delay_until = sim.completion_times[i, 0]
    if sim.development is not None:
        failed_at = min(failed_at, sim.development.abandon_time[i])
    cash = app.cash
    for k, f in enumerate(frac):
        end = k + f
        sales = sim.sales[i, k] if k < sim.T else 0.0
        cash += f * ((app.annual_revenue + sales) * margin - app.annual_burn) - A * interest[k]
        if failed_at <= end:
            q = p.q_after_failure
        elif k < sim.success_events.shape[1] and sim.success_events[i, k]:
            q = p.q_after_success
        else:
            q = p.q_base
        if delay_until is not None and delay_until > k:
            q = min(q, p.q_during_delay)
        q = q ** f
        if cash < runway and u[i, k] < q:
            cash = max(cash, runway)
        if cash < 0:
            ead = A * (balance[k] + interest[k])
            coll = 0.0 if failed_at <= end else sim.collateral[i, min(k + 1, sim.T)] * (1.0 - h)
            return True, k + 1, ead, max(ead - coll, 0.0)
    return False, 0, 0.0, 0.0


def synthetic(n=40, T=4, seed=7, delay=0.0, abandon=True, **params):
    rng = np.random.default_rng(seed)
    prm = dataclasses.replace(DEFAULT_PARAMS, q_base=0.7, q_after_success=0.95, q_after_failure=0.15,
                              q_during_delay=0.3, runway_target_years=1.5, extra_delay_years=delay, **params)
    failure = np.where(rng.random(n) < 0.4, rng.uniform(0.2, 4.5, n), np.inf)
    dev = NS(abandon_time=np.where(rng.random(n) < 0.15, rng.uniform(0.5, 3.0, n), np.inf)) if abandon else None
    sim = NS(n=n, T=T, params=prm, sales=rng.uniform(0, 60 * M, (n, T)) * (rng.random((n, 1)) < 0.5),
             success_events=rng.random((n, T)) < 0.3, collateral=rng.uniform(0, 80 * M, (n, T + 1)),
             failure_time=failure, completion_times=np.sort(rng.uniform(0.3, 5.0, (n, 2)), axis=1),
             development=dev)
    u = rng.random((n, 10))
    return sim, u


def request(term=3.0, rate=0.06, repayment="bullet", cash=30 * M, burn=40 * M, revenue=20 * M, margin=0.5,
            haircut=0.4):
    return NS(loan=NS(term_years=term, rate=rate, repayment=repayment, amount=20 * M),
              applicant=NS(cash=cash, annual_burn=burn, annual_revenue=revenue),
              product=NS(profit_margin=margin), policy=NS(liquidation_haircut=haircut))


CASES = {
    "bullet 3y": dict(req=request()),
    "amortising 2.5y": dict(req=request(term=2.5, repayment="amortising", rate=0.09)),
    "revenue, 4.4y": dict(req=request(term=4.4, cash=40 * M, revenue=50 * M, burn=45 * M)),
    "past the horizon 5.5y": dict(req=request(term=5.5, repayment="amortising", cash=50 * M)),
    "stressed delay": dict(req=request(term=3.5), delay=1.5),
    "no abandonment": dict(req=request(term=2.0, haircut=0.0), abandon=False),
}


@pytest.mark.parametrize("name", CASES)
def test_every_path_and_amount_matches_the_path_by_path_reference(name):
    c = CASES[name]
    sim, u = synthetic(delay=c.get("delay", 0.0), abandon=c.get("abandon", True))
    req = c["req"]
    amounts = [5 * M, 20 * M, 60 * M]
    run = credit.run_credit(sim, req, amounts, u)
    seen_default = seen_loss = 0
    for m, A in enumerate(amounts):
        for i in range(sim.n):
            d, period, ead, loss = reference_path(i, A, sim, req, u)
            got = (bool(run.defaulted[m, i]), int(run.default_period[m, i]), float(run.ead[m, i]),
                   float(run.loss[m, i]))
            assert got[:2] == (d, period) and math.isclose(got[2], ead, rel_tol=1e-12, abs_tol=1e-6) \
                and math.isclose(got[3], loss, rel_tol=1e-12, abs_tol=1e-6), (
                f"{name}: path {i}, amount {A:.0f}: expected (default, period, EAD, loss) = "
                f"{(d, period, ead, loss)}, got {got}, tolerance rel 1e-12")
            seen_default += d
            seen_loss += loss > 0
    assert 0 < seen_default < sim.n * len(amounts) and seen_loss > 0, (name, seen_default, seen_loss)


@pytest.mark.parametrize("term,rate,repayment", [(3.0, 0.06, "bullet"), (2.5, 0.09, "amortising"),
                                                 (0.5, 0.05, "bullet"), (4.25, 0.07, "amortising")])
def test_debt_schedule_is_the_hand_written_one(term, rate, repayment):
    s = credit.DebtSchedule.from_loan(term, rate, repayment)
    frac, balance, interest = schedule_by_hand(term, rate, repayment)
    principal = np.array(balance) - np.r_[balance[1:], 0.0]
    for name, got, exp in [("frac", s.frac, frac), ("balance", s.balance, balance),
                           ("interest", s.interest, interest), ("service", s.service, np.array(interest) + principal)]:
        assert s.periods == len(frac) and np.allclose(got, exp, rtol=0, atol=1e-15), (
            f"{name} of {repayment} {term}y at {rate}: expected {exp}, got {got}")


def test_annualised_rate_has_the_same_survival_to_maturity():
    for r, term in [(0.1, 3.0), (0.5, 2.0), (0.0, 4.0), (1.0, 2.5), (0.3, 0.5)]:
        got = float(credit.annualise(r, term))
        assert math.isclose((1 - got) ** term, 1 - r, abs_tol=1e-12), f"annualise({r}, {term}) = {got}"
    got = credit.annualise(np.array([-0.1, 1.2]), 2.0)       # clipped to 0..1
    assert np.allclose(got, [0.0, 1.0]), got


def test_guarantee_share_is_the_whole_percent_that_brings_the_bank_within_its_limit():
    # (1 - g) x 3% <= 2%  <=>  g >= 1/3: 34%; exactly at the limit needs none; above the maximum: None
    cases = [((0.03, 0.02, 0.8), 0.34), ((0.02, 0.02, 0.8), 0.0), ((0.04, 0.02, 0.8), 0.5),
             ((0.2, 0.02, 0.8), None), ((0.1, 0.02, 0.8), 0.8), ((0.015, 0.02, 0.8), 0.0)]
    for args, expected in cases:
        got = credit.required_guarantee_share(*args)
        assert got == expected, f"required_guarantee_share{args}: expected {expected}, got {got}"


def scheme(shares, cap=math.inf):
    caps = {} if math.isinf(cap) else {"per_loan": cap}
    return Scheme("t", "t", "current", shares, caps, "fund" if caps else None)


def test_party_losses_apply_the_funds_cap_path_by_path():
    loss = np.array([[0.0, 10 * M, 40 * M, 100 * M]])           # one amount, four paths
    s = scheme({"bank": 0.2, "fund": 0.5, "guarantor": 0.3}, cap=10 * M)
    got = credit.party_expected_losses(s, loss)
    fund = np.mean([0.0, 5 * M, 10 * M, 10 * M])                  # 0.5 x loss, capped at 10m per loan
    bank = np.mean(0.2 * loss[0]) + np.mean(0.5 * loss[0]) - fund
    for party, exp in [("fund", fund), ("bank", bank), ("guarantor", 0.3 * loss.mean())]:
        assert math.isclose(float(got[party][0]), exp, rel_tol=1e-12), f"{party}: expected {exp}, got {got[party]}"
    uncapped = credit.party_expected_losses(s, loss, capped=False)
    assert math.isclose(float(uncapped["fund"][0]), 0.5 * loss.mean(), rel_tol=1e-12), uncapped
    small = credit.party_expected_losses(s, loss / 100)              # no path reaches the cap: plain shares
    assert math.isclose(float(small["bank"][0]), 0.2 * loss.mean() / 100, rel_tol=1e-12), small


def test_limit_values_are_the_annualised_rates_of_each_party():
    A = np.array([10 * M, 20 * M])
    loss = np.array([[0.0, 4 * M, 8 * M, 0.0], [0.0, 8 * M, 16 * M, 4 * M]])
    defaulted = loss > 0
    run = credit.CreditRun(A, loss, defaulted, loss, defaulted.astype(int))
    s = scheme({"bank": 0.4, "guarantor": 0.6})
    th = {"bank_el": 0.02, "total_el": 0.05, "pd": 0.1, "party:guarantor": 0.01}
    lim = credit.Limits(s, 2.0, "annual", th, dict(s.shares), {"guarantor": "lifetime"})
    vals = credit.measures(run, lim)
    ann = lambda r: 1 - (1 - r) ** 0.5                           # noqa: E731 - 2-year term
    el = loss.mean(axis=1)                                       # 3m and 7m
    expected = {"pd": ann(defaulted.mean(axis=1)), "total_el": ann(el / A), "bank_el": ann(0.4 * el / A),
                "party:guarantor": 0.6 * el / (0.6 * A)}          # lifetime basis for this party
    for k, exp in expected.items():
        assert np.allclose(vals[k], exp, rtol=1e-12), f"{k}: expected {exp}, got {vals[k]}"
    assert credit.failing(vals, lim).tolist() == [True, True], vals
    assert credit.worst_limit(vals, lim, 1) == "party:guarantor", vals   # 35% vs 1%: furthest over
    lifetime = credit.Limits(s, 2.0, "lifetime", th, dict(s.shares), {})
    v2 = credit.measures(run, lifetime)
    assert np.allclose(v2["bank_el"], 0.4 * el / A, rtol=1e-12) and np.allclose(v2["party:guarantor"], ann(el / A))
    ok = credit.Limits(s, 2.0, "annual", {"pd": 1.0, "bank_el": float(vals["bank_el"][0])}, dict(s.shares), {})
    assert credit.failing(vals, ok).tolist() == [False, True], "a value equal to its threshold passes"


def test_summary_at_an_amount_is_pd_lgd_and_the_expected_loss_rate():
    loss = np.array([[0.0, 4.0, 0.0, 8.0, 0.0] * 20])          # 100 paths, 40% default, loss 4 or 8 on EAD 10
    d = loss > 0
    ead = np.where(d, 10.0, 0.0)
    run = credit.CreditRun(np.array([50.0]), loss, d, ead, d.astype(int))
    s = run.summary(0)
    worst = np.sort(loss[0])[::-1][:1]                        # ceil(1% of 100) = 1 worst path
    want = {"pd": 0.4, "lgd": 12.0 / 20.0, "ead": 10.0, "expected_loss": 2.4, "expected_loss_rate": 2.4 / 50.0,
            "es_99": float(worst.mean())}
    for k, v in want.items():
        assert math.isclose(s[k], v, rel_tol=1e-12), f"summary[{k}]: expected {v}, got {s[k]}"
    none = credit.CreditRun(np.array([0.0]), np.zeros((1, 4)), np.zeros((1, 4), bool), np.zeros((1, 4)),
                            np.zeros((1, 4), int)).summary(0)
    assert (none["pd"], none["lgd"], none["ead"], none["expected_loss_rate"]) == (0.0, 0.0, 0.0, 0.0), none


def test_limits_of_a_request_name_every_party_with_a_share_and_its_threshold():
    from risk_helpers import case

    req = case("oncology_antibody_phase2", sharing={"scheme": "custom",
                                                    "shares": {"bank": 0.6, "guarantor": 0.4, "insurer": 0.0},
                                                    "party_limits": {"guarantor": 0.02}})
    lim = credit.Limits.of(req, DEFAULT_PARAMS)
    pol = req.policy
    want = {"bank_el": pol.max_expected_loss, "total_el": pol.max_total_expected_loss, "pd": pol.max_pd_annual,
            "party:guarantor": 0.02}                                # no limit for a party with no share
    assert lim.thresholds == want, lim.thresholds
    assert (lim.basis, lim.term, lim.shares["guarantor"]) == (pol.expected_loss_basis, req.loan.term_years, 0.4)
    fund = credit.Limits.of(case("oncology_antibody_phase2", sharing={"scheme": "guangzhou_2023"}), DEFAULT_PARAMS)
    assert fund.thresholds["party:fund"] == DEFAULT_PARAMS.party_limits["fund"], fund.thresholds
    assert fund.party_basis["fund"] == "lifetime" and fund.scheme.loan_cap == 1e7, fund


def test_amount_caps_are_the_ltv_cap_on_the_value_and_the_borrowers_capacity():
    from risk_helpers import case

    from ipledge.risk.profiles import ltv_cap

    req = case("oncology_antibody_phase2")
    caps = credit.amount_caps(req, 80 * M, DEFAULT_PARAMS)
    app = req.applicant
    assert caps["policy_ltv_cap"] == pytest.approx(ltv_cap(req) * 80 * M, rel=1e-12), caps
    assert caps["borrower_capacity"] == pytest.approx(0.35 * app.cash + 0.50 * app.annual_revenue, rel=1e-12), caps
    assert credit.amount_caps(req, -5.0, DEFAULT_PARAMS)["policy_ltv_cap"] == 0.0, "no value: no LTV room"


def se_case(batches):
    """400 synthetic paths (seed 21), a 3-year loan, appraisal CNY 200m ± 4m, ``batches`` batch means."""
    sim, u = synthetic(n=400, seed=21)
    sim.params = dataclasses.replace(sim.params, se_batches=batches)
    sim.appraised_value, sim.mc_std_error = 200 * M, 4 * M
    sim.streams, sim._u_fin = None, np.ascontiguousarray(u.T)   # financing_draws caches (years, paths)
    req = request(term=3.0)
    req.sharing = NS(scheme="none", party_limits=None)
    req.policy.max_expected_loss, req.policy.max_total_expected_loss = 0.02, 0.03
    req.policy.max_pd_annual, req.policy.expected_loss_basis = 0.05, "annual"
    return sim, u, req


@pytest.mark.parametrize("se_batches", [20, 2, 1])
def test_standard_errors_of_the_max_loan_by_the_delta_method_on_batch_means(se_batches):
    """se(A*) = se(g(A*)) / g'(A*): g the annual PD (computed with the path-by-path reference), se(g) from
    the batch means over consecutive blocks of paths (``se_batches``, at least 2: 1 is raised to 2), g' the
    secant over A* ± 10%; se(LTV) adds the appraisal's own error."""
    sim, u, req = se_case(se_batches)
    A, V, T = 20 * M, 200 * M, 3.0
    used = max(2, se_batches)
    size = sim.n // used

    def pd_annual(amount, rows):
        d = [reference_path(i, amount, sim, req, u)[0] for i in rows]
        return 1 - (1 - np.mean(d)) ** (1 / T)

    res = credit.LtvResult(A, 100 * M, np.array([A]), np.array([0.0]), "pd")
    se_A, se_ltv = credit.std_errors(sim, req, res)
    slope = (pd_annual(1.1 * A, range(400)) - pd_annual(0.9 * A, range(400))) / (0.2 * A)
    batches = [pd_annual(A, range(b * size, (b + 1) * size)) for b in range(used)]
    se_g = np.std(batches, ddof=1) / math.sqrt(used)
    assert slope > 0 and se_g > 0, (slope, se_g)
    want_A = se_g / slope
    want_ltv = math.hypot(want_A / V, A * 4 * M / V ** 2)
    assert math.isclose(se_A, want_A, rel_tol=1e-9) and math.isclose(se_ltv, want_ltv, rel_tol=1e-9), (
        f"se_batches {se_batches} ({used} used): expected (se_A, se_ltv) = {(want_A, want_ltv)}, got "
        f"{(se_A, se_ltv)}, tolerance rel 1e-9")
    flat = credit.LtvResult(1e-3, 100 * M, np.array([1e-3]), np.array([0.0]), "pd")   # PD does not move
    assert credit.std_errors(sim, req, flat) == (math.inf, math.inf), "a flat limit has no finite s.e."
    cap = credit.LtvResult(A, A, np.array([A]), np.array([0.0]), "borrower_capacity")
    assert credit.std_errors(sim, req, cap) == (0.0, pytest.approx(A * 4 * M / V ** 2, rel=1e-12))
    exact = credit.LtvResult(A, A, np.array([A]), np.array([0.0]), "policy_ltv_cap")
    assert credit.std_errors(sim, req, exact) == (0.0, 0.0), "the LTV cap is exact"
    rich = request(term=3.0, cash=1e12)                       # never defaults: PD 0 in every batch, flat
    rich.sharing, rich.policy = req.sharing, req.policy
    assert credit.std_errors(sim, rich, res) == (0.0, pytest.approx(A * 4 * M / V ** 2, rel=1e-12)), \
        "no Monte Carlo error in the limit: none in the max loan"
    sim.appraised_value = 0.0
    assert credit.std_errors(sim, req, res) == (0.0, 0.0), "no value: no LTV error"


def test_every_check_at_the_request_with_its_basis_and_a_tolerance_of_a_millionth_of_a_yuan():
    from risk_helpers import case

    from ipledge.risk.profiles import amount_cap, ltv_cap

    req = case("oncology_antibody_phase2", policy={"expected_loss_basis": "lifetime"},
               sharing={"scheme": "custom", "shares": {"bank": 0.6, "guarantor": 0.4}})
    V, A = 100 * M, float(req.loan.amount)
    eff = ltv_cap(req)
    loss = np.array([[0.0, 0.02 * A, 0.0, 0.06 * A]])
    run = credit.CreditRun(np.array([A]), loss, loss > 0, loss, (loss > 0).astype(int))
    cap = A - 0.5                                            # half a yuan short of the request
    res = credit.LtvResult(A, A, np.array([A]), np.array([0.0]), "bank_el", {"borrower_capacity": cap})
    rows = {r["limit"]: r for r in credit.checks_at(req, run, NS(appraised_value=V), DEFAULT_PARAMS, res)}
    assert rows["pd"]["basis"] == "annual" and rows["bank_el"]["basis"] == "lifetime", rows
    assert rows["party:guarantor"]["basis"] == DEFAULT_PARAMS.party_limit_basis["guarantor"], rows
    assert rows["bank_el"]["value"] == pytest.approx(0.6 * loss.mean() / A, rel=1e-12), rows["bank_el"]
    assert rows["policy_ltv_cap"]["value"] == pytest.approx(A / V) and rows["policy_ltv_cap"]["threshold"] == eff
    assert rows["borrower_capacity"]["passed"] is False, "half a yuan over the capacity fails"
    at_cap = credit.LtvResult(A, A, np.array([A]), np.array([0.0]), "bank_el", {"borrower_capacity": A})
    exact = credit.checks_at(req, run, NS(appraised_value=A / eff), DEFAULT_PARAMS, at_cap)
    exact = {r["limit"]: r for r in exact}
    assert exact["policy_ltv_cap"]["passed"] and exact["borrower_capacity"]["passed"], "at the cap exactly: passes"
    assert ("profile_max_amount" in rows) == (amount_cap(req) is not None)
    small = NS(appraised_value=0.5)                           # worth half a yuan: an LTV is still a number
    tiny = {r["limit"]: r for r in credit.checks_at(req, run, small, DEFAULT_PARAMS, res)}
    assert tiny["policy_ltv_cap"]["value"] == pytest.approx(A / 0.5), tiny["policy_ltv_cap"]
