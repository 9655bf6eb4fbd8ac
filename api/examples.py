"""Small, valid pledge requests for the docs, the OpenAPI examples, the curl hint and the load benchmark.

``example_request``: a Phase II oncology antibody start-up pledging one granted compound patent (the
second bundled case, condensed); it is declined, which makes it a good test of the reasons.
``approval_request``: a marketed anaesthetic injectable with two granted patents, condensed from
``scenarios/cases/anaesthetic_injectable.yaml``; it is approved. It is the first example a reader meets
(what ``make run`` prints, the README's walk-through).
"""
from __future__ import annotations

import copy

_EXAMPLE = {
    "as_of": "2026-11-01",
    "applicant": {"name": "Example Bio Ltd", "cash": 8.0e7, "annual_burn": 5.0e7, "annual_revenue": 0.0},
    "patents": [
        {
            "id": "CN113456789B",
            "kind": "invention",
            "status": "granted",
            "filing_date": "2019-05-10",
            "grant_date": "2022-03-01",
            "jurisdictions": ["CN", "US", "EP"],
            "independent_claims": 3,
            "total_claims": 20,
            "forward_citations": 4,
            "claim_type": "compound",
        }
    ],
    "product": {
        "name": "XYZ-101",
        "therapeutic_area": "oncology",
        "modality": "biologic",
        "stage": "phase2",
        "peak_sales": {"p10": 2.0e8, "p50": 6.0e8, "p90": 1.5e9},
        "years_to_peak": 5,
        "profit_margin": 0.30,
        "competitors": 3,
        "vbp_exposure": "medium",
    },
    "loan": {"amount": 2.0e7, "term_years": 3, "rate": 0.05, "repayment": "bullet"},
    "sharing": {"scheme": "guangzhou_5311"},
    "simulation": {"paths": 10000, "seed": 7},
}


_APPROVAL = {
    "as_of": "2026-11-01",
    "applicant": {"name": "Lingnan Anaesthesia Ltd", "cash": 8.0e7, "annual_burn": 6.0e7, "annual_revenue": 1.6e8},
    "patents": [
        {
            "id": "CN105123456B",
            "kind": "invention",
            "status": "granted",
            "filing_date": "2015-03-12",
            "grant_date": "2018-06-15",
            "jurisdictions": ["CN", "EP"],
            "independent_claims": 2,
            "total_claims": 14,
            "forward_citations": 6,
            "claim_type": "formulation",
            "invalidation": "upheld",
        }
    ],
    "product": {
        "name": "Propofol emulsion 20 ml",
        "therapeutic_area": "other",
        "modality": "small_molecule",
        "stage": "approved",
        "launch_year": 2020,
        "peak_sales": {"p10": 9.0e7, "p50": 1.5e8, "p90": 2.2e8},
        "years_to_peak": 0,
        "profit_margin": 0.30,
        "competitors": 6,
        "vbp_exposure": "high",
        "nrdl_listed": True,
    },
    "loan": {"amount": 1.5e7, "term_years": 2, "rate": 0.045, "repayment": "amortizing"},
    "sharing": {"scheme": "guangzhou_5311"},
    "policy": {"max_ltv": 0.30},
    "simulation": {"paths": 10000, "seed": 7},
}


def _fresh(template: dict, paths: int | None) -> dict:
    req = copy.deepcopy(template)
    if paths is not None:
        req["simulation"]["paths"] = int(paths)
    return req


def approval_request(paths: int | None = None) -> dict:
    """A fresh copy of the approved example (optionally with another ``simulation.paths``)."""
    return _fresh(_APPROVAL, paths)


def example_request(paths: int | None = None) -> dict:
    """A fresh copy of the example request (optionally with another ``simulation.paths``)."""
    return _fresh(_EXAMPLE, paths)
