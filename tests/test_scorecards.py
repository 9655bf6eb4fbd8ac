"""The three valuation scorecards (DESIGN §5-6): shape, properties (hypothesis) and knock-outs.

Properties: each favourable change of ONE input never lowers its card's score; every score and
every indicator's points stay in 0..100; the same input gives the same output.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipledge.valuation import competition, revenue, rights, terms
from ipledge.valuation.schema import CLAIM_TYPES, PATENT_KINDS, PATENT_STATUSES, STAGES, PledgeRequest
from ipledge.valuation.scorecard import CARD_KEYS, score_request

AS_OF = dt.date(2026, 11, 1)
CODES = ["CN", "US", "EP", "JP", "DE", "FR", "GB", "KR", "CA", "AU", "BR", "IN", "WO", "ZZ"]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
KNOCKOUT_KEYS = {"code", "patents", "message", "fix"}
INDICATOR_KEYS = {"name", "value", "points", "weight", "note"}


def clean_patent(**over) -> dict:
    p = {"id": "CN113456789B", "kind": "invention", "status": "granted", "filing_date": "2019-05-10",
         "grant_date": "2022-03-01", "jurisdictions": ["CN", "US", "EP"], "independent_claims": 3,
         "total_claims": 20, "forward_citations": 4, "claim_type": "compound"}
    p.update(over)
    return p


def clean_request(patents: list[dict] | None = None, **over) -> dict:
    """A minimal request without any knock-out; ``over`` replaces top-level sections or product keys."""
    d = {
        "as_of": AS_OF.isoformat(),
        "applicant": {"name": "Test Bio", "cash": 5e7, "annual_burn": 3e7},
        "patents": patents or [clean_patent()],
        "product": {"name": "T-1", "therapeutic_area": "oncology", "modality": "biologic", "stage": "phase2",
                    "peak_sales": {"p10": 2e8, "p50": 6e8, "p90": 1.5e9}, "competitors": 3},
        "loan": {"amount": 2e7, "term_years": 3},
    }
    for k, v in over.items():
        if k in d["product"] or k in ("launch_year", "profit_margin", "royalty_rate", "vbp_exposure",
                                      "nrdl_listed", "ip_contribution", "years_to_peak"):
            d["product"][k] = v
        else:
            d[k] = v
    return d


def scores_of(d: dict) -> dict:
    return score_request(PledgeRequest.model_validate(d))


def codes(scores: dict) -> set[str]:
    return {k["code"] for key in CARD_KEYS for k in scores[key]["knockouts"]}


# ---------------------------------------------------------------------------------------------
# Random valid requests
# ---------------------------------------------------------------------------------------------

@st.composite
def patent_dicts(draw, idx: int, as_of: dt.date) -> dict:
    kind = draw(st.sampled_from(PATENT_KINDS))
    status = draw(st.sampled_from(PATENT_STATUSES))
    filing = as_of - dt.timedelta(days=draw(st.integers(2, 26 * 365)))  # room for a grant by as_of
    ind = draw(st.integers(1, 6))
    p = {
        "id": f"CN{idx:09d}B", "kind": kind, "status": status, "filing_date": filing.isoformat(),
        "jurisdictions": draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=6, unique=True)),
        "independent_claims": ind, "total_claims": draw(st.integers(ind, 60)),
        "forward_citations": draw(st.integers(0, 60)),
        "claim_type": draw(st.sampled_from(CLAIM_TYPES)),
        "invalidation": draw(st.sampled_from(["none", "upheld", "partially_upheld", "pending"])),
        "litigation_pending": draw(st.booleans()),
        "co_owners": draw(st.integers(0, 4)),
        "co_owner_consent": draw(st.booleans()),
        "existing_pledge": draw(st.booleans()),
        "exclusive_license_out": draw(st.booleans()),
        "fees_paid": draw(st.booleans()),
    }
    if status != "pending":
        lag = min(draw(st.integers(1, 2500)), (as_of - filing).days)  # granted on or before as_of
        p["grant_date"] = (filing + dt.timedelta(days=lag)).isoformat()
    if kind == "invention":
        p["term_extension_years"] = draw(st.sampled_from([0, 0, 0.5, 2, 5]))
    return p


@st.composite
def requests(draw) -> dict:
    as_of = AS_OF + dt.timedelta(days=draw(st.integers(-800, 800)))
    n = draw(st.integers(1, 3))
    stage = draw(st.sampled_from(STAGES))
    p50 = draw(st.sampled_from([0.0, 5e6, 3e7, 2e8, 1e9, 6e9]))
    lo, hi = draw(st.sampled_from([0.0, 0.1, 0.4, 1.0])), draw(st.sampled_from([1.0, 2.5, 8.0]))
    peak = {"p10": p50 * lo, "p50": p50, "p90": p50 * hi}
    product = {
        "name": "P", "therapeutic_area": draw(st.sampled_from(["oncology", "tcm", "device", "metabolic"])),
        "modality": draw(st.sampled_from(["small_molecule", "biologic", "tcm", "device"])), "stage": stage,
        "peak_sales": peak, "profit_margin": draw(st.sampled_from([0.0, 0.1, 0.3, 0.6])),
        "royalty_rate": draw(st.sampled_from([None, None, 0.0, 0.05, 0.2])),
        "competitors": draw(st.integers(0, 30)),
        "vbp_exposure": draw(st.sampled_from(["none", "low", "medium", "high"])),
        "nrdl_listed": draw(st.booleans()),
    }
    if stage == "approved":
        product["launch_year"] = draw(st.integers(as_of.year - 15, as_of.year + 1))
    return {
        "as_of": as_of.isoformat(),
        "applicant": {"name": "A", "cash": 1e7, "annual_burn": 2e7},
        "patents": [draw(patent_dicts(i, as_of)) for i in range(n)],
        "product": product,
        "loan": {"amount": 1e7, "term_years": draw(st.sampled_from([0.5, 1, 3, 7, 10]))},
    }


# ---------------------------------------------------------------------------------------------
# Favourable changes of one input. Each returns the changed request or None when the change
# does not apply to this request (e.g. the patent is not pending). ``k`` picks the patent.
# ---------------------------------------------------------------------------------------------

def _patent(d, k):
    return d["patents"][k % len(d["patents"])]


def _step_up(order, attr, section=None):
    def change(d, k):
        obj = d["product"] if section == "product" else _patent(d, k)
        i = order.index(obj[attr]) if obj.get(attr) in order else None
        if i is None or i == len(order) - 1:
            return None
        obj[attr] = order[i + 1]
        return d
    return change


def more_independent_claims(d, k):
    p = _patent(d, k)
    p["independent_claims"] += 1
    p["total_claims"] = max(p["total_claims"], p["independent_claims"])
    return d


def more_total_claims(d, k):
    _patent(d, k)["total_claims"] += 7
    return d


def more_jurisdictions(d, k):
    p = _patent(d, k)
    new = [c for c in ["US", "EP", "JP", "CN", "KR", "DE", "MX"] if c not in p["jurisdictions"]]
    if not new:
        return None
    p["jurisdictions"].append(new[0])
    return d


def granted_not_pending(d, k):
    p = _patent(d, k)
    if p["status"] != "pending":
        return None
    p["status"] = "granted"
    grant = dt.date.fromisoformat(p["filing_date"]) + dt.timedelta(days=900)
    p["grant_date"] = min(grant, dt.date.fromisoformat(d["as_of"])).isoformat()
    return d


def invention_not_utility_or_design(d, k):
    p = _patent(d, k)
    if p["kind"] == "invention":
        return None
    p["kind"] = "invention"
    return d


def flag(attr, good):
    def change(d, k):
        p = _patent(d, k)
        if p[attr] == good:
            return None
        p[attr] = good
        return d
    return change


def fewer_co_owners(d, k):
    p = _patent(d, k)
    if p["co_owners"] == 0:
        return None
    p["co_owners"] -= 1
    return d


def longer_extension(d, k):
    p = _patent(d, k)
    if p["kind"] != "invention" or p.get("term_extension_years", 0) >= 5:
        return None
    p["term_extension_years"] = min(5, p.get("term_extension_years", 0) + 1.5)
    return d


def later_filing(d, k):
    """A younger patent: filing (and grant) 400 days later, i.e. a longer remaining term."""
    p = _patent(d, k)
    filing = dt.date.fromisoformat(p["filing_date"]) + dt.timedelta(days=400)
    if filing > dt.date.fromisoformat(d["as_of"]):
        return None
    p["filing_date"] = filing.isoformat()
    if p.get("grant_date"):
        grant = dt.date.fromisoformat(p["grant_date"]) + dt.timedelta(days=400)
        if grant > dt.date.fromisoformat(d["as_of"]):
            return None
        p["grant_date"] = grant.isoformat()
    return d


def shorter_loan(d, k):
    if d["loan"]["term_years"] <= 0.5:
        return None
    d["loan"]["term_years"] = max(0.5, d["loan"]["term_years"] - 1.5)
    return d


def fewer_competitors(d, k):
    if d["product"]["competitors"] == 0:
        return None
    d["product"]["competitors"] -= 1 + k % 3
    d["product"]["competitors"] = max(0, d["product"]["competitors"])
    return d


def more_citations(d, k):
    _patent(d, k)["forward_citations"] += 1 + 5 * (k % 3)
    return d


def higher_p50(d, k):
    ps = d["product"]["peak_sales"]
    if ps["p50"] == 0:
        ps.update(p10=0.0, p50=5e7, p90=1e8)
    else:
        for q in ps:
            ps[q] *= 1.7
    return d


def higher_p10(d, k):
    ps = d["product"]["peak_sales"]
    if ps["p10"] >= ps["p50"]:
        return None
    ps["p10"] += 0.5 * (ps["p50"] - ps["p10"])
    return d


def higher_margin(d, k):
    pr = d["product"]
    if pr["profit_margin"] >= 1:
        return None
    pr["profit_margin"] = min(1.0, pr["profit_margin"] + 0.15)
    return d


def higher_royalty(d, k):
    pr = d["product"]
    if pr.get("royalty_rate") is None or pr["royalty_rate"] >= 0.5:
        return None
    pr["royalty_rate"] = min(0.5, pr["royalty_rate"] + 0.04)
    return d


def nrdl_listed(d, k):
    if d["product"]["nrdl_listed"]:
        return None
    d["product"]["nrdl_listed"] = True
    return d


def lower_vbp(d, k):
    order = ["none", "low", "medium", "high"]
    i = order.index(d["product"]["vbp_exposure"])
    if i == 0:
        return None
    d["product"]["vbp_exposure"] = order[i - 1]
    return d


def later_stage(d, k):
    pr = d["product"]
    i = STAGES.index(pr["stage"])
    if i == len(STAGES) - 1:
        return None
    pr["stage"] = STAGES[i + 1]
    if pr["stage"] == "approved":
        pr["launch_year"] = dt.date.fromisoformat(d["as_of"]).year   # approved and launched this year
    return d


R, C, V = "rights_certainty", "competitive_contribution", "revenue_potential"
DIRECTIONS = {
    # name: (change, cards whose score must not fall)
    "more independent claims": (more_independent_claims, (R,)),
    "more total claims": (more_total_claims, (R,)),
    "more jurisdictions": (more_jurisdictions, (R, C)),
    "granted instead of pending": (granted_not_pending, (R, C, V)),
    "invention instead of utility model / design": (invention_not_utility_or_design, (R, V)),
    "stability one step up (pending < partially upheld < none < upheld)":
        (_step_up(["pending", "partially_upheld", "none", "upheld"], "invalidation"), (R,)),
    "no invalidation instead of pending": (lambda d, k: _no_invalidation(d, k), (R,)),
    "fees paid": (flag("fees_paid", True), (R,)),
    "co-owner consent given": (flag("co_owner_consent", True), (R,)),
    "fewer co-owners": (fewer_co_owners, (R, C)),
    "no existing pledge": (flag("existing_pledge", False), (R,)),
    "no exclusive licence out": (flag("exclusive_license_out", False), (R, C)),
    "no pending litigation": (flag("litigation_pending", False), (R,)),
    "longer term extension": (longer_extension, (R, V)),
    "longer remaining term (later filing)": (later_filing, (R, C, V)),
    "shorter loan term": (shorter_loan, (R,)),
    "fewer competitors": (fewer_competitors, (C,)),
    "more forward citations": (more_citations, (C,)),
    "stronger claim type (other < process < use < formulation < compound)":
        (_step_up(["other", "process", "use", "formulation", "compound"], "claim_type"), (C,)),
    "higher p50 peak sales": (higher_p50, (V,)),
    "higher p10 (narrower downside)": (higher_p10, (V,)),
    "higher margin": (higher_margin, (V,)),
    "higher royalty": (higher_royalty, (V,)),
    "NRDL listed": (nrdl_listed, (V,)),
    "lower VBP exposure": (lower_vbp, (V,)),
    "later stage": (later_stage, (V,)),
}


def _no_invalidation(d, k):
    p = _patent(d, k)
    if p["invalidation"] != "pending":
        return None
    p["invalidation"] = "none"
    return d


@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
@SETTINGS
@given(base=requests(), k=st.integers(0, 5))
def test_favourable_change_never_lowers_its_card(direction, base, k):
    change, cards = DIRECTIONS[direction]
    better = change(copy.deepcopy(base), k)
    if better is None:
        return  # the change does not apply to this request (already at the favourable end)
    before, after = scores_of(base), scores_of(better)
    for card in cards:
        assert after[card]["score"] >= before[card]["score"], (
            f"{direction} lowered {card}: expected >= {before[card]['score']}, got {after[card]['score']} "
            f"(tolerance 0)\ninput before: {json.dumps(base)}\ninput after: {json.dumps(better)}\n"
            f"indicators before: {before[card]['indicators']}\nindicators after: {after[card]['indicators']}")
        # stronger: no single indicator of the card loses points either (no compensation hides a bug)
        for b, a in zip(before[card]["indicators"], after[card]["indicators"]):
            assert a["points"] >= b["points"], (
                f"{direction} lowered {card}/{b['name']}: expected >= {b['points']}, got {a['points']} "
                f"(tolerance 0); before {b}, after {a}\ninput before: {json.dumps(base)}")
    if C in cards and better["product"].get("ip_contribution") is None:
        assert after[C]["ip_contribution"] >= before[C]["ip_contribution"], (
            f"{direction} lowered ip_contribution: expected >= {before[C]['ip_contribution']}, "
            f"got {after[C]['ip_contribution']}; input {json.dumps(base)}")


def test_every_direction_applies_to_some_generated_request():
    """Guard against vacuous property tests: each change applies to at least one drawn request."""
    applied = {name: 0 for name in DIRECTIONS}

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(base=requests(), k=st.integers(0, 5))
    def count(base, k):
        for name, (change, _) in DIRECTIONS.items():
            if change(copy.deepcopy(base), k) is not None:
                applied[name] += 1

    count()
    never = [n for n, c in applied.items() if c == 0]
    assert not never, f"changes never applied: {never}; counts {applied}"


@SETTINGS
@given(base=requests())
def test_scores_in_range_and_consistent(base):
    s = scores_of(base)
    assert set(s) == set(CARD_KEYS) | {"exclusivity_end", "gbt42748"}
    for key in CARD_KEYS:
        card = s[key]
        assert 0.0 <= card["score"] <= 100.0, f"{key} score {card['score']} outside 0..100; input {base}"
        weights = sum(r["weight"] for r in card["indicators"])
        assert math.isclose(weights, 1.0, abs_tol=1e-9), f"{key} weights sum to {weights}, expected 1"
        for r in card["indicators"]:
            assert set(r) == INDICATOR_KEYS, f"{key} indicator keys {set(r)}"
            assert 0.0 <= r["points"] <= 100.0, f"{key}/{r['name']} points {r['points']} outside 0..100"
            assert r["points"] == round(r["points"], 1)
            assert isinstance(r["note"], str) and r["note"] and "\n" not in r["note"]
        recomputed = round(sum(r["points"] * r["weight"] for r in card["indicators"]), 1)
        assert abs(recomputed - card["score"]) <= 0.05 + 1e-9, (
            f"{key}: score {card['score']} is not the weighted mean of points (expected {recomputed}, tol 0.05)")
        for ko in card["knockouts"]:
            assert set(ko) == KNOCKOUT_KEYS and ko["fix"] and ko["message"]
    ipc = s[C]["ip_contribution"]
    assert 0.0 <= ipc <= 1.0
    json.dumps(s)  # serialisable as the response


@SETTINGS
@given(base=requests())
def test_same_input_same_output(base):
    first = scores_of(base)
    second = scores_of(copy.deepcopy(base))
    third = score_request(PledgeRequest.model_validate_json(json.dumps(base)))
    assert first == second == third, f"different outputs for the same input {base}"


# ---------------------------------------------------------------------------------------------
# Knock-outs, each from a minimal case
# ---------------------------------------------------------------------------------------------

def test_clean_request_has_no_knockout():
    s = scores_of(clean_request())
    assert codes(s) == set(), f"expected no knock-out, got {codes(s)}"


@pytest.mark.parametrize("name, patent_changes, request_changes, code", [
    ("pending only", {"status": "pending", "grant_date": None}, {}, "no_granted_in_force"),
    ("lapsed", {"status": "lapsed"}, {}, "no_granted_in_force"),
    ("invalidated", {"status": "invalidated"}, {}, "no_granted_in_force"),
    ("granted but expired", {"filing_date": "2005-01-10", "grant_date": "2008-01-10"}, {}, "no_granted_in_force"),
    ("expires 1 y in, 3 y loan", {"filing_date": "2007-11-20", "grant_date": "2010-01-10"},
     {"stage": "approved", "launch_year": 2020}, "expires_before_maturity"),
    ("existing pledge", {"existing_pledge": True}, {}, "existing_pledge"),
    ("co-owner without consent", {"co_owners": 1, "co_owner_consent": False}, {}, "co_owner_consent_missing"),
    ("annual fees unpaid", {"fees_paid": False}, {}, "fees_unpaid"),
    ("zero peak sales", {}, {"peak_sales": {"p10": 0, "p50": 0, "p90": 0}}, "no_revenue_path"),
    ("zero margin, no royalty", {}, {"profit_margin": 0.0}, "no_revenue_path"),
    ("zero royalty", {}, {"royalty_rate": 0.0}, "no_revenue_path"),
    ("expires before launch", {"filing_date": "2008-12-01", "grant_date": "2011-01-10"},
     {"loan": {"amount": 1e7, "term_years": 1}}, "no_exclusivity_at_launch"),
])
def test_each_knockout_from_a_minimal_case(name, patent_changes, request_changes, code):
    p = clean_patent(**patent_changes)
    p = {k: v for k, v in p.items() if v is not None}
    s = scores_of(clean_request([p], **request_changes))
    assert codes(s) == {code}, f"{name}: expected knock-outs {{{code!r}}}, got {codes(s)}"
    ko = next(k for key in CARD_KEYS for k in s[key]["knockouts"] if k["code"] == code)
    assert set(ko) == KNOCKOUT_KEYS
    if code != "no_revenue_path":
        assert ko["patents"] == [p["id"]], f"{name}: expected patents [{p['id']}], got {ko['patents']}"
    assert len(ko["fix"]) > 20 and len(ko["message"]) > 20


def test_contract_knockouts_belong_to_rights_certainty():
    p = clean_patent(existing_pledge=True, fees_paid=False, co_owners=2, co_owner_consent=False)
    s = scores_of(clean_request([p]))
    got = [k["code"] for k in s[R]["knockouts"]]
    assert got == ["existing_pledge", "co_owner_consent_missing", "fees_unpaid"], got
    assert s[C]["knockouts"] == [] and s[V]["knockouts"] == []


def test_defect_on_any_pledged_patent_counts_and_names_it():
    strong = clean_patent()
    weak = clean_patent(id="CN200000001U", kind="utility_model", filing_date="2022-01-05",
                        grant_date="2022-08-01", existing_pledge=True)
    s = scores_of(clean_request([strong, weak]))
    ko = [k for k in s[R]["knockouts"] if k["code"] == "existing_pledge"]
    assert ko and ko[0]["patents"] == ["CN200000001U"], s[R]["knockouts"]
    status = next(r for r in s[R]["indicators"] if r["name"] == "Status and type")
    assert status["points"] == 100.0 and "CN113456789B" in status["note"], status


def test_no_granted_in_force_lists_every_patent_and_is_the_only_rights_knockout_for_pending():
    a = clean_patent(status="pending", grant_date=None)
    b = clean_patent(id="CN118000002A", status="pending", grant_date=None)
    for p in (a, b):
        p.pop("grant_date")
    s = scores_of(clean_request([a, b]))
    assert [k["code"] for k in s[R]["knockouts"]] == ["no_granted_in_force"]
    assert s[R]["knockouts"][0]["patents"] == [a["id"], b["id"]]
    assert s["exclusivity_end"] is None


# ---------------------------------------------------------------------------------------------
# Rules and numbers
# ---------------------------------------------------------------------------------------------

def test_ip_contribution_derived_from_competitive_score():
    s = scores_of(clean_request())
    got, score = s[C]["ip_contribution"], s[C]["score"]
    expected = 0.10 + 0.40 * score / 100
    assert abs(got - expected) <= 1e-4, f"score {score}: expected {expected}, got {got}, tolerance 1e-4"


def test_ip_contribution_override():
    base = scores_of(clean_request())
    s = scores_of(clean_request(ip_contribution=0.35))
    assert s[C]["ip_contribution"] == 0.35
    assert s[C]["score"] == base[C]["score"], "the override must not change the score"
    rows = [r for r in s[C]["indicators"] if "override" in r["note"]]
    assert len(rows) == 1 and rows[0]["weight"] == 0.0 and rows[0]["value"] == 0.35, rows
    assert f"{base[C]['ip_contribution']:g}" in rows[0]["note"], "the note must say what the card would give"


def test_stage_probabilities_from_bio_2011_2020():
    expected = {"filed": 0.906, "phase3": 0.578 * 0.906, "phase2": 0.289 * 0.578 * 0.906,
                "phase1": 0.520 * 0.289 * 0.578 * 0.906, "preclinical": 0.69 * 0.520 * 0.289 * 0.578 * 0.906,
                "approved": 1.0}
    for stage, p in expected.items():
        got = revenue.p_market(stage)
        assert abs(got - p) < 1e-12, f"{stage}: expected {p}, got {got}, tolerance 1e-12"


def test_expected_launch_from_mean_phase_durations():
    prod = PledgeRequest.model_validate(clean_request()).product   # phase2
    launch, basis = revenue.expected_launch(prod, AS_OF)
    years = 0.5 * 3.6 + 3.3 + 1.3
    expected = AS_OF + dt.timedelta(days=round(years * 365.25))
    assert launch == expected, f"phase2 from {AS_OF}: expected {expected}, got {launch}"
    approved = PledgeRequest.model_validate(clean_request(stage="approved", launch_year=2021)).product
    assert revenue.expected_launch(approved, AS_OF)[0] == dt.date(2021, 7, 1)


def test_vbp_points_follow_design_hazards():
    expected = {"none": 100.0, "low": 88.0, "medium": 70.5, "high": 55.9}
    for exp, pts in expected.items():
        got = round(100 * revenue.vbp_retained(exp), 1)
        assert got == pts, f"{exp}: expected {pts}, got {got}"


@pytest.mark.parametrize("kind, points", [("invention", 100.0), ("utility_model", 60.0), ("design", 40.0)])
def test_examined_invention_beats_unexamined_rights(kind, points):
    p = clean_patent(kind=kind, filing_date="2022-01-05", grant_date="2022-09-01")
    s = scores_of(clean_request([p], loan={"amount": 1e7, "term_years": 1}))
    status = next(r for r in s[R]["indicators"] if r["name"] == "Status and type")
    assert status["points"] == points, f"{kind}: expected {points}, got {status['points']}"


def test_remaining_term_against_loan():
    # invention filed 2019-05-10 -> expires 2039-05-09; a 3-year loan from 2026-11-01 matures 2029-11-01
    s = scores_of(clean_request())
    row = next(r for r in s[R]["indicators"] if r["name"] == "Remaining term vs loan term")
    years_after = terms.years_between(dt.date(2029, 11, 1), dt.date(2039, 5, 9))
    expected = round(100 * min(1.0, years_after / 10), 1)
    assert abs(row["points"] - expected) <= 0.1, f"expected {expected}, got {row['points']}, tolerance 0.1"
    assert row["value"] == round(terms.years_between(AS_OF, dt.date(2039, 5, 9)), 1)
    assert s["exclusivity_end"] == "2039-05-09"


def test_extension_capped_14_years_after_expected_approval():
    # filed 2020-01-10, 5 y compensation asked; phase3 -> expected launch in 0.5*3.3 + 1.3 = 2.95 y
    p = clean_patent(filing_date="2020-01-10", grant_date="2023-01-10", term_extension_years=5)
    s = scores_of(clean_request([p], stage="phase3"))
    launch = AS_OF + dt.timedelta(days=round(2.95 * 365.25))
    cap = terms.add_years(launch, 14)
    uncapped = dt.date(2040, 1, 9) + dt.timedelta(days=round(5 * 365.25))
    assert cap < uncapped
    assert s["exclusivity_end"] == cap.isoformat(), f"expected {cap}, got {s['exclusivity_end']}"


def test_market_coverage_counts_ep_once():
    assert competition.market_share({"EP", "DE", "FR"}) == competition.market_share({"EP"})
    assert competition.market_share({"DE"}) < competition.market_share({"EP"})
    assert competition.market_share({"WO"}) == 0.0
    assert abs(competition.market_share({"US", "EP", "JP", "CN"}) - competition.MAJOR_MARKETS_SHARE) < 1e-12


def test_cards_weights_are_documented_tables():
    for card in (rights.CARD, competition.CARD, revenue.CARD):
        assert math.isclose(sum(i.weight for i in card.indicators), 1.0)
        assert len({i.name for i in card.indicators}) == len(card.indicators)


def test_card_rejects_weights_not_summing_to_one():
    from ipledge.valuation.scorecard import Card, Indicator
    with pytest.raises(ValueError, match="sum"):
        Card("bad", (Indicator("a", 0.5, lambda f: None), Indicator("b", 0.4, lambda f: None)))


def test_exclusivity_window_of_a_marketed_product_counts_from_today():
    # launched 2020, protected until 2039-05-09: the window left is from as_of, not from launch
    s = scores_of(clean_request(stage="approved", launch_year=2020))
    row = next(r for r in s[V]["indicators"] if r["name"] == "Exclusivity after launch")
    expected = round(terms.years_between(AS_OF, dt.date(2039, 5, 9)), 1)
    assert row["value"] == expected, f"expected {expected} y, got {row['value']}"
    # a future launch: the window starts at launch (phase2 -> 6.4 y of development left)
    s = scores_of(clean_request())
    row = next(r for r in s[V]["indicators"] if r["name"] == "Exclusivity after launch")
    launch = AS_OF + dt.timedelta(days=round(6.4 * 365.25))
    expected = round(terms.years_between(launch, dt.date(2039, 5, 9)), 1)
    assert row["value"] == expected, f"expected {expected} y, got {row['value']}"


def test_market_coverage_points_of_clean_request():
    # CN + US + EP = 0.085 + 0.40 + 0.215 of world pharma sales; points = 100 sqrt(share / 0.77)
    s = scores_of(clean_request())
    row = next(r for r in s[C]["indicators"] if r["name"] == "Market coverage")
    expected = round(100 * math.sqrt((0.085 + 0.40 + 0.215) / 0.77), 1)
    assert abs(row["points"] - expected) <= 0.1, f"expected {expected}, got {row['points']}, tolerance 0.1"
    assert row["value"] == ["CN", "EP", "US"]


def test_pending_application_counts_half_for_claim_breadth():
    granted = scores_of(clean_request())
    p = clean_patent(status="pending")
    p.pop("grant_date")
    pending = scores_of(clean_request([p]))
    g = next(r for r in granted[R]["indicators"] if r["name"] == "Claim breadth")["points"]
    q = next(r for r in pending[R]["indicators"] if r["name"] == "Claim breadth")["points"]
    assert abs(q - g / 2) <= 0.1, f"granted {g}: expected pending {g / 2}, got {q}, tolerance 0.1"


def test_defects_on_a_pending_patent_still_count():
    good = clean_patent()
    p = clean_patent(id="CN118000009A", status="pending", co_owners=1, co_owner_consent=False)
    p.pop("grant_date")
    s = scores_of(clean_request([good, p]))
    row = next(r for r in s[R]["indicators"] if r["name"] == "Ownership")
    assert row["points"] == 0.0 and "CN118000009A" in row["note"], row
    assert [k["code"] for k in s[R]["knockouts"]] == ["co_owner_consent_missing"]
