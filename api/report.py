"""Readiness report and page rendering: HTML fragment (page), self-contained HTML report, PDF report.

One Jinja environment over ``api/templates`` (autoescaped) renders both the results section of the
self-assessment page and the HTML report, so they cannot drift. The PDF is drawn with fpdf2 (pure
Python) from the same result: PNG charts from :mod:`api.charts`, the indicator tables and the
methodology summary. Nothing here runs the engine; callers pass the result of
:func:`risk.readiness.readiness`.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
from importlib import resources
from pathlib import Path

import jinja2

from api.render import format_value as value_text
from risk.decision import cny, pct
from valuation.cases import CaseError, load_case

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
CARD_TITLES = {"rights_certainty": "Rights certainty (legal value)",
               "competitive_contribution": "Competitive contribution (technical value)",
               "revenue_potential": "Revenue potential (economic value)"}
DECISIONS = {"approve": "Approve", "approve_with_conditions": "Approve with conditions", "decline": "Decline"}

METHODOLOGY = [
    ("Scorecards", "Three scorecards after GB/T 42748-2023: rights certainty (legal value), competitive "
                   "contribution (technical value) and revenue potential (economic value). Each indicator maps "
                   "one input to 0-100 points with a documented rule and a weight; the score is the weighted "
                   "mean. Knock-outs (no granted patent in force, expiry before maturity, existing pledge, "
                   "missing co-owner consent, unpaid fees) are listed as blockers, never hidden in a score."),
    ("Pipeline and cash flows", "Phase-transition probabilities come from a hierarchical Bayesian model fitted "
                                "offline on published counts per disease area and modality. A vectorised Monte "
                                "Carlo draws the stage path, launch, peak sales (lognormal from p10/p50/p90), "
                                "ramp, loss of exclusivity, volume-based procurement price cuts and the IP share "
                                "of the cash flows; the IP value today is their discounted sum (mean = appraised "
                                "value)."),
    ("Credit and LTV", "Borrower cash is simulated with the loan; a cash-short firm raises money with a "
                       "probability that falls after a pipeline failure, otherwise it defaults. Loss at default = "
                       "exposure minus the collateral value (no look-ahead) after the liquidation haircut. The "
                       "maximum loan is the largest amount whose bank expected-loss rate stays within the "
                       "policy limit, capped at max LTV x appraised value; the loss is split by the risk-sharing "
                       "scheme."),
    ("Readiness score", "0.4 x mean scorecard score + 0.4 x 100 x min(1, financeable amount / requested) + "
                        "0.2 x decision points (approve 100, with conditions 50, decline 0). The financeable amount "
                        "is the maximum loan, or 0 while any blocker stands."),
    ("Actions", "Each action is applied to the request and the full assessment re-run with the same seed and "
                "paths (common random numbers): the gain is the difference of the two financeable amounts, the "
                "action's effect rather than simulation noise. While blockers remain, improvements are measured "
                "after clearing them."),
    ("LTV range", "p10 / p50 / p90 of the risk-supported LTV (maximum loan / appraised value, before knock-outs) "
                  "over the case and variants of inputs the enterprise cannot pin down (see the basis line)."),
]


# --- formatting --------------------------------------------------------------------------------
def decision_label(d: str) -> str:
    return DECISIONS.get(d, d)


@functools.lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    e = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                           autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    e.filters.update(cny=cny, pct=pct, value_text=value_text, decision_label=decision_label)
    e.globals.update(card_titles=CARD_TITLES, methodology=METHODOLOGY)
    return e


# --- bundled example cases ---------------------------------------------------------------------
def _cases_dir():
    return resources.files("scenarios") / "cases"


def _case_title(text: str, name: str) -> str:
    """A short button label from the case's leading comment (its first clause), else the file name."""
    first = next((ln[1:].strip() for ln in text.splitlines() if ln.startswith("#")), "")
    first = re.sub(r"^(optional case:\s*)?((a|an|the)\s+)?", "", first, flags=re.I)
    first = re.split(r" \(|: |\. |, |; | whose | where ", first)[0].strip().rstrip(".,")
    if len(first) > 60:
        first = first[:60].rsplit(" ", 1)[0] + "…"
    return first[:1].upper() + first[1:] if first else name.replace("_", " ")


@functools.lru_cache(maxsize=1)
def bundled_cases() -> dict[str, dict]:
    """{name: {"title", "request"}} of scenarios/cases/*.yaml (validated, as JSON-ready dicts)."""
    out = {}
    for f in sorted(_cases_dir().iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".yaml"):
            continue
        name = f.name[:-5]
        text = f.read_text(encoding="utf-8")
        out[name] = {"title": _case_title(text, name), "request": load_case(Path(str(f))).model_dump(mode="json")}
    return out


def resolve_case(case: str):
    """A pledge request from a case file path or the name of a bundled case (CaseError otherwise)."""
    p = Path(case)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or os.sep in case:
        if not p.is_file():
            raise CaseError(f"{case}: no such case file")
        return load_case(p)
    f = _cases_dir() / f"{case}.yaml"
    if not f.is_file():
        names = ", ".join(n[:-5] for n in sorted(x.name for x in _cases_dir().iterdir()) if n.endswith(".yaml"))
        raise CaseError(f"unknown case '{case}' (not a file, not a bundled case: {names})")
    return load_case(Path(str(f)))


# --- HTML ----------------------------------------------------------------------------------------
def results_html(result: dict, charts: dict[str, str], *, links: bool = True) -> str:
    """The results section of the page (inline SVG charts)."""
    return env().get_template("_readiness.html").render(r=result, a=result["assessment"], charts=charts,
                                                        links=links)


def report_html(result: dict, req) -> str:
    """A self-contained HTML report: inline CSS, inline SVG charts, indicator tables, methodology."""
    from api.charts import readiness_svgs

    css = (STATIC / "selfassess.css").read_text(encoding="utf-8")
    charts = readiness_svgs(result)
    return env().get_template("report.html").render(
        r=result, a=result["assessment"], req=req.model_dump(mode="json"), charts=charts, css=css,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        results=results_html(result, charts, links=False))


# --- PDF -----------------------------------------------------------------------------------------
def _font_path() -> str:
    import matplotlib

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def report_pdf(result: dict, req) -> bytes:
    """The same report as PDF (A4), drawn with fpdf2; charts are embedded as PNG."""
    import io

    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from api.charts import readiness_figures, to_png

    a = result["assessment"]
    rec = a["recommendation"]
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    ttf = _font_path()
    pdf.add_font("DejaVu", "", os.path.join(ttf, "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", os.path.join(ttf, "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Financing readiness - {req.applicant.name}")
    pdf.set_creator("ipledge")
    pdf.add_page()
    W = pdf.epw

    def h1(t):
        pdf.set_font("DejaVu", "B", 15)
        pdf.multi_cell(W, 8, t, new_x="LMARGIN", new_y="NEXT")

    def h2(t):
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11.5)
        pdf.multi_cell(W, 7, t, new_x="LMARGIN", new_y="NEXT")

    def para(t, size=9):
        pdf.set_font("DejaVu", "", size)
        pdf.multi_cell(W, 4.6, t, new_x="LMARGIN", new_y="NEXT")

    def table(head, rows, widths):
        pdf.set_font("DejaVu", "", 7.5)
        with pdf.table(col_widths=widths, headings_style=FontFace(emphasis="BOLD", fill_color=(230, 236, 242)),
                       line_height=4.2, text_align="LEFT", width=W) as t:
            r = t.row()
            for h in head:
                r.cell(h)
            for row in rows:
                r = t.row()
                for c in row:
                    r.cell(str(c))

    p = req.product
    h1(f"Financing readiness: {req.applicant.name}")
    para(f"{p.name} ({p.modality}, {p.therapeutic_area}, {p.stage}); {len(req.patents)} patent(s); "
         f"loan {cny(req.loan.amount)} over {req.loan.term_years:g} years; as of {req.as_of}; "
         f"seed {a['seed']}, {req.simulation.paths} paths; model {a['model_version']}.")
    h2(f"Readiness score {result['readiness_score']:.0f} / 100")
    para(f"Decision: {decision_label(rec['decision'])}. Maximum loan {cny(rec['max_loan'])} "
         f"(LTV {pct(rec['ltv'])} of the appraised value {cny(a['valuation']['appraised_value'])}); requested "
         f"{cny(req.loan.amount)}" + (f" (LTV {pct(rec['requested_ltv'])})" if rec.get("requested_ltv") else "")
         + f". Financeable now: {cny(result['financeable_amount'])}.")
    lr = result["ltv_range"]
    para(f"LTV range p10 {pct(lr['p10'])}, p50 {pct(lr['p50'])}, p90 {pct(lr['p90'])} - {lr['basis']}.")
    if rec.get("conditions"):
        para("Conditions: " + " ".join(rec["conditions"]))
    h2("Blocking items")
    if result["blockers"]:
        table(["code", "problem", "fix", "patents"],
              [[b["code"], b["message"], b["fix"], ", ".join(b["patents"])] for b in result["blockers"]],
              (22, 50, 60, 24))
    else:
        para("None: no knock-out stops the pledge.")
    h2("Ranked actions (each re-assessed with the same seed)")
    if result["actions"]:
        table(["#", "action", "what", "max loan before", "after", "gain", "LTV after", "decision after"],
              [[x["rank"], x["action"], x["description"], cny(x["max_loan_before"]), cny(x["max_loan_after"]),
                cny(x["gain"]), pct(x["ltv_after"]), decision_label(x["decision_after"])]
               for x in result["actions"]], (6, 24, 50, 20, 20, 18, 12, 20))
    else:
        para("No action applies to this case.")
    figs = readiness_figures(result)
    for key in ("value", "fan", "scores", "actions"):
        if key in figs:
            if pdf.get_y() > pdf.h - pdf.b_margin - 80:
                pdf.add_page()
            pdf.image(io.BytesIO(to_png(figs[key], dpi=130)), w=W * (0.72 if key != "scores" else 0.66))
    for key, title in CARD_TITLES.items():
        card = a["scores"][key]
        h2(f"{title}: {card['score']:.1f} / 100")
        table(["indicator", "value", "points", "weight", "note"],
              [[i["name"], value_text(i["value"]), f"{i['points']:.1f}", f"{i['weight']:g}", i["note"]]
               for i in card["indicators"]], (32, 30, 13, 13, 92))
    from api.report_gbt42748 import pdf_gbt42748  # GB/T 42748 coverage, zh and en (issue 18)
    pdf_gbt42748(pdf, h2, table, a["scores"].get("gbt42748"))
    h2("Methodology")
    for title, text in METHODOLOGY:
        pdf.set_font("DejaVu", "B", 9)
        pdf.multi_cell(W, 4.6, title, new_x="LMARGIN", new_y="NEXT")
        para(text)
    para("Illustrative decision support; not an offer of credit. Nothing entered on the self-assessment page "
         "is stored.", size=7.5)
    return bytes(pdf.output())
