"""Seeded semantic faults of the risk engine (issue 12) and the harness that checks the tests catch them.

``python -m tests.faults`` copies the repository to a temporary directory, injects one fault at a time
(each an exact text replacement that must match exactly once), runs the fast tests of ``TESTS`` there
and prints, per fault, whether it was caught and by which tests. The working tree is never modified.

The ten faults of issue 12 come first (``issue=True``); the others break what the issue's
absolute-expectation tests check and the old tests did not. docs/testing.md ("Seeded faults") holds
the table this prints.

Layout move (issue 16): every module path is in ``FILES`` below (paths of files, which stay where they
are); nothing else here names a module.
"""
from __future__ import annotations

from dataclasses import dataclass

# source files the faults edit: the one place to change when modules move
FILES = {
    "simulate": "risk/simulate.py",
    "launch": "risk/launch.py",
    "collateral": "risk/collateral.py",
    "credit": "risk/credit.py",
    "tail": "risk/tail.py",
    "schemes": "risk/schemes.py",
}

# the fast tests run against every fault (paths relative to the repository root)
TESTS = (
    "tests/test_reference_values.py",
    "tests/test_max_loan_reference.py",
    "tests/test_simulate.py",
    "tests/test_credit.py",
    "tests/test_collateral.py",
    "tests/test_assess.py",
    "tests/test_tail.py",
    "tests/test_portfolio.py",
)


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    edits: tuple[tuple[str, str, str], ...]      # (FILES key, old text, new text), each old text unique
    issue: bool = False                           # one of the ten errors listed in issue 12


FAULTS: tuple[Fault, ...] = (
    Fault("discount_off_by_one_year", "cash flows discounted at (1+r)^-(t+1/2) instead of (1+r)^-(t-1/2)",
          (("simulate", "discount = discount_factors(rate, t - 0.5)", "discount = discount_factors(rate, t + 0.5)"),),
          issue=True),
    Fault("perfect_foresight_collateral", "pre-launch collateral = what the path will in fact earn (look-ahead)",
          (("collateral", "        VT[t, pi] = fit\n", "        VT[t, pi] = realised[t, pi]\n"),), issue=True),
    Fault("es_equals_var", "ES 99% reported as VaR 99%",
          (("tail", "return float(np.quantile(loss, level)), float(loss[worst_indices(loss, level)].mean())",
            "return float(np.quantile(loss, level)), float(np.quantile(loss, level))"),), issue=True),
    Fault("ltv_search_ignores_sharing", "the max-loan search reads the limits as if the bank bore the whole loss",
          (("credit", "    params = params or sim.params\n    lim = Limits.of(req, params)\n    caps = amount_caps(",
            "    params = params or sim.params\n    lim = Limits.of(req.model_copy(update={'sharing': type(req.sharing)()}), "
            "params)\n    caps = amount_caps("),), issue=True),
    Fault("ltv_search_returns_cap", "the max-loan search always answers the cap",
          (("credit", "    if tried[U][0]:\n", "    if True:\n"),), issue=True),
    Fault("ead_without_interest", "exposure at default = outstanding balance, without the period's interest",
          (("credit", "exposure = A[:, None] * (sched.balance[k] + sched.interest[k])",
            "exposure = A[:, None] * sched.balance[k]"),), issue=True),
    Fault("ramp_shifted_one_year", "the sales ramp runs from a year before launch (launch year at ramp age 1)",
          (("launch", "total = np.diff(ramp_integral(edges[None, :] - launch[:, None], ytp), axis=1)",
            "total = np.diff(ramp_integral(edges[None, :] - launch[:, None] + 1.0, ytp), axis=1)"),), issue=True),
    Fault("extension_cap_ignored", "term compensation granted in full, ignoring the 14-years-after-approval cap",
          (("launch", "np.minimum(room, ext, out=room)", "room.fill(ext)"),),
          issue=True),
    Fault("vbp_cut_only_in_event_year", "the VBP price cut applied only in the year of the event",
          (("simulate", "t[None, :] >= vbp_period[rows, None]", "t[None, :] == vbp_period[rows, None]"),),
          issue=True),
    Fault("launched_collateral_ignores_vbp_hazard", "launched collateral values future years as if no VBP event could come",
          (("collateral", "v = np.where(hit, kept * rc1, (1.0 - c_bar) * rc1 + c_bar * rc2) / D_t",
            "v = np.where(hit, kept * rc1, rc1) / D_t"),), issue=True),
    # -- beyond the issue's ten: what the absolute-expectation tests guard and the old tests did not
    Fault("annualise_linear", "annual PD / EL rate = lifetime / term instead of 1 - (1 - x)^(1/term)",
          (("credit", "return 1.0 - (1.0 - r) ** (1.0 / term)", "return r / term"),)),
    Fault("part_year_hazard_ignored", "a part-year last period gets a whole year's financing hazard",
          (("credit", "            q = q ** f  ", "            q = q  "),)),
    Fault("el_basis_swapped", "the bank and total EL limits read the lifetime rate under the annual basis",
          (("credit", 'if lim.basis == "annual" else', 'if lim.basis == "lifetime" else'),)),
    Fault("interest_not_charged", "the borrower's net cash never pays the loan's interest",
          (("credit", "net += op[None, :] - A[:, None] * sched.interest[k]", "net += op[None, :]"),)),
    Fault("fund_cap_excess_dropped", "the loss above the fund's per-loan cap is lost instead of staying with the bank",
          (("schemes", 'parts["bank"] = parts.get("bank", 0.0 * loss) + excess',
            'parts["bank"] = parts.get("bank", 0.0 * loss)'),)),
)
