"""Issue 14: two languages, one report template for HTML and PDF, one number formatter, money to the fen.

Engine runs use the fixed test posterior and small path counts; the PDF checks read the text back
with pypdf (and skip, saying why, when WeasyPrint's system libraries or the CJK font are absent).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipledge.reports import i18n
from ipledge.reports.report import report_html, visible_text
from i18n_helpers import CODES, code_identifiers, svg_texts
from ipledge.risk.readiness import readiness
from risk_helpers import case, fixed_posterior
from ipledge.valuation import fmt

POST = fixed_posterior()
PATHS = 1000
CJK_NAME = "金济湖生物"
ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "reports" / "translations"
CASES_SHOWN = ("existing_pledge_generic", "oncology_antibody_phase2", "pending_only", "tcm_formulation",
               "biologic_phase3_coowned", "medical_consumable_utility")


def small(name: str, **updates):
    return case(name, simulation={"paths": PATHS, "seed": 11}, **updates)


@pytest.fixture(scope="module")
def results():
    """{case: (request, readiness result)} for the cases whose pages and reports are checked."""
    out = {}
    for name in CASES_SHOWN:
        req = small(name)
        out[name] = (req, json.loads(json.dumps(readiness(req, POST, ltv_points=4), default=str)))
    return out


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def need_pdf():
    try:
        import weasyprint  # noqa: F401
    except OSError as e:  # pango / harfbuzz missing
        pytest.skip(f"WeasyPrint's system libraries are missing ({e}); .ci/run installs them")
    from ipledge.reports.fonts import coverage

    if coverage()[1]:
        pytest.skip(f"fonts not installed: {coverage()[1]} (apt-get install fonts-noto-cjk fonts-dejavu-core)")


# --- the formatter --------------------------------------------------------------------------------
MONEY = [  # (amount, lang, expected): the rules of valuation/fmt.py
    (0, "en", "CNY 0"), (178_962.4, "en", "CNY 178,962"), (1_420_000, "en", "CNY 1.4m"),
    (76_356_920.79, "en", "CNY 76.4m"), (316_870_000, "en", "CNY 316.9m"), (1_234_000_000, "en", "CNY 1.23bn"),
    (-5e6, "en", "CNY -5.0m"), (None, "en", "-"),
    (0, "zh", "0元"), (9_500, "zh", "9,500元"), (178_962.4, "zh", "17.9万元"), (1_420_000, "zh", "142.0万元"),
    (76_356_920.79, "zh", "7,636万元"), (316_870_000, "zh", "3.17亿元"), (1_234_000_000, "zh", "12.34亿元"),
]


@pytest.mark.parametrize("x, lang, expected", MONEY)
def test_money_rules(x, lang, expected):
    assert fmt.money(x, lang) == expected, f"money({x!r}, {lang}): expected {expected!r}, got {fmt.money(x, lang)!r}"


def test_percent_date_year_and_refusals():
    assert fmt.percent(0.147356, 1, "en") == fmt.percent(0.147356, 1, "zh") == "14.7%"
    assert fmt.percent(0.02, 2) == "2.00%" and fmt.percent(None) == "-" and fmt.percent(-0.00001) == "0.0%"
    assert fmt.date(dt.date(2042, 6, 17), "en") == "Jun 17, 2042"
    assert fmt.date("2042-06-17", "zh") == "2042年6月17日"
    assert fmt.year(2032.4, "en") == "2032" and fmt.year(2032, "zh") == "2032年"
    with pytest.raises(ValueError, match="language"):
        fmt.money(1.0, "fr")


def test_old_helpers_delegate_to_the_formatter():
    from ipledge.risk.decision import cny, pct

    for x, lang, _ in MONEY:
        if lang == "en":
            assert cny(x) == fmt.money(x, "en")
    assert pct(0.123456, 2) == fmt.percent(0.123456, 2, "en")


# --- catalogues and labels -----------------------------------------------------------------------
def test_catalogue_is_complete_compiled_and_keeps_placeholders():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    pot = read_po((CATALOGUE / "messages.pot").open("rb"))
    po = read_po((CATALOGUE / "zh" / "LC_MESSAGES" / "messages.po").open("rb"), locale="zh")
    mo_path = CATALOGUE / "zh" / "LC_MESSAGES" / "messages.mo"
    assert mo_path.is_file(), "messages.mo not compiled: run `make translations`"
    mo = read_mo(mo_path.open("rb"))
    untranslated = [m.id for m in pot if m.id and not (po.get(m.id) and po.get(m.id).string)]
    assert not untranslated, f"untranslated messages (run make i18n-update and translate): {untranslated[:10]}"
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy translations: {fuzzy[:5]}"
    stale = [m.id for m in po if m.id and m.string and (mo.get(m.id) is None or mo.get(m.id).string != m.string)]
    assert not stale, f"messages.mo is older than messages.po (run make translations): {stale[:5]}"
    for m in po:
        if m.id and m.string:
            want, got = sorted(re.findall(r"%\(\w+\)s", m.id)), sorted(re.findall(r"%\(\w+\)s", m.string))
            assert want == got, f"placeholders differ in {m.id!r}: expected {want}, got {got}"


def test_source_messages_are_all_in_the_template():
    """A message added to the code or the templates but not extracted would show in English in zh."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    pot = {m.id for m in read_po((CATALOGUE / "messages.pot").open("rb")) if m.id}
    method_map = [("reports/**.py", "python"), ("api/**.py", "python"), ("cli/**.py", "python"),
                  ("reports/templates/**.html", "jinja2")]
    options = {"reports/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True",
                                         "lstrip_blocks": "True"}}
    keywords = {"_": None, "N_": None, "_t": (2,), "gettext": (2,)}
    found = {m[2] if isinstance(m[2], str) else m[2][0]
             for m in extract_from_dir(str(ROOT), method_map, options, keywords=keywords)}
    missing = sorted(found - pot)
    assert not missing, f"not in messages.pot (run make i18n-update): {missing[:10]}"


@pytest.mark.parametrize("kind", sorted(__import__("ipledge.reports.labels", fromlist=["TABLES"]).TABLES))
def test_every_label_is_translated(kind):
    from ipledge.reports.labels import TABLES

    for code, msgid in TABLES[kind].items():
        zh = i18n.label(kind, code, "zh")
        assert zh != msgid or not re.search(r"[a-z]{3}", msgid), f"{kind}.{code}: {msgid!r} has no zh translation"


def test_every_code_of_the_engine_has_a_label():
    from ipledge.reports.labels import ACTIONS, KNOCKOUTS, SCHEMES, STAGES
    from ipledge.risk.credit import SCHEMES as ENGINE_SCHEMES
    from ipledge.valuation import schema

    assert set(schema.STAGES) <= set(STAGES)
    assert set(ENGINE_SCHEMES) <= set(SCHEMES)
    assert {f"join_{s}" for s in ENGINE_SCHEMES if s != "none"} <= set(ACTIONS)
    rights = (ROOT / "valuation" / "rights.py").read_text() + (ROOT / "valuation" / "revenue.py").read_text()
    codes = set(re.findall(r'Knockout\("(\w+)"', rights))
    assert codes and codes <= set(KNOCKOUTS), codes - set(KNOCKOUTS)


# --- no code identifier reaches a reader ------------------------------------------------------------
def test_the_detector_finds_what_it_must():
    text = "next_stage: clear_all_blockers under guangzhou_5311 gives approve_with_conditions at phase2"
    assert code_identifiers(text, "en") == ["approve_with_conditions", "clear_all_blockers", "guangzhou_5311",
                                            "next_stage", "phase2"]
    assert "decline" in code_identifiers("决定：decline", "zh") and not code_identifiers("Decline", "en")
    assert {"decline", "oncology", "none"} <= CODES


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_code_identifier_in_the_page_or_either_report(api_app, results, lang):
    holder = api_app.extensions["ipledge_model"]
    holder.posterior, holder.error = POST, None
    client = api_app.test_client()
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert f'lang="{i18n.HTML_LANG[lang]}"' in page
    assert code_identifiers(visible_text(page), lang) == [], "the form"
    for name, (req, result) in results.items():
        body = client.post(f"/self-assessment?lang={lang}", json=req.model_dump(mode="json")).get_json()
        for where, text in (("page results", visible_text(body["html"])), ("page charts", svg_texts(body["html"]))):
            assert code_identifiers(text, lang) == [], f"{name}, {where} ({lang})"
        html = report_html(result, req, lang)
        assert code_identifiers(visible_text(html), lang) == [], f"{name}, HTML report ({lang})"
        assert code_identifiers(svg_texts(html), lang) == [], f"{name}, HTML report charts ({lang})"
    if lang == "zh":  # the actions and reasons of a blocked case are rendered in Chinese, not copied
        req, result = results["existing_pledge_generic"]
        html = report_html(result, req, "zh")
        assert "清除全部否决项" in html and "Repay and release" not in html and "Knock-out" not in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_has_no_code_identifier_and_shows_reasons_conditions_checks(results, lang):
    need_pdf()
    from ipledge.reports.report import report_pdf

    req, result = results["existing_pledge_generic"]
    text = pdf_text(report_pdf(result, req, lang))
    flat = re.sub(r"\s+", "", text)
    assert code_identifiers(text, lang) == []
    heads = {"en": ("Reasons", "Conditions", "Checks"), "zh": ("理由", "条件", "检验")}[lang]
    for h in heads:
        assert h in text, f"PDF ({lang}) lacks the section {h!r}"
    from ipledge.reports.narrative import recommendation_view

    view = recommendation_view(result, req.model_dump(mode="json"), lang)
    for line in view["reasons"] + view["conditions"] + [c["name"] for c in view["checks"]]:
        assert re.sub(r"\s+", "", line)[:30] in flat, f"PDF ({lang}) lacks {line!r}"


# --- a Chinese applicant name in both reports -----------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chinese_applicant_name_in_html_and_pdf(tmp_path, monkeypatch, lang):
    import ipledge.risk.posterior

    monkeypatch.setattr(ipledge.risk.posterior, "load_posterior", lambda path=None: POST)
    from ipledge.cli.main import main

    data = small("oncology_antibody_phase2").model_dump(mode="json")
    data["applicant"]["name"] = CJK_NAME
    case_file = tmp_path / "cjk.json"
    case_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    html_out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(case_file), "-o", str(html_out), "--lang", lang])
    assert res.exit_code == 0, res.output
    html = html_out.read_text(encoding="utf-8")
    assert CJK_NAME in visible_text(html) and f'lang="{i18n.HTML_LANG[lang]}"' in html
    need_pdf()
    pdf_out = tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["report", str(case_file), "-o", str(pdf_out), "--lang", lang])
    assert res.exit_code == 0, res.output
    text = pdf_text(pdf_out.read_bytes())
    assert CJK_NAME in text, f"the applicant name is missing from the PDF text: {text[:300]!r}"


def test_a_character_no_font_draws_fails_the_pdf_with_a_clear_error(tmp_path, monkeypatch):
    need_pdf()
    from ipledge.reports.fonts import coverage

    glyph = "\U00013000"  # EGYPTIAN HIEROGLYPH A001: in neither DejaVu Sans nor Noto Sans CJK
    if ord(glyph) in coverage()[0]:
        pytest.skip("an installed font draws U+13000; pick another test character")
    import ipledge.risk.posterior

    monkeypatch.setattr(ipledge.risk.posterior, "load_posterior", lambda path=None: POST)
    from ipledge.cli.main import main

    data = small("tcm_formulation").model_dump(mode="json")
    data["applicant"]["name"] = f"{CJK_NAME}{glyph}"
    case_file = tmp_path / "bad.json"
    case_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["report", str(case_file), "-o", str(out), "--lang", "zh"])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and "U+13000" in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_page_pdf_with_an_undrawable_character_is_a_422(api_app):
    need_pdf()
    holder = api_app.extensions["ipledge_model"]
    holder.posterior, holder.error = POST, None
    data = small("tcm_formulation").model_dump(mode="json")
    data["applicant"]["name"] = "金济湖生物\U00013000"
    resp = api_app.test_client().post("/self-assessment/report.pdf?lang=zh", json=data)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json", resp.status_code
    assert "U+13000" in resp.get_json()["detail"]


# --- language selection ---------------------------------------------------------------------------------------------
def test_language_from_query_cookie_then_accept_language(api_app):
    client = api_app.test_client()

    def lang_of(resp):
        return re.search(r'<html lang="([^"]+)"', resp.get_data(as_text=True)).group(1)

    assert lang_of(client.get("/")) == "en"
    assert lang_of(client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})) == "zh-CN"
    assert lang_of(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})) == "en"
    resp = client.get("/?lang=zh", headers={"Accept-Language": "en"})
    assert lang_of(resp) == "zh-CN" and resp.headers["Content-Language"] == "zh-CN"
    assert "ipledge_lang=zh" in resp.headers.get("Set-Cookie", "")
    assert lang_of(client.get("/", headers={"Accept-Language": "en"})) == "zh-CN"   # the switch is remembered
    assert lang_of(client.get("/?lang=en")) == "en"
    assert lang_of(client.get("/?lang=xx", headers={"Accept-Language": "zh"})) == "en"  # cookie en from above


def test_page_runs_the_paths_and_seed_of_the_api():
    """The page's default is the schema default (10,000 paths, as the API and the CLI), and an example keeps
    its own paths and seed (the page used to run 5,000 and show CNY 77.1m where the CLI showed 76.4m)."""
    from ipledge.api.routes.readiness import PAGE_DEFAULT_PATHS
    from ipledge.valuation.schema import Simulation

    assert PAGE_DEFAULT_PATHS == Simulation().paths == 10_000
    js = (ROOT / "api" / "static" / "selfassess.js").read_text(encoding="utf-8")
    loader = js[js.index("button[data-example]"):]
    assert 'setValue("simulation.paths"' not in loader, "loading an example must not override its paths"


# --- charts ---------------------------------------------------------------------------------------------------------
def test_fan_chart_year_ticks_are_whole_years(results):
    from ipledge.reports.charts import cash_flow_fan

    for name, (_, result) in results.items():
        fig = cash_flow_fan(result["assessment"]["valuation"], "zh")
        ax = fig.axes[0]
        fig.canvas.draw()
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), f"{name}: year ticks {ticks}"


# --- the same figures everywhere --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tcm_formulation", "oncology_antibody_phase2"])
def test_figures_agree_across_page_cli_api_and_both_reports(api_app, api_key_factory, tmp_path, monkeypatch, name):
    """One case, one seed, one path count: the API, the page, the CLI and the HTML and PDF reports show
    the same appraised value, maximum loan and P(approval) (to the fen in the API, as text elsewhere).
    Every output runs the shipped posterior here, as in production."""
    from ipledge.cli.main import main
    from ipledge.api.responses import ASSESSMENT_MONEY
    from ipledge.risk.posterior import load_posterior

    holder = api_app.extensions["ipledge_model"]
    holder.posterior, holder.error = load_posterior(), None
    req = case(name, simulation={"paths": 2000, "seed": 5})
    body = req.model_dump(mode="json")
    client = api_app.test_client()
    _, key = api_key_factory()
    api = client.post("/v1/assessments", json=body, headers={"Authorization": f"Bearer {key}"}).get_json()
    ready = client.post("/v1/readiness", json=body, headers={"Authorization": f"Bearer {key}"}).get_json()
    page = client.post("/self-assessment?lang=en", json=body).get_json()
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(body), encoding="utf-8")
    runner = CliRunner()
    cli_json = json.loads(runner.invoke(main, ["assess", str(case_file), "--json"]).output)
    cli_text = runner.invoke(main, ["assess", str(case_file)], terminal_width=200).output

    def money_at(doc, path):
        node = doc
        for part in path.split("."):
            node = node[part]
        return node

    # the API's amounts are the engine's rounded to the fen, and the same in every endpoint
    for path in ("valuation.appraised_value", "valuation.p95", "recommendation.max_loan", "credit.expected_loss"):
        exact = money_at(cli_json, path)
        assert money_at(api, path) == round(exact, 2), f"{path}: API {money_at(api, path)} vs CLI {exact}"
        assert money_at(ready["assessment"], path) == money_at(api, path), path
    for path in ASSESSMENT_MONEY:
        if "[]" not in path:
            x = money_at(api, path)
            assert x is None or round(x, 2) == x, f"{path} = {x!r} is not rounded to the fen"
    assert page["max_loan"] == pytest.approx(api["recommendation"]["max_loan"], abs=0.005)

    figures = {"appraised value": fmt.money(api["valuation"]["appraised_value"], "en"),
               "max loan": fmt.money(api["recommendation"]["max_loan"], "en"),
               "P(approval)": fmt.percent(api["pipeline"]["p_approval"]["mean"], 1, "en")}
    outputs = {"page": visible_text(page["html"]), "CLI assess": cli_text}
    for lang in ("en", "zh"):
        out = tmp_path / f"r_{lang}.html"
        assert runner.invoke(main, ["report", str(case_file), "-o", str(out), "--lang", lang]).exit_code == 0
        outputs[f"HTML report ({lang})"] = visible_text(out.read_text(encoding="utf-8"))
    for where, text in outputs.items():
        lang = "zh" if "(zh)" in where else "en"
        want = {"appraised value": fmt.money(api["valuation"]["appraised_value"], lang),
                "max loan": fmt.money(api["recommendation"]["max_loan"], lang),
                "P(approval)": figures["P(approval)"]}
        for what, shown in want.items():
            assert shown in text, f"{where}: {what} should read {shown!r}"
    # within one page, P(approval) is shown one way only (posterior mean, 1 decimal)
    shown = set(re.findall(r"(?:Probability of approval)\D{0,40}?(\d+\.\d+%)", outputs["HTML report (en)"]))
    assert shown == {figures["P(approval)"]}, shown
    need_pdf()
    pdf = tmp_path / "r.pdf"
    assert runner.invoke(main, ["report", str(case_file), "-o", str(pdf)]).exit_code == 0
    text = pdf_text(pdf.read_bytes())
    for what, shown in figures.items():
        assert shown in text, f"PDF: {what} should read {shown!r}"


def test_openapi_documents_money_to_the_fen(api_app):
    spec = api_app.test_client().get("/v1/openapi.json").get_json()
    text = json.dumps(spec)
    assert text.count("rounded to the fen") >= 8, "money fields should say they are rounded to the fen"


def test_a_chart_label_no_font_draws_fails_only_where_the_glyphs_are_drawn_here():
    from matplotlib.figure import Figure

    from ipledge.reports.charts import GlyphMissing, to_svg

    fig = Figure(figsize=(2, 1))
    fig.add_subplot().set_title("金济湖\U00013000")
    with pytest.raises(GlyphMissing, match="cannot be drawn"):
        to_svg(fig, "t", vector_text=False)      # the PDF's charts: glyphs as paths
    assert "<svg" in to_svg(fig, "t", vector_text=True)   # the page: the browser draws the text


def test_every_limit_and_binding_constraint_of_the_engine_has_a_label_in_both_languages():
    """recommendation.checks[].limit and binding_constraint (issue 11), party:<name> included."""
    from ipledge.risk.credit import RISK_LIMITS
    from ipledge.valuation.schema import PARTIES

    names = (list(RISK_LIMITS) + ["scheme_cap", "policy_ltv_cap", "borrower_capacity", "profile_max_amount",
                                  "knockout"] + [f"party:{p}" for p in PARTIES if p != "bank"])
    for kind in ("limit", "binding"):
        for name in names:
            en, zh = i18n.label(kind, name, "en"), i18n.label(kind, name, "zh")
            assert not code_identifiers(en, "en") and ":" not in en and "_" not in en, (kind, name, en)
            assert re.search(r"[\u4e00-\u9fff]", zh) and not code_identifiers(zh, "zh"), (kind, name, zh)
            assert not re.search(r"[A-Za-z]{3,}", zh), f"{kind} {name}: English left in {zh!r}"
            if name.startswith("party:"):
                assert i18n.label("party", name[6:], "zh") in zh, (name, zh)


def test_a_number_beyond_babels_precision_is_written_not_raised():
    """A requested amount over a value of ~0 gives a ratio of 1e300: the decision's text must still render
    (schemathesis found the 500)."""
    from ipledge.valuation import fmt

    assert fmt.percent(1e300, 1, "en") == "1e+302%"
    assert fmt.number(float("inf")) == "∞" and fmt.number(float("nan")) == fmt.MISSING
    assert fmt.percent(0.3, 1, "zh") == "30.0%"
