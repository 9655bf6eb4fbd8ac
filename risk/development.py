"""Cost to complete development, with the option to abandon (issue 10; DESIGN §8.7).

Whoever holds a pipeline asset must pay for the trials still to run before any sale. The holder pays
each remaining phase's cost at the phase's start and goes on only while the expected value of going
on exceeds that cost; otherwise it abandons (no further cost, no sales). The expected continuation
value is estimated by least-squares Monte Carlo, backwards from the last phase (Longstaff & Schwartz
2001; Schwartz 2004 values patents and R&D projects this way), so the value of the asset is an
option and never negative.

Costs (CNY, today's prices; the valuation is in real terms, see :mod:`ipledge.risk.params` ``inflation``):
``product.development_cost[phase]`` when given, else per-study cost (Fernando et al. 2021) × studies
per phase × China cost factor × CNY per USD, and for the phase under way its expected remaining share
(``current_phase_cost_left``). The pledged IP bears the costs in the proportion in which it takes the
product's profit (``ip_share / profit_margin``: the IP contribution under a profit split), the same
proportion as its cash flows, so the abandonment decision is the product's decision.

State at a phase start s (what the holder knows then, no look-ahead): the phase, the date s, whether
the patent outcomes are resolved and, if so, the years of exclusivity left under the term-extension
rule applied to the launch date expected at s. Regressors: 1, s, s², resolved, resolved × years left.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ipledge.risk.params import ModelParams
from ipledge.risk.posterior import STAGES
from ipledge.valuation.schema import PledgeRequest

N_POLICY_BASIS = 5
MAX_YEARS_LEFT = 30.0     # exclusivity left is capped: beyond 30 years it adds nothing in a 30-year horizon


def default_phase_cost(stage: str, params: ModelParams) -> float:
    """Product-level CNY cost of a whole phase from the cited per-study cost and the assumptions."""
    return (params.cost_per_study_usd[stage] * params.studies_per_phase[stage] * params.china_cost_factor
            * params.usd_cny)


def remaining_phase_costs(req: PledgeRequest, params: ModelParams) -> np.ndarray:
    """(K,) product-level CNY cost of each remaining phase, the current one first (its part still to pay)."""
    prod = req.product
    given = prod.development_cost or {}
    s = STAGES.index(prod.stage)
    out = []
    for k, stage in enumerate(STAGES[s:-1]):
        if stage in given:
            out.append(float(given[stage]))
        else:
            share = params.current_phase_cost_left if k == 0 else 1.0
            out.append(default_phase_cost(stage, params) * share)
    return np.array(out, dtype=float)


def ip_cost_share(ip_share: float, profit_margin: float) -> float:
    """Share of the product's cost the pledged IP bears: its share of the product's profit."""
    return min(1.0, ip_share / profit_margin) if profit_margin > 0 else 1.0


def policy_features(start: np.ndarray, years_left: np.ndarray, resolved: np.ndarray) -> np.ndarray:
    """(B, m) regressors of the continuation value at a phase start (see the module docstring)."""
    s = np.asarray(start, float)
    r = np.broadcast_to(np.asarray(resolved, float), s.shape)
    e = r * np.minimum(np.asarray(years_left, float), MAX_YEARS_LEFT)
    return np.stack([np.ones_like(s), s, s * s, r, e])


@dataclass(frozen=True)
class AbandonmentPolicy:
    """The fitted exercise rule: go on with phase k at start s iff fitted continuation > its cost."""

    costs: np.ndarray    # (K,) CNY borne by the IP, paid at each remaining phase's start
    coef: np.ndarray     # (K, B) continuation value at the phase start (CNY at that date)

    def goes_on(self, k: int, start, years_left, resolved) -> np.ndarray:
        if self.costs[k] <= 0:
            return np.ones(np.shape(start), bool)     # nothing to pay: continuing never hurts
        fitted = self.coef[k] @ policy_features(start, years_left, resolved)
        return fitted > self.costs[k]


@dataclass(frozen=True)
class Development:
    """Result of the backward induction on the simulated paths."""

    policy: AbandonmentPolicy
    value: np.ndarray          # (n,) PV at as_of of the IP cash flows less costs, under the policy
    cost_pv: np.ndarray        # (n,) PV at as_of of the costs paid
    paid: np.ndarray           # (n, K) bool, phase k's cost paid
    abandoned: np.ndarray      # (n,) bool, the holder stopped at some phase start
    abandon_time: np.ndarray   # (n,) years from as_of of that stop (inf: never)


def no_costs(n: int, K: int, pv: np.ndarray) -> Development:
    pol = AbandonmentPolicy(np.zeros(K), np.zeros((K, N_POLICY_BASIS)))
    return Development(pol, pv, np.zeros(n), np.ones((n, K), bool), np.zeros(n, bool), np.full(n, np.inf))


def fit_abandonment(pv: np.ndarray, starts: np.ndarray, reached: np.ndarray, years_left: np.ndarray,
                    resolved: np.ndarray, costs: np.ndarray, discount_at) -> Development:
    """Backward induction over the remaining phases (LSM).

    ``pv`` (n,): PV at as_of of the IP cash flows each path earns if it goes on everywhere;
    ``starts``, ``years_left``, ``resolved`` (n, K): the state at each phase start; ``reached`` (n, K):
    the path gets to that start; ``discount_at(times, rows)``: discount factors to as_of.
    The realised value of going on (not the fitted one) is carried backwards, as Longstaff & Schwartz.
    """
    n, K = reached.shape
    if K == 0 or not np.any(costs > 0):
        return no_costs(n, K, pv)
    value = pv.copy()
    go = np.ones((n, K), bool)
    coef = np.zeros((K, N_POLICY_BASIS))
    for k in range(K - 1, -1, -1):
        if costs[k] <= 0:
            continue
        if k == 0:
            # the phase under way: every path is at the same state today, the fit is the mean
            ok = value.mean() > costs[0]
            go[:, 0] = ok
            coef[0, 0] = value.mean()
            value = value - costs[0] if ok else np.zeros(n)
            continue
        rows = np.flatnonzero(reached[:, k])
        if rows.size == 0:
            continue
        d = discount_at(starts[rows, k], rows)
        X = policy_features(starts[rows, k], years_left[rows, k], resolved[rows, k])
        y = value[rows] / d
        # least squares on standardised columns; lstsq's SVD turns constant or collinear columns into 0
        scale = np.maximum(np.abs(X).max(axis=1), 1e-12)
        beta = np.linalg.lstsq((X / scale[:, None]).T, y, rcond=None)[0] / scale
        coef[k] = beta
        ok = beta @ X > costs[k]
        go[rows, k] = ok
        value[rows] = np.where(ok, value[rows] - costs[k] * d, 0.0)
    # realised decisions: the first phase start where the holder stops ends the path
    # column by column (a short last axis): stopped at an earlier start, paid, the first stop's date
    paid_t = np.empty((K, n), bool)
    stopped = np.zeros(n, bool)
    abandon_time = np.full(n, np.inf)
    for k in range(K):
        stop_k = reached[:, k] & ~go[:, k]
        np.logical_and(reached[:, k] & go[:, k], ~stopped, out=paid_t[k])
        abandon_time = np.where(stop_k & ~stopped, starts[:, k], abandon_time)
        stopped |= stop_k
    paid = paid_t.T
    abandoned = stopped
    cost_pv = np.zeros(n)
    for k in range(K):
        rows = np.flatnonzero(paid[:, k])
        if rows.size and costs[k] > 0:
            cost_pv[rows] += costs[k] * discount_at(starts[rows, k], rows)
    return Development(AbandonmentPolicy(costs.copy(), coef), value, cost_pv, paid, abandoned, abandon_time)
