"""A small, valid pledge request used by the docs, the OpenAPI examples, the curl hint and the load benchmark.

A Phase II oncology antibody start-up pledging one granted compound patent (DESIGN §10's second case).
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


def example_request(paths: int | None = None) -> dict:
    """A fresh copy of the example request (optionally with another ``simulation.paths``)."""
    req = copy.deepcopy(_EXAMPLE)
    if paths is not None:
        req["simulation"]["paths"] = int(paths)
    return req
