"""Absolute expectations for the simulation and the borrower model (issue 12), in QuantLib's style.

Each test states its reference, computed here and not by the engine's helpers (tests/reference_helpers.py:
discount factors from the rate, accruals by quadrature of the ramp, the tail by a sort, PD by a closed
form); seeds are fixed; a failure prints inputs, expected, got and the tolerance. docs/testing.md
("Seeded faults") lists the deliberate engine errors each test was seen failing against.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
from reference_helpers import (check, hand_cash_flows, hand_discount, invention_expiry,
                               years_between)
from risk_helpers import case, fixed_posterior

from ipledge.risk.credit import Limits, measures, run_credit
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.simulate import simulate

AS_OF = dt.date(2026, 11, 1)        # as_of of the bundled cases
PEAK, MARGIN, IPC = 1e8, 0.4, 0.25  # deterministic peak sales, margin, IP contribution: IP share 0.10


def marketed(launch_year: int, years_to_peak: float, filing: dt.date, extension: float = 0.0,
             vbp: str = "none", rate: float = 0.105):
    """An approved product with deterministic peak sales and one granted invention patent."""
    req = case("anaesthetic_injectable", product={
        "stage": "approved", "launch_year": launch_year, "years_to_peak": years_to_peak,
        "peak_sales": {"p10": PEAK, "p50": PEAK, "p90": PEAK}, "vbp_exposure": vbp,
        "profit_margin": MARGIN, "ip_contribution": IPC, "royalty_rate": None, "modality": "small_molecule"},
        policy={"discount_rate": rate})
    data = req.model_dump(mode="json")
    data["patents"] = [{"id": "CN1", "kind": "invention", "status": "granted", "filing_date": filing.isoformat(),
                        "grant_date": (filing + dt.timedelta(days=900)).isoformat(), "jurisdictions": ["CN"],
                        "term_extension_years": extension}]
    assert AS_OF == req.as_of
    return type(req).model_validate(data)


# -- PV: discount factors by hand, the ramp by quadrature, the 14-year cap by dates ------------------

def test_pv_of_a_ramping_product_with_a_capped_term_extension():
    """Launched 2025-07-01, 4 years to peak, an invention filed 2017-03-01 (base expiry 2037-02-28)
    asking 5 years of compensation: the 14-years-after-approval cap ends exclusivity at launch + 14 y
    (2039-07), before base + 5 (2042-02). PV = Σ_u CF_u (1.105)^-(u - 1/2), CF_u = 1e8 × 0.1 ×
    ∫ min(1, (s - L)/4) ds over year u before E."""
    filing, r = dt.date(2017, 3, 1), 0.105
    req = marketed(2025, 4.0, filing, extension=5.0, rate=r)
    sim = simulate(req, IPC, fixed_posterior(), n=1000)
    L = years_between(AS_OF, dt.date(2025, 7, 1))
    base = years_between(AS_OF, invention_expiry(filing))
    E = min(base + 5.0, L + 14.0)
    assert L + 14.0 < base + 5.0 - 1.0, "the case must exercise the 14-year cap"
    inputs = dict(launch=L, base_expiry=base, extension=5.0, years_to_peak=4, rate=r)
    check("exclusivity end (years from as_of)", float(sim.exclusivity_end[0]), E, 1e-9, **inputs)
    assert sim.T >= math.ceil(E), f"horizon {sim.T} years ends before exclusivity end {E:.3f}"
    cf = hand_cash_flows(sim.T, PEAK, MARGIN * IPC, L, 4.0, E)
    for u in range(1, sim.T + 1):
        check(f"IP cash flow of period {u}", float(sim.ip_cf[0, u - 1]), float(cf[u - 1]),
              1e-7 * PEAK, **inputs)
    pv = float(cf @ hand_discount(r, np.arange(1, sim.T + 1) - 0.5))
    check("PV (every path)", float(np.abs(sim.pv - pv).max()), 0.0, 1e-9 * pv, expected_pv=pv, **inputs)
    check("appraised value", sim.appraised_value, pv, 1e-9 * pv, **inputs)


# -- VBP: the cut from the event year on, a geometric event time, the conditional collateral ----------

def vbp_case(n=20_000):
    filing, r = dt.date(2016, 7, 1), 0.105
    req = marketed(2020, 0.0, filing, vbp="high", rate=r)
    sim = simulate(req, IPC, fixed_posterior(), n=n, collateral_years=4)
    E = years_between(AS_OF, invention_expiry(filing))
    cf = hand_cash_flows(sim.T, PEAK, MARGIN * IPC, years_between(AS_OF, dt.date(2020, 7, 1)), 0.0, E)
    return req, sim, cf, r


def test_vbp_cut_applies_from_its_event_year_on_and_the_event_time_is_geometric():
    req, sim, cf, r = vbp_case()
    h, cbar = DEFAULT_PARAMS.vbp_hazard["high"], DEFAULT_PARAMS.vbp_cut_mean
    u = np.arange(1, sim.T + 1)
    d = hand_discount(r, u - 0.5)
    # path by path, from the engine's own event period and cut: price (1 - cut) in every year >= the event
    kept = np.where(u[None, :] >= sim.vbp_period[:, None], 1.0 - sim.vbp_cut[:, None], 1.0)
    pv_paths = (kept * cf[None, :]) @ d
    worst = int(np.argmax(np.abs(sim.pv - pv_paths)))
    check("PV of the worst path", float(sim.pv[worst]), float(pv_paths[worst]), 1e-9 * float(pv_paths[worst]),
          vbp_period=int(sim.vbp_period[worst]), cut=float(sim.vbp_cut[worst]), rate=r)
    # the event period is geometric with the hazard from the first launched year (launched before as_of)
    for k in (1, 2, 3):
        p = (1 - h) ** (k - 1) * h
        got = float((sim.vbp_period == k).mean())
        check(f"P(VBP event in period {k})", got, p, 4 * math.sqrt(p * (1 - p) / sim.n), hazard=h)
    # the mean over paths against the closed form E[price_u] = 1 - c̄ (1 - (1 - h)^u)
    pv_mean = float((cf * (1 - cbar * (1 - (1 - h) ** u))) @ d)
    check("appraised value", sim.appraised_value, pv_mean, 4 * sim.mc_std_error, hazard=h, cut_mean=cbar)


def test_launched_collateral_prices_the_future_vbp_hazard():
    """V_t (paths not yet hit) = (1+i)^t Σ_{u>t} CF_u (1+r)^-(u-1/2-t) [1 - c̄ (1 - (1-h)^(u-t))];
    once hit, (1 - cut) × the same sum without the hazard term. And the no-look-ahead reading: V_t of
    the paths not hit by t equals the mean of what they in fact go on to earn (nested reference)."""
    req, sim, cf, r = vbp_case()
    h, cbar, infl = DEFAULT_PARAMS.vbp_hazard["high"], DEFAULT_PARAMS.vbp_cut_mean, DEFAULT_PARAMS.inflation
    u = np.arange(1, sim.T + 1)
    cut_from = np.where(u[None, :] >= sim.vbp_period[:, None], 1.0 - sim.vbp_cut[:, None], 1.0)
    for t in range(1, 5):
        later = u > t
        d_t = hand_discount(r, u[later] - 0.5 - t)
        waiting = 1 - cbar * (1 - (1 - h) ** (u[later] - t))
        v_open = (1 + infl) ** t * float((cf[later] * waiting) @ d_t)
        v_hit = (1 + infl) ** t * (1 - sim.vbp_cut) * float(cf[later] @ d_t)
        hit = sim.vbp_period <= t
        want = np.where(hit, v_hit, v_open)
        worst = int(np.argmax(np.abs(sim.collateral[:, t] - want)))
        check(f"collateral at t={t}", float(sim.collateral[worst, t]), float(want[worst]), 1e-9 * v_open,
              hit=bool(hit[worst]), hazard=h, cut_mean=cbar, inflation=infl)
        realised = (1 + infl) ** t * ((cut_from[~hit][:, later] * cf[later]) @ d_t)
        se = realised.std(ddof=1) / math.sqrt(realised.size)
        check(f"collateral of unhit paths at t={t} vs their mean realised value", v_open,
              float(realised.mean()), 4 * se, paths=int(realised.size))


# -- borrower: a constant-hazard case, exposure at default -------------------------------------------

def cash_short(term, repayment, rate, n=20_000):
    """No cash, no revenue, no sales, worthless collateral, and no runway target: every period ends
    short, the firm raises with probability q^frac (q_base: no pipeline news on an approved product)
    or defaults. A constant annual hazard h = 1 - q_base."""
    req = case("anaesthetic_injectable",
               applicant={"cash": 0.0, "annual_burn": 1e7, "annual_revenue": 0.0},
               product={"peak_sales": {"p10": 0.0, "p50": 0.0, "p90": 0.0}},
               loan={"amount": 2e7, "term_years": term, "rate": rate, "repayment": repayment},
               sharing={"scheme": "none"}, simulation={"paths": n, "seed": 7})
    params = dataclasses.replace(DEFAULT_PARAMS, runway_target_years=0.0)
    sim = simulate(req, IPC, fixed_posterior(), params, n=n)
    assert np.all(sim.collateral == 0.0) or np.all(sim.collateral[:, 1:] == 0.0)
    return req, params, sim, run_credit(sim, req, [req.loan.amount])


def test_one_year_and_lifetime_pd_on_a_constant_hazard():
    """T = 2.5 (a part-year last period): PD lifetime = 1 - (1 - h)^T, PD annual = h, and the default
    period is geometric, P(period k) = (1 - h)^(S_{k-1}) (1 - (1 - h)^(f_k)), S the years before k."""
    term = 2.5
    req, params, sim, run = cash_short(term, "bullet", 0.06)
    h = 1.0 - params.q_base
    n = sim.n
    life = 1 - (1 - h) ** term
    se = math.sqrt(life * (1 - life) / n)
    got_life = float(run.defaulted[0].mean())
    check("lifetime PD", got_life, life, 4 * se, hazard=h, term=term, paths=n)
    got_annual = float(measures(run, Limits.of(req, params))["pd"][0])
    se_annual = se / (term * (1 - life) ** (1 - 1 / term))          # delta method
    check("annual PD", got_annual, h, 4 * se_annual, hazard=h, term=term, paths=n)
    from ipledge.risk.assess import assess

    credit = assess(req, params=params, escalate=False)["credit"]     # the response's two PD fields
    check("response credit.pd (lifetime)", credit["pd"], life, 4 * se, hazard=h, term=term, paths=n)
    check("response credit.pd_annual", credit["pd_annual"], h, 4 * se_annual, hazard=h, term=term, paths=n)
    before, fracs = 0.0, [1.0, 1.0, 0.5]
    for k, f in enumerate(fracs, start=1):
        p = (1 - h) ** before * (1 - (1 - h) ** f)
        got = float((run.default_period[0] == k).mean())
        check(f"P(default in period {k})", got, p, 4 * math.sqrt(p * (1 - p) / n), hazard=h, frac=f)
        before += f


def test_exposure_at_default_is_balance_plus_the_periods_interest():
    """Amortising 2.5 years at 8%: principal 0.4/0.4/0.2, balance 1/0.6/0.2 at the start of each period,
    interest r × balance × frac; worthless collateral, so loss = EAD = A (balance_k + interest_k) and
    EL = A Σ_k P(default in k) (balance_k + interest_k)."""
    term, r = 2.5, 0.08
    req, params, sim, run = cash_short(term, "amortizing", r)
    A = req.loan.amount
    balance = np.array([1.0, 0.6, 0.2])
    owed = balance + r * balance * np.array([1.0, 1.0, 0.5])
    k = run.default_period[0]
    d = k > 0
    want = A * owed[k[d] - 1]
    check("EAD, worst path", float(np.abs(run.ead[0][d] - want).max()), 0.0, 1e-6, rate=r, term=term)
    check("loss = EAD (worthless collateral)", float(np.abs(run.loss[0][d] - want).max()), 0.0, 1e-6)
    h = 1 - params.q_base
    surv = (1 - h) ** np.array([0.0, 1.0, 2.0])
    p = surv * (1 - (1 - h) ** np.array([1.0, 1.0, 0.5]))
    el = A * float(p @ owed)
    se = run.loss[0].std(ddof=1) / math.sqrt(sim.n)
    check("expected loss", float(run.loss[0].mean()), el, 4 * se, hazard=h, rate=r, owed=owed.tolist())


def test_cash_that_covers_burn_and_interest_never_defaults_and_a_yuan_less_does():
    """Replaces 'ample cash at CNY 50bn' (issue 12). One-year bullet at 6%, no sales or revenue:
    net cash at maturity = cash - burn - A r. Cash = burn + A r: never below 0, PD = 0 exactly;
    CNY 1 less: short at maturity, defaults unless it raises, PD = 1 - q_base."""
    A, r, burn = 2e7, 0.06, 1e7
    base = {"annual_burn": burn, "annual_revenue": 0.0}
    pds = {}
    for label, cash in (("exact", burn + A * r), ("one yuan short", burn + A * r - 1.0)):
        req = case("anaesthetic_injectable", applicant={**base, "cash": cash},
                   product={"peak_sales": {"p10": 0.0, "p50": 0.0, "p90": 0.0}},
                   loan={"amount": A, "term_years": 1, "rate": r, "repayment": "bullet"})
        sim = simulate(req, IPC, fixed_posterior(), n=20_000)
        pds[label] = float(run_credit(sim, req, [A]).defaulted[0].mean())
    check("PD, cash = burn + interest", pds["exact"], 0.0, 0.0, cash=burn + A * r, burn=burn, amount=A, rate=r)
    q = DEFAULT_PARAMS.q_base
    check("PD, one yuan short", pds["one yuan short"], 1 - q, 4 * math.sqrt(q * (1 - q) / 20_000), q_base=q)


# -- tail: ES against a sort of the worst paths, VaR by interpolation of the order statistics ---------

def test_es_and_var_of_the_loan_loss_against_a_sort_of_the_paths():
    """A thin-cash marketed maker whose losses at default vary with the collateral: the tail is not
    flat, so ES 99% (mean of the worst ceil(1% n) losses) must exceed VaR 99%."""
    from ipledge.risk.assess import assess

    req = case("anaesthetic_injectable", applicant={"cash": 5e6, "annual_burn": 1e8},
               loan={"amount": 3.7e7, "term_years": 3, "rate": 0.05, "repayment": "bullet"},
               policy={"max_ltv": 1.0}, sharing={"scheme": "none"}, simulation={"paths": 4000, "seed": 11})
    resp = assess(req, escalate=False)
    sim = simulate(req, resp["scores"]["competitive_contribution"]["ip_contribution"], fixed_posterior())
    check("same paths as the assessment", sim.appraised_value, resp["valuation"]["appraised_value"], 1e-9)
    loss = run_credit(sim, req, [req.loan.amount]).loss[0]
    s = np.sort(loss)
    n, k = s.size, math.ceil(0.01 * s.size)
    es = float(s[-k:].mean())
    pos = 0.99 * (n - 1)
    lo = int(math.floor(pos))
    var = float(s[lo] + (pos - lo) * (s[lo + 1] - s[lo]))
    assert s[-1] > 1.05 * s[-k] > 0, f"tail is flat: worst {s[-1]:,.0f}, {k}th worst {s[-k]:,.0f}"
    for where, got in (("credit block", resp["credit"]), ("run.summary", run_credit(sim, req, [req.loan.amount]).summary())):
        check(f"ES 99% ({where})", got["es_99"], es, 1e-9 * es, paths=n, worst=k)
        check(f"VaR 99% ({where})", got["var_99"], var, 1e-9 * max(var, 1.0), paths=n)
        assert got["es_99"] > got["var_99"] + 0.01 * es, (
            f"{where}: ES {got['es_99']:,.0f} must exceed VaR {got['var_99']:,.0f} where the tail is not flat")
