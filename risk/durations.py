"""Phase durations for the simulator (DESIGN §7): lognormal whose MEAN is the cited mean, sigma 0.4.

Means: BIO/QLS/Informa 2011-2020 mean years per phase by area (risk/data/
phase_durations_by_area_2011_2020.csv), blank cells fall back to the ``ALL`` row; preclinical: Paul et
al. 2010 cycle time (risk/data/preclinical_prior_paul2010.csv). A lognormal with mean m and log-sd
sigma has median m·exp(-sigma²/2) (0.923 m at sigma 0.4): using the published mean as the median, as
sim-1 did, made the simulated mean 8% too long (issue 10). Light module: stdlib csv + numpy only.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import numpy as np

from ipledge.risk.posterior import STAGES, canonical_area, remaining_transitions

DURATION_SIGMA = 0.4
DURATIONS_FILE = "phase_durations_by_area_2011_2020.csv"
PRECLINICAL_FILE = "preclinical_prior_paul2010.csv"
# Data label → modelled area code (the request vocabulary).
DATA_AREA_LABELS = {"Others": "other", "Infectious disease": "infectious_disease"}
_COLUMNS = {"phase1": "phase1_years", "phase2": "phase2_years", "phase3": "phase3_years", "filed": "filing_years"}
DURATION_STAGES: tuple[str, ...] = STAGES[:-1]  # time spent in each stage before its transition


def area_code(label: str) -> str:
    """Data disease_area label → area code (``ALL`` stays ``ALL``)."""
    if label == "ALL":
        return "ALL"
    return DATA_AREA_LABELS.get(label, label.strip().lower().replace(" ", "_"))


def _data_path(name: str):
    return resources.files("ipledge.risk") / "data" / name


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, float | None]]:
    with _data_path(DURATIONS_FILE).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for r in rows:
        out[area_code(r["disease_area"])] = {
            stage: (float(r[col]) if r[col].strip() else None) for stage, col in _COLUMNS.items()
        }
    if "ALL" not in out:
        raise ValueError(f"{DURATIONS_FILE}: no ALL row to fall back on")
    return out


@functools.lru_cache(maxsize=1)
def preclinical_years() -> float:
    with _data_path(PRECLINICAL_FILE).open(newline="") as fh:
        rows = {r["quantity"]: r for r in csv.DictReader(fh)}
    return float(rows["preclinical_years"]["value"])


def phase_duration_means(area: str) -> dict[str, float]:
    """Published mean years spent in each stage (preclinical … filed) before its transition."""
    table = _table()
    # areas without a published row (e.g. neurology) use the ALL row throughout
    fallback = table["ALL"]
    row = table.get(canonical_area(area), fallback)
    out = {"preclinical": preclinical_years()}
    for stage in _COLUMNS:
        out[stage] = row[stage] if row[stage] is not None else fallback[stage]
    return out


def phase_duration_medians(area: str, sigma: float = DURATION_SIGMA) -> dict[str, float]:
    """Lognormal medians whose mean is the published mean: m·exp(-sigma²/2)."""
    shrink = float(np.exp(-0.5 * sigma * sigma))
    return {stage: m * shrink for stage, m in phase_duration_means(area).items()}


def sample_durations(area: str, stage: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, len(remaining_transitions(stage))) lognormal(log(median), 0.4) years per remaining stage."""
    k = len(remaining_transitions(stage))
    medians = phase_duration_medians(area)
    stages = DURATION_STAGES[len(DURATION_STAGES) - k:] if k else ()
    mu = np.log(np.array([medians[s] for s in stages], dtype=float))
    return np.exp(mu + DURATION_SIGMA * rng.standard_normal((int(n), k)))
