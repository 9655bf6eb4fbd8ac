"""What the page and the reports say about a result, in the reader's language, from structured data.

The engine writes the recommendation's ``reasons`` and ``conditions`` and the knock-outs' ``message`` /
``fix`` as English sentences with codes in them ("Knock-out (existing_pledge)", "from phase2"); the API
keeps them. The page and the reports, in both languages, render the same statements here from the
numbers and codes of the response (decision, binding limit, PD, LGD, rates, knock-out codes and
patents) through the message catalogue, so no code and (in zh) no English sentence reaches a reader.
Each reason mirrors one reason of :func:`ipledge.risk.decision.recommend`; English knock-out messages and fixes
are the engine's own (they name no code). The checks table is the recommendation's ``checks`` when the
engine gives them, else the four tests the decision rests on, derived from the same figures.
"""
from __future__ import annotations

from ipledge.reports import i18n
from ipledge.reports.labels import ACTION_DETAILS, EVIDENCE_VALUE, INSURED, KNOCKOUT_TEXT, N_, NO_EFFECT_AT, PROFILE_CONDITIONS
from ipledge.risk.params import DEFAULT_PARAMS
from ipledge.valuation import fmt


def _t(lang: str, msgid: str, /, **params) -> str:
    return i18n.gettext(lang, msgid, **params)


def patents_text(ids, lang: str) -> str:
    ids = list(ids or [])
    return i18n.join(ids, lang) if ids else _t(lang, N_("the pledged patents"))


# --- knock-outs ----------------------------------------------------------------------------------
def blocker_view(b: dict, lang: str) -> dict:
    """{code, title, message, fix, patents} of a blocker for display."""
    title = i18n.label("knockout", b["code"], lang)
    if lang == "en" or b["code"] not in KNOCKOUT_TEXT:
        return {"code": b["code"], "title": title, "message": b["message"], "fix": b["fix"],
                "patents": b.get("patents", [])}
    message, fix = KNOCKOUT_TEXT[b["code"]]
    return {"code": b["code"], "title": title, "patents": b.get("patents", []),
            "message": _t(lang, message, patents=patents_text(b.get("patents"), lang)), "fix": _t(lang, fix)}


# --- actions -------------------------------------------------------------------------------------
def action_detail(x: dict, lang: str) -> str:
    """What the action does, in ``lang``, from its code and ``params``."""
    key, p = x["action"], x.get("params") or {}
    if not p:  # an action without params (none today): the engine's English text, nothing in zh
        return x["description"] if lang == "en" else ""
    money, pct = (lambda v: fmt.money(v, lang)), (lambda v, d=0: fmt.percent(v, d, lang))
    pats = patents_text(p.get("patents"), lang)
    if key.startswith("join_"):
        split = i18n.join([f"{i18n.label('party', k, lang)} {pct(v)}" for k, v in (p.get("shares") or {}).items()],
                          lang)
        if p.get("loan_cap"):
            return _t(lang, ACTION_DETAILS["join_capped"], split=split, cap=money(p["loan_cap"]))
        return _t(lang, ACTION_DETAILS["join"], split=split)
    if key.startswith("add_evidence_"):
        return evidence_detail(p, lang)
    if key == "clear_all_blockers":
        return _t(lang, ACTION_DETAILS[key], actions=i18n.join(
            [i18n.label("action", a, lang) for a in p.get("actions", [])], lang))
    if key == "shorten_term":
        return _t(lang, ACTION_DETAILS[key], years=fmt.number(p["years"], 1, lang), end=fmt.date(p["end"], lang))
    if key == "add_guarantee":
        return _t(lang, ACTION_DETAILS[key], share=pct(p["share"]))
    if key == "extend_family":
        return _t(lang, ACTION_DETAILS[key], offices=i18n.join(p.get("offices", []), lang), patents=pats)
    if key == "next_stage":
        msg = ACTION_DETAILS["next_stage_launch" if p.get("launch_next_year") else "next_stage"]
        return _t(lang, msg, **{"from": i18n.label("stage", p["from"], lang), "to": i18n.label("stage", p["to"], lang)})
    if key == "raise_equity":
        return _t(lang, ACTION_DETAILS[key], amount=money(p["amount"]))
    if key in ACTION_DETAILS:
        return _t(lang, ACTION_DETAILS[key], patents=pats)
    return ""


def evidence_level(field: str, level, lang: str) -> str:
    """A GB/T 42748 evidence level (a vocabulary code, a count, a share or a financing record) in ``lang``."""
    if isinstance(level, dict):   # FinancingRecord: ip_loans_repaid, ip_loan_defaults, ip_insurance
        return _t(lang, EVIDENCE_VALUE["financing"], repaid=fmt.number(level.get("ip_loans_repaid", 0), 0, lang),
                  defaults=fmt.number(level.get("ip_loan_defaults", 0), 0, lang),
                  insurance=_t(lang, INSURED[bool(level.get("ip_insurance", False))]))
    if field == "market_share":
        return _t(lang, EVIDENCE_VALUE[field], n=fmt.percent(level, 0, lang))
    if field in EVIDENCE_VALUE:
        return _t(lang, EVIDENCE_VALUE[field], n=fmt.number(level, 0, lang))
    return i18n.label("evidence_level", level, lang)


def evidence_title(p: dict, lang: str) -> str:
    """"Add evidence: <indicator> (GB/T 42748 <code>)", the indicator named in the reader's language."""
    return _t(lang, ACTION_DETAILS["add_evidence"], code=p["code"],
              indicator=p["name_zh"] if lang == "zh" else p["name_en"])


def evidence_detail(p: dict, lang: str) -> str:
    num = (lambda v: fmt.number(v, 1, lang))
    return _t(lang, ACTION_DETAILS["add_evidence_detail"], card=i18n.label("card_short", p["card"], lang),
              before=num(p["before"]), best=num(p["best"]), worst=num(p["worst"]),
              best_level=evidence_level(p["field"], p["best_level"], lang),
              worst_level=evidence_level(p["field"], p["worst_level"], lang))


def _why(x: dict, lang: str) -> str:
    """Why an action has no effect; the limit that still sets the amount where the engine names it."""
    code, binding = x.get("no_effect") or "unchanged", x.get("binding_after")
    if code == "no_lendable_amount" and binding == "no_value":
        return _t(lang, NO_EFFECT_AT["no_value"])
    if code == "no_lendable_amount" and binding and binding not in ("knockout", "no_value"):
        return _t(lang, NO_EFFECT_AT["no_lendable_amount"], limit=i18n.label("binding", binding, lang))
    if code == "unchanged" and binding and binding not in ("knockout", "no_value"):
        return _t(lang, NO_EFFECT_AT["unchanged"], limit=i18n.label("binding", binding, lang))
    return i18n.label("no_effect", code, lang)


def action_title(x: dict, lang: str) -> str:
    """An action row's title in ``lang`` (evidence actions name their GB/T indicator)."""
    if x["action"].startswith("add_evidence_") and x.get("params"):
        return evidence_title(x["params"], lang)
    return i18n.label("action", x["action"], lang)


def action_views(result: dict, lang: str) -> tuple[list[dict], list[dict]]:
    """(actions that change the amount or the decision, ranked by gain; the rest, each with why)."""
    rows = []
    for x in result["actions"]:
        effect = x.get("effect") or ("amount" if round(x["gain"], 2) != 0 else "none")
        rows.append({**x, "effect": effect, "title": action_title(x, lang),
                     "detail": action_detail(x, lang),
                     "measured_on_text": (None if x.get("measured_on", "case") == "case"
                                          else i18n.label("action", x["measured_on"], lang)),
                     "why": _why(x, lang) if effect == "none" else None})
    return [r for r in rows if r["effect"] != "none"], [r for r in rows if r["effect"] == "none"]


# --- recommendation ------------------------------------------------------------------------------
def _reasons(a: dict, result: dict, lang: str) -> list[str]:
    rec, v, c, p = a["recommendation"], a["valuation"], a["credit"], a["pipeline"]
    money, pct = (lambda x: fmt.money(x, lang)), (lambda x, d=1: fmt.percent(x, d, lang))
    requested = result["requested_amount"]
    limit = result["limits"]["max_expected_loss"]
    binding = result.get("binding")
    value = float(v["appraised_value"])
    out = []
    for b in result["blockers"]:
        out.append(_t(lang, N_("Blocking item (%(title)s): %(message)s"), title=i18n.label("knockout", b["code"], lang),
                      message=blocker_view(b, lang)["message"]))
    if p["stage"] != "approved":
        out.append(_t(lang, N_("Probability of approval from %(stage)s: %(p)s (90%% HDI %(lo)s–%(hi)s); "
                               "%(zero)s of simulated paths leave the IP worth nothing."),
                      stage=i18n.label("stage", p["stage"], lang), p=pct(p["p_approval"]["mean"]),
                      lo=pct(p["p_approval"]["hdi_90"][0]), hi=pct(p["p_approval"]["hdi_90"][1]),
                      zero=pct(v["prob_zero"])))
    out.append(_t(lang, N_("Appraised IP value %(value)s (p5 %(p5)s, p95 %(p95)s); the requested %(req)s is an "
                           "LTV of %(ltv)s."), value=money(value), p5=money(v["p5"]), p95=money(v["p95"]),
                  req=money(requested), ltv=pct(rec["requested_ltv"]) if rec.get("requested_ltv") else "-"))
    out.append(_t(lang, N_("At the requested amount: PD %(pd)s over %(term)s years, LGD %(lgd)s, bank "
                           "expected-loss rate %(rate)s against a limit of %(limit)s."),
                  pd=pct(c["pd"]), term=fmt.number(c.get("maturity_years", 0), 1, lang), lgd=pct(c["lgd"]),
                  rate=pct(c["bank_expected_loss_rate"], 2), limit=pct(limit, 2)))
    supported = float(rec["risk_supported_max_loan"])
    ltv_of = (lambda x: pct(x / value) if value > 0 else "-")
    limit_text = i18n.label("binding", binding, lang) if binding else ""
    if binding == "knockout":
        out.append(_t(lang, N_("Once the blocking items are cleared, the risk model supports up to %(amount)s "
                               "(LTV %(ltv)s)."), amount=money(supported), ltv=pct(rec["risk_supported_ltv"])))
    elif binding == "no_value":
        out.append(_t(lang, N_("The IP has no appraised value, so nothing can be lent against it.")))
    elif supported <= 0:
        out.append(_t(lang, N_("No amount from %(min)s up keeps every limit: the %(limit)s fails even at the "
                               "smallest amount tried."), min=money(1e4), limit=limit_text))
    elif binding in ("policy_ltv_cap", "max_ltv"):
        out.append(_t(lang, N_("The maximum loan %(amount)s is set by the policy cap of %(cap)s of the appraised "
                               "value, not by expected loss."), amount=money(supported),
                      cap=pct(result["limits"].get("ltv_cap", result["limits"]["max_ltv"]), 0)))
    elif binding == "borrower_capacity":
        out.append(_t(lang, N_("The maximum loan %(amount)s (LTV %(ltv)s) is set by the borrower's repayment "
                               "capacity (35%% of cash plus 50%% of a year's revenue); every risk limit holds "
                               "there."), amount=money(supported), ltv=ltv_of(supported)))
    elif binding == "profile_max_amount":
        out.append(_t(lang, N_("The maximum loan %(amount)s is the bank profile's maximum amount."),
                      amount=money(supported)))
    elif binding:
        out.append(_t(lang, N_("The maximum loan %(amount)s (LTV %(ltv)s) is the largest amount that keeps every "
                               "limit; above it the %(limit)s fails."), amount=money(supported),
                      ltv=ltv_of(supported), limit=limit_text))
    if rec["decision"] == "decline" and binding != "knockout":
        failed = [i18n.label("limit", ch["limit"], lang) for ch in rec.get("checks") or []
                  if "limit" in ch and not ch.get("passed")]
        out.append(_t(lang, N_("No amount of at least %(min)s of the request and no guarantee of at most %(g)s "
                               "satisfies every limit (failing at the request: %(failed)s)."),
                      min=pct(DEFAULT_PARAMS.min_offer_fraction, 0), g=pct(DEFAULT_PARAMS.max_guarantee_share, 0),
                      failed=i18n.join(failed, lang) or "-"))
    return out


def _conditions(a: dict, result: dict, req: dict | None, lang: str) -> list[str]:
    rec = a["recommendation"]
    money, pct = (lambda x: fmt.money(x, lang)), (lambda x, d=1: fmt.percent(x, d, lang))
    if result["blockers"]:
        return [blocker_view(b, lang)["fix"] for b in result["blockers"]]
    profile = ((req or {}).get("policy") or {}).get("profile")
    extra = [_t(lang, m) for m in PROFILE_CONDITIONS.get(profile, ())] if rec["decision"] != "decline" else []
    if rec["decision"] == "approve":
        granted = [p["id"] for p in (req or {}).get("patents", []) if p.get("status") == "granted"]
        return [_t(lang, N_("Register the pledge of %(patents)s with CNIPA before drawdown."),
                   patents=patents_text(granted, lang)),
                _t(lang, N_("Re-appraise the collateral yearly and at each clinical or VBP event."))] + extra
    out = []
    if rec["decision"] == "approve_with_conditions":
        value = float(a["valuation"]["appraised_value"])
        if rec["max_loan"] >= DEFAULT_PARAMS.min_offer_fraction * result["requested_amount"] and rec["max_loan"] > 0:
            out.append(_t(lang, N_("Reduce the amount to %(amount)s (LTV %(ltv)s)."), amount=money(rec["max_loan"]),
                          ltv=pct(rec["max_loan"] / value) if value > 0 else "-"))
        g = rec.get("required_guarantee_share")
        if g:
            out.append(_t(lang, N_("Or keep %(amount)s with a guarantee covering at least %(share)s of the bank's "
                                   "loss."), amount=money(result["requested_amount"]), share=pct(g, 0)))
    return out + extra


def recommendation_view(result: dict, req: dict | None, lang: str) -> dict:
    """{decision, reasons, conditions, checks} as the reader sees them."""
    a = result["assessment"]
    rec = a["recommendation"]
    reasons, conditions = _reasons(a, result, lang), _conditions(a, result, req, lang)
    return {"decision": i18n.label("decision", rec["decision"], lang), "reasons": reasons,
            "conditions": conditions, "checks": checks_view(result, lang),
            "binding": i18n.label("binding", result.get("binding"), lang)}


CHECKS = {"knockouts": N_("Blocking items"), "expected_loss": N_("Bank expected-loss rate at the requested amount"),
          "max_ltv": N_("Requested LTV"), "amount": N_("Requested amount vs maximum loan"),
          "p_approval": N_("Probability of approval")}


def _fmt_any(x, unit: str | None, lang: str) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return _t(lang, N_("yes")) if x else _t(lang, N_("no"))
    if not isinstance(x, (int, float)):
        return str(x)
    if unit in ("cny", "money") or (unit is None and abs(x) >= 1000):
        return fmt.money(x, lang)
    if unit in ("share", "rate", "ratio", "percent") or (unit is None and abs(x) <= 1.5):
        return fmt.percent(x, 2 if abs(x) < 0.1 else 1, lang)
    return fmt.number(x, 2, lang)


def checks_view(result: dict, lang: str) -> list[dict]:
    """[{name, value, threshold, ok}] of the tests behind the decision, formatted for ``lang``."""
    a = result["assessment"]
    rec = a["recommendation"]
    given = rec.get("checks")
    if given and all("limit" in ch for ch in given):   # the engine's rows (issue 11): {limit, value, threshold, passed, basis}
        return [_engine_check(ch, lang) for ch in given]
    if given:
        out = []
        for ch in given:
            unit = ch.get("unit")
            ok = ch.get("passed", ch.get("ok"))
            out.append({"name": _t(lang, CHECKS[ch["name"]]) if ch.get("name") in CHECKS
                        else str(ch.get("name", "")).replace("_", " "),
                        "value": _fmt_any(ch.get("value"), unit, lang),
                        "threshold": _fmt_any(ch.get("threshold"), unit, lang), "ok": ok})
        return out
    money, pct = (lambda x: fmt.money(x, lang)), (lambda x, d=1: fmt.percent(x, d, lang))
    requested, limits = result["requested_amount"], result["limits"]
    n_ko = len(result["blockers"])
    rl = rec.get("requested_ltv")
    return [
        {"name": _t(lang, CHECKS["knockouts"]), "value": fmt.number(n_ko, 0, lang), "threshold": "0", "ok": n_ko == 0},
        {"name": _t(lang, CHECKS["expected_loss"]), "value": pct(limits["bank_expected_loss_rate"], 2),
         "threshold": "≤ " + pct(limits["max_expected_loss"], 2),
         "ok": limits["bank_expected_loss_rate"] <= limits["max_expected_loss"] + 1e-12},
        {"name": _t(lang, CHECKS["max_ltv"]), "value": pct(rl) if rl is not None else "-",
         "threshold": "≤ " + pct(limits["max_ltv"], 0), "ok": rl is not None and rl <= limits["max_ltv"] + 1e-12},
        {"name": _t(lang, CHECKS["amount"]), "value": money(requested),
         "threshold": "≤ " + money(rec["max_loan"]), "ok": requested <= rec["max_loan"] + 1e-6},
    ]


def _engine_check(ch: dict, lang: str) -> dict:
    """One row of ``recommendation.checks`` for display: the limit's label, value and threshold by basis
    (``CNY`` amounts, ``ltv`` ratios, ``annual`` / ``lifetime`` expected-loss or default rates)."""
    import math

    basis, v, th = ch.get("basis"), ch.get("value"), ch.get("threshold")
    finite = (lambda x: x is not None and isinstance(x, (int, float)) and math.isfinite(x))
    if basis == "CNY":
        value, limit = fmt.money(v, lang), ("≤ " + fmt.money(th, lang) if finite(th) else "-")
    elif basis == "ltv":
        value, limit = fmt.percent(v, 1, lang), ("≤ " + fmt.percent(th, 0, lang) if finite(th) else "-")
    else:
        per = {"annual": N_("%(rate)s a year"), "lifetime": N_("%(rate)s over the loan's life")}.get(basis)
        value = fmt.percent(v, 2, lang) if finite(v) else "-"
        limit = ("≤ " + (_t(lang, per, rate=fmt.percent(th, 2, lang)) if per else fmt.percent(th, 2, lang))
                 if finite(th) else "-")
    return {"name": i18n.label("limit", ch["limit"], lang), "value": value, "threshold": limit,
            "ok": ch.get("passed"), "limit": ch["limit"]}
