"""The holder's abandonment rule on simulated paths (ipledge.risk.simulate._development) refitted here.

ipledge.risk.development's docstring states the rule: at the start s of each remaining phase k >= 1 the holder
regresses the realised value of going on (carried backwards, Longstaff & Schwartz) on 1, s, s², resolved,
resolved × min(years left, 30), where resolved = (s >= the patent resolution lag, 0 with no pending outcome) and
years left = exclusivity end under the term-extension rule (extension only for a patent in force at approval,
at most 14 years after it) applied to the launch date expected at s (s + the mean durations of phase k and
the later ones), less s; it goes on iff the fitted value exceeds the IP's part of the cost. Phase 0 is decided
today on the mean. Everything below is written out from that rule with numpy's lstsq; the paths' values
without any cost come from the same seed with every cost 0 (the draws do not depend on the costs).
"""
from __future__ import annotations

import numpy as np
import pytest
from risk_helpers import case, fixed_posterior

from ipledge.risk import simulate as sm
from ipledge.risk.params import DEFAULT_PARAMS

PATHS, SEED, IPC = 3000, 6, 0.3


def capped_phase2(pending: bool, costs: dict[str, float]):
    """Phase II oncology whose core invention (expiry 2041-04-30, 14.5 years out) asks 5 years of
    compensation: the 14-years-after-approval cap binds for an expected launch before ~5.5 years, so the
    years left bend with the start date; with ``pending`` the second patent's grant is still open."""
    pats = case("oncology_antibody_phase2").model_dump(mode="json")["patents"]
    pats[0] = dict(pats[0], filing_date="2021-05-01", grant_date="2024-01-10", term_extension_years=5)
    if not pending:
        pats = pats[:1]
    return case("oncology_antibody_phase2", product={"development_cost": costs},
                simulation={"paths": PATHS, "seed": SEED}, patents=pats)


def exclusivity_by_hand(patents, alive, launch):
    """Latest end among the patents alive on each path, the extension rule applied at ``launch``."""
    out = np.zeros(launch.shape)
    for b, e, on in zip(patents.base, patents.extension, alive):
        ext = np.where(b > launch, np.minimum(e, np.maximum(launch + 14.0 - b, 0.0)), 0.0)
        out = np.maximum(out, np.where(on, b + ext, 0.0))
    return np.maximum(out + DEFAULT_PARAMS.exclusivity_shift_years, 0.0)


@pytest.mark.parametrize("pending, costs", [
    (False, {"phase2": 0.0, "phase3": 6.0e8, "filed": 4.0e8}),
    (True, {"phase2": 0.0, "phase3": 6.0e8, "filed": 4.0e8}),
    (False, {"phase2": 0.0, "phase3": 6.0e8, "filed": 1.0}),      # a cost below one yuan (IP's part) still has a rule
])
def test_the_abandonment_rule_is_the_documented_regression_refitted_phase_by_phase(pending, costs):
    req = capped_phase2(pending, costs)
    post = fixed_posterior()
    sim = sm.simulate(req, IPC, post, n=PATHS)
    free = sm.simulate(capped_phase2(pending, {k: 0.0 for k in costs}), IPC, post, n=PATHS)
    patents = sm.PatentTable.from_request(req, DEFAULT_PARAMS)
    assert patents.uncertain.any() == pending
    dev = sim.development
    share = min(1.0, sim.ip_share / req.product.profit_margin)
    want_costs = np.array([costs["phase2"], costs["phase3"], costs["filed"]]) * share
    assert np.allclose(dev.policy.costs, want_costs, rtol=1e-12), (dev.policy.costs, want_costs)

    comp, passed, means = sim.completion_times, sim.passed, sim.stage_means
    n, K = comp.shape
    starts = np.concatenate([np.zeros((n, 1)), comp[:, :-1]], axis=1)
    reached = np.concatenate([np.ones((n, 1), bool), passed[:, :-1]], axis=1)
    lag = DEFAULT_PARAMS.patent_resolution_years if pending else 0
    r = req.policy.discount_rate
    value = free.pv.copy()                       # what each path earns going on everywhere
    go = np.ones((n, K), bool)
    kinked = 0
    for k in range(K - 1, 0, -1):
        rows = np.flatnonzero(reached[:, k])
        s = starts[rows, k]
        launch_hat = s + means[k:].sum()
        left = exclusivity_by_hand(patents, sim.patent_alive[:, rows], launch_hat) - s
        res = (s >= lag).astype(float)
        X = np.stack([np.ones_like(s), s, s * s, res, res * np.minimum(left, 30.0)], axis=1)
        d = (1.0 + r) ** -s
        y = value[rows] / d
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        want = X @ beta
        got = X @ dev.policy.coef[k]
        tol = 1e-6 * np.abs(y).max()
        assert np.allclose(got, want, rtol=0, atol=tol), (
            f"pending={pending}, phase {k} ({rows.size} paths reach it): the fitted continuation value differs "
            f"from the documented regression by up to {np.abs(got - want).max():,.0f} CNY, tolerance {tol:,.0f}")
        ok = want > want_costs[k]
        go[rows, k] = ok
        value[rows] = np.where(ok, value[rows] - want_costs[k] * d, 0.0)
        kinked += int(((launch_hat + 14.0 < patents.base[0] + 5.0) & (s >= lag)).sum())
    ok0 = value.mean() > want_costs[0]
    go[:, 0] = ok0
    value = value - want_costs[0] if ok0 else np.zeros(n)
    assert kinked > 200, f"only {kinked} phase starts where the 14-year cap binds: the years left must bend"
    stop = reached & ~go
    abandoned = stop.any(axis=1)
    assert 0.02 < abandoned.mean() < 0.9, f"abandonment rate {abandoned.mean():.3f}"
    assert np.array_equal(dev.abandoned, abandoned), (
        f"{int((dev.abandoned != abandoned).sum())} paths abandon differently (got {dev.abandoned.mean():.4f}, "
        f"expected {abandoned.mean():.4f})")
    assert np.allclose(dev.value, value, rtol=1e-9, atol=1e-3), np.abs(dev.value - value).max()
