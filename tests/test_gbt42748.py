"""GB/T 42748-2023 crosswalk (issue 18): the rules as data, coverage in every score and assessment, the
evidence an applicant can add (validation, how it feeds the scorecards, its properties), the readiness
"add evidence" actions, and the coverage on the CLI, the API, the page and both reports.
"""
from __future__ import annotations

import copy
import csv
import json
import re
import shutil
import subprocess
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from risk_helpers import CASES, case, fixed_posterior
from test_scorecards import SETTINGS, requests
from ipledge.valuation import competition, evidence, gbt42748, revenue, rights, schema
from ipledge.valuation.errors import field_errors
from ipledge.valuation.schema import PledgeRequest
from ipledge.valuation.scorecard import CARD_KEYS, score_request

ROOT = Path(__file__).resolve().parents[1]
SHARED_CSV = ROOT.parent / "shared" / "data" / "gbt42748_indicators.csv"
CASE_NAMES = sorted(p.stem for p in CASES.glob("*.yaml"))
CARDS = {"rights_certainty": rights.CARD, "competitive_contribution": competition.CARD,
         "revenue_potential": revenue.CARD}
DIMENSION_CARD = {"legal": "rights_certainty", "technical": "competitive_contribution",
                  "economic": "revenue_potential"}
# coverage of every bundled case without evidence: (evidenced, derived, missing). The statuses depend on
# which fields the schema carries, not on their values, so every case reads the same (see the crosswalk).
COVERAGE_NO_EVIDENCE = {name: (9, 7, 11) for name in CASE_NAMES}
# the scores of issue 2 (rights / competitive / revenue): evidence absent -> not one number moves
GOLDEN_SCORES = {
    "anaesthetic_injectable": (89.3, 66.4, 74.5), "oncology_antibody_phase2": (94.4, 78.3, 58.0),
    "tcm_formulation": (78.4, 52.6, 73.9), "medical_consumable_utility": (64.8, 51.1, 54.3),
    "small_molecule_phase1": (92.4, 78.3, 46.4), "pending_only": (47.4, 63.2, 34.6),
    "biologic_phase3_coowned": (91.1, 70.6, 71.2), "existing_pledge_generic": (72.9, 55.3, 69.4),
    # issue 11's cases, scored by the scorecards before the crosswalk (branch issue-11)
    "antibody_phase1_cashpoor": (92.1, 69.9, 49.3), "car_t_phase2": (92.0, 76.8, 53.5),
    "generic_small_molecule_marketed": (90.5, 56.0, 71.8), "oncology_biologic_phase3_cashrich": (94.5, 83.4, 69.9),
    "tcm_utility_model": (65.2, 49.3, 64.8),
}
FULL_EVIDENCE = {
    "design_around": "costly", "freedom_to_operate": "clear", "technical_problem": "unmet_need",
    "originality": "best_in_class", "technical_effect": "clinical_efficacy", "technical_fields": 3,
    "ipc_sections": 2, "complementary_technology": "available", "technology_life_cycle": "growth",
    "defensive_value": "none_known", "market_share": 0.0, "policy_fit": "national_priority",
    "licences_and_transfers": 1, "financing": {"ip_loans_repaid": 0, "ip_loan_defaults": 0, "ip_insurance": True},
    "litigation_record": "none",
    "basis": "FTO opinion 2026-09 (law firm ref. 26-114); phase 2 topline CTR20211234; CNIPA licence record 2024",
}
POST = fixed_posterior()


def scores_with(name: str, ev: dict | None = None) -> dict:
    req = case(name) if ev is None else case(name, evidence=ev)
    return score_request(req)


def block(scores: dict) -> dict:
    return scores["gbt42748"]


def by_code(scores: dict) -> dict:
    return {i["code"]: i for i in block(scores)["indicators"]}


# --- the crosswalk as data ---------------------------------------------------------------------
def test_indicator_list_has_27_coded_indicators_with_source_and_caveat():
    with open(gbt42748.DATA / "gbt42748_indicators.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 27 == gbt42748.TOTAL
    assert [r["code"] for r in rows] == [f"L{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 11)] + [
        f"E{i}" for i in range(1, 11)]
    counts = {d: sum(r["dimension"] == d for r in rows) for d in ("legal", "technical", "economic")}
    assert counts == {"legal": 7, "technical": 10, "economic": 10}, counts
    for r in rows:
        assert r["indicator_zh"] and r["indicator_en"], r
        assert "reconstructed" in r["source"] and "not confirmed" in r["source"], r["source"]


def test_indicator_names_are_the_shared_list_unchanged():
    if not SHARED_CSV.is_file():
        pytest.skip(f"{SHARED_CSV} not beside the clone")
    with open(SHARED_CSV, encoding="utf-8", newline="") as f:
        shared = [(r["dimension"], r["indicator_zh"], r["indicator_en"]) for r in csv.DictReader(f)]
    ours = [(r.dimension, r.name_zh, r.name_en) for r in gbt42748.rules()]
    assert ours == shared


def test_every_indicator_has_a_status_rule():
    rules = gbt42748.rules()
    assert len(rules) == 27 and len({r.code for r in rules}) == 27
    for r in rules:
        assert r.status in gbt42748.STATUSES, r
        assert r.source in gbt42748.SOURCE_KINDS, r
        assert r.rating in gbt42748.RATINGS, r
        assert r.why, r
        if r.status == "missing":
            assert r.rating == "none" and r.indicator is None and r.source == "none", r
            assert r.evidence, f"{r.code} is missing and names no evidence an applicant could add"
        else:
            assert r.indicator and r.rating in ("indicator_points", "ramp"), r
        if r.derived:
            assert r.ramp and r.ramp[1] > r.ramp[0], r


def _model_has_path(model: type[BaseModel], path: str) -> bool:
    """Whether 'patents[].status' / 'product.peak_sales.p50' names a field of the request schema."""
    current: typing.Any = model
    for part in path.split("."):
        name = part.removesuffix("[]")
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or name not in current.model_fields:
            return False
        ann = current.model_fields[name].annotation
        if part.endswith("[]"):
            args = typing.get_args(ann)
            ann = args[0] if args else None
        args = [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = args[0] if args else ann
    return True


def test_every_referenced_field_indicator_and_evidence_exists():
    names = {key: {i.name for i in card.indicators} for key, card in CARDS.items()}
    for r in gbt42748.rules():
        for f in r.fields:
            assert _model_has_path(PledgeRequest, f), f"{r.code}: no request field {f}"
        if r.indicator:
            card, name = r.indicator.split("/", 1)
            assert name in names[card], f"{r.code}: no indicator {name!r} in {card} ({sorted(names[card])})"
        if r.evidence:
            assert r.evidence in schema.Evidence.model_fields, f"{r.code}: no field evidence.{r.evidence}"
            e = evidence.BY_FIELD[r.evidence]
            assert e.code == r.code, f"evidence.{r.evidence} says {e.code}, crosswalk says {r.code}"
            assert e.card == DIMENSION_CARD[r.dimension], f"{r.code}: feeds {e.card}, dimension {r.dimension}"
    assert _model_has_path(PledgeRequest, "patents[].status") and not _model_has_path(PledgeRequest, "patents[].nope")


def test_every_evidence_field_belongs_to_exactly_one_indicator():
    fields = [f for f in schema.Evidence.model_fields if f != "basis"]
    used = [r.evidence for r in gbt42748.rules() if r.evidence]
    assert sorted(used) == sorted(fields) == sorted(evidence.BY_FIELD)


def test_derived_quantities_named_by_the_crosswalk_are_computed_by_the_assessment():
    from ipledge.risk.assess import assess

    a = assess(case("tcm_formulation", simulation={"paths": 1000, "seed": 3}), posterior=POST)
    for r in gbt42748.rules():
        if r.derived:
            row = by_code(a["scores"])[r.code]
            assert row["source"].startswith("simulation"), row


def test_a_crosswalk_without_a_rule_is_refused(tmp_path, monkeypatch):
    shutil.copy(gbt42748.DATA / "gbt42748_indicators.csv", tmp_path)
    text = (gbt42748.DATA / "gbt42748_crosswalk.yaml").read_text(encoding="utf-8")
    (tmp_path / "gbt42748_crosswalk.yaml").write_text(re.sub(r"(?ms)^T3:.*?(?=^T4:)", "", text), encoding="utf-8")
    monkeypatch.setattr(gbt42748, "DATA", tmp_path)
    gbt42748.rules.cache_clear()
    try:
        with pytest.raises(ValueError, match="no rule for T3"):
            gbt42748.rules()
    finally:
        monkeypatch.undo()
        gbt42748.rules.cache_clear()


# --- coverage in every score --------------------------------------------------------------------
@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_bundled_case_reports_its_coverage(name):
    s = scores_with(name)
    b = block(s)
    c = b["coverage"]
    assert (c["evidenced"], c["derived"], c["missing"]) == COVERAGE_NO_EVIDENCE[name], (name, c)
    assert c["total"] == 27 == c["evidenced"] + c["derived"] + c["missing"] == len(b["indicators"])
    assert "not confirmed" in b["caveat"]
    rules = {r.code: r for r in gbt42748.rules()}
    for i in b["indicators"]:
        r = rules[i["code"]]
        assert i["status"] == r.status and i["name_zh"] == r.name_zh and i["dimension"] == r.dimension, i
        if i["status"] == "missing":
            assert i["value"] is None and i["rating"] is None and f"evidence.{r.evidence}" in i["source"], i
        else:
            card, ind = r.indicator.split("/", 1)
            row = next(x for x in s[card]["indicators"] if x["name"] == ind)
            assert (i["value"], i["rating"]) == (row["value"], row["points"]), (i, row)
            assert (i["scorecard"], i["row"]) == (card, ind), i
            assert 0.0 <= i["rating"] <= 100.0


@pytest.mark.parametrize("name", CASE_NAMES)
def test_no_evidence_leaves_every_score_as_before(name):
    s = scores_with(name)
    got = tuple(s[k]["score"] for k in CARD_KEYS)
    assert got == GOLDEN_SCORES[name], f"{name}: expected {GOLDEN_SCORES[name]}, got {got} (tolerance 0)"
    empty = scores_with(name, {})   # an empty evidence object is no evidence
    assert {k: empty[k] for k in CARD_KEYS} == {k: s[k] for k in CARD_KEYS}


def test_full_evidence_moves_every_evidence_indicator_to_evidenced():
    before, after = scores_with("oncology_antibody_phase2"), scores_with("oncology_antibody_phase2", FULL_EVIDENCE)
    c = block(after)["coverage"]
    assert (c["evidenced"], c["derived"], c["missing"]) == (24, 3, 0), c
    b, a = by_code(before), by_code(after)
    for r in gbt42748.rules():
        if r.evidence:
            assert b[r.code]["status"] in ("missing", "derived") and a[r.code]["status"] == "evidenced", r.code
            assert a[r.code]["source"].startswith(f"evidence.{r.evidence}"), a[r.code]
            e = evidence.BY_FIELD[r.evidence]
            assert (a[r.code]["scorecard"], a[r.code]["row"]) == (e.card, e.name), a[r.code]
        else:
            assert a[r.code] == b[r.code], r.code


@pytest.mark.parametrize("field", sorted(evidence.BY_FIELD))
def test_one_evidence_field_moves_only_its_indicator_and_feeds_only_its_card(field):
    e = evidence.BY_FIELD[field]
    before = scores_with("tcm_formulation")
    after = scores_with("tcm_formulation", {field: FULL_EVIDENCE[field]})
    b, a = by_code(before), by_code(after)
    changed = {code for code in a if a[code]["status"] != b[code]["status"]}
    assert changed == {e.code} and a[e.code]["status"] == "evidenced", (field, changed)
    for key in CARD_KEYS:
        if key != e.card:
            assert after[key]["score"] == before[key]["score"], f"evidence.{field} moved {key}"
    card = after[e.card]
    row = card["indicators"][-1]
    assert row["name"] == e.name and row["weight"] == e.weight and a[e.code]["rating"] == row["points"]
    # the score is the weighted mean of the rows shown; the old rows keep their ratios, scaled by 1 - w
    assert abs(sum(r["weight"] for r in card["indicators"]) - 1.0) < 1e-9
    assert card["score"] == round(sum(r["points"] * r["weight"] for r in card["indicators"]), 1)
    for old, new in zip(before[e.card]["indicators"], card["indicators"]):
        assert old["name"] == new["name"] and old["points"] == new["points"]
        assert abs(new["weight"] - old["weight"] * (1 - e.weight)) < 1e-9, (old, new)


def test_evidence_weights_stay_below_the_documented_caps():
    assert evidence.MAX_EVIDENCE_WEIGHT == {"rights_certainty": 0.14, "competitive_contribution": 0.28,
                                            "revenue_potential": 0.26}


def test_competitive_evidence_moves_the_ip_contribution():
    before = scores_with("tcm_formulation")["competitive_contribution"]
    good = scores_with("tcm_formulation", {"technical_effect": "clinical_superiority"})["competitive_contribution"]
    bad = scores_with("tcm_formulation", {"technical_effect": "none_shown"})["competitive_contribution"]
    assert bad["ip_contribution"] < before["ip_contribution"] < good["ip_contribution"], (bad, before, good)
    assert good["ip_contribution"] == competition.derived_ip_contribution(good["score"])


# --- properties (DESIGN §6) extended to the evidence ---------------------------------------------
def _levels(e: evidence.EvidenceIndicator) -> list:
    """Values of the field from least to most favourable."""
    ann = schema.Evidence.model_fields[e.field].annotation
    lit = [a for a in typing.get_args(ann) if typing.get_origin(a) is typing.Literal]
    if lit:
        return list(typing.get_args(lit[0]))
    return {"technical_fields": [1, 2, 3, 5, 8, 20, 100], "ipc_sections": [1, 2, 3, 4, 8],
            "market_share": [0.0, 0.05, 0.2, 0.4, 0.9], "licences_and_transfers": [0, 1, 2, 5, 1000],
            "financing": [{"ip_loan_defaults": 2}, {"ip_loan_defaults": 1, "ip_loans_repaid": 5},
                          {}, {"ip_loans_repaid": 1}, {"ip_loans_repaid": 2},
                          {"ip_loans_repaid": 2, "ip_insurance": True}]}[e.field]


@st.composite
def evidence_dicts(draw) -> dict:
    out = {}
    for e in evidence.INDICATORS:
        if draw(st.booleans()):
            out[e.field] = draw(st.sampled_from(_levels(e)))
    return out


@pytest.mark.parametrize("field", sorted(evidence.BY_FIELD))
@SETTINGS
@given(base=requests(), ev=evidence_dicts(), step=st.integers(0, 10))
def test_favourable_evidence_never_lowers_its_card(field, base, ev, step):
    e = evidence.BY_FIELD[field]
    levels = _levels(e)
    i = step % (len(levels) - 1)
    lo, hi = copy.deepcopy(base), copy.deepcopy(base)
    lo["evidence"] = {**ev, field: levels[i]}
    hi["evidence"] = {**ev, field: levels[i + 1]}
    before = score_request(PledgeRequest.model_validate(lo))
    after = score_request(PledgeRequest.model_validate(hi))
    for key in CARD_KEYS:
        cmp = (after[key]["score"] >= before[key]["score"]) if key == e.card else (
            after[key]["score"] == before[key]["score"])
        assert cmp, (f"evidence.{field} {levels[i]!r} -> {levels[i + 1]!r}: {key} {before[key]['score']} -> "
                     f"{after[key]['score']} (expected {'>=' if key == e.card else '=='}, tolerance 0)\n"
                     f"input: {json.dumps(lo)}")
        assert 0.0 <= after[key]["score"] <= 100.0
    for b, a in zip(before[e.card]["indicators"], after[e.card]["indicators"]):
        assert a["points"] >= b["points"], (field, b, a)
    if e.card == "competitive_contribution" and hi["product"].get("ip_contribution") is None:
        assert after[e.card]["ip_contribution"] >= before[e.card]["ip_contribution"]
    assert after == score_request(PledgeRequest.model_validate(hi))  # same input, same output


def test_points_rise_along_every_vocabulary():
    for e in evidence.INDICATORS:
        levels = _levels(e)
        pts = [e.points(schema.FinancingRecord(**v) if isinstance(v, dict) else v) for v in levels]
        assert pts == sorted(pts), (e.field, list(zip(levels, pts)))
        assert pts[0] < pts[-1] and all(0.0 <= p <= 100.0 for p in pts), (e.field, pts)


# --- validation -----------------------------------------------------------------------------------
BAD_EVIDENCE = [
    ({"design_around": "impossible"}, "evidence.design_around"),
    ({"technical_effect": None, "originality": 3}, "evidence.originality"),
    ({"technical_fields": "5"}, "evidence.technical_fields"),
    ({"technical_fields": 0}, "evidence.technical_fields"),
    ({"technical_fields": 2.5}, "evidence.technical_fields"),
    ({"ipc_sections": 9}, "evidence.ipc_sections"),
    ({"market_share": 1.5}, "evidence.market_share"),
    ({"market_share": float("nan")}, "evidence.market_share"),
    ({"market_share": True}, "evidence.market_share"),
    ({"licences_and_transfers": -1}, "evidence.licences_and_transfers"),
    ({"financing": {"ip_loans_repaid": -1}}, "evidence.financing.ip_loans_repaid"),
    ({"financing": {"ip_insurance": "yes"}}, "evidence.financing.ip_insurance"),
    ({"financing": {"insured": True}}, "evidence.financing.insured"),
    ({"litigation_record": "won_twice"}, "evidence.litigation_record"),
    ({"basis": "   "}, "evidence.basis"),
    ({"non_avoidability": "high"}, "evidence.non_avoidability"),
]


@pytest.mark.parametrize("ev, path", BAD_EVIDENCE, ids=[p for _, p in BAD_EVIDENCE])
def test_bad_evidence_is_refused_naming_the_field(ev, path):
    data = case("tcm_formulation").model_dump(mode="json")
    data["evidence"] = ev
    with pytest.raises(ValidationError) as exc:
        PledgeRequest.model_validate(data)
    fields = [e["field"] for e in field_errors(exc.value)]
    assert fields == [path], f"input {ev}: expected the error on {path}, got {fields}"


def test_bad_evidence_in_the_cli_is_one_line_and_exit_2(tmp_path):
    from ipledge.cli.main import main

    data = case("tcm_formulation").model_dump(mode="json")
    data["evidence"] = {"design_around": "impossible"}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    res = CliRunner().invoke(main, ["score", str(f)])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "evidence.design_around" in lines[0], res.output


# --- assessments, API and OpenAPI -------------------------------------------------------------------
@pytest.fixture(scope="module")
def assessed():
    from ipledge.risk.assess import assess

    return {name: assess(case(name, simulation={"paths": 2000, "seed": 5}), posterior=POST)
            for name in ("anaesthetic_injectable", "tcm_formulation", "pending_only")}


def test_assessment_reports_coverage_and_validates_against_the_response_model(assessed):
    from ipledge.api.responses import AssessmentResponse

    for name, a in assessed.items():
        AssessmentResponse.model_validate(a)
        c = a["scores"]["gbt42748"]["coverage"]
        assert (c["evidenced"], c["derived"], c["missing"], c["total"]) == (*COVERAGE_NO_EVIDENCE[name], 27)


@pytest.mark.parametrize("name", ["anaesthetic_injectable", "tcm_formulation"])
def test_simulated_economic_life_agrees_with_the_scorecard_for_a_marketed_product(assessed, name):
    """Marketed, all patents granted: every path is on the market and its exclusivity end is the scorecard's,
    so the two measures of remaining economic life differ only by the scorecard's rounding to 0.1 y."""
    a = assessed[name]
    sim = by_code(a["scores"])["E1"]
    card = next(r for r in a["scores"]["revenue_potential"]["indicators"] if r["name"] == "Exclusivity after launch")
    assert abs(sim["value"] - card["value"]) <= 0.06, f"{name}: simulated {sim['value']}, scorecard {card['value']}"
    assert sim["rating"] == gbt42748.ramp_rating(sim["value"], 0, 10)


def test_simulated_economic_life_counts_pending_grants_the_scorecard_ignores(assessed):
    """pending_only: no granted patent, so the scorecard sees 0 years; the simulation grants the
    application on some paths (CNIPA issue rate) and finds protected years on those."""
    a = assessed["pending_only"]
    sim = by_code(a["scores"])["E1"]
    card = next(r for r in a["scores"]["revenue_potential"]["indicators"] if r["name"] == "Exclusivity after launch")
    assert card["value"] == 0.0 and sim["value"] > 0.0, (card, sim)


def test_api_valuations_and_assessments_return_the_coverage(api_app, api_key_factory):
    holder = api_app.extensions["ipledge_model"]
    holder.posterior, holder.error = POST, None
    client = api_app.test_client()
    _, key = api_key_factory()
    h = {"Authorization": f"Bearer {key}"}
    body = case("tcm_formulation", simulation={"paths": 1000, "seed": 1}, evidence=FULL_EVIDENCE).model_dump(
        mode="json")
    v = client.post("/v1/valuations", json=body, headers=h)
    assert v.status_code == 200, v.get_data(as_text=True)
    assert v.get_json()["gbt42748"]["coverage"] == {"evidenced": 24, "derived": 3, "missing": 0, "total": 27}
    a = client.post("/v1/assessments", json=body, headers=h)
    assert a.status_code == 201, a.get_data(as_text=True)
    assert a.get_json()["scores"]["gbt42748"]["coverage"]["evidenced"] == 24
    bad = dict(body, evidence={"technical_fields": "5"})
    r = client.post("/v1/assessments", json=bad, headers=h)
    assert r.status_code == 422 and [e["field"] for e in r.get_json()["errors"]] == ["evidence.technical_fields"]
    spec = client.get("/v1/openapi.json").get_json()
    comps = spec["components"]["schemas"]
    assert {"Gbt42748", "GbtIndicator", "GbtCoverage", "Evidence", "FinancingRecord"} <= set(comps), sorted(comps)
    assert set(comps["GbtIndicator"]["properties"]["status"]["enum"]) == {"evidenced", "derived", "missing"}


# --- CLI ---------------------------------------------------------------------------------------------
def test_score_and_assess_print_the_coverage_table():
    from ipledge.cli.main import main

    runner = CliRunner()
    for args in (["score", str(CASES / "tcm_formulation.yaml")],
                 ["assess", str(CASES / "tcm_formulation.yaml"), "--paths", "1000"]):
        res = runner.invoke(main, args, catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "GB/T 42748-2023 indicators" in res.output and "9 evidenced" in res.output, res.output[-3000:]
        for r in gbt42748.rules():
            assert r.name_zh in res.output, f"{args[0]}: {r.code} {r.name_zh} not printed"


# --- page and reports ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ready():
    from ipledge.risk.readiness import readiness

    req = case("tcm_formulation", simulation={"paths": 1000, "seed": 11})
    return req, readiness(req, POST, ltv_points=2)


def _assert_both_languages(text: str, where: str, lang: str = "en"):
    """Both names of every indicator side by side; the other labels in the reader's language only."""
    for r in gbt42748.rules():
        assert r.name_zh in text, f"{where}: {r.code} {r.name_zh} missing"
        assert r.name_en in text, f"{where}: {r.code} {r.name_en} missing"
    if lang == "zh":
        assert "有证据" in text and "Rests on" not in text and "evidence can be added" not in text, where
    else:
        assert "evidenced" in text and "有证据" not in text and "可补充证据" not in text, where


def test_page_results_and_html_report_show_the_coverage_once_in_both_languages(ready):
    import html as html_lib

    from ipledge.reports.report import report_html, results_html

    req, r = ready
    for lang in ("en", "zh"):
        page = results_html(r, {}, lang=lang)
        report = report_html(r, req, lang)
        for where, text in ((f"page ({lang})", page), (f"report ({lang})", report)):
            assert text.count('id="gbt42748"') == 1, f"{where}: the coverage section should appear once"
            for attr in ('data-evidenced="9"', 'data-derived="7"', 'data-missing="11"', 'data-total="27"'):
                assert attr in text, f"{where}: {attr} not in the coverage section"
            _assert_both_languages(html_lib.unescape(text), where, lang)


def test_pdf_report_shows_the_coverage_in_both_languages(ready, tmp_path):
    from ipledge.reports.report import report_pdf
    from ipledge.reports.fonts import font_file

    if font_file("Noto Sans CJK SC") is None or shutil.which("pdftotext") is None:
        pytest.skip("needs a CJK font (fonts-noto-cjk) and pdftotext to read the PDF back")
    req, r = ready
    # the WeasyPrint PDF is the report template (which includes _gbt42748.html) rendered with pdf=True
    for lang, head, count in (("en", "GB/T 42748-2023 indicator coverage", "9 evidenced"),
                              ("zh", "GB/T42748-2023指标覆盖", "9有证据")):
        f = tmp_path / f"r-{lang}.pdf"
        f.write_bytes(report_pdf(r, req, lang))
        text = subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True,
                              check=True).stdout
        flat = re.sub(r"\s+", " ", text) if lang == "en" else re.sub(r"\s+", "", text)
        assert head in flat and count in flat, f"PDF ({lang}) lacks {head!r} / {count!r}: {flat[:2000]}"
        for r_ in gbt42748.rules():
            assert r_.name_zh in text.replace(" ", "").replace("\n", ""), f"PDF ({lang}): {r_.code} {r_.name_zh} missing"


# --- readiness: "add evidence for X" --------------------------------------------------------------------
def test_readiness_offers_evidence_actions_with_their_score_change(ready):
    req, r = ready
    rows = {x["action"]: x for x in r["actions"] if x["action"].startswith("add_evidence_")}
    assert set(rows) == {f"add_evidence_{f}" for f in evidence.BY_FIELD}, sorted(rows)
    base = r["assessment"]["scores"]
    for field, row in ((k.removeprefix("add_evidence_"), v) for k, v in rows.items()):
        e = evidence.BY_FIELD[field]
        sc = row["score_change"]
        best = score_request(case("tcm_formulation", evidence={field: e.best}))[e.card]["score"]
        worst = score_request(case("tcm_formulation", evidence={field: e.worst}))[e.card]["score"]
        assert sc == {"card": e.card, "before": base[e.card]["score"], "best": best, "worst": worst}, (field, sc)
        assert sc["worst"] <= sc["before"] <= sc["best"] and sc["best"] != sc["worst"]
        assert f"{best - sc['before']:+.1f}" in row["description"] and e.code in row["description"]
        ch = row["changes"]["evidence"]   # the evidence object was absent: the change is the whole object
        given = {k: v for k, v in ch.items() if v is not None}
        assert list(given) == [field], row["changes"]
        assert given[field] == e.best or (isinstance(e.best, dict) and e.best.items() <= given[field].items()), ch


def test_evidence_actions_are_measured_like_a_rerun(ready):
    """Rights/revenue evidence cannot move the valuation: the shortcut (scores only) must equal a re-run;
    competitive evidence re-runs and its max loan is that of the re-assessed request."""
    from ipledge.risk.assess import assess

    req, r = ready
    rows = {x["action"]: x for x in r["actions"]}
    for field in ("market_share", "design_around", "technical_effect"):
        e = evidence.BY_FIELD[field]
        rerun = assess(case("tcm_formulation", simulation={"paths": 1000, "seed": 11},
                            evidence={field: e.best}), posterior=POST)
        row = rows[f"add_evidence_{field}"]
        assert row["max_loan_after"] == rerun["recommendation"]["max_loan"], (field, row, rerun["recommendation"])
        assert row["ltv_after"] == rerun["recommendation"]["ltv"]
        if e.card != "competitive_contribution":
            assert row["gain"] == 0.0


def test_given_evidence_is_not_offered_again():
    from ipledge.risk.readiness import readiness

    req = case("tcm_formulation", simulation={"paths": 1000, "seed": 11}, evidence=FULL_EVIDENCE)
    r = readiness(req, POST, ltv_points=2)
    assert not [x for x in r["actions"] if x["action"].startswith("add_evidence_")]
