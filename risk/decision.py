"""The recommendation a credit committee reads: decision, conditions and reasons with numbers (DESIGN §9).

- decline on any knock-out (the pledge cannot be registered or enforced as offered): ``max_loan`` and
  ``ltv`` are then 0, and ``risk_supported_max_loan`` / ``risk_supported_ltv`` say what the risk model
  would support once the knock-outs are cleared;
- approve when the requested amount ≤ max_loan;
- approve_with_conditions when a smaller amount (at least ``min_offer_fraction`` of the request) or a
  guarantee share (at most ``max_guarantee_share``) makes the loan acceptable; say which;
- decline otherwise.
"""
from __future__ import annotations

from valuation import fmt


def cny(x: float | None) -> str:
    """English money text; the rules live in :mod:`valuation.fmt` (one formatter for every output)."""
    return fmt.money(x, "en")


def pct(x: float | None, digits: int = 1) -> str:
    return fmt.percent(x, digits, "en")


def knockouts(scores: dict) -> list[dict]:
    out = []
    for card in ("rights_certainty", "competitive_contribution", "revenue_potential"):
        out.extend(scores[card].get("knockouts", []))
    return out


def recommend(req, scores: dict, pipeline: dict, valuation: dict, credit: dict, ltv, guarantee: float | None,
              params) -> dict:
    """Decision, conditions and reasons; every reason names its driver with a number."""
    requested = req.loan.amount
    value = valuation["appraised_value"]
    max_loan = ltv.max_loan
    limit = req.policy.max_expected_loss
    kos = knockouts(scores)
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
    reasons.append(f"At the requested amount: PD {pct(credit['pd'])} over {req.loan.term_years:g} years, "
                   f"LGD {pct(credit['lgd'])}, bank expected-loss rate {pct(credit['bank_expected_loss_rate'], 2)} "
                   f"against a limit of {pct(limit, 2)}.")
    if kos:
        reasons.append(f"Once the knock-outs are cleared, the risk model supports up to {cny(max_loan)}"
                       + (f" (LTV {pct(max_loan / value)})." if value > 0 else "."))
    elif ltv.binding == "max_ltv":
        reasons.append(f"Max loan {cny(max_loan)} is set by the policy cap of {pct(req.policy.max_ltv, 0)} "
                       f"of appraised value, not by expected loss.")
    elif ltv.binding == "expected_loss" and max_loan <= 0:
        floor = float(ltv.bank_el_rate[0]) if len(ltv.bank_el_rate) else float("nan")
        reasons.append(f"No amount keeps the bank's expected-loss rate within {pct(limit, 2)}: even "
                       f"{cny(float(ltv.grid[0]))} loses {pct(floor, 2)} to the bank, because on the paths "
                       f"where the borrower defaults the collateral is worth little or nothing.")
    elif ltv.binding == "expected_loss":
        reasons.append(f"Max loan {cny(max_loan)} (LTV {pct(max_loan / value) if value > 0 else 'n/a'}) "
                       f"is the largest amount whose bank expected-loss rate stays within {pct(limit, 2)}.")

    if kos:
        for k in kos:
            reasons.insert(0, f"Knock-out ({k['code']}): {k['message']}")
            conditions.append(k["fix"])
        decision = "decline"
    elif requested <= max_loan + 1e-6:
        decision = "approve"
        conditions.append("Register the pledge of " + ", ".join(p.id for p in req.patents
                                                                   if p.status == "granted")
                          + " with CNIPA before drawdown.")
        conditions.append("Re-appraise the collateral yearly and at each clinical or VBP event.")
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
        else:
            decision = "decline"
            reasons.append(f"No acceptable amount of at least {pct(params.min_offer_fraction, 0)} of the request "
                           f"and no guarantee of at most {pct(params.max_guarantee_share, 0)} brings the bank's "
                           f"expected-loss rate within {pct(limit, 2)}.")
    supported_ltv = max_loan / value if value > 0 else 0.0
    lendable = 0.0 if kos else max_loan     # a bank lends nothing against a pledge with a knock-out
    return {"decision": decision, "ltv": supported_ltv if not kos else 0.0, "max_loan": lendable,
            "risk_supported_max_loan": max_loan, "risk_supported_ltv": supported_ltv,
            "requested_ltv": requested / value if value > 0 else None,
            "required_guarantee_share": None if kos else guarantee,
            "conditions": conditions, "reasons": reasons}
