"""Financing-readiness self-assessment for an enterprise (DESIGN §13, issue 7).

``readiness(req, posterior=None) -> dict`` answers three questions for an applicant:

1. **Can I borrow at all?**  ``blockers``: the knock-outs of the scorecards (each with its fix).
2. **How much?**  ``ltv_range``: p10 / p50 / p90 of the LTV the risk model supports (``max_loan /
   appraised value`` of the recommendation) over plausible inputs (see *LTV range* below).
3. **What would raise it?**  ``actions``: counterfactuals, each measured by re-running the full
   assessment (:func:`ipledge.risk.assess.assess`) with the action applied to the request, ranked by the gain
   in the amount the enterprise can borrow.

Definitions
-----------
*Financeable amount* (``max_loan_before`` / ``max_loan_after`` of an action): the recommendation's
``max_loan`` when the case has no knock-out, else 0 — a bank declines any pledge with a knock-out
(DESIGN §9), whatever the risk model would support. So clearing the last blocker shows its full
value as a gain.

*Common random numbers*: every re-run keeps the request's ``simulation.seed`` and ``paths`` and the same
posterior and parameters; :mod:`ipledge.risk.simulate` draws each component from its own stream, so the gain
is the action's effect and not Monte Carlo noise. ``gain == max_loan_after - max_loan_before`` exactly,
both being financeable amounts of two assessments with the same seed.

*Actions* (only those whose precondition holds for the case):

=======================  ===================================================================
``pay_fees``             every patent ``fees_paid: true`` (some fee unpaid)
``co_owner_consent``     ``co_owner_consent: true`` on co-owned patents lacking it
``release_pledge``       ``existing_pledge: false`` (some patent already pledged)
``shorten_term``         loan term cut to end by the exclusivity end (knock-out
                         ``expires_before_maturity``; only when ≥ 0.5 years remain)
``grant_pending``        pending applications granted today (a milestone, not a quick fix)
``clear_all_blockers``   all the above knock-out fixes together (when there are 2+ blockers)
``join_<scheme>``        a city risk-sharing scheme of the catalogue that is ``current`` (guangzhou_2023,
                         zhongshan, zhuhai, shenzhen; not the legacy 5311 / 55 modes) when the case
                         shares no loss (scheme ``none``); only in that city
``add_guarantee``        a guarantor takes share g of the bank's part of the loss (custom sharing):
                         g = the recommendation's ``required_guarantee_share`` when positive, else
                         the model's ``max_guarantee_share`` (80/20); when no guarantor shares yet
``extend_family``        add US and EP to granted/pending invention patents lacking them
``next_stage``           the product reaches the next development stage (filed → approved with
                         launch next year)
``raise_equity``         one more year of burn in cash (an equity round)
=======================  ===================================================================

Each action row says its ``effect``: ``amount`` (the financeable amount moves by at least a fen),
``decision`` (only the decision changes) or ``none``, with ``no_effect`` saying why
(``blockers_remain``, ``no_lendable_amount``: no amount meets the loss limit, ``policy_cap``: the
amount is at max LTV x value and the action does not raise the value, ``unchanged``). Rows with an
effect come first, by gain; ``params`` are the facts the page writes each description from.

While blockers remain, the improvement actions (``join_*`` … ``raise_equity``) are measured on top of
``clear_all_blockers`` (the request with every fixable knock-out cleared) and say so in
``measured_on``; otherwise each gain would be zero and hide what the action is worth.

LTV range
---------
Basis ``inputs`` (default): ``LTV_DESIGN_POINTS`` re-runs over a scrambled Sobol design (seeded with
the request seed, so reproducible) of three inputs an enterprise cannot pin down: peak sales ×
[0.6, 1.5] (log-uniform, all three quantiles scaled), the lender's liquidation haircut in
[0.40, 0.70] and the discount rate in [0.09, 0.13]; plus the case as entered. Basis ``scenarios``:
the case plus each built-in stress scenario of ``scenarios/stress`` (falls back to ``inputs`` when
none is installed). Percentiles are linear-interpolated over the runs. The range is of the
risk-supported LTV, before knock-outs (``blocked`` says whether a blocker currently stops lending).
The LTV range is degenerate whenever one limit binds on every run (all at the policy cap, or all 0), so
the page shows ``max_loan`` (p10-p90, which moves with the value even at the cap) and, when that is one
amount on every run too (``max_loan.degenerate``), ``binding`` and ``limits`` instead: what sets the
amount (the engine's ``binding_constraint``, see :func:`binding_of`) and the amount at the cap.

Readiness score (0..100)
------------------------
``0.4 × mean of the three scorecard scores + 0.4 × 100 × min(1, financeable / requested)
+ 0.2 × decision points`` (approve 100, approve_with_conditions 50, decline 0). With a knock-out the
financeable amount is 0 and the decision is decline, so a blocked case scores at most 40.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Callable

import numpy as np

from ipledge.risk.assess import assess, no_progress
from ipledge.risk.credit import SCHEMES
from ipledge.risk.profiles import ltv_cap
from ipledge.risk.schemes import catalogue
from ipledge.risk.decision import cny
from ipledge.risk.params import DEFAULT_PARAMS, ModelParams
from ipledge.risk.posterior import PipelinePosterior, load_posterior
from ipledge.valuation.schema import MONEY_MAX, STAGES, PledgeRequest
from ipledge.valuation.terms import DAYS_PER_YEAR

CARDS = ("rights_certainty", "competitive_contribution", "revenue_potential")
DECISION_POINTS = {"approve": 100.0, "approve_with_conditions": 50.0, "decline": 0.0}
LTV_DESIGN_POINTS = 16
PEAK_SCALE = (0.6, 1.5)
HAIRCUT = (0.40, 0.70)
DISCOUNT = (0.09, 0.13)
CAP_REL_TOL = 1e-6   # the LTV search stops at max_ltv x value up to float rounding
EFFECTS = ("amount", "decision", "none")
NO_EFFECT = ("blockers_remain", "no_lendable_amount", "policy_cap", "unchanged")
BLOCKER_ACTIONS = ("pay_fees", "co_owner_consent", "release_pledge", "shorten_term", "grant_pending")
FAMILY_OFFICES = ("US", "EP")


# --- helpers ---------------------------------------------------------------------------------
def blockers_of(assessment: dict) -> list[dict]:
    out = []
    for card in CARDS:
        for k in assessment["scores"][card].get("knockouts", []):
            out.append({"code": k["code"], "message": k["message"], "fix": k["fix"],
                        "patents": list(k.get("patents", []))})
    return out


def financeable(assessment: dict) -> float:
    """What the enterprise can borrow: max_loan, or 0 while any knock-out stands."""
    return 0.0 if blockers_of(assessment) else float(assessment["recommendation"]["max_loan"])


def readiness_score(assessment: dict, requested: float) -> tuple[float, dict]:
    cards = float(np.mean([assessment["scores"][c]["score"] for c in CARDS]))
    coverage = min(1.0, financeable(assessment) / requested) if requested > 0 else 0.0
    decision = DECISION_POINTS.get(assessment["recommendation"]["decision"], 0.0)
    score = 0.4 * cards + 0.4 * 100.0 * coverage + 0.2 * decision
    return round(min(100.0, max(0.0, score)), 1), {
        "scorecards": round(cards, 2), "coverage": round(coverage, 4), "decision": decision,
        "weights": {"scorecards": 0.4, "coverage": 0.4, "decision": 0.2}}


def _update(req: PledgeRequest, mutate: Callable[[dict], None]) -> PledgeRequest:
    """A validated copy of the request with ``mutate`` applied to its JSON form."""
    data = req.model_dump(mode="json")
    mutate(data)
    return PledgeRequest.model_validate(data)


def _valid(req: PledgeRequest, act: "Action") -> bool:
    """Whether the action leaves a valid request (an action that cannot be applied does not apply)."""
    from pydantic import ValidationError

    try:
        _update(req, act.mutate)
        return True
    except ValidationError:
        return False


# --- actions ---------------------------------------------------------------------------------
class Action:
    """A change to the request; ``params`` are the facts its description is written from (the page and
    the reports render a translated description from ``key`` + ``params``; ``description`` is English)."""

    def __init__(self, key: str, description: str, mutate: Callable[[dict], None], blocker: bool = False,
                 params: dict | None = None):
        self.key, self.description, self.mutate, self.blocker = key, description, mutate, blocker
        self.params = params or {}


def _ids(patents) -> str:
    ids = [p.id for p in patents]
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def blocker_actions(req: PledgeRequest, base: dict) -> list[Action]:
    acts: list[Action] = []
    codes = {b["code"] for b in blockers_of(base)}
    pats = req.patents
    unpaid = [p for p in pats if not p.fees_paid]
    if unpaid:
        def pay(d):
            for p in d["patents"]:
                p["fees_paid"] = True
        acts.append(Action("pay_fees", f"Pay the outstanding annual fees on {_ids(unpaid)}", pay, True,
                           {"patents": [p.id for p in unpaid]}))
    no_consent = [p for p in pats if p.co_owners > 0 and not p.co_owner_consent]
    if no_consent:
        def consent(d):
            for p in d["patents"]:
                if p["co_owners"] > 0:
                    p["co_owner_consent"] = True
        acts.append(Action("co_owner_consent", f"Obtain the co-owners' written consent for {_ids(no_consent)}",
                           consent, True, {"patents": [p.id for p in no_consent]}))
    pledged = [p for p in pats if p.existing_pledge]
    if pledged:
        def release(d):
            for p in d["patents"]:
                p["existing_pledge"] = False
        acts.append(Action("release_pledge", f"Repay and release the existing pledge on {_ids(pledged)}",
                           release, True, {"patents": [p.id for p in pledged]}))
    if "expires_before_maturity" in codes and base["valuation"].get("exclusivity_end"):
        end = dt.date.fromisoformat(str(base["valuation"]["exclusivity_end"]))
        years = math.floor((end - req.as_of).days / DAYS_PER_YEAR * 2) / 2  # half-years, maturing by then
        if 0.5 <= years < req.loan.term_years:
            def shorten(d, years=years):
                d["loan"]["term_years"] = years
            acts.append(Action("shorten_term", f"Shorten the loan to {years:g} years so it matures before the "
                                               f"patents expire ({end})", shorten, True,
                               {"years": years, "end": end.isoformat()}))
    pending = [p for p in pats if p.status == "pending" and p.filing_date < req.as_of]
    if pending:
        def grant(d, as_of=req.as_of.isoformat()):
            for p in d["patents"]:
                if p["status"] == "pending" and p["filing_date"] < as_of:
                    p["status"], p["grant_date"] = "granted", as_of
        acts.append(Action("grant_pending", f"Obtain the grant of the pending application(s) {_ids(pending)} "
                                            f"(a milestone: CNIPA examination takes ~20 months)", grant,
                           "no_granted_in_force" in codes, {"patents": [p.id for p in pending]}))
    return acts


def improvement_actions(req: PledgeRequest, base: dict, params: ModelParams) -> list[Action]:
    acts: list[Action] = []
    sharing = req.sharing
    if sharing.scheme == "none":
        for name, scheme in current_schemes().items():
            split = ", ".join(f"{k} {round(v * 100):d}%" for k, v in scheme.shares.items())
            cap = scheme.loan_cap if math.isfinite(scheme.loan_cap) else None
            acts.append(Action(f"join_{name}",
                               f"Join the {name} risk-sharing scheme (loss split {split}"
                               + (f"; the fund pays at most {cny(cap)} per bad loan" if cap else "")
                               + "; only for firms registered in that city)",
                               lambda d, name=name: d.__setitem__("sharing", {"scheme": name, "shares": None}),
                               params={"scheme": name, "shares": dict(scheme.shares), "loan_cap": cap}))
    shares = dict(SCHEMES[sharing.scheme]) if sharing.scheme != "custom" else dict(sharing.shares or {})
    bank = shares.get("bank", 0.0)
    if bank > 0 and shares.get("guarantor", 0.0) == 0:
        g = base["recommendation"].get("required_guarantee_share")
        g = float(g) if g else params.max_guarantee_share

        def guarantee(d, shares=shares, g=g):
            new = dict(shares)
            new["guarantor"] = round(new.get("guarantor", 0.0) + new["bank"] * g, 6)
            new["bank"] = round(1.0 - sum(v for k, v in new.items() if k != "bank"), 6)  # sums to 1
            d["sharing"] = {"scheme": "custom", "shares": new}
        acts.append(Action("add_guarantee", f"Add a guarantee agency covering {round(g * 100):d}% of the bank's "
                                            f"share of any loss", guarantee, params={"share": g}))
    missing = [p for p in req.patents if p.kind == "invention" and p.status in ("granted", "pending")
               and not set(FAMILY_OFFICES) <= set(p.jurisdictions)]
    if missing:
        def family(d):
            for p in d["patents"]:
                if p["kind"] == "invention" and p["status"] in ("granted", "pending"):
                    p["jurisdictions"] = list(p["jurisdictions"]) + [j for j in FAMILY_OFFICES
                                                                     if j not in p["jurisdictions"]]
        acts.append(Action("extend_family", f"Extend family coverage to {' and '.join(FAMILY_OFFICES)} for "
                                            f"{_ids(missing)}", family,
                           params={"offices": list(FAMILY_OFFICES), "patents": [p.id for p in missing]}))
    stage = req.product.stage
    if stage != "approved":
        nxt = STAGES[STAGES.index(stage) + 1]

        def advance(d, nxt=nxt, year=req.as_of.year + 1):
            d["product"]["stage"] = nxt
            if nxt == "approved":
                d["product"]["launch_year"] = year
        acts.append(Action("next_stage", f"Reach the next stage: {stage} → {nxt}"
                                         + (" (launch next year)" if nxt == "approved" else ""), advance,
                           params={"from": stage, "to": nxt, "launch_next_year": nxt == "approved"}))
    if req.applicant.annual_burn > 0:
        burn = req.applicant.annual_burn

        def equity(d, burn=burn):
            d["applicant"]["cash"] = d["applicant"]["cash"] + burn
        acts.append(Action("raise_equity", f"Raise equity of one year of burn ({cny(burn)} more cash)",
                           equity, params={"amount": burn}))
    return acts


def current_schemes() -> dict:
    """The city schemes an applicant can still join: the catalogue's ``current`` ones with a loss split of
    their own (not ``none`` / ``custom``, not the ``legacy`` modes of an earlier fund era), by name."""
    return {name: s for name, s in catalogue().items()
            if s.status == "current" and name not in ("none", "custom") and s.shares}


# --- GB/T 42748 evidence (issue 18) -----------------------------------------------------------
def _with_evidence(field: str, value) -> Callable[[dict], None]:
    def mutate(d):
        d["evidence"] = {**(d.get("evidence") or {}), field: value}
    return mutate


def evidence_actions(req: PledgeRequest, base: dict, run: Callable[[PledgeRequest], dict], measured_on: str,
                     requested: float) -> list[dict]:
    """``add_evidence_<field>`` rows: GB/T 42748 indicators without evidence where adding it changes a score.

    Measured at the evidence's best documented level (max loan, LTV and decision after) and, for the score,
    also at its worst level, so the applicant sees the range: ``score_change`` = {card, before, best, worst}.
    Only the competitive-contribution card moves the valuation (through ``ip_contribution``, unless it is
    overridden), so only those rows re-run the assessment; for the other cards the rest of the assessment
    cannot change and only the scores are recomputed."""
    from ipledge.valuation import evidence, gbt42748
    from ipledge.valuation.scorecard import score_request

    rows = []
    for rule in gbt42748.missing_evidence(req):
        e = evidence.BY_FIELD[rule.evidence]
        best_req = _update(req, _with_evidence(e.field, e.best))
        worst_req = _update(req, _with_evidence(e.field, e.worst))
        before = base["scores"][e.card]["score"]
        best_scores, worst = score_request(best_req), score_request(worst_req)[e.card]["score"]
        best = best_scores[e.card]["score"]
        if best == before and worst == before:
            continue  # neither level would change the score
        moves_value = e.card == "competitive_contribution" and req.product.ip_contribution is None
        after = run(best_req) if moves_value else {**base, "scores": {**base["scores"], **{
            k: v for k, v in best_scores.items() if k != "gbt42748"}}}
        desc = (f"Add evidence for GB/T 42748 {rule.code} {rule.name_zh} {rule.name_en}: "
                f"at the best level ({e.label(_level(e))}) {e.card.replace('_', ' ')} {before:.1f} -> {best:.1f} "
                f"({best - before:+.1f}); at the worst ({e.label(_level(e, worst=True))}) {worst:.1f} "
                f"({worst - before:+.1f})")
        act = Action(f"add_evidence_{e.field}", desc, _with_evidence(e.field, e.best),
                     params={"code": rule.code, "name_zh": rule.name_zh, "name_en": rule.name_en, "field": e.field,
                             "card": e.card, "before": before, "best": best, "worst": worst,
                             "best_level": e.best, "worst_level": e.worst})
        row = _action_row(act, base, after, measured_on, req, best_req, requested)
        row.update(gbt_code=rule.code, evidence_field=f"evidence.{e.field}",
                   score_change={"card": e.card, "before": before, "best": best, "worst": worst})
        rows.append(row)
    return rows


def _level(e, worst: bool = False):
    """The evidence level as the schema holds it (the financing record as its model)."""
    from ipledge.valuation.schema import FinancingRecord

    v = e.worst if worst else e.best
    return FinancingRecord(**v) if isinstance(v, dict) else v


# --- LTV range -------------------------------------------------------------------------------
def _input_variants(req: PledgeRequest, n: int) -> list[tuple[str, PledgeRequest]]:
    from scipy.stats import qmc

    m = 1 << max(0, math.ceil(math.log2(max(n, 1))))
    u = qmc.Sobol(d=3, scramble=True, seed=req.simulation.seed % (2**32)).random(m)[:n]
    lo, hi = np.log(PEAK_SCALE)
    out = []
    for a, b, c in u:
        scale = float(np.exp(lo + a * (hi - lo)))
        haircut = HAIRCUT[0] + b * (HAIRCUT[1] - HAIRCUT[0])
        disc = DISCOUNT[0] + c * (DISCOUNT[1] - DISCOUNT[0])

        def mutate(d, scale=scale, haircut=haircut, disc=disc):
            # capped at the schema's bound: a valid request at the maximum stays valid (issue 15)
            d["product"]["peak_sales"] = {k: min(v * scale, MONEY_MAX) for k, v in d["product"]["peak_sales"].items()}
            d["policy"]["liquidation_haircut"] = haircut
            d["policy"]["discount_rate"] = disc
        out.append((f"peak×{scale:.2f}, haircut {haircut:.2f}, r {disc:.3f}", _update(req, mutate)))
    return out


def ltv_range(req: PledgeRequest, base: dict, run: Callable[[PledgeRequest], dict], basis: str = "inputs",
              points: int = LTV_DESIGN_POINTS) -> dict:
    variants: list[tuple[str, PledgeRequest]] = []
    if basis == "scenarios":
        from ipledge.scenarios.loader import builtin_names

        names = builtin_names()
        variants = [(n, req.model_copy(update={"scenario": n})) for n in names]
        if not variants:
            basis = "inputs"
    if basis == "inputs":
        variants = _input_variants(req, points)
    runs = [("as entered", base)] + [(label, run(r)) for label, r in variants]
    ltv = np.array([float(a["recommendation"]["risk_supported_ltv"]) for _, a in runs])
    loans = np.array([float(a["recommendation"]["risk_supported_max_loan"]) for _, a in runs])
    p10, p50, p90 = np.percentile(ltv, [10, 50, 90])
    l10, l50, l90 = np.percentile(loans, [10, 50, 90])
    lo, hi = float(loans.min()), float(loans.max())
    if basis == "scenarios":
        text = (f"risk-supported LTV (max_loan / appraised value) of the case and {len(variants)} built-in "
                f"stress scenarios, same seed")
    else:
        text = (f"risk-supported LTV (max_loan / appraised value) over the case and {len(variants)} "
                f"Sobol-design variants: peak sales x{PEAK_SCALE[0]}-{PEAK_SCALE[1]}, liquidation haircut "
                f"{HAIRCUT[0]:.2f}-{HAIRCUT[1]:.2f}, discount rate {DISCOUNT[0]:.2f}-{DISCOUNT[1]:.2f}; same seed")
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90), "basis": text, "kind": basis,
            "runs": len(runs), "blocked": bool(blockers_of(base)),
            "max_loan": {"p10": float(l10), "p50": float(l50), "p90": float(l90), "min": lo, "max": hi,
                         # one amount under every variant (e.g. 0 when no amount meets the loss limit)
                         "degenerate": round(hi - lo, 2) == 0},
            "points": [{"label": label, "ltv": float(a["recommendation"]["risk_supported_ltv"]),
                        "max_loan": float(a["recommendation"]["risk_supported_max_loan"])}
                       for label, a in runs]}


# --- the self-assessment ---------------------------------------------------------------------
def request_changes(before: PledgeRequest, after: PledgeRequest) -> dict:
    """{dotted path: new value} of the fields that differ (lists compared whole, patents by index)."""
    out: dict = {}

    def walk(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                walk(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(
                isinstance(x, dict) for x in a + b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{path}[{i}]")
        elif a != b:
            out[path] = b

    walk(before.model_dump(mode="json"), after.model_dump(mode="json"), "")
    return out


def binding_of(assessment: dict, req: PledgeRequest) -> str:
    """What sets the amount: the engine's ``recommendation.binding_constraint`` (``bank_el``, ``total_el``,
    ``pd``, ``party:<name>``, ``scheme_cap``, ``policy_ltv_cap``, ``borrower_capacity``,
    ``profile_max_amount``, ``knockout``), ``knockout`` while a scorecard knock-out stands and
    ``no_value`` when the IP is worth nothing. An assessment without the field (stored before issue 11)
    is read off the figures: the policy cap binds when the risk-supported amount equals max LTV x value.
    """
    rec = assessment["recommendation"]
    if blockers_of(assessment) or rec.get("binding_constraint") == "knockout":
        return "knockout"
    value = float(assessment["valuation"]["appraised_value"])
    if value <= 0:
        return "no_value"
    if rec.get("binding_constraint"):
        return str(rec["binding_constraint"])
    cap = ltv_cap(req) * value
    loan = float(rec["risk_supported_max_loan"])
    return "policy_ltv_cap" if loan > 0 and loan >= cap * (1 - CAP_REL_TOL) else "bank_el"


def no_effect_reason(after: dict, after_req: PledgeRequest) -> str:
    """Why an action left the amount and the decision as they were (a code of ``NO_EFFECT``)."""
    binding = binding_of(after, after_req)
    if binding == "knockout":
        return "blockers_remain"
    if float(after["recommendation"]["risk_supported_max_loan"]) <= 0:
        return "no_lendable_amount"
    if binding in ("policy_ltv_cap", "max_ltv"):
        return "policy_cap"
    return "unchanged"


def _action_row(act: Action, before: dict, after: dict, measured_on: str, before_req: PledgeRequest,
                after_req: PledgeRequest, requested: float) -> dict:
    b, a = financeable(before), financeable(after)
    decision_before, decision_after = before["recommendation"]["decision"], after["recommendation"]["decision"]
    # "changes the amount" means by at least a fen: the API rounds money to the fen
    effect = ("amount" if round(a - b, 2) != 0 else "decision" if decision_after != decision_before else "none")
    return {"action": act.key, "description": act.description, "params": act.params,
            "max_loan_before": b, "max_loan_after": a,
            "gain": a - b, "ltv_after": float(after["recommendation"]["ltv"]),
            "decision_before": decision_before, "decision_after": decision_after,
            "effect": effect, "no_effect": None if effect != "none" else no_effect_reason(after, after_req),
            "binding_after": binding_of(after, after_req),   # the limit that sets the amount after the action
            # what "approve with conditions" at an unchanged amount asks for: a guarantee of this share
            "guarantee_after": after["recommendation"].get("required_guarantee_share"),
            "covers_request_after": a >= requested - 1e-6,
            "blockers_after": [k["code"] for k in blockers_of(after)], "measured_on": measured_on,
            "changes": request_changes(before_req, after_req)}


def _ltv_range_runs(basis: str, points: int) -> int:
    """How many engine runs :func:`ltv_range` makes (for the progress total)."""
    if basis == "scenarios":
        from ipledge.scenarios.loader import builtin_names

        return len(builtin_names()) or points
    return points


def readiness(req: PledgeRequest, posterior: PipelinePosterior | None = None, *,
              params: ModelParams = DEFAULT_PARAMS, ltv_basis: str = "inputs",
              ltv_points: int = LTV_DESIGN_POINTS, progress=None) -> dict:
    """Readiness score, blockers, LTV range and ranked, measured actions (see the module docstring).

    ``progress``: optional ``progress(phase, done, total)`` called after each engine run (an assessment);
    ``total`` is None while the actions are being measured (their number depends on the results) and known
    from the LTV range on. None costs nothing."""
    if ltv_basis not in ("inputs", "scenarios"):
        raise ValueError("ltv_basis must be 'inputs' or 'scenarios'")
    step = progress or no_progress
    posterior = posterior or load_posterior()
    count = {"phase": "assess", "done": 0, "total": None}

    def run(r: PledgeRequest) -> dict:
        out = assess(r, posterior=posterior, params=params)
        count["done"] += 1
        step(count["phase"], count["done"], count["total"])
        return out

    step("assess", 0, None)
    base = run(req)
    requested = req.loan.amount
    blockers = blockers_of(base)

    count["phase"] = "actions"
    rows: list[dict] = []
    fixes = blocker_actions(req, base)
    fixes = [a for a in fixes if _valid(req, a)]
    for act in fixes:
        after_req = _update(req, act.mutate)
        rows.append(_action_row(act, base, run(after_req), "case", req, after_req, requested))
    reference, reference_req, measured_on = base, req, "case"
    blocking_fixes = [a for a in fixes if a.blocker]
    if blockers:
        if len(blocking_fixes) > 1:
            def all_fixes(d, fs=blocking_fixes):
                for f in fs:
                    f.mutate(d)
            combo = Action("clear_all_blockers", "Do all of: " + "; ".join(
                a.description[0].lower() + a.description[1:] for a in blocking_fixes), all_fixes, True,
                           {"actions": [a.key for a in blocking_fixes]})
            cleared_req = _update(req, combo.mutate)
            cleared = run(cleared_req)
            rows.append(_action_row(combo, base, cleared, "case", req, cleared_req, requested))
        elif blocking_fixes:
            cleared_req = _update(req, blocking_fixes[0].mutate)
            cleared = run(cleared_req)
        else:
            cleared_req, cleared = None, None
        if cleared is not None and not blockers_of(cleared):
            reference, reference_req = cleared, cleared_req
            measured_on = "clear_all_blockers" if len(blocking_fixes) > 1 else blocking_fixes[0].key
    for act in improvement_actions(reference_req, reference, params):
        if not _valid(reference_req, act):
            continue
        after_req = _update(reference_req, act.mutate)
        rows.append(_action_row(act, reference, run(after_req), measured_on, reference_req, after_req,
                                requested))
    rows += evidence_actions(reference_req, reference, run, measured_on, requested)  # GB/T 42748 (issue 18)
    # actions with an effect first, by gain; ties (often 0: the decision changes but not the amount)
    # by the decision they reach; then the actions with no effect
    rows.sort(key=lambda r: (r["effect"] == "none", -round(r["gain"], 2),
                             -DECISION_POINTS.get(r["decision_after"], 0.0), r["action"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i

    count["phase"] = "ltv range"
    count["total"] = count["done"] + _ltv_range_runs(ltv_basis, ltv_points)
    step(count["phase"], count["done"], count["total"])
    rng = ltv_range(req, base, run, ltv_basis, ltv_points)
    score, parts = readiness_score(base, requested)
    value = float(base["valuation"]["appraised_value"])
    return {
        "binding": binding_of(base, req),
        # ltv_cap: policy.max_ltv lowered by the bank profile's cap for the kinds pledged (ipledge.risk.profiles)
        "limits": {"max_ltv": req.policy.max_ltv, "ltv_cap": ltv_cap(req), "cap_amount": ltv_cap(req) * value,
                   "max_expected_loss": req.policy.max_expected_loss,
                   "bank_expected_loss_rate": float(base["credit"]["bank_expected_loss_rate"])},
        "readiness_score": score,
        "readiness_components": parts,
        "blockers": blockers,
        "ltv_range": rng,
        "actions": rows,
        "financeable_amount": financeable(base),
        "requested_amount": requested,
        "seed": req.simulation.seed,
        "paths": req.simulation.paths,
        "value_histogram": base["valuation"]["histogram"],
        "assessment": base,
    }
