"""The recommendation a credit committee reads: decision, binding limit, every check, reasons (DESIGN §9).

- decline on any knock-out (the pledge cannot be registered or enforced as offered, or the bank
  profile's rules are broken): ``max_loan`` and ``ltv`` are then 0, ``binding_constraint`` is
  ``knockout``, and ``risk_supported_max_loan`` / ``risk_supported_ltv`` say what the risk model would
  support once the knock-outs are cleared;
- approve when the requested amount passes every limit (``checks``): such a request is never declined;
- approve_with_conditions when a smaller amount (at least ``min_offer_fraction`` of the request) or a
  guarantee share (at most ``max_guarantee_share``, only when the bank's limit is the one that fails and
  a guarantor at its fee would take the loss) makes the loan acceptable; say which;
- decline otherwise.
"""
from __future__ import annotations

from ipledge.valuation import fmt

LIMIT_LABELS = {
    "bank_el": "bank expected-loss rate", "total_el": "total expected-loss rate (all parties)",
    "pd": "one-year probability of default", "scheme_cap": "bank expected-loss rate once the fund's cap binds",
    "policy_ltv_cap": "policy LTV cap", "borrower_capacity": "borrower capacity (35% of cash + 50% of a year's revenue)",
    "profile_max_amount": "bank profile's maximum amount", "knockout": "knock-out",
}


def cny(x: float | None) -> str:
    """English money text; the rules live in :mod:`ipledge.valuation.fmt` (one formatter for every output)."""
    return fmt.money(x, "en")


def pct(x: float | None, digits: int = 1) -> str:
    return fmt.percent(x, digits, "en")


def label(name: str) -> str:
    if name.startswith("party:"):
        return f"{name[6:]}'s expected-loss rate on its share"
    return LIMIT_LABELS.get(name, name)


def knockouts(scores: dict) -> list[dict]:
    out = []
    for card in ("rights_certainty", "competitive_contribution", "revenue_potential"):
        out.extend(scores[card].get("knockouts", []))
    return out


def _check_text(c: dict) -> str:
    if c["basis"] in ("CNY",):
        v, th = cny(c["value"]), cny(c["threshold"])
    elif c["basis"] == "ltv":
        v, th = pct(c["value"]), pct(c["threshold"], 0)
    else:
        v, th = pct(c["value"], 2), pct(c["threshold"], 2) + ("/yr" if c["basis"] == "annual" else " lifetime")
    return f"{label(c['limit'])} {v} vs limit {th} ({'pass' if c['passed'] else 'FAIL'})"


def recommend(req, scores: dict, pipeline: dict, valuation: dict, credit: dict, ltv, guarantee: float | None,
              params, checks: list[dict] | None = None, extra_knockouts: list[dict] | None = None,
              conditions_extra: tuple[str, ...] = ()) -> dict:
    """Decision, conditions and reasons; every reason names its driver with a number."""
    requested = req.loan.amount
    value = valuation["appraised_value"]
    max_loan = ltv.max_loan
    checks = checks or []
    kos = knockouts(scores) + list(extra_knockouts or [])
    passes = bool(checks) and all(c["passed"] for c in checks)
    reasons: list[str] = []
    conditions: list[str] = []

    p = pipeline["p_approval"]
    if req.product.stage != "approved":
        reasons.append(f"Probability of approval from {req.product.stage}: {pct(p['mean'])} "
                       f"(90% HDI {pct(p['hdi_90'][0])}-{pct(p['hdi_90'][1])}); "
                       f"{pct(valuation['prob_zero'])} of simulated paths leave the IP worth nothing.")
    reasons.append(f"Appraised IP value {cny(value)} (p5 {cny(valuation['p5'])}, p95 {cny(valuation['p95'])}); "
                   f"requested {cny(requested)} is an LTV of "
                   + (pct(requested / value) if value > 0 else "n/a (no value)") + ".")
    reasons.append(f"At the requested amount: PD {pct(credit['pd'])} over {req.loan.term_years:g} years "
                   f"({pct(credit['pd_annual'])} a year), LGD {pct(credit['lgd'])}; checks: "
                   + "; ".join(_check_text(c) for c in checks) + ".")
    if passes and max_loan < requested:
        max_loan = requested        # the request passes every limit: never offer less than it
    binding = ltv.binding
    if kos:
        binding = "knockout"
        reasons.append(f"Once the knock-outs are cleared, the risk model supports up to {cny(max_loan)}"
                       + (f" (LTV {pct(max_loan / value)})." if value > 0 else "."))
    elif max_loan <= 0:
        reasons.append(f"No amount from CNY 10,000 up keeps every limit: the {label(binding)} fails even "
                       f"at the smallest amount tried.")
    else:
        reasons.append(f"Max loan {cny(max_loan)} (LTV {pct(max_loan / value) if value > 0 else 'n/a'}) is set by "
                       f"the {label(binding)}" + ("." if max_loan > ltv.max_loan else
                                                  f"; every limit holds up to it and "
                                                  f"{cny(ltv.grid[ltv.grid > ltv.max_loan].min()) if (ltv.grid > ltv.max_loan).any() else 'no larger amount'}"
                                                  f" breaks it." if binding not in ("policy_ltv_cap", "borrower_capacity")
                                                  else " (every risk limit holds there)."))

    if kos:
        for k in kos:
            reasons.insert(0, f"Knock-out ({k['code']}): {k['message']}")
            conditions.append(k["fix"])
        decision = "decline"
    elif passes:
        decision = "approve"
        conditions.append("Register the pledge of " + ", ".join(p.id for p in req.patents
                                                                   if p.status == "granted")
                          + " with CNIPA before drawdown.")
        conditions.append("Re-appraise the collateral yearly and at each clinical or VBP event.")
        conditions.extend(conditions_extra)
    else:
        options = []
        if max_loan >= params.min_offer_fraction * requested and max_loan > 0:
            options.append(f"Reduce the amount to {cny(max_loan)} (LTV {pct(max_loan / value)}).")
        if guarantee is not None and guarantee > 0:
            options.append(f"Or keep {cny(requested)} with a guarantee covering at least "
                           f"{pct(guarantee, 0)} of the bank's loss.")
        if options:
            decision = "approve_with_conditions"
            conditions.extend(options)
            conditions.extend(conditions_extra)
        else:
            decision = "decline"
            failed = [label(c["limit"]) for c in checks if not c["passed"]]
            reasons.append(f"No amount of at least {pct(params.min_offer_fraction, 0)} of the request and no "
                           f"guarantee of at most {pct(params.max_guarantee_share, 0)} satisfies every limit "
                           f"(failing at the request: {', '.join(failed)}).")
    supported_ltv = max_loan / value if value > 0 else 0.0
    lendable = 0.0 if kos else max_loan     # a bank lends nothing against a pledge with a knock-out
    return {"decision": decision, "ltv": supported_ltv if not kos else 0.0, "max_loan": lendable,
            "risk_supported_max_loan": max_loan, "risk_supported_ltv": supported_ltv,
            "requested_ltv": requested / value if value > 0 else None,
            "required_guarantee_share": None if kos else guarantee,
            "conditions": conditions, "reasons": reasons,
            "binding_constraint": binding, "checks": checks}
