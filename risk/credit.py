"""Borrower default, loss, LTV search and loss sharing (DESIGN §9).

Borrower cash (per path, per candidate loan amount A, annual steps to maturity):
``cash_0 = applicant.cash + A``;
``cash_t = cash_{t-1} + (annual_revenue + sales_t) × profit_margin − annual_burn − A·s_t``
where ``s_t`` is the debt service per unit of principal (interest on the balance, principal at maturity
for a bullet loan, equal principal instalments for an amortising one). When ``cash_t < 0`` (including at
maturity, where the balance falls due) the firm raises money with probability q — 0.6 base, 0.85 in a
year with a phase success, 0.2 in the year of a pipeline failure and every year after it (investors do
not come back to a firm whose lead asset failed) — and then holds one year of burn; else it defaults
at t. A refinanced maturity repays the bank.

Loss at default = max(0, EAD − V_t × (1 − liquidation_haircut)), with EAD the outstanding principal
plus the period's interest and V_t the collateral value at t without look-ahead (risk.collateral).
Pipeline failure, lost financing and low collateral value thus happen on the same paths (wrong-way
risk).

All candidate amounts share the same paths and the same financing draws (common random numbers), so
the bank's expected-loss rate is a smooth function of A and the search over A is one vectorised pass
(amounts × paths arrays, one loop over the ≤ 10 years to maturity).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from risk.simulate import SimResult
from risk.tail import var_es
from valuation.schema import PledgeRequest

SCHEMES: dict[str, dict[str, float]] = {
    # DESIGN §9; lending.md (ipledge cited data) (Guangzhou fund rules; CNIPA via creditchina)
    "none": {"bank": 1.0},
    "guangzhou_5311": {"fund": 0.50, "guarantor": 0.30, "appraiser": 0.10, "bank": 0.10},
    "zhongshan": {"fund": 0.54, "bank": 0.26, "insurer": 0.16, "appraiser": 0.04},
    "zhuhai": {"bank": 0.60, "fund": 0.40},
}


def loss_shares(req: PledgeRequest) -> dict[str, float]:
    if req.sharing.scheme == "custom":
        return dict(req.sharing.shares)
    return dict(SCHEMES[req.sharing.scheme])


@dataclass(frozen=True)
class DebtSchedule:
    """Per unit of principal: debt service s_t and balance b_t before the period's payment."""

    periods: int
    service: np.ndarray     # (Tm,)
    interest: np.ndarray    # (Tm,)
    balance: np.ndarray     # (Tm,) outstanding principal at the start of period t

    @classmethod
    def from_loan(cls, term: float, rate: float, repayment: str) -> "DebtSchedule":
        Tm = max(1, math.ceil(term - 1e-9))
        frac = np.minimum(1.0, term - np.arange(Tm))            # the last period may be partial
        if repayment == "bullet":
            principal = np.zeros(Tm)
            principal[-1] = 1.0
        else:
            principal = frac / frac.sum()
        balance = 1.0 - np.concatenate([[0.0], np.cumsum(principal)[:-1]])
        interest = balance * rate * frac
        return cls(Tm, interest + principal, interest, balance)


@dataclass
class CreditRun:
    """Loss per candidate amount and path, and what the report needs."""

    amounts: np.ndarray        # (M,)
    loss: np.ndarray           # (M, n)
    defaulted: np.ndarray      # (M, n) bool
    ead: np.ndarray            # (M, n) exposure at default (0 where no default)
    default_period: np.ndarray  # (M, n) int, 0 = no default

    def summary(self, i: int = 0) -> dict:
        loss, d, ead, A = self.loss[i], self.defaulted[i], self.ead[i], float(self.amounts[i])
        pd_ = float(d.mean())
        el = float(loss.mean())
        ead_mean = float(ead[d].mean()) if d.any() else 0.0
        lgd = float(loss[d].sum() / ead[d].sum()) if d.any() and ead[d].sum() > 0 else 0.0
        var99, es99 = var_es(loss, 0.99)
        return {"pd": pd_, "lgd": lgd, "ead": ead_mean, "expected_loss": el,
                "expected_loss_rate": el / A if A > 0 else 0.0, "var_99": var99,
                "es_99": es99}


def run_credit(sim: SimResult, req: PledgeRequest, amounts, u_fin: np.ndarray | None = None) -> CreditRun:
    """Borrower cash and default for every candidate amount at once (amounts × paths)."""
    A = np.atleast_1d(np.asarray(amounts, dtype=float))
    sched = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment)
    Tm, n, p = sched.periods, sim.n, sim.params
    app, margin = req.applicant, req.product.profit_margin
    if u_fin is None:
        u_fin = financing_draws(sim, Tm)
    haircut = req.policy.liquidation_haircut
    cash = np.broadcast_to(app.cash + A[:, None], (A.size, n)).copy()
    alive = np.ones((A.size, n), bool)
    loss = np.zeros((A.size, n))
    ead = np.zeros((A.size, n))
    dperiod = np.zeros((A.size, n), np.int64)
    refill = p.raise_years_of_burn * app.annual_burn
    for k in range(Tm):
        t = k + 1
        sales = sim.sales[:, k] if k < sim.T else np.zeros(n)
        inflow = (app.annual_revenue + sales) * margin - app.annual_burn
        cash += inflow[None, :] - A[:, None] * sched.service[k]
        # a failure weighs on every later round (the lead asset is gone), a success only that year
        success = sim.success_events[:, k] if k < sim.success_events.shape[1] else np.zeros(n, bool)
        q = np.where(sim.failure_time <= t, p.q_after_failure,
                     np.where(success, p.q_after_success, p.q_base))
        short = alive & (cash < 0)
        raised = short & (u_fin[:, k] < q)[None, :]
        cash = np.where(raised, refill, cash)
        new = short & ~raised
        if new.any():
            exposure = A[:, None] * (sched.balance[k] + sched.interest[k])
            coll = sim.collateral[:, min(t, sim.collateral.shape[1] - 1)] * (1.0 - haircut)
            lost = np.maximum(exposure - coll[None, :], 0.0)
            loss = np.where(new, lost, loss)
            ead = np.where(new, exposure, ead)
            dperiod = np.where(new, t, dperiod)
            alive &= ~new
    return CreditRun(A, loss, ~alive, ead, dperiod)


def financing_draws(sim: SimResult, periods: int) -> np.ndarray:
    """(n, periods) uniforms for the financing outcome each year, from the credit stream.

    Drawn once per simulation and reused for every amount (common random numbers)."""
    cache = getattr(sim, "_u_fin", None)
    if cache is None or cache.shape[1] < periods:
        cache = sim.streams["credit"].random((sim.n, max(periods, 10)))
        sim._u_fin = cache
    return cache[:, :periods]


def bank_share(req: PledgeRequest) -> float:
    return loss_shares(req).get("bank", 0.0)


@dataclass
class LtvResult:
    max_loan: float
    cap: float
    grid: np.ndarray
    bank_el_rate: np.ndarray
    binding: str     # "expected_loss" | "max_ltv" | "no_value"


def ltv_search(sim: SimResult, req: PledgeRequest, bank_weight: float | None = None) -> LtvResult:
    """Largest loan whose bank expected-loss rate ≤ policy.max_expected_loss, capped at max_ltv × value.

    A coarse grid over (0, cap], then a finer grid inside the first failing bracket, then linear
    interpolation of the bank EL rate to the limit. 'Largest' means the first crossing: every amount
    below the answer passes, so the result moves monotonically with anything that moves losses.
    """
    limit = req.policy.max_expected_loss
    w = bank_share(req) if bank_weight is None else bank_weight
    cap = req.policy.max_ltv * max(sim.appraised_value, 0.0)
    if cap <= 0:
        return LtvResult(0.0, 0.0, np.zeros(0), np.zeros(0), "no_value")
    G = sim.params.ltv_grid_points
    Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
    u = financing_draws(sim, Tm)

    def rates(amounts):
        run = run_credit(sim, req, amounts, u)
        return w * run.loss.mean(axis=1) / run.amounts

    coarse = cap * np.arange(1, G + 1) / G
    r1 = rates(coarse)
    fail = np.flatnonzero(r1 > limit + 1e-12)
    if fail.size == 0:
        return LtvResult(cap, cap, coarse, r1, "max_ltv")
    j = fail[0]
    lo = coarse[j - 1] if j > 0 else 0.0
    fine = lo + (coarse[j] - lo) * np.arange(1, G // 2 + 1) / (G // 2)
    r2 = rates(fine)
    grid = np.concatenate([coarse[:j], fine])
    rate = np.concatenate([r1[:j], r2])
    fail2 = np.flatnonzero(rate > limit + 1e-12)
    k = fail2[0]
    if k == 0:
        # even the smallest amount tried breaks the limit: nothing can be lent on these terms
        return LtvResult(0.0, cap, grid, rate, "expected_loss")
    a0, a1, r0, rr1 = grid[k - 1], grid[k], rate[k - 1], rate[k]
    max_loan = a0 + (a1 - a0) * (limit - r0) / (rr1 - r0) if rr1 > r0 else a0
    return LtvResult(float(min(max(max_loan, a0), a1)), cap, grid, rate, "expected_loss")


def required_guarantee_share(bank_el_rate: float, limit: float, max_share: float) -> float | None:
    """Guarantee share g of the bank's loss such that (1 - g) × bank EL rate ≤ limit; None if > max."""
    if bank_el_rate <= limit:
        return 0.0
    g = 1.0 - limit / bank_el_rate
    g = math.ceil(round(g * 100, 6)) / 100  # whole percent, rounded up so the limit holds
    return g if g <= max_share else None


def split_loss(req: PledgeRequest, expected_loss: float) -> list[dict]:
    return [{"party": party, "share": share, "expected_loss": share * expected_loss}
            for party, share in loss_shares(req).items()]
