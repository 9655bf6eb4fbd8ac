"""Invalid requests are refused with the field path named (ipledge.valuation.errors.field_errors)."""
from __future__ import annotations

import copy
import datetime as dt
import math

import pytest
from pydantic import ValidationError

from ipledge.valuation.errors import field_errors, one_line
from ipledge.valuation.schema import PledgeRequest

VALID = {
    "as_of": "2026-11-01",
    "applicant": {"name": "Test Bio", "cash": 5.0e7, "annual_burn": 3.0e7},
    "patents": [{"id": "CN113456789B", "kind": "invention", "status": "granted", "filing_date": "2019-05-10",
                 "grant_date": "2022-03-01", "jurisdictions": ["CN", "US"], "independent_claims": 3,
                 "total_claims": 20}],
    "product": {"name": "T-1", "therapeutic_area": "oncology", "modality": "biologic", "stage": "phase2",
                "peak_sales": {"p10": 2.0e8, "p50": 6.0e8, "p90": 1.5e9}},
    "loan": {"amount": 2.0e7, "term_years": 3},
}
DELETE = object()


def changed(path: str, value) -> dict:
    """VALID with the dotted ``path`` (list indices as numbers) set to ``value`` or deleted."""
    d = copy.deepcopy(VALID)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    obj = d
    for p in parents:
        obj = obj[p]
    if value is DELETE:
        del obj[last]
    else:
        obj[last] = value
    return d


def with_patents(patents) -> dict:
    d = copy.deepcopy(VALID)
    d["patents"] = patents
    return d


P0 = VALID["patents"][0]

CASES = [
    # (name, request, expected field path, fragment of the message or None)
    ("missing grant_date when granted", changed("patents.0.grant_date", DELETE), "patents[0].grant_date",
     "required when status is granted"),
    ("grant before filing", changed("patents.0.grant_date", "2018-01-01"), "patents[0].grant_date",
     "after filing_date"),
    ("grant_date while pending", changed("patents.0.status", "pending"), "patents[0].grant_date", "pending"),
    ("p10 above p50", changed("product.peak_sales.p10", 7.0e8), "product.peak_sales.p50", "below p10"),
    ("p90 below p50", changed("product.peak_sales.p90", 1.0e8), "product.peak_sales.p90", "below p50"),
    ("NaN amount", changed("loan.amount", math.nan), "loan.amount", None),
    ("infinite margin", changed("product.profit_margin", math.inf), "product.profit_margin", None),
    ("string for number", changed("applicant.cash", "5000000"), "applicant.cash", "number"),
    ("bool for number", changed("loan.amount", True), "loan.amount", "number"),
    ('"true" for bool', changed("patents.0.fees_paid", "true"), "patents[0].fees_paid", None),
    ("string for integer claims", changed("patents.0.total_claims", "20"), "patents[0].total_claims", None),
    ("unknown patent kind", changed("patents.0.kind", "petty_patent"), "patents[0].kind", None),
    ("unknown stage", changed("product.stage", "phase4"), "product.stage", None),
    ("unknown VBP exposure", changed("product.vbp_exposure", "extreme"), "product.vbp_exposure", None),
    ("extra field", changed("applicant.credit_rating", "AA"), "applicant.credit_rating", None),
    ("extra top-level field", changed("valuation", {}), "valuation", None),
    ("paths out of range", changed("simulation", {"paths": 500}), "simulation.paths", None),
    ("launch_year missing when approved", changed("product.stage", "approved"), "product.launch_year",
     "required when stage is approved"),
    ("custom shares not summing to 1", changed("sharing", {"scheme": "custom", "shares": {"bank": 0.5, "fund": 0.3}}),
     "sharing.shares", "sum to 1"),
    ("shares with scheme none", changed("sharing", {"scheme": "none", "shares": {"bank": 1.0}}),
     "sharing.shares", "only when scheme is custom"),
    ("unknown loss-sharing party", changed("sharing", {"scheme": "custom", "shares": {"bank": 0.5, "govt": 0.5}}),
     "sharing.shares.govt", None),
    ("design patent with extension", changed("patents.0", {**P0, "kind": "design", "term_extension_years": 2}),
     "patents[0].term_extension_years", "invention patents only"),
    ("extension above 5 years", changed("patents.0.term_extension_years", 6), "patents[0].term_extension_years", None),
    ("as_of before filing", changed("as_of", "2019-01-01"), "patents", "patents[0].filing_date is after as_of"),
    ("as_of before grant", changed("as_of", "2021-01-01"), "patents", "patents[0].grant_date is after as_of"),
    ("duplicate patent ids", with_patents([P0, P0]), "patents", "must not repeat an id"),
    ("duplicate jurisdictions", changed("patents.0.jurisdictions", ["CN", "US", "CN"]),
     "patents[0].jurisdictions", "must not repeat"),
    ("bad jurisdiction code", changed("patents.0.jurisdictions", ["cn"]), "patents[0].jurisdictions[0]", None),
    ("loan term 0.1 years", changed("loan.term_years", 0.1), "loan.term_years", None),
    ("negative cash", changed("applicant.cash", -1.0), "applicant.cash", None),
    ("empty patents list", with_patents([]), "patents", None),
    ("51 patents", with_patents([{**P0, "id": f"CN{i:09d}B"} for i in range(51)]), "patents", None),
    ("date as integer", changed("as_of", 20261101), "as_of", "YYYY-MM-DD"),
    ("datetime string", changed("as_of", "2026-11-01T10:00:00"), "as_of", "YYYY-MM-DD"),
    ("datetime object", changed("patents.0.filing_date", dt.datetime(2019, 5, 10, 9, 0)),
     "patents[0].filing_date", "not a date-time"),
    ("total below independent claims", changed("patents.0.total_claims", 2), "patents[0].total_claims",
     "at least independent_claims"),
    ("p90 positive with p50 zero", changed("product.peak_sales", {"p10": 0, "p50": 0, "p90": 1e8}),
     "product.peak_sales.p90", "p50 is 0"),
    ("margin above 1", changed("product.profit_margin", 1.5), "product.profit_margin", None),
    ("missing applicant", changed("applicant", DELETE), "applicant", None),
    ("approved launch two years ahead", changed("product", {**VALID["product"], "stage": "approved",
                                                            "launch_year": 2028}), "product", "not be later"),
    ("scenario name with spaces", changed("scenario", "VBP cut"), "scenario", None),
    ("negative forward citations", changed("patents.0.forward_citations", -1), "patents[0].forward_citations", None),
]


def test_valid_base_request_is_accepted():
    PledgeRequest.model_validate(VALID)


def test_at_least_twenty_invalid_inputs():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name, data, field, fragment", CASES, ids=[c[0] for c in CASES])
def test_invalid_input_names_the_field(name, data, field, fragment):
    with pytest.raises(ValidationError) as info:
        PledgeRequest.model_validate(data)
    rows = field_errors(info.value)
    fields = [r["field"] for r in rows]
    hits = [f for f in fields if f == field]
    assert hits, f"{name}: expected an error on {field!r}, got {rows}"
    if fragment:
        msgs = [r["message"] for r in rows if r["field"] in hits]
        assert any(fragment in m for m in msgs), f"{name}: expected {fragment!r} in the message, got {msgs}"
    line = one_line(info.value)
    assert "\n" not in line and line.startswith(fields[0]), f"{name}: one-line summary {line!r}"


@pytest.mark.parametrize("quantiles,fragment", [
    ({"p10": 5e-324, "p50": 4.0e8, "p90": 1.2e9}, "p10 must be 0 or at least p50 / 1,000"),
    ({"p10": 1.0e8, "p50": 4.0e8, "p90": 4.1e11}, "p90 must be at most 1,000 x p50"),
])
def test_a_peak_sales_spread_wider_than_three_orders_of_magnitude_is_refused(quantiles, fragment):
    """A subnormal p10 gave a lognormal sigma of ~300 and overflowed the simulation (a 500 schemathesis found)."""
    with pytest.raises(ValidationError) as e:
        PledgeRequest.model_validate(changed("product.peak_sales", quantiles))
    assert fragment in one_line(e.value), one_line(e.value)


def test_the_spread_bounds_admit_their_edges_and_a_fat_lower_tail():
    for q in ({"p10": 4.0e5, "p50": 4.0e8, "p90": 4.0e11}, {"p10": 0.0, "p50": 4.0e8, "p90": 1.2e9}):
        PledgeRequest.model_validate(changed("product.peak_sales", q))


def test_a_whole_json_number_is_an_integer_and_a_fraction_is_not():
    """104.0 is the integer 104 in JSON (JSON Schema's integer): accepted; 104.5, true and "104" refused."""
    req = PledgeRequest.model_validate(changed("patents.0.total_claims", 104.0))
    assert req.patents[0].total_claims == 104 and type(req.patents[0].total_claims) is int
    for bad in (104.5, True, "104"):
        with pytest.raises(ValidationError) as e:
            PledgeRequest.model_validate(changed("patents.0.total_claims", bad))
        assert "patents[0].total_claims" in one_line(e.value), (bad, one_line(e.value))
