"""The credit module's rules at their edges, on synthetic paths with known answers (issue 12).

No simulation: the paths (sales, collateral, failure and delay times, financing uniforms) are fixed arrays, so
every rule of ipledge.risk.credit is checked on numbers written out from its docstring: the search for the max
loan against a pass/fail amount known in closed form (and its evaluated amounts against the bracketing and
quartering the docstring describes), the binding label under a capped scheme, the limit table's pass flags
exactly at their thresholds and their 1e-12 / 1e-6 slack, failure and delay news exactly at a period end, a
financing uniform equal to its odds, the cached financing stream, batch standard errors by hand, the fund's
per-loan cap and the small dataclasses.
"""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from risk_helpers import case
from test_credit_path_reference import reference_path, request, se_case

from ipledge.risk import credit
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.risk.schemes import Scheme, catalogue

M = 1e6
# the caps of these tests: the LTV cap is the only one (custom profile, max_ltv 1: the cap is the value)
P = dataclasses.replace(DEFAULT_PARAMS, borrower_capacity={"cash": 100.0, "revenue": 100.0})


def flat_sim(n=4, T=2, value=1e8, params=P, coll=1e15, u=0.99, failure=math.inf, completion=5.0, se_V=0.0):
    """n identical paths: no sales, no success, collateral ``coll`` every year, financing uniform ``u``."""
    return NS(n=n, T=T, params=params, sales=np.zeros((n, T)), success_events=np.zeros((n, T), bool),
              collateral=np.full((n, T + 1), float(coll)), failure_time=np.full(n, float(failure)),
              completion_times=np.full((n, 1), float(completion)), development=None, appraised_value=float(value),
              mc_std_error=se_V, streams=None, _u_fin=np.full((T, n), float(u)))


def one_year_request(amount, headroom, sharing=None, **policy):
    """A 1-year bullet at 25%: no revenue, burn 10m, cash 10m + ``headroom``. Net cash at maturity is
    headroom - 0.25 A, so with no financing (uniform 0.99 above every q) a path defaults iff A > 4 headroom."""
    return case("anaesthetic_injectable",
                applicant={"cash": 10 * M + headroom, "annual_burn": 10 * M, "annual_revenue": 0.0},
                loan={"amount": amount, "term_years": 1, "rate": 0.25, "repayment": "bullet"},
                policy={"max_ltv": 1.0, "profile": "custom", **policy}, sharing=sharing or {"scheme": "none"})


def search_by_the_docstring(passes, U, A_req, rel=0.005, tol=10_000.0):
    """The search as ipledge.risk.credit.ltv_search's docstring states it: U is tried with the request; if U
    passes it is the answer; else the bracket starts from the request (if it passes) or goes down by U/8,
    U/64 (amounts of at least CNY 10,000) from the failing top, and is cut in four per pass until
    hi - lo <= max(0.5% lo, CNY 10,000). Returns (answer, every amount evaluated ascending, hi)."""
    seen = {}

    def ev(xs):
        for x in xs:
            if x > 0 and x not in seen:
                seen[x] = passes(x)

    if U < tol:
        ev([tol])
        return 0.0, sorted(seen), tol
    ev([A_req, U] if A_req < U else [U])
    if seen[U]:
        return U, sorted(seen), U
    lo = A_req if A_req < U and seen[A_req] else 0.0
    hi = A_req if not lo and A_req < U else U
    while not lo:
        cands = [c for c in (hi / 8.0, hi / 64.0) if c >= tol]
        if not cands:
            break
        ev(cands)
        good = [c for c in cands if seen[c]]
        if good:
            lo = max(good)
            hi = min(c for c in [hi] + cands if c > lo and not seen[c])
        else:
            hi = min(cands)
    if not lo:
        return 0.0, sorted(seen), hi
    while hi - lo > max(rel * lo, tol):
        pts = [lo + (hi - lo) * j / 4.0 for j in (1, 2, 3)]
        ev(pts)
        lo = max([lo] + [x for x in pts if seen[x]])
        hi = min([hi] + [x for x in pts if x > lo and not seen[x]])
    return lo, sorted(seen), hi


# (label, requested amount, headroom (the answer is 4 x headroom), appraised value = the LTV cap)
SEARCH_CASES = [
    ("request passes, cap fails", 5 * M, 10 * M, 100 * M),
    ("request fails below the cap", 60 * M, 10 * M, 100 * M),
    ("request above the cap", 200 * M, 10 * M, 100 * M),
    ("bracketing down twice", 200 * M, 7_500.0, 100 * M),
    ("nothing from CNY 10,000 up passes", 200 * M, 5_000.0, 100 * M),
    ("U/64 exactly CNY 10,000", 1 * M, 5_000.0, 640_000.0),
    ("the bracket ends exactly at CNY 10,000", 1 * M, 263_750.0, 1.16 * M),
    ("a request of half a yuan", 0.5, 10 * M, 100 * M),
    ("a cap of exactly CNY 10,000", 5_000.0, 10 * M, 10_000.0),
    ("a cap under CNY 10,000, the limits fail there", 5_000.0, 1_000.0, 9_000.0),
]


@pytest.mark.parametrize("label,amount,headroom,value", SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
def test_search_evaluates_the_amounts_its_docstring_describes_and_returns_the_largest_passing_one(
        label, amount, headroom, value):
    req = one_year_request(amount, headroom)
    sim = flat_sim(value=value)
    res = credit.ltv_search(sim, req, params=P)
    a_star = 4 * headroom                                   # no default (PD 0, EL 0) iff 0.25 A <= headroom

    def passes(a):
        return headroom - 0.25 * a >= 0

    want, grid, hi = search_by_the_docstring(passes, value, float(amount))
    assert res.max_loan == want and res.grid.tolist() == grid and res.evaluations == len(grid), (
        f"{label}: request {amount}, cap {value}, passes iff A <= {a_star}: expected max loan {want} after "
        f"evaluating {grid}, got {res.max_loan} after {res.grid.tolist()} ({res.evaluations} evaluations)")
    assert res.cap == value and res.caps["policy_ltv_cap"] == value, (res.cap, res.caps)
    assert res.bank_el_rate.tolist() == [0.0] * len(grid), "no loss on any path at any amount: bank EL 0"
    if want >= value:
        assert res.binding == "policy_ltv_cap", (label, res.binding)
    else:
        assert res.binding == "pd", f"{label}: only the PD limit fails above {a_star}: binding {res.binding}"
        tol = max(0.005 * want, 10_000.0)
        assert want <= a_star and (a_star - want <= tol or want == 0.0), (label, want, a_star, tol)
    if value < 10_000.0:
        assert want == 0.0 and res.grid.tolist() == [10_000.0], res.grid


def test_a_cap_of_exactly_cny_10000_is_searched_and_a_passing_cap_is_the_answer():
    res = credit.ltv_search(flat_sim(value=10_000.0), one_year_request(5_000.0, 10 * M), params=P)
    assert (res.max_loan, res.binding) == (10_000.0, "policy_ltv_cap"), (res.max_loan, res.binding)
    tiny = credit.ltv_search(flat_sim(value=9_000.0), one_year_request(5_000.0, 10 * M), params=P)
    assert (tiny.max_loan, tiny.binding, tiny.grid.tolist()) == (0.0, "policy_ltv_cap", [10_000.0]), tiny


def two_year_case(amount, cash, burn, coll1, value):
    """2-year bullet at 25%, no revenue, no financing (uniform 0.99), lifetime EL basis, PD limit 100%.
    Net cash is cash - burn - 0.25 A after year 1 and cash - 2 burn - 0.5 A after year 2; a default in year
    1 loses max(0, 1.25 A - coll1) (collateral coll1, no haircut), in year 2 it loses 1.25 A (collateral
    0). So the bank EL rate is 0 below 2 (cash - 2 burn), 125% up to 4 (cash - burn), then 0 again until
    the year-1 collateral stops covering 1.25 A: passing amounts are not one interval (a default moved
    earlier, to a year with collateral, lowers the loss)."""
    req = case("anaesthetic_injectable", applicant={"cash": cash, "annual_burn": burn, "annual_revenue": 0.0},
               loan={"amount": amount, "term_years": 2, "rate": 0.25, "repayment": "bullet"},
               policy={"max_ltv": 1.0, "profile": "custom", "max_pd_annual": 1.0, "expected_loss_basis": "lifetime",
                       "max_total_expected_loss": 0.05, "liquidation_haircut": 0.0}, sharing={"scheme": "none"})
    sim = flat_sim(value=value)
    sim.collateral[:, 1], sim.collateral[:, 2] = coll1, 0.0
    th = req.policy.max_expected_loss

    def passes(a):
        if cash - burn - 0.25 * a < 0:
            loss = max(0.0, 1.25 * a - coll1)
        elif cash - 2 * burn - 0.5 * a < 0:
            loss = 1.25 * a
        else:
            loss = 0.0
        return loss / a <= th
    return req, sim, passes


# (label, request, cash, burn, year-1 collateral, value): passing amounts [0, A2] and (A1, Au], A1 = 4 (cash -
# burn), A2 = 2 (cash - 2 burn), Au = coll1 / (1.25 - limit)
GAP_CASES = [
    # U = 64m fails, U/8 = 8m passes, U/64 = 1m fails (0.5m < 1m <= 4m): the top stays at U, not at 1m
    ("a failing U/64 under a passing U/8", 100 * M, 1.75 * M, 0.75 * M, 20 * M * 1.23, 64 * M),
    # from the request 1m: the quarter points 11m (fails), 21m (passes), 31m (fails): the top is 31m, not 11m
    ("a failing quarter point under a passing one", 1 * M, 6 * M, 2 * M, 25 * M * 1.23, 41 * M),
]


@pytest.mark.parametrize("label,amount,cash,burn,coll1,value", GAP_CASES, ids=[c[0] for c in GAP_CASES])
def test_the_bracket_top_is_the_lowest_failing_amount_above_the_bracket_bottom(label, amount, cash, burn, coll1,
                                                                               value):
    req, sim, passes = two_year_case(amount, cash, burn, coll1, value)
    res = credit.ltv_search(sim, req, params=P)
    want, grid, hi = search_by_the_docstring(passes, value, float(amount))
    assert res.max_loan == want and res.grid.tolist() == grid, (
        f"{label}: expected max loan {want} after evaluating {grid}, got {res.max_loan} after {res.grid.tolist()}")
    assert res.binding == "bank_el" and not passes(hi) and passes(want), (label, res.binding, want, hi)
    assert want > 15 * M, f"{label}: the answer is in the upper passing interval, got {want}"


# -- the binding label under a scheme whose fund has a per-loan cap -----------------------------------------

G2023 = {"scheme": "guangzhou_2023"}            # fund 50% (capped at CNY 10m a loan), bank 50%


def test_a_pd_bound_answer_under_a_capped_scheme_is_labelled_pd_not_scheme_cap():
    """Paths default (with no loss: the collateral covers all) iff A > 4 x 3m: only the PD limit fails. Under
    guangzhou_2023 the binding limit is still "pd"; "scheme_cap" is for a bank limit broken by the cap."""
    req = one_year_request(50 * M, 3 * M, sharing=G2023)
    res = credit.ltv_search(flat_sim(), req, params=P)
    want, grid, _ = search_by_the_docstring(lambda a: 3 * M - 0.25 * a >= 0, 100 * M, 50 * M)
    assert (res.binding, res.max_loan, res.grid.tolist()) == ("pd", want, grid), (res.binding, res.max_loan, want)
    assert 12 * M - max(0.005 * want, 1e4) <= want <= 12 * M, want


def test_a_bank_el_bound_answer_under_a_capped_scheme_where_the_cap_never_binds_is_labelled_bank_el():
    """No collateral, PD limit 100%: at A > 4 x 1m every path defaults and loses 1.25 A (principal and
    interest); the fund's half (0.625 A, at most 0.625 x 4.1m here) stays under its CNY 10m cap, so the
    bank's own share breaks its limit (annual 62.5% against 2%): "bank_el", not "scheme_cap"."""
    req = one_year_request(50 * M, 1 * M, sharing=G2023, max_pd_annual=1.0, max_total_expected_loss=1.0)
    sim = flat_sim(coll=0.0)
    res = credit.ltv_search(sim, req, params=P)
    want, grid, hi = search_by_the_docstring(lambda a: 1 * M - 0.25 * a >= 0, 100 * M, 50 * M)
    assert 0.625 * hi < 1e7, "the cap must not bind at the failing amount"
    assert (res.binding, res.max_loan, res.grid.tolist()) == ("bank_el", want, grid), (res.binding, res.max_loan, want)
    assert 4 * M - max(0.005 * want, 1e4) <= want <= 4 * M, want


# uncapped bank EL at the bracket top (CNY 10m) = 0.5 x (1.25 x 10m - C) / 10m: exactly the limit, exactly the
# limit + 1e-12 (the limit chosen for it), and 5e-8 over it
RELABEL_CASES = [("exactly at the limit", 1.21e7, 0.02, "scheme_cap"),
                 ("1e-12 over the limit", 12099999.99998, 0.019999999999999962, "scheme_cap"),
                 ("the bank's own share fails", 1.21e7 - 1.0, 0.02, "bank_el")]


@pytest.mark.parametrize("label,coll,limit,binding", RELABEL_CASES, ids=[c[0] for c in RELABEL_CASES])
def test_a_bank_limit_broken_only_by_the_funds_cap_is_labelled_scheme_cap(label, coll, limit, binding):
    """Bank 50% / fund 50% capped at CNY 180,000 a loan; every path defaults in year 1 (cash 1m, burn 10m)
    and loses L = 1.25 A - coll (no haircut). Capped, the bank bears L - 180,000 once half of L passes the
    cap: that crosses the limit between 9.96875m and 10m, so the search (from the request 6m, the cap 14m) ends with
    the bracket top at exactly 10m. There the uncapped bank EL 0.5 L / A is at most the limit + 1e-12 in the
    first two cases ("scheme_cap": only the cap breaks it) and above it in the third ("bank_el")."""
    K = 180_000.0
    sharing = {"scheme": "custom", "shares": {"bank": 0.5, "fund": 0.5}, "caps": {"per_loan": K},
               "party_limits": {"fund": 1.0}}
    req = case("anaesthetic_injectable", applicant={"cash": 1 * M, "annual_burn": 10 * M, "annual_revenue": 0.0},
               loan={"amount": 6 * M, "term_years": 1, "rate": 0.25, "repayment": "bullet"},
               policy={"max_ltv": 1.0, "profile": "custom", "max_pd_annual": 1.0, "expected_loss_basis": "lifetime",
                       "max_total_expected_loss": 0.05, "liquidation_haircut": 0.0, "max_expected_loss": limit},
               sharing=sharing)
    sim = flat_sim(n=2, T=1, value=14 * M, coll=coll)

    def passes(a):
        loss = max(0.0, 1.25 * a - coll)
        fund = min(0.5 * loss, K)
        return (0.5 * loss + (0.5 * loss - fund)) / a <= limit and loss / a <= 0.05 and fund / (0.5 * a) <= 1.0

    want, grid, hi = search_by_the_docstring(passes, 14 * M, 6 * M)
    uncapped = 0.5 * (1.25 * hi - coll) / hi
    assert hi == 10 * M and uncapped == (limit if label == "exactly at the limit" else uncapped), (hi, uncapped)
    res = credit.ltv_search(sim, req, params=P)
    assert (res.max_loan, res.grid.tolist(), res.binding) == (want, grid, binding), (
        f"{label}: uncapped bank EL at the top {uncapped!r}, limit {limit!r}: expected {binding} at {want}, got "
        f"{res.binding} at {res.max_loan} (grid {res.grid.tolist()})")


# -- the limit table: pass exactly at a threshold, fail just above its slack -------------------------------

def run_of(amount, losses, defaulted=None):
    loss = np.array([losses], float)
    d = np.zeros_like(loss, bool) if defaulted is None else np.array([defaulted])
    return credit.CreditRun(np.array([float(amount)]), loss, d, loss, d.astype(int))


def rows_of(req, run, value, caps=None):
    res = credit.LtvResult(1.0, 1.0, np.array([1.0]), np.array([0.0]), "pd", caps or {})
    return {r["limit"]: r for r in credit.checks_at(req, run, NS(appraised_value=value), P, res)}


def test_a_limit_value_equal_to_its_threshold_or_within_1e_12_passes_and_2e_12_over_fails():
    req = case("anaesthetic_injectable", policy={"expected_loss_basis": "lifetime", "max_ltv": 1.0},
               sharing={"scheme": "none"})
    th = req.policy.max_expected_loss
    for x, passed in [(th, True), (th + 1e-12, True), (th + 2e-12, False)]:
        # amount 1, two paths losing x each: the lifetime bank (and total) EL rate is x exactly
        rows = rows_of(req, run_of(1.0, [x, x]), 1e6)
        assert rows["bank_el"]["value"] == x, rows["bank_el"]
        assert rows["bank_el"]["passed"] is passed, f"bank EL {x!r} against {th!r}: expected passed={passed}"
        vals = {"pd": np.array([0.0]), "bank_el": np.array([x]), "total_el": np.array([0.0])}
        lim = credit.Limits(catalogue()["none"], 1.0, "lifetime", {"bank_el": th, "total_el": 1.0, "pd": 1.0},
                            {"bank": 1.0})
        assert credit.failing(vals, lim).tolist() == [not passed], f"failing() at {x!r} against {th!r}"


def test_the_amount_checks_pass_up_to_a_millionth_of_a_yuan_over_their_cap():
    base = dict(policy={"max_ltv": 1.0, "profile": "custom"})
    run = run_of(1.0, [0.0, 0.0])
    V = 1e6
    for A, passed in [(V, True), (V + 1e-6, True), (V + 0.5, False)]:
        req = case("anaesthetic_injectable", loan={"amount": A}, **base)
        assert float(req.loan.amount) == A
        rows = rows_of(req, run, V, {"borrower_capacity": V})
        assert rows["policy_ltv_cap"]["passed"] is passed, f"amount {A!r} at an LTV cap of 1 x {V}: {rows}"
        assert rows["borrower_capacity"]["passed"] is passed, f"amount {A!r} against a capacity of {V}"
    small = case("anaesthetic_injectable", loan={"amount": 0.25}, **base)
    assert rows_of(small, run, 0.5)["policy_ltv_cap"]["passed"] is True, "0.25 on a value of 0.5 at LTV 1"
    assert rows_of(small, run, 0.0)["policy_ltv_cap"]["passed"] is False, "no value: the LTV check fails"


def test_the_profile_amount_check_passes_up_to_a_millionth_of_a_yuan_over_the_profiles_maximum():
    from ipledge.risk.profiles import amount_cap

    run = run_of(1.0, [0.0, 0.0])
    top = 1e7                                                   # bocom: at most CNY 10m (bank_profiles.yaml)
    for A, passed in [(top, True), (top + 1e-6, True), (top + 0.5, False)]:
        req = case("anaesthetic_injectable", loan={"amount": A}, policy={"profile": "bocom"})
        assert amount_cap(req) == top
        row = rows_of(req, run, 1e9, {"borrower_capacity": 1e9})["profile_max_amount"]
        assert (row["value"], row["threshold"], row["passed"]) == (A, top, passed), (A, row)


def test_a_fund_limit_is_read_on_its_lifetime_basis_in_the_limit_table():
    req = case("anaesthetic_injectable", sharing={"scheme": "zhuhai"})       # bank 60%, fund 40%
    rows = rows_of(req, run_of(1e6, [0.0, 1e5]), 1e7)
    assert rows["party:fund"]["basis"] == "lifetime" == DEFAULT_PARAMS.party_limit_basis["fund"], rows["party:fund"]


def test_the_worst_limit_compares_ratios_rounded_to_nine_decimals():
    lim = credit.Limits(catalogue()["none"], 1.0, "annual", {"bank_el": 0.01, "total_el": 1.0, "pd": 0.1},
                        {"bank": 1.0})
    # ratios 2 and 2.00000000008: equal to nine decimals, so the first in the order (bank) is named
    vals = {"bank_el": np.array([0.02]), "total_el": np.array([0.0]), "pd": np.array([0.200000000008])}
    assert credit.worst_limit(vals, lim, 0) == "bank_el"
    vals["pd"] = np.array([0.20000001])
    assert credit.worst_limit(vals, lim, 0) == "pd"


# -- the borrower's period loop at its edges --------------------------------------------------------------

def path_sim(n=1, T=2, delay=0.0, failure=math.inf, completion=5.0, coll=0.0):
    prm = dataclasses.replace(DEFAULT_PARAMS, q_base=0.7, q_after_success=0.95, q_after_failure=0.15,
                              q_during_delay=0.3, runway_target_years=1.5, extra_delay_years=delay)
    return NS(n=n, T=T, params=prm, sales=np.zeros((n, T)), success_events=np.zeros((n, T), bool),
              collateral=np.full((n, T + 1), float(coll)), failure_time=np.full(n, float(failure)),
              completion_times=np.full((n, 1), float(completion)), development=None)


def test_a_borrower_with_negative_net_burn_has_no_runway_target():
    """Revenue 2 at margin 50%, no burn: net burn is -1, so the target is 0 (never 1.5 x anything). 2-year
    bullet of 100 at 2%: year 1 ends at -1, raises (uniform 0) to exactly 0, year 2 ends at -1 again and
    does not raise (uniform 0.99): default in year 2. A target of 1.5 would have left it at +0.5."""
    req = request(term=2.0, rate=0.02, cash=0.0, burn=0.0, revenue=2.0, margin=0.5, haircut=0.0)
    u = np.array([[0.0, 0.99]])
    run = credit.run_credit(path_sim(), req, [100.0], u)
    assert (bool(run.defaulted[0, 0]), int(run.default_period[0, 0])) == (True, 2), run
    assert reference_path(0, 100.0, path_sim(), req, u)[:2] == (True, 2)


def test_failure_news_exactly_at_a_period_end_counts_in_that_period():
    """A failure at t = 1.0 is in year 1: q_after_failure (0.15) against a uniform of 0.5 (no round) and the
    collateral is worth 0 at the default, so the loss is the whole exposure A x (1 + 6%)."""
    req = request(term=2.0, rate=0.06, cash=0.0, burn=10.0, revenue=0.0, haircut=0.4)
    sim = path_sim(failure=1.0, coll=50.0)
    run = credit.run_credit(sim, req, [100.0], np.array([[0.5, 0.5]]))
    assert (bool(run.defaulted[0, 0]), int(run.default_period[0, 0])) == (True, 1), run
    assert run.loss[0, 0] == run.ead[0, 0] == 100.0 * 1.06, (run.loss, run.ead)
    later = credit.run_credit(path_sim(failure=1.5, coll=50.0), req, [100.0], np.array([[0.5, 0.99]]))
    assert not later.defaulted[0, 0] or later.default_period[0, 0] == 2, "a failure at 1.5 is news of year 2"


def test_a_stressed_delay_that_ends_exactly_at_a_period_boundary_does_not_cap_the_next_period():
    """Delay until t = 1.0: year 1 is under it (q at most 0.3), year 2 (k = 1) is not: a uniform of 0.5 there
    raises at q_base 0.7. Cash 1.5, burn 1 a year, rate 0: year 1 ends at 0.5 (no round, uniform 0.99),
    year 2 at -0.5, raised: no default."""
    req = request(term=2.0, rate=0.0, cash=1.5, burn=1.0, revenue=0.0)
    sim = path_sim(delay=0.5, completion=1.0)
    run = credit.run_credit(sim, req, [1.0], np.array([[0.99, 0.5]]))
    assert not run.defaulted[0, 0], run
    still = credit.run_credit(path_sim(delay=0.5, completion=1.5), req, [1.0], np.array([[0.99, 0.5]]))
    assert still.defaulted[0, 0] and still.default_period[0, 0] == 2, "a delay running into year 2 caps q at 0.3"


def test_a_financing_uniform_equal_to_the_odds_does_not_raise():
    """The round closes when the uniform is below q: at exactly q_base (0.7) it does not, and the firm,
    short at -1 at the end of a 1-year loan, defaults."""
    req = request(term=1.0, rate=0.0, cash=0.0, burn=1.0, revenue=0.0)
    run = credit.run_credit(path_sim(T=1), req, [1.0], np.array([[0.7]]))
    assert run.defaulted[0, 0], run
    below = credit.run_credit(path_sim(T=1), req, [1.0], np.array([[np.nextafter(0.7, 0.0)]]))
    assert not below.defaulted[0, 0], below


def test_news_times_move_a_failure_earlier_by_the_delay_but_not_before_today():
    sim = NS(params=NS(extra_delay_years=0.5), failure_time=np.array([0.8, np.inf, 0.2]),
             completion_times=np.array([[1.2], [2.0], [0.5]]), development=None)
    failed, delay = credit.news_times(sim)
    assert failed.tolist() == [0.8 - 0.5, np.inf, 0.0] and delay.tolist() == [1.2, 2.0, 0.5], (failed, delay)
    sim.params.extra_delay_years = 0.0
    failed, delay = credit.news_times(sim)
    assert failed.tolist() == [0.8, np.inf, 0.2] and delay is None, (failed, delay)


def test_financing_draws_draw_only_the_years_a_loan_has_and_continue_the_stream():
    n = 5
    sim = NS(n=n, streams={"credit": np.random.default_rng(3)})
    ref = np.random.default_rng(3).random((3, n))             # year by year, a row of n paths a year
    two = credit.financing_draws(sim, 2)
    assert two.shape == (n, 2) and np.array_equal(two, ref[:2].T) and sim._u_fin.shape == (2, n)
    three = credit.financing_draws(sim, 3)
    assert three.shape == (n, 3) and np.array_equal(three, ref.T), three
    assert sim._u_fin.shape == (3, n), f"only the years asked for are drawn: cache {sim._u_fin.shape}"
    assert np.array_equal(credit.financing_draws(sim, 1), ref[:1].T)
    assert sim.streams["credit"].random() == np.random.default_rng(3).random(3 * n + 1)[-1], "stream position"
    cached = NS(n=n, streams=None, _u_fin=ref)                 # every year cached: nothing is drawn
    assert np.array_equal(credit.financing_draws(cached, 3), ref.T) and cached._u_fin is ref


# -- standard errors -----------------------------------------------------------------------------------

def test_standard_errors_of_a_zero_answer_and_of_a_value_under_one_yuan():
    sim, _, req = se_case(20)
    zero = credit.LtvResult(0.0, 100 * M, np.array([1e4]), np.array([0.0]), "pd")
    assert credit.std_errors(sim, req, zero) == (0.0, 0.0), "a max loan of 0 has no error"
    sim.appraised_value, sim.mc_std_error = 0.5, 0.1
    cap = credit.LtvResult(0.25, 0.25, np.array([0.25]), np.array([0.0]), "borrower_capacity")
    assert credit.std_errors(sim, req, cap) == (0.0, pytest.approx(0.25 * 0.1 / 0.25, rel=1e-12))


# -- losses, shares, summary -----------------------------------------------------------------------------

def capped(shares, cap):
    return Scheme("t", "t", "current", shares, {"per_loan": cap}, "fund")


# five paths of one amount; 0.3 x mean and mean of 0.3 x differ in the last bit for these numbers
SMALL = np.array([[0.0, 0.45979999601987975, 0.6777271869319601, 0.1331298322064609, 0.7376640472073493]])


@pytest.mark.parametrize("cap", [0.25, 0.3 * float(SMALL.max()), 1.0])
def test_a_fund_share_that_never_reaches_its_cap_is_the_plain_share_of_the_mean(cap):
    """Largest fund loss 0.3 x 0.7377 = 0.2213 <= cap (0.25, the largest loss exactly at the cap, 1.0):
    every party bears its share of the mean loss, bit for bit (only a path over the cap takes the paths)."""
    s = capped({"bank": 0.7, "fund": 0.3}, cap)
    got = credit.party_expected_losses(s, SMALL)
    el = SMALL.mean(axis=1)
    assert got["fund"][0] == 0.3 * el[0] and got["bank"][0] == 0.7 * el[0], (cap, got, 0.3 * el, 0.7 * el)
    assert (0.3 * SMALL).mean() != 0.3 * el[0], "the case must tell the two sums apart"


def test_the_excess_over_the_funds_cap_goes_to_the_bank_even_without_a_bank_share():
    s = capped({"fund": 0.6, "guarantor": 0.4}, 1e6)
    loss = np.array([[0.0, 0.0], [1e6, 4e6]])                      # no loss at the first amount
    got = credit.party_expected_losses(s, loss)
    assert got["bank"].tolist() == [0.0, (0.0 + 1.4e6) / 2], got
    assert got["fund"].tolist() == [0.0, (6e5 + 1e6) / 2], got
    lim = credit.Limits(s, 1.0, "lifetime", {"bank_el": 0.02, "total_el": 0.05, "pd": 0.1}, dict(s.shares))
    run = credit.CreditRun(np.array([1e6, 2e6]), loss, loss > 0, loss, (loss > 0).astype(int))
    vals = credit.measures(run, lim)
    assert vals["bank_el"].tolist() == [0.0, 0.7e6 / 2e6], vals["bank_el"]
    plain = credit.Limits(catalogue()["none"], 1.0, "lifetime", lim.thresholds, {"guarantor": 1.0})
    vals = credit.measures(run, dataclasses.replace(plain, scheme=Scheme("g", "g", "current", {"guarantor": 1.0})))
    assert vals["bank_el"].tolist() == [0.0, 0.0], "no bank share, no cap: the bank loses nothing"


def test_summary_of_defaults_without_exposure_and_of_an_amount_under_one_yuan():
    d = np.array([[True, False]])
    none = credit.CreditRun(np.array([0.0]), np.zeros((1, 2)), d, np.zeros((1, 2)), d.astype(int)).summary()
    assert none["lgd"] == 0.0 and none["expected_loss_rate"] == 0.0, none
    half = credit.CreditRun(np.array([0.5]), np.array([[0.2, 0.0]]), d, np.array([[0.5, 0.0]]), d.astype(int))
    s = half.summary()
    assert s["lgd"] == 0.2 / 0.5 and s["expected_loss_rate"] == 0.1 / 0.5, s


def test_the_bank_share_and_the_split_of_an_expected_loss_without_paths():
    req = case("anaesthetic_injectable", sharing={"scheme": "zhuhai"})
    assert credit.bank_share(req) == 0.6
    rows = credit.split_loss(req, 1e6)
    assert rows == [{"party": "bank", "share": 0.6, "expected_loss": 0.6 * 1e6},
                    {"party": "fund", "share": 0.4, "expected_loss": 0.4 * 1e6}], rows
    nobank = NS(sharing=NS(scheme="custom", shares={"guarantor": 1.0}, caps=None))
    assert credit.bank_share(nobank) == 0.0


# -- module constants and the small dataclasses ------------------------------------------------------------

def test_schemes_lists_every_catalogue_scheme_but_custom_with_its_shares():
    cat = catalogue()
    assert set(credit.SCHEMES) == set(cat) - {"custom"}, sorted(credit.SCHEMES)
    assert credit.SCHEMES["guangzhou_2023"] == {"fund": 0.5, "bank": 0.5}


def test_frozen_dataclasses_and_defaults():
    s = credit.DebtSchedule(1, np.ones(1), np.zeros(1), np.ones(1))
    assert s.frac.tolist() == [1.0], s.frac
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.periods = 2
    lim = credit.Limits(catalogue()["none"], 1.0, "annual", {}, {"bank": 1.0})
    assert lim.party_basis == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        lim.term = 2.0
    r = credit.LtvResult(1.0, 2.0, np.array([1.0]), np.array([0.0]), "pd")
    assert (r.caps, r.evaluations, r.ltv_std_error, r.max_loan_std_error) == ({}, 0, 0.0, 0.0), r


def test_guarantee_share_rounds_to_six_decimals_of_a_percent_before_rounding_up():
    # g = 34.00000008%: to six decimals of a percent that is 34%, not 35%
    bank, limit = 0.03, 0.03 * (1 - 0.3400000008)
    assert credit.required_guarantee_share(bank, limit, 0.8) == 0.34
    assert credit.required_guarantee_share(0.03, 0.03 * (1 - 0.340002), 0.8) == 0.35
