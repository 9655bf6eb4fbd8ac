"""Readable terminal report of an assessment (rich tables), for `ipledge assess`."""
from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from ipledge.cli.render import gbt42748_renderable
from ipledge.risk.decision import cny, pct
from ipledge.valuation import fmt

DECISION_STYLE = {"approve": "bold green", "approve_with_conditions": "bold yellow", "decline": "bold red"}


def _kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column(style="dim")
    t.add_column(justify="right")
    for k, v in rows:
        t.add_row(k, v)
    return t


def assessment_renderables(req, r: dict) -> list:
    s, p, v, c, rec = r["scores"], r["pipeline"], r["valuation"], r["credit"], r["recommendation"]
    head = (f"{req.applicant.name} · {req.product.name} ({req.product.therapeutic_area}, {req.product.stage}) · "
            f"loan {cny(req.loan.amount)} over {req.loan.term_years:g} y\n"
            f"model {r['model_version']} · seed {r['seed']} · {v['paths']:,} paths"
            + (f" · scenario {r['scenario']}" if r.get("scenario") else ""))
    scores = _kv_table("Scores (0-100)", [
        ("rights certainty", f"{s['rights_certainty']['score']:.1f}"),
        ("competitive contribution", f"{s['competitive_contribution']['score']:.1f}"),
        ("revenue potential", f"{s['revenue_potential']['score']:.1f}"),
        ("IP contribution share", pct(s["competitive_contribution"]["ip_contribution"])),
        ("exclusivity end", str(v.get("exclusivity_end") or "none in force")),
    ])
    pipe_rows = [("stage", p["stage"]),
                 ("P(approval)", f"{pct(p['p_approval']['mean'])} (90% HDI {pct(p['p_approval']['hdi_90'][0])}"
                                 f"-{pct(p['p_approval']['hdi_90'][1])})"),
                 ("expected launch", fmt.year(p.get("expected_launch_year")))]
    pipe_rows += [(k.replace("_", " "), pct(m)) for k, m in p.get("transitions", {}).items()]
    value = _kv_table("IP value today (CNY)", [
        ("appraised (mean, rNPV)", f"{cny(v['appraised_value'])} ± {cny(v['mc_std_error'])} (MC s.e.)"),
        ("p5 / p50 / p95", f"{cny(v['p5'])} / {cny(v['p50'])} / {cny(v['p95'])}"),
        ("P(worth nothing)", pct(v["prob_zero"])),
        ("horizon", f"{v['horizon_years']} years"),
    ])
    credit = _kv_table("Credit at the requested amount", [
        ("PD", pct(c["pd"])), ("LGD", pct(c["lgd"])), ("EAD (mean at default)", cny(c["ead"])),
        ("expected loss", f"{cny(c['expected_loss'])} ({pct(c['expected_loss_rate'], 2)})"),
        ("bank expected loss", f"{cny(c['bank_expected_loss'])} ({pct(c['bank_expected_loss_rate'], 2)})"),
        ("VaR 99% / ES 99%", f"{cny(c['var_99'])} / {cny(c['es_99'])}"),
    ])
    sharing = Table(title="Loss sharing", title_justify="left")
    for col in ("party", "share", "expected loss"):
        sharing.add_column(col, justify="right" if col != "party" else "left")
    for row in r["risk_sharing"]:
        sharing.add_row(row["party"], pct(row["share"], 0), cny(row["expected_loss"]))
    g = rec["required_guarantee_share"]
    rec_lines = [f"[{DECISION_STYLE[rec['decision']]}]{rec['decision'].upper()}[/]",
                 f"max loan {cny(rec['max_loan'])} · LTV {pct(rec['ltv'])} · requested LTV "
                 + (pct(rec["requested_ltv"]) if rec["requested_ltv"] is not None else "n/a")
                 + " · guarantee share needed: " + ("none" if g == 0 else "not available" if g is None else pct(g, 0))]
    rec_lines += ["", "[bold]Reasons[/]"] + [f"• {x}" for x in rec["reasons"]]
    if rec["conditions"]:
        rec_lines += ["", "[bold]Conditions[/]"] + [f"• {x}" for x in rec["conditions"]]
    return [Panel(head, title="ipledge assessment"), scores, gbt42748_renderable(s.get("gbt42748")),
            _kv_table("Pipeline", pipe_rows), value, credit, sharing, Panel("\n".join(rec_lines), title="Recommendation")]


def print_assessment(req, result: dict, console: Console | None = None) -> None:
    (console or Console()).print(Group(*assessment_renderables(req, result)))
