"""Readiness report and page rendering, in zh or en: HTML fragment (page), HTML report, PDF report.

One template set (``reports/templates``) in one Jinja environment per language (:mod:`ipledge.reports.i18n`) renders
the results section of the self-assessment page, the HTML report and the PDF report: the PDF is the
report template rendered with ``pdf=True`` and laid out by WeasyPrint, so the two reports cannot drift
(reasons, conditions and checks are in both). What the reader sees is built by :func:`view` from the
result's numbers and codes (labels, translated reasons: :mod:`ipledge.reports.narrative`). Nothing here runs the
engine; callers pass the result of :func:`ipledge.risk.readiness.readiness`.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
from importlib import resources
from pathlib import Path

from ipledge.reports import i18n, narrative
from ipledge.reports.labels import CARDS, N_, VALUE_PATTERNS
from ipledge.valuation import fmt
from ipledge.valuation.cases import CaseError, load_case, load_case_located

STATIC = Path(__file__).resolve().parent / "static"
CARD_KEYS = tuple(CARDS)

METHODOLOGY = [
    (N_("Scorecards"), N_("Three scorecards after GB/T 42748-2023: rights certainty (legal value), competitive "
                          "contribution (technical value) and revenue potential (economic value). Each indicator maps "
                          "one input to 0-100 points with a documented rule and a weight; the score is the weighted "
                          "mean. Knock-outs (no granted patent in force, expiry before maturity, existing pledge, "
                          "missing co-owner consent, unpaid fees) are listed as blocking items, never hidden in a "
                          "score.")),
    (N_("Pipeline and cash flows"), N_("Phase-transition probabilities come from a hierarchical Bayesian model "
                                       "fitted offline on published counts per disease area and modality. A "
                                       "vectorised Monte Carlo draws the stage path, launch, peak sales (lognormal "
                                       "from p10/p50/p90), ramp, loss of exclusivity, volume-based procurement price "
                                       "cuts and the IP share of the cash flows; the IP value today is their "
                                       "discounted sum (mean = appraised value).")),
    (N_("Credit and maximum loan"), N_("Borrower cash is simulated with the loan; a cash-short firm raises money "
                                       "with a probability that falls after a pipeline failure, otherwise it "
                                       "defaults. Loss at default = exposure minus the collateral value (no "
                                       "look-ahead) after the liquidation haircut; the loss is split by the "
                                       "risk-sharing scheme, within the fund's caps. The maximum loan is the "
                                       "largest amount that passes every limit: the bank's and all parties' "
                                       "expected-loss rates, the one-year probability of default, each "
                                       "loss-bearing party's expected loss on its share, the policy cap on LTV "
                                       "(lowered by the bank profile), the profile's maximum amount and the "
                                       "borrower's capacity. The limit that stops it is named.")),
    (N_("Readiness score"), N_("0.4 x mean scorecard score + 0.4 x 100 x min(1, financeable amount / requested) "
                               "+ 0.2 x decision points (approve 100, with conditions 50, decline 0). The financeable "
                               "amount is the maximum loan, or 0 while any blocking item stands.")),
    (N_("Actions"), N_("Each action is applied to the request and the full assessment re-run with the same seed "
                       "and paths (common random numbers): the gain is the difference of the two financeable "
                       "amounts, the action's effect rather than simulation noise. While blocking items remain, "
                       "improvements are measured after clearing them. Only actions that change the amount or the "
                       "decision are listed; the others are folded under 'no effect' with the reason.")),
    (N_("Maximum loan under uncertain inputs"), N_("p10 and p90 of the risk-supported maximum loan over the case "
                                                   "and 16 variants of inputs the enterprise cannot pin down: peak "
                                                   "sales x0.6-1.5, liquidation haircut 0.40-0.70, discount rate "
                                                   "9-13%%. Where every variant gives the same amount the page "
                                                   "shows what sets it instead.")),
]


# --- formatting --------------------------------------------------------------------------------
def indicator_value(value, lang: str = "en") -> str:
    """An indicator value as a reader sees it (codes as labels, numbers by the formatter)."""
    if isinstance(value, bool):
        return i18n.gettext(lang, N_("yes") if value else N_("no"))
    if isinstance(value, (list, tuple)):
        return i18n.join([indicator_value(v, lang) for v in value], lang) or "-"
    if isinstance(value, (int, float)):
        return fmt.money(value, lang) if abs(value) >= 1e6 else fmt.number(value, 1 if value % 1 else 0, lang)
    if value is None:
        return "-"
    if isinstance(value, dict) and "ip_loans_repaid" in value:   # GB/T 42748 evidence: a financing record
        return narrative.evidence_level("financing", value, lang)
    text = str(value)
    from ipledge.reports.labels import CLAIM_TYPES, EVIDENCE_LEVELS, STAGES, VBP

    for table, kind in ((STAGES, "stage"), (CLAIM_TYPES, "claim_type"), (VBP, "vbp"),
                        (EVIDENCE_LEVELS, "evidence_level")):
        if text in table:
            return i18n.label(kind, text, lang)
    if lang == "en":
        return text
    for pattern, msgid in VALUE_PATTERNS:
        m = re.fullmatch(pattern, text)
        if not m:
            continue
        if msgid is None:
            return i18n.label("status", m.group(1), lang) + i18n.label("kind", m.group(2).replace(" ", "_"), lang)
        return i18n.gettext(lang, msgid, **{k: g for k, g in zip("ab", m.groups())})
    return text


_CODE_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b(?:phase[123])\b")


def humanise(text: str, lang: str = "en") -> str:
    """Engine free text with its codes (``phase2``, ``small_molecule``) replaced by their labels."""
    from ipledge.reports.labels import TABLES

    def label_of(m):
        code = m.group(0)
        for kind in ("stage", "modality", "area", "kind", "status", "claim_type", "invalidation", "scheme",
                     "action", "knockout"):
            if code in TABLES[kind]:
                return i18n.label(kind, code, lang)
        return code.replace("_", " ")

    return _CODE_WORD.sub(label_of, text)


def env(lang: str = "en"):
    """The Jinja environment of ``lang`` with the report globals."""
    e = i18n.jinja_env(lang)
    e.globals.update(card_keys=CARD_KEYS, methodology=METHODOLOGY,
                     indicator_value=lambda i, lang=lang: indicator_value(i["value"], lang),
                     humanise=lambda t, lang=lang: humanise(t, lang))
    return e


# --- bundled example cases ---------------------------------------------------------------------
def _cases_dir():
    return resources.files("ipledge.scenarios") / "cases"


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
        return load_case_located(p)
    f = _cases_dir() / f"{case}.yaml"
    if not f.is_file():
        names = ", ".join(n[:-5] for n in sorted(x.name for x in _cases_dir().iterdir()) if n.endswith(".yaml"))
        raise CaseError(f"unknown case '{case}' (not a file, not a bundled case: {names})")
    return load_case(Path(str(f)))


# --- HTML ----------------------------------------------------------------------------------------
def view(result: dict, req: dict | None, lang: str) -> dict:
    """What the reader sees beyond the raw figures: labelled blockers, actions, the recommendation."""
    effective, no_effect = narrative.action_views(result, lang)
    return {"blockers": [narrative.blocker_view(b, lang) for b in result["blockers"]],
            "actions": effective, "no_effect": no_effect,
            "rec": narrative.recommendation_view(result, req, lang)}


def results_html(result: dict, charts: dict[str, str], *, links: bool = True, lang: str = "en",
                 req: dict | None = None) -> str:
    """The results section of the page (inline SVG charts) in ``lang``."""
    req = req if req is not None else result.get("request")
    return env(lang).get_template("_readiness.html").render(
        r=result, a=result["assessment"], v=view(result, req, lang), charts=charts, links=links)


def _generated(lang: str) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return f"{fmt.date(now.date(), lang)} {now:%H:%M} UTC"


def report_html(result: dict, req, lang: str = "en", *, pdf: bool = False) -> str:
    """The report as one self-contained HTML document: inline CSS and SVG charts, no script, no link."""
    from ipledge.reports.charts import readiness_svgs

    data = req.model_dump(mode="json")
    css = (STATIC / "selfassess.css").read_text(encoding="utf-8")
    charts = readiness_svgs(result, lang, vector_text=not pdf)
    return env(lang).get_template("report.html").render(
        r=result, a=result["assessment"], req=data, charts=charts, css=css, pdf=pdf,
        generated=_generated(lang), results=results_html(result, charts, links=False, lang=lang, req=data))


def visible_text(html: str) -> str:
    """The text a reader sees in ``html`` (no style, script, SVG, tags or attributes)."""
    import html as html_lib

    html = re.sub(r"(?is)<(style|script|svg)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html_lib.unescape(html)).strip()


# --- PDF -----------------------------------------------------------------------------------------
def report_pdf(result: dict, req, lang: str = "en") -> bytes:
    """The same report as PDF (A4): the report template with ``pdf=True`` laid out by WeasyPrint.

    Every character of the text is first checked against the PDF font stack (:mod:`ipledge.reports.fonts`); one
    that no font can draw raises :class:`ipledge.reports.fonts.GlyphError` instead of leaving a silent gap. Chart
    labels are drawn as paths by matplotlib, which fails the same way on a missing glyph.
    """
    from ipledge.reports.fonts import INSTALL_HINT, GlyphError, check_text

    try:
        from weasyprint import HTML
    except OSError as e:  # Pango / HarfBuzz missing: say what to install, in one line
        raise GlyphError(f"the PDF renderer cannot start ({e}); install libpango-1.0-0 and libpangoft2-1.0-0, "
                         f"and {INSTALL_HINT}") from None

    html = report_html(result, req, lang, pdf=True)
    check_text(visible_text(html))
    return HTML(string=html, base_url=str(STATIC)).write_pdf()
