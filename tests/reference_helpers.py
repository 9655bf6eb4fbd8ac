"""Independent references for the absolute-expectation tests (issue 12).

Nothing here calls the engine's own measures, annualisation, discounting or search: discount factors
come from the rate with ``math.pow``, sales accruals from ``scipy.integrate.quad`` of the ramp, limits
from the loss array with numpy, the max loan from a brute-force grid of amounts. The engine is used
only for what the reference is about (the simulated paths, the loss at an amount on those paths).
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy.integrate import quad

DAYS = 365.25          # the model's year (valuation/terms.py DAYS_PER_YEAR), restated: a unit, not a helper


def check(name, got, expected, tol, **inputs):
    """QuantLib-style assertion: the failure names the quantity, the inputs, expected, got, tolerance."""
    assert abs(got - expected) <= tol, (
        f"{name}: inputs={inputs} expected={expected!r} got={got!r} |diff|={abs(got - expected)!r} "
        f"tolerance={tol!r}")


def years_between(a: dt.date, b: dt.date) -> float:
    return (b - a).days / DAYS


def invention_expiry(filing: dt.date) -> dt.date:
    """20 years from filing, the day before the anniversary (Patent Law art. 42; not a 29 February)."""
    return dt.date(filing.year + 20, filing.month, filing.day) - dt.timedelta(days=1)


def hand_discount(rate: float, times) -> np.ndarray:
    """(1 + r)^-t, one ``math.pow`` per time."""
    return np.array([math.pow(1.0 + rate, -float(t)) for t in times])


def hand_cash_flows(T: int, peak: float, share: float, launch: float, ytp: float, excl: float) -> np.ndarray:
    """(T,) IP cash flow of period u = 1..T: peak × share × ∫ min(1, (s - L)/ytp) ds over the part of
    year u after launch and before exclusivity end, by numerical quadrature of the ramp itself."""
    def ramp(s):
        age = s - launch
        if age <= 0:
            return 0.0
        return 1.0 if ytp <= 0 else min(1.0, age / ytp)

    out = np.zeros(T)
    for u in range(1, T + 1):
        a, b = max(u - 1.0, launch), min(float(u), excl)
        if b > a:
            kink = [launch + ytp] if a < launch + ytp < b else None
            out[u - 1] = peak * share * quad(ramp, a, b, points=kink, epsabs=1e-12, epsrel=1e-12)[0]
    return out


def annual(rate, term: float):
    """One-year rate with the same survival over ``term`` years (restated from the definition)."""
    return 1.0 - (1.0 - np.asarray(rate, float)) ** (1.0 / term)


def hand_limits(run, term: float, shares: dict[str, float], thresholds: dict[str, float],
                party_basis: dict[str, str] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every limit at each amount of ``run`` (rows) from the loss array, for a scheme without fund caps:
    the bank and total EL rates annualised, the annual PD, each other party's EL rate on its share
    (annual unless ``party_basis`` says lifetime). Returns (values, passes) with passes (M,) bool."""
    A = np.asarray(run.amounts, float)
    el = run.loss.mean(axis=1)
    vals = {"pd": annual(run.defaulted.mean(axis=1), term),
            "total_el": annual(el / A, term),
            "bank_el": annual(shares.get("bank", 0.0) * el / A, term)}
    for party, w in shares.items():
        if party != "bank" and w > 0:
            rate = (w * el) / (w * A)
            lifetime = (party_basis or {}).get(party) == "lifetime"
            vals[f"party:{party}"] = rate if lifetime else annual(rate, term)
    ok = np.ones(A.size, bool)
    for name, th in thresholds.items():
        ok &= vals[name] <= th
    return vals, ok


def grid_max_loan(evaluate, upper: float, coarse: int = 400, fine: int = 400) -> tuple[float, float]:
    """Brute-force max loan: the largest amount of a fine grid over (0, upper] below which every grid
    amount passes. ``evaluate(amounts) -> (M,) bool``. A coarse grid over (0, upper] finds the first
    failing cell, a fine grid resolves it. Returns (answer, resolution). Asserts that the passing
    amounts of the coarse grid form a prefix (otherwise "the max loan" is not well defined)."""
    A = np.linspace(upper / coarse, upper, coarse)
    ok = evaluate(A)
    if ok.all():
        return upper, 0.0
    first_bad = int(np.argmin(ok))
    assert not ok[first_bad:].any(), (
        f"limits pass again above the first failing amount {A[first_bad]:,.0f}: passing at "
        f"{A[first_bad:][ok[first_bad:]][:5]}")
    lo = A[first_bad - 1] if first_bad else 0.0
    F = np.linspace(lo, A[first_bad], fine + 1)[1:]
    okF = evaluate(F)
    k = int(np.argmin(okF))          # okF[-1] is False (the coarse failing amount)
    answer = float(F[k - 1]) if k else float(lo)
    return answer, float(F[1] - F[0])
