"""Financing readiness: ``POST /v1/readiness`` (API key) and the enterprise self-assessment page.

The page blueprint (``page``, no prefix, no key) serves ``GET /`` and three unauthenticated POSTs that
take the same JSON pledge request as the API: ``/self-assessment`` (results as an HTML fragment with
inline SVG charts), ``/self-assessment/report.html`` and ``/self-assessment/report.pdf`` (downloads).
Nothing posted to the page is stored. Logic lives in :mod:`ipledge.risk.readiness`, :mod:`ipledge.reports.charts` and
:mod:`ipledge.reports.report`; these views only parse, call and shape.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, current_app, request, url_for

from ipledge.api import responses as R
from ipledge.api.auth import current_principal
from ipledge.api.bodies import parse_pledge, read_json
from ipledge.api.examples import example_request
from ipledge.api.languages import current_lang, init_babel
from ipledge.api.openapi import operation
from ipledge.api.problems import Problem
from ipledge.api.responses import READINESS_MONEY, round_money
from ipledge.api.routes import bp, json_response
from ipledge.api.service import loaded_posterior
from ipledge.reports.i18n import COOKIE, HTML_LANG, STATIC, normalise
from ipledge.reports.labels import N_
from ipledge.valuation.schema import (CLAIM_TYPES, INVALIDATION, MODALITIES, PATENT_KINDS, PATENT_STATUSES,
                              SHARING_SCHEMES, STAGES, THERAPEUTIC_AREAS, VBP_EXPOSURE, PledgeRequest,
                              Simulation)

PAGE_DEFAULT_PATHS = Simulation().paths  # the schema default, as the API and the CLI: the same figures
PAGE_MAX_PATHS = 20000  # unauthenticated page: bound the work one anonymous request can ask for
LTV_BASES = ("inputs", "scenarios")
UI_STRINGS = {"assessing": N_("Assessing… (each action is a full re-run of the Monte Carlo)"), "done": N_("Done."),
              "error": N_("Error"), "failed": N_("The request failed:"),
              "fix_fields": N_("Please correct the highlighted fields."), "generating": N_("generating…"),
              "loaded": N_("Loaded:")}

# the stylesheet is the report's too (ipledge.reports); the page serves it from there
page = Blueprint("page", __name__, static_folder=str(STATIC), static_url_path="/static/report")
page.record_once(lambda state: init_babel(state.app))  # the page's language: ?lang=, cookie, Accept-Language


def run_readiness(req: PledgeRequest, ltv_basis: str = "inputs") -> dict:
    """The readiness result as a JSON-ready dict; an unknown scenario is a 422 on ``scenario``."""
    from ipledge.api.service import to_json_ready
    from ipledge.risk.readiness import readiness

    from ipledge.api import compute
    from ipledge.api.limits import READINESS_RUNS, heavy_work

    try:
        loaded_posterior()  # 503 when this worker has no model
        with heavy_work(req.simulation.paths, READINESS_RUNS) as background:  # priced, admitted (issue 15)
            return to_json_ready(compute.call(readiness, req, None, ltv_basis=ltv_basis, background=background))
    except ValueError as e:
        if req.scenario is None:
            raise
        raise Problem(422, "validation-error", errors=[{
            "field": "scenario", "message": str(e), "type": "value_error"}]) from None


def _ltv_basis() -> str:
    basis = request.args.get("ltv_basis", "inputs")
    if basis not in LTV_BASES:
        raise Problem(422, "validation-error", errors=[{
            "field": "ltv_basis", "message": f"must be one of {', '.join(LTV_BASES)}", "type": "enum"}])
    return basis


@bp.post("/readiness")
@operation("POST", "/v1/readiness", "Financing readiness of an enterprise (nothing stored)", tags=["readiness"],
           request=PledgeRequest, request_example=example_request(paths=2000), errors=(503,),
           parameters=[{"name": "ltv_basis", "in": "query", "required": False,
                        "description": "`inputs` (perturbed peak sales, haircut, discount rate) or `scenarios` "
                                       "(the built-in stress scenarios)",
                        "schema": {"type": "string", "enum": list(LTV_BASES), "default": "inputs"}}],
           responses={200: (R.Readiness,
                            "`readiness_score`, `blockers`, `ltv_range`, ranked `actions` with their measured "
                            "gain in max loan, and the base `assessment`")},
           description="Readiness score 0-100, knock-outs as blockers with their fix, the LTV range, and the "
                       "actions that apply to the case ranked by their gain in the financeable amount, each "
                       "measured by re-running the assessment with the same seed (common random numbers).")
def create_readiness():
    current_principal()
    basis = _ltv_basis()
    req = parse_pledge(read_json())
    return json_response(json.dumps(round_money(run_readiness(req, basis), READINESS_MONEY), ensure_ascii=False))


# --- the self-assessment page (no key; nothing stored) ---------------------------------------------
def _static_url(filename: str) -> str:
    """The page's assets: the shared stylesheet from :mod:`ipledge.reports`, the rest from the app's static."""
    if (STATIC / filename).is_file():
        return url_for("page.static", filename=filename)
    return url_for("static", filename=filename)


def public(fn):
    fn._ipledge_public = True
    return fn


def _page_request() -> PledgeRequest:
    req = parse_pledge(read_json())
    limit = int(current_app.config.get("IPLEDGE_PAGE_MAX_PATHS", PAGE_MAX_PATHS))
    if req.simulation.paths > limit:
        raise Problem(422, "validation-error", errors=[{
            "field": "simulation.paths", "message": f"must be at most {limit} on the self-assessment page "
                                                    f"(use the API for more)", "type": "less_than_equal"}])
    return req


@page.get("/")
@public
def self_assessment_page():
    from ipledge.reports.labels import CASES
    from ipledge.reports.report import bundled_cases, env
    from ipledge.reports.i18n import gettext, label
    from ipledge.scenarios.loader import builtin_names

    lang = current_lang()
    cases = bundled_cases()
    titles = {k: label("case", k, lang) if k in CASES else v["title"] for k, v in cases.items()}
    enums = {"areas": THERAPEUTIC_AREAS, "modalities": MODALITIES, "stages": STAGES, "kinds": PATENT_KINDS,
             "statuses": PATENT_STATUSES, "claim_types": CLAIM_TYPES, "invalidation": INVALIDATION,
             "vbp": VBP_EXPOSURE, "schemes": [s for s in SHARING_SCHEMES if s != "custom"],
             "scenarios": builtin_names()}
    examples_json = json.dumps({k: v["request"] for k, v in cases.items()}).replace("</", "<\\/")
    ui = {k: gettext(lang, m) for k, m in UI_STRINGS.items()}
    html = env(lang).get_template("self_assessment.html").render(
        examples=cases, titles=titles, examples_json=examples_json, enums=enums, today=dt.date.today().isoformat(),
        ui_json=json.dumps(ui, ensure_ascii=False).replace("</", "<\\/"),
        default_paths=current_app.config.get("IPLEDGE_PAGE_PATHS", PAGE_DEFAULT_PATHS),
        max_paths=current_app.config.get("IPLEDGE_PAGE_MAX_PATHS", PAGE_MAX_PATHS),
        static=_static_url)
    resp = Response(html, mimetype="text/html")
    if normalise(request.args.get("lang")):  # the switch on the page: remembered for the next visit
        resp.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
    resp.headers["Content-Language"] = HTML_LANG[lang]
    resp.headers["Vary"] = "Accept-Language, Cookie"
    return resp


@page.post("/self-assessment")
@public
def self_assessment():
    from ipledge.reports.charts import readiness_svgs
    from ipledge.reports.report import results_html

    lang = current_lang()
    req = _page_request()
    result = run_readiness(req)
    rec = result["assessment"]["recommendation"]
    html = results_html(result, readiness_svgs(result, lang), lang=lang, req=req.model_dump(mode="json"))
    body = {"html": html, "lang": lang, "readiness_score": result["readiness_score"],
            "decision": rec["decision"], "ltv": rec["ltv"], "max_loan": rec["max_loan"],
            "blockers": result["blockers"], "ltv_range": result["ltv_range"], "actions": result["actions"]}
    return json_response(json.dumps(body, ensure_ascii=False))


@page.post("/self-assessment/report.<fmt>")
@public
def self_assessment_report(fmt: str):
    from ipledge.reports.report import report_html, report_pdf

    if fmt not in ("html", "pdf"):
        raise Problem(404, detail="the report is available as report.html or report.pdf")
    req = _page_request()
    result = run_readiness(req)
    lang = current_lang()
    if fmt == "html":
        resp = Response(report_html(result, req, lang), mimetype="text/html")
    else:
        from ipledge.reports.fonts import GlyphError

        try:
            resp = Response(report_pdf(result, req, lang), mimetype="application/pdf")
        except GlyphError as e:  # the input has a character no installed font draws: say which
            raise Problem(422, "validation-error", str(e)) from None
    resp.headers["Content-Disposition"] = f'attachment; filename="readiness-report.{fmt}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
