"""Borrower default, loss, limits for every loss-bearing party, the exact max loan (DESIGN §9).

**Borrower** (per path, per candidate amount A, periods of ``frac_k`` years to maturity, the last one
pro rata). The state is *net cash* ``n`` = cash less the loan's outstanding principal: the proceeds
and the principal cancel, so ``n_0 = applicant.cash`` and, per period,
``n_k = n_{k-1} + frac_k·((annual_revenue + sales_k)·profit_margin − annual_burn) − A·interest_k``.
Financing ahead of need: when ``n_k`` is under the runway target ``R = runway_target_years × net burn``
(net burn = annual_burn − annual_revenue × margin, ≥ 0) the firm tries to raise; it succeeds when the
period's financing uniform is below ``q^frac_k`` (a constant hazard within the year) and then holds
``max(n_k, R)`` (a round tops runway up to R; its size is the gap, never a reset). q follows the latest
pipeline news: ``q_after_failure`` from the year of a failure (or of the holder abandoning the
programme, ipledge.risk.development) on, at most ``q_during_delay`` while a stressed trial delay runs,
``q_after_success`` in a year with a phase success, ``q_base`` otherwise. The firm defaults when
``n_k < 0`` after the attempt: its cash no longer covers what it owes (at maturity, the repayment itself).

Why this shape: post-financing cash ``max(n, R)`` on success and ``n`` on failure are both
non-decreasing in ``n``, and ``n`` is non-decreasing in cash and non-increasing in A and the rate, so on
common random numbers the set of defaulting paths never grows with cash and never shrinks with the
amount, the rate or a lower q (a stress). The old rule (raise only when cash < 0, then hold exactly one
year of burn) let a poorer firm end a year richer than a richer one, and loan proceeds flip it.

Loss at default = max(0, EAD − V_t × (1 − liquidation_haircut)), EAD = A × (balance + the period's
interest), V_t the collateral value at t without look-ahead (ipledge.risk.collateral).

**Measures**: PD lifetime (to maturity) and ``pd_annual = 1 − (1 − PD)^(1/term)``, the constant one-year
PD with the same survival to maturity; EL rates likewise annualised (``expected_loss_basis`` says which
one the bank and total limits read). Losses are split by the scheme catalogue (ipledge.risk.schemes) path by
path, with the fund's per-loan caps.

**Max loan**: the largest amount at which every limit holds (bank EL rate, total EL rate, annual PD,
each party's EL rate on its share), capped by the policy LTV cap and the borrower's capacity; found by
bracketing and bisection on the shared paths to 0.5% of the answer (or CNY 10,000), whatever the cap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ipledge.risk.profiles import amount_cap, ltv_cap
from ipledge.risk.schemes import Scheme, catalogue, scheme_of, split_paths
from ipledge.risk.simulate import SimResult
from ipledge.risk.tail import var_es
from ipledge.valuation.schema import PledgeRequest

# name -> shares of every catalogue scheme (custom takes the request's shares)
SCHEMES: dict[str, dict[str, float]] = {name: dict(s.shares) for name, s in catalogue().items()
                                        if name != "custom"}
RISK_LIMITS = ("bank_el", "total_el", "pd")          # + "party:<name>" for each other loss bearer


def loss_shares(req: PledgeRequest) -> dict[str, float]:
    return dict(scheme_of(req).shares)


@dataclass(frozen=True)
class DebtSchedule:
    """Per unit of principal: debt service s_t and balance b_t before the period's payment."""

    periods: int
    service: np.ndarray     # (Tm,)
    interest: np.ndarray    # (Tm,)
    balance: np.ndarray     # (Tm,) outstanding principal at the start of period t
    frac: np.ndarray = field(default_factory=lambda: np.ones(1))   # (Tm,) length of each period, years

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
        return cls(Tm, interest + principal, interest, balance, frac)


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
    """Borrower net cash and default for every candidate amount at once (amounts × paths)."""
    A = np.atleast_1d(np.asarray(amounts, dtype=float))
    sched = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment)
    Tm, n, p = sched.periods, sim.n, sim.params
    app, margin = req.applicant, req.product.profit_margin
    if u_fin is None:
        u_fin = financing_draws(sim, Tm)
    haircut = req.policy.liquidation_haircut
    target = p.runway_target_years * max(app.annual_burn - app.annual_revenue * margin, 0.0)
    net = np.full((A.size, n), float(app.cash))
    alive = np.ones((A.size, n), bool)
    loss = np.zeros((A.size, n))
    ead = np.zeros((A.size, n))
    dperiod = np.zeros((A.size, n), np.int64)
    failed_at, delay_until = news_times(sim)
    for k in range(Tm):
        t, f = k + 1, float(sched.frac[k])
        t_end = k + f
        sales = sim.sales[:, k] if k < sim.T else np.zeros(n)
        op = f * ((app.annual_revenue + sales) * margin - app.annual_burn)
        net += op[None, :] - A[:, None] * sched.interest[k]
        # a failure weighs on every later round (the lead asset is gone), a success only that year
        success = sim.success_events[:, k] if k < sim.success_events.shape[1] else np.zeros(n, bool)
        q = np.where(success, p.q_after_success, p.q_base)
        q[failed_at <= t_end] = p.q_after_failure
        if delay_until is not None:
            q = np.where(delay_until > k, np.minimum(q, p.q_during_delay), q)
        if f < 1.0:
            q = q ** f                       # a part-year: the same annual hazard of not closing a round
        short = alive & (net < target)
        short &= (u_fin[:, k] < q)[None, :]
        np.copyto(net, target, where=short)          # raised: max(net, target) = target, as net < target
        new = alive & (net < 0)
        if new.any():
            exposure = A[:, None] * (sched.balance[k] + sched.interest[k])
            # a part-year period ends at t_end < t: the buyer knows the year-end before it, never year t's news
            seen = t if f >= 1.0 else k
            coll = sim.collateral[:, min(seen, sim.collateral.shape[1] - 1)] * (1.0 - haircut)
            coll[failed_at <= t_end] = 0.0                      # a failed or dropped programme is worth 0
            lost = np.subtract(exposure, coll[None, :])
            np.maximum(lost, 0.0, out=lost)
            np.copyto(loss, lost, where=new)
            np.copyto(ead, exposure, where=new)
            np.copyto(dperiod, t, where=new)
            alive &= ~new
    return CreditRun(A, loss, ~alive, ead, dperiod)


def news_times(sim: SimResult) -> tuple[np.ndarray, np.ndarray | None]:
    """When investors see the lead asset go, and until when a stressed trial delay runs.

    A programme the holder abandons (ipledge.risk.development: the remaining trials cost more than they are
    worth) is lost to investors as surely as a failed trial, so the failure time is the earlier of the
    two. Under a stressed delay (``extra_delay_years`` > 0) the delay postpones good news only: a trial
    that fails is known to fail on its undelayed timetable (interim futility, or the sponsor stopping
    it), and until the delayed readout (the end of the current stage) the odds are at most
    ``q_during_delay`` (the delay itself is bad news). Without both the stress eases wherever it moves
    a failing readout past maturity (issue 11). From the failure on, the collateral is worth 0."""
    dev = getattr(sim, "development", None)
    failed = sim.failure_time
    delay = None
    if sim.params.extra_delay_years > 0 and sim.completion_times.shape[1] > 0:
        # the delay postpones good news only: a trial that fails is known to fail on its own timetable
        # (a futility analysis, or the sponsor stopping it); every readout moved by the same delay
        failed = np.maximum(failed - sim.params.extra_delay_years, 0.0)
        delay = sim.completion_times[:, 0]
    if dev is not None:
        failed = np.minimum(failed, dev.abandon_time)
    return failed, delay


def financing_draws(sim: SimResult, periods: int) -> np.ndarray:
    """(n, periods) uniforms for the financing outcome each year, from the credit stream.

    Year by year (a row of n paths per year, returned as an (n, periods) view): the first k years'
    draws are the same whatever the loan's term (common random numbers across terms), and only the
    years a loan has are drawn. Drawn once per simulation and reused for every amount."""
    cache = getattr(sim, "_u_fin", None)
    have = 0 if cache is None else cache.shape[0]
    if have < periods:
        more = sim.streams["credit"].random((periods - have, sim.n))     # the stream continues
        cache = more if cache is None else np.concatenate([cache, more])
        sim._u_fin = cache
    return cache[:periods].T


def bank_share(req: PledgeRequest) -> float:
    return loss_shares(req).get("bank", 0.0)


def annualise(rate, term: float):
    """Constant one-year rate with the same survival over ``term`` years: 1 − (1 − r)^(1/term)."""
    r = np.clip(np.asarray(rate, dtype=float), 0.0, 1.0)
    return 1.0 - (1.0 - r) ** (1.0 / term)


# --------------------------------------------------------------------------------------------
# Measures and limits at candidate amounts


@dataclass(frozen=True)
class Limits:
    """Every limit of a request: thresholds, the scheme, the basis of the EL limits."""

    scheme: Scheme
    term: float
    basis: str                          # annual | lifetime
    thresholds: dict[str, float]        # limit name -> threshold
    shares: dict[str, float]
    party_basis: dict[str, str] = field(default_factory=dict)   # party -> annual | lifetime

    @classmethod
    def of(cls, req: PledgeRequest, params) -> "Limits":
        scheme = scheme_of(req)
        pol = req.policy
        th = {"bank_el": pol.max_expected_loss, "total_el": pol.max_total_expected_loss,
              "pd": pol.max_pd_annual}
        own = req.sharing.party_limits or {}
        for party, share in scheme.shares.items():
            if party != "bank" and share > 0:
                th[f"party:{party}"] = float(own.get(party, params.party_limits.get(party, pol.max_expected_loss)))
        return cls(scheme, float(req.loan.term_years), pol.expected_loss_basis, th, dict(scheme.shares),
                   dict(params.party_limit_basis))


def party_expected_losses(scheme: Scheme, loss: np.ndarray, capped: bool = True) -> dict[str, np.ndarray]:
    """Each party's expected loss per amount (rows of ``loss``): shares, the fund's per-loan cap on
    every path, the excess to the bank. Only the capped party needs the paths; the others are shares
    of the mean."""
    el = loss.mean(axis=1)
    out = {p: w * el for p, w in scheme.shares.items()}
    cp, cap = scheme.capped_party, scheme.loan_cap
    if capped and cp in out and math.isfinite(cap) and float(loss.max(initial=0.0)) * scheme.shares[cp] > cap:
        fund = np.minimum(scheme.shares[cp] * loss, cap).mean(axis=1)
        out["bank"] = out.get("bank", 0.0 * el) + (out[cp] - fund)
        out[cp] = fund
    return out


def measures(run: CreditRun, lim: Limits, cols=slice(None), capped: bool = True) -> dict[str, np.ndarray]:
    """Limit values per amount: EL rates on the policy basis, the annual PD, party rates (annual)."""
    loss, A = run.loss[:, cols], run.amounts
    pd_life = run.defaulted[:, cols].mean(axis=1)
    els = party_expected_losses(lim.scheme, loss, capped)
    total = sum(els.values())
    conv = (lambda r: annualise(r, lim.term)) if lim.basis == "annual" else (lambda r: np.asarray(r))
    out = {"pd": annualise(pd_life, lim.term), "total_el": conv(total / A),
           "bank_el": conv(els.get("bank", 0.0 * total) / A)}
    for name in lim.thresholds:
        if name.startswith("party:"):
            party = name[6:]
            rate = els[party] / (lim.shares[party] * A)
            out[name] = rate if lim.party_basis.get(party) == "lifetime" else annualise(rate, lim.term)
    return out


def failing(vals: dict[str, np.ndarray], lim: Limits) -> np.ndarray:
    """(M,) True where some limit fails."""
    bad = np.zeros(np.asarray(vals["pd"]).shape, bool)
    for name, th in lim.thresholds.items():
        bad |= np.asarray(vals[name]) > th + 1e-12
    return bad


def worst_limit(vals: dict[str, np.ndarray], lim: Limits, i: int) -> str:
    """The limit furthest over its threshold at amount i (value / threshold); ties (parties whose rates
    are the same share of one loss) go to the first in the order bank, total, pd, parties."""
    ratio = {k: round(float(np.asarray(vals[k])[i]) / th, 9) for k, th in lim.thresholds.items()}
    top = max(ratio.values())
    return next(k for k in lim.thresholds if ratio[k] == top)


# --------------------------------------------------------------------------------------------
# Max loan


@dataclass
class LtvResult:
    max_loan: float
    cap: float                   # the binding cap (policy LTV cap, profile amount, borrower capacity)
    grid: np.ndarray             # every amount evaluated, ascending
    bank_el_rate: np.ndarray     # bank EL rate (policy basis) at grid
    binding: str                 # bank_el | total_el | pd | party:<name> | scheme_cap | policy_ltv_cap | borrower_capacity
    caps: dict = field(default_factory=dict)          # name -> CNY
    evaluations: int = 0
    ltv_std_error: float = 0.0
    max_loan_std_error: float = 0.0


def amount_caps(req: PledgeRequest, value: float, params) -> dict[str, float]:
    """Caps on the amount that do not depend on the paths: the policy/profile LTV cap (and the
    profile's maximum amount, reported under the same name), the borrower's capacity."""
    cap = ltv_cap(req) * max(value, 0.0)
    prof_amount = amount_cap(req)
    if prof_amount is not None:
        cap = min(cap, prof_amount)
    bc = params.borrower_capacity
    capacity = bc["cash"] * req.applicant.cash + bc["revenue"] * req.applicant.annual_revenue
    return {"policy_ltv_cap": cap, "borrower_capacity": capacity}


def ltv_search(sim: SimResult, req: PledgeRequest, bank_weight: float | None = None,
               params=None) -> LtvResult:
    """Largest amount at which every limit holds, capped by ``amount_caps``.

    The limits are evaluated on the shared paths (common random numbers). The upper cap U is tried
    with the request; if every limit holds at U, U is the answer. Otherwise the bracket [lo, hi] starts
    from the request (when it passes) or from U/8, U/64, ... and is cut in four per pass (three amounts
    in one vectorised run) until hi − lo ≤ max(0.5% × lo, CNY 10,000). The answer is lo, an amount that
    was evaluated and passes; the binding limit is the one failing furthest at hi. ``bank_weight`` is
    accepted for compatibility (the scheme decides the bank's share).
    """
    params = params or sim.params
    lim = Limits.of(req, params)
    caps = amount_caps(req, sim.appraised_value, params)
    cap_name = min(caps, key=caps.get)
    U = float(caps[cap_name])
    Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
    u = financing_draws(sim, Tm)
    tried: dict[float, tuple[bool, dict]] = {}

    def evaluate(amounts):
        amounts = [a for a in amounts if a not in tried and a > 0]
        if not amounts:
            return
        run = run_credit(sim, req, amounts, u)
        vals = measures(run, lim)
        bad = failing(vals, lim)
        for i, a in enumerate(amounts):
            tried[a] = (not bad[i], {k: float(np.asarray(v)[i]) for k, v in vals.items()})

    def result(max_loan, binding):
        grid = np.array(sorted(tried))
        return LtvResult(float(max_loan), U, grid, np.array([tried[a][1]["bank_el"] for a in grid]),
                         binding, caps, len(tried))

    if U < params.search_abs_tol:
        # a cap of ~0 (no collateral value, or no capacity): when a risk limit fails even at the smallest
        # amount it would set the max loan to 0 without the cap too, and it is what a committee must read
        evaluate([params.search_abs_tol])
        ok, _ = tried[params.search_abs_tol]
        return result(0.0, cap_name if ok else worst_of(tried, lim, params.search_abs_tol))
    A_req = float(req.loan.amount)
    evaluate([A_req, U] if A_req < U else [U])
    if tried[U][0]:
        return result(U, cap_name)
    lo = A_req if A_req < U and tried[A_req][0] else 0.0
    hi = min(U, A_req) if lo == 0.0 and A_req < U else U
    while lo == 0.0:                                          # bracket downwards
        cands = [hi / 8.0, hi / 64.0]
        cands = [c for c in cands if c >= params.search_abs_tol]
        if not cands:
            break
        evaluate(cands)
        passing = [c for c in cands if tried[c][0]]
        if passing:
            lo = max(passing)
            hi = min(c for c in [hi] + cands if c > lo and not tried.get(c, (True,))[0])
        else:
            hi = min(cands)
    if lo == 0.0:
        # nothing from CNY 10,000 up passes
        return result(0.0, worst_of(tried, lim, hi))
    while hi - lo > max(params.search_rel_tol * lo, params.search_abs_tol):
        pts = [lo + (hi - lo) * j / 4.0 for j in (1, 2, 3)]
        evaluate(pts)
        for x in pts:
            if tried[x][0]:
                lo = max(lo, x)
        hi = min([hi] + [x for x in pts if x > lo and not tried[x][0]])
    binding = worst_of(tried, lim, hi)
    if binding == "bank_el" and lim.scheme.capped_party and math.isfinite(lim.scheme.loan_cap):
        run = run_credit(sim, req, [hi], u)
        if measures(run, lim, capped=False)["bank_el"][0] <= lim.thresholds["bank_el"] + 1e-12:
            binding = "scheme_cap"           # the bank's limit breaks only because the fund's cap binds
    return result(lo, binding)


def worst_of(tried: dict, lim: Limits, amount: float) -> str:
    vals = {k: np.array([v]) for k, v in tried[amount][1].items()}
    return worst_limit(vals, lim, 0)


def std_errors(sim: SimResult, req: PledgeRequest, res: LtvResult, params=None) -> tuple[float, float]:
    """Monte Carlo standard errors (max loan CNY, LTV) of the search's answer.

    Cap-bound answers have none from the limits (the LTV cap is exact; borrower capacity carries only
    the appraisal's error). Limit-bound: delta method, se(A*) = se(g(A*)) / g'(A*), with se(g) from
    batch means over ``se_batches`` batches of paths and g' the secant over A* ± 10%; the appraisal's
    own error is added for the LTV."""
    params = params or sim.params
    V, se_V = sim.appraised_value, sim.mc_std_error
    A = res.max_loan
    if V <= 0:
        return 0.0, 0.0
    if res.binding == "policy_ltv_cap" or A <= 0:
        return 0.0, 0.0
    if res.binding == "borrower_capacity":
        return 0.0, float(A * se_V / V ** 2)
    lim = Limits.of(req, params)
    name = "bank_el" if res.binding == "scheme_cap" else res.binding
    Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
    run = run_credit(sim, req, [A, 0.9 * A, 1.1 * A], financing_draws(sim, Tm))
    g = measures(run, lim)[name]
    slope = (g[2] - g[1]) / (0.2 * A)
    B = max(2, int(params.se_batches))
    edges = np.linspace(0, sim.n, B + 1).astype(int)
    sub = CreditRun(run.amounts[:1], run.loss[:1], run.defaulted[:1], run.ead[:1], run.default_period[:1])
    batch = np.array([measures(sub, lim, slice(edges[b], edges[b + 1]))[name][0] for b in range(B)])
    se_g = float(batch.std(ddof=1) / math.sqrt(B))
    if slope <= 0:
        se_A = math.inf if se_g > 0 else 0.0
    else:
        se_A = se_g / slope
    se_ltv = math.hypot(se_A / V, A * se_V / V ** 2) if math.isfinite(se_A) else math.inf
    return se_A, se_ltv


def checks_at(req: PledgeRequest, run: CreditRun, sim: SimResult, params, res: LtvResult) -> list[dict]:
    """Every limit at the requested amount (row 0 of ``run``): value, threshold, pass."""
    lim = Limits.of(req, params)
    vals = measures(run, lim)
    rows = []
    for name, th in lim.thresholds.items():
        v = float(vals[name][0])
        basis = ("annual" if name == "pd" else
                 lim.party_basis.get(name[6:], "annual") if name.startswith("party:") else lim.basis)
        rows.append({"limit": name, "value": v, "threshold": th, "passed": bool(v <= th + 1e-12),
                     "basis": basis})
    A = float(req.loan.amount)
    V = sim.appraised_value
    eff = ltv_cap(req)
    rows.append({"limit": "policy_ltv_cap", "value": A / V if V > 0 else None, "threshold": eff,
                 "passed": bool(V > 0 and A <= eff * V + 1e-6), "basis": "ltv"})
    prof_amount = amount_cap(req)
    if prof_amount is not None:
        rows.append({"limit": "profile_max_amount", "value": A, "threshold": prof_amount,
                     "passed": bool(A <= prof_amount + 1e-6), "basis": "CNY"})
    cap = res.caps.get("borrower_capacity", math.inf)
    rows.append({"limit": "borrower_capacity", "value": A, "threshold": cap, "passed": bool(A <= cap + 1e-6),
                 "basis": "CNY"})
    return rows


def required_guarantee_share(bank_el_rate: float, limit: float, max_share: float) -> float | None:
    """Guarantee share g of the bank's loss such that (1 - g) × bank EL rate ≤ limit; None if > max."""
    if bank_el_rate <= limit:
        return 0.0
    g = 1.0 - limit / bank_el_rate
    g = math.ceil(round(g * 100, 6)) / 100  # whole percent, rounded up so the limit holds
    return g if g <= max_share else None


def split_loss(req: PledgeRequest, expected_loss: float, loss_paths: np.ndarray | None = None) -> list[dict]:
    """Each party's share and expected loss; with the per-path losses, the fund's caps apply."""
    scheme = scheme_of(req)
    if loss_paths is None:
        return [{"party": party, "share": share, "expected_loss": share * expected_loss}
                for party, share in scheme.shares.items()]
    parts = split_paths(scheme, np.asarray(loss_paths))
    return [{"party": party, "share": share, "expected_loss": float(np.mean(parts[party]))}
            for party, share in scheme.shares.items()]
