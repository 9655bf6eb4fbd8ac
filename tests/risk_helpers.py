"""Helpers for risk tests: a posterior with fixed transition probabilities, and case loading."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ipledge.risk.posterior import AREAS, MODALITIES, PipelinePosterior
from ipledge.valuation.cases import load_case

CASES = Path(__file__).resolve().parent.parent / "scenarios" / "cases"


def fixed_posterior(p_clinical=(0.5, 0.3, 0.6, 0.9), p_preclinical=0.69, draws: int = 50) -> PipelinePosterior:
    """Every area and modality has the same, certain transition probabilities (no parameter spread)."""
    logit = np.log(np.asarray(p_clinical) / (1 - np.asarray(p_clinical)))
    lp = np.broadcast_to(logit, (draws, len(AREAS), 4)).copy()
    me = np.zeros((draws, len(MODALITIES), 4))
    return PipelinePosterior(lp, me, np.full(draws, p_preclinical), list(AREAS), list(MODALITIES),
                             {"model_version": "fixed-test"})


def case(name: str, **updates):
    """A bundled example case, with top-level sections updated (dicts merged one level deep)."""
    req = load_case(CASES / f"{name}.yaml")
    if not updates:
        return req
    data = req.model_dump(mode="json")
    for k, v in updates.items():
        data[k] = {**data[k], **v} if isinstance(v, dict) and isinstance(data.get(k), dict) else v
    return type(req).model_validate(data)
