"""The example pledges in scenarios/cases (DESIGN §10): valid, realistic, sourced, and scoring as described."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from ipledge.valuation.cases import load_case
from ipledge.valuation.scorecard import CARD_KEYS, score_request

CASES_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "cases"
CASES = sorted(CASES_DIR.glob("*.yaml"))
REQUIRED = ("anaesthetic_injectable", "oncology_antibody_phase2", "tcm_formulation",
            "medical_consumable_utility", "small_molecule_phase1", "pending_only")


def case(stem: str):
    return load_case(CASES_DIR / f"{stem}.yaml")


def rights_codes(stem: str) -> list[str]:
    return [k["code"] for k in score_request(case(stem))["rights_certainty"]["knockouts"]]


def test_the_six_design_cases_exist():
    stems = {c.stem for c in CASES}
    assert set(REQUIRED) <= stems, f"missing: {set(REQUIRED) - stems}"


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_case_validates_and_is_realistic(path):
    req = load_case(path)
    assert req.as_of == dt.date(2026, 11, 1)
    assert 1e7 <= req.applicant.cash <= 2e8, f"cash {req.applicant.cash} outside SME range CNY 10-200m"
    assert 2e7 <= req.applicant.annual_burn <= 1.5e8, f"burn {req.applicant.annual_burn} outside CNY 20-150m"
    assert 5e6 <= req.loan.amount <= 5e7, f"loan {req.loan.amount} outside CNY 5-50m"
    s = score_request(req)
    assert all(0 <= s[k]["score"] <= 100 for k in CARD_KEYS)


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_every_number_carries_a_source_comment(path):
    """Each number says where it comes from (lending.md / market.md / a default / "illustrative")."""
    missing = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"\s*-?\s*(\w+):\s*([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*(#.*)?$", line)  # not dates
        if m and not m.group(3):
            missing.append(f"line {n}: {line.strip()}")
    assert not missing, f"{path.name}: numbers without a source comment: {missing}"


def test_anaesthetic_injectable():
    req = case("anaesthetic_injectable")
    assert req.product.stage == "approved" and req.product.launch_year is not None
    assert {"CN", "EP"} <= {c for p in req.patents for c in p.jurisdictions}
    assert req.product.vbp_exposure != "none"
    assert rights_codes("anaesthetic_injectable") == []


def test_oncology_antibody_phase2():
    req = case("oncology_antibody_phase2")
    assert (req.product.stage, req.product.modality, req.product.therapeutic_area) == ("phase2", "biologic", "oncology")
    assert req.applicant.annual_revenue == 0


def test_tcm_formulation():
    req = case("tcm_formulation")
    assert (req.product.therapeutic_area, req.product.modality, req.product.stage) == ("tcm", "tcm", "approved")
    assert any(p.claim_type == "formulation" for p in req.patents)


def test_medical_consumable_on_a_utility_model():
    req = case("medical_consumable_utility")
    assert (req.product.therapeutic_area, req.product.modality, req.product.stage) == ("device", "device", "approved")
    assert any(p.kind == "utility_model" and p.status == "granted" for p in req.patents)


def test_small_molecule_phase1_has_no_revenue():
    req = case("small_molecule_phase1")
    assert (req.product.stage, req.product.modality) == ("phase1", "small_molecule")
    assert req.applicant.annual_revenue == 0


def test_pending_only_hits_the_knockout():
    req = case("pending_only")
    assert all(p.status == "pending" for p in req.patents)
    assert rights_codes("pending_only") == ["no_granted_in_force"]


def test_existing_pledge_case_shows_its_knockouts():
    assert rights_codes("existing_pledge_generic") == ["existing_pledge", "fees_unpaid"]


def test_case_scores_rank_as_a_lender_would():
    s = {c.stem: score_request(load_case(c)) for c in CASES}
    rights = {k: v["rights_certainty"]["score"] for k, v in s.items()}
    revenue = {k: v["revenue_potential"]["score"] for k, v in s.items()}
    # a pending-only applicant has the least certain rights; an examined invention beats a utility model
    assert rights["pending_only"] == min(rights.values()), rights
    assert rights["oncology_antibody_phase2"] > rights["medical_consumable_utility"], rights
    # a marketed product's revenue is more certain than a Phase I candidate's
    assert revenue["anaesthetic_injectable"] > revenue["small_molecule_phase1"] > revenue["pending_only"], revenue
