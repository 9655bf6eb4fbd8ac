"""Run-time access to the fitted pipeline-success posterior (DESIGN §7).

Light on purpose: numpy + netCDF4 only, no PyMC/PyTensor/ArviZ, so loading the shipped posterior at
start-up compiles nothing. The file is written by :mod:`risk.pipeline_model` (``ipledge model fit``).

Probability of success of a transition for (area, modality), posterior draw d:
``p = invlogit(logit_p_area[d, area, k] + modality_effect[d, modality, k])`` for the four clinical
transitions (hierarchical binomial on BIO/QLS/Informa 2011-2020 counts) and ``p_preclinical[d]`` for
preclinical→phase1 (Beta prior around Paul et al. 2010, same for every area and modality).
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

TRANSITIONS: tuple[str, ...] = (
    "preclinical_to_phase1",
    "phase1_to_phase2",
    "phase2_to_phase3",
    "phase3_to_filing",
    "filing_to_approval",
)
CLINICAL_TRANSITIONS: tuple[str, ...] = TRANSITIONS[1:]
STAGES: tuple[str, ...] = ("preclinical", "phase1", "phase2", "phase3", "filed", "approved")
# Stages for which a probability of approval is reported (approved is certain).
REPORTED_STAGES: tuple[str, ...] = STAGES[:-1]

AREAS: tuple[str, ...] = (
    "hematology", "metabolic", "infectious_disease", "ophthalmology", "autoimmune", "allergy",
    "gastroenterology", "respiratory", "psychiatry", "endocrine", "neurology", "oncology",
    "cardiovascular", "urology", "other",
)
# Request areas without their own data row: pipeline risk of the "Others" row.
AREA_ALIASES: dict[str, str] = {"tcm": "other", "device": "other"}
MODALITIES: tuple[str, ...] = ("small_molecule", "biologic", "vaccine", "cell_gene")
# Request modalities without a modelled effect: the all-modality (area) probability is used.
UNMODELLED_MODALITIES: tuple[str, ...] = ("tcm", "device")

DEFAULT_POSTERIOR = "pipeline_posterior.nc"
ENV_POSTERIOR = "IPLEDGE_POSTERIOR"


def remaining_transitions(stage: str) -> tuple[str, ...]:
    """Transitions still ahead of a programme in ``stage`` (preclinical→5 … approved→0)."""
    try:
        i = STAGES.index(stage)
    except ValueError:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}") from None
    return TRANSITIONS[i:]


def canonical_area(area: str) -> str:
    """Request therapeutic_area → modelled area (tcm/device → other)."""
    a = AREA_ALIASES.get(area, area)
    if a not in AREAS:
        raise ValueError(f"unknown therapeutic_area {area!r}; expected one of {AREAS + tuple(AREA_ALIASES)}")
    return a


def hdi(x: np.ndarray, prob: float = 0.90) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the draws (Hyndman 1996; as arviz.hdi for unimodal draws)."""
    s = np.sort(np.asarray(x, dtype=float).ravel())
    n = s.size
    k = int(np.floor(prob * n))
    if n == 0:
        return (float("nan"), float("nan"))
    if k >= n:
        return (float(s[0]), float(s[-1]))
    widths = s[k:] - s[: n - k]
    i = int(np.argmin(widths))
    return (float(s[i]), float(s[i + k]))


def _decode(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _strings(var) -> list[str]:
    raw = var[:]
    if raw.dtype.kind == "S" and raw.ndim == 2:  # char array written as (n, strlen)
        import netCDF4

        raw = netCDF4.chartostring(raw)
    return [r.decode() if isinstance(r, bytes) else str(r) for r in np.asarray(raw).ravel()]


def _draws(var) -> np.ndarray:
    """(chain, draw, ...) → (chain*draw, ...) as float64."""
    a = np.asarray(var[:], dtype=np.float64)
    return a.reshape((-1,) + a.shape[2:])


class PipelinePosterior:
    """Thinned posterior draws of phase-transition success probabilities, as numpy arrays."""

    def __init__(
        self,
        logit_p_area: np.ndarray,
        modality_effect: np.ndarray,
        p_preclinical: np.ndarray,
        areas: list[str],
        modalities: list[str],
        attrs: dict,
        ppc_cells: list[dict] | None = None,
        path: str | None = None,
    ):
        self.logit_p_area = logit_p_area  # (draw, area, clinical transition)
        self.modality_effect = modality_effect  # (draw, modality, clinical transition)
        self.p_preclinical = p_preclinical  # (draw,)
        self.areas = list(areas)
        self.modalities = list(modalities)
        self.attrs = attrs
        self.model_version: str = str(attrs.get("model_version", "unknown"))
        self.ppc_cells = ppc_cells or []
        self.path = path
        self.n_draws = int(p_preclinical.shape[0])
        self._area_index = {a: i for i, a in enumerate(self.areas)}
        self._modality_index = {m: i for i, m in enumerate(self.modalities)}

    # -- lookups -------------------------------------------------------------------------------
    def _area(self, area: str) -> int:
        return self._area_index[canonical_area(area)]

    def _modality(self, modality: str | None) -> int | None:
        if modality is None or modality in UNMODELLED_MODALITIES:
            return None
        if modality not in self._modality_index:
            raise ValueError(
                f"unknown modality {modality!r}; expected one of {tuple(self.modalities) + UNMODELLED_MODALITIES}"
            )
        return self._modality_index[modality]

    def _all_draws(self, area: str, modality: str | None, stage: str) -> np.ndarray:
        """(n_draws, len(remaining)) success probabilities for every posterior draw."""
        remaining = remaining_transitions(stage)
        logit = self.logit_p_area[:, self._area(area), :]
        m = self._modality(modality)
        if m is not None:
            logit = logit + self.modality_effect[:, m, :]
        clinical = 1.0 / (1.0 + np.exp(-logit))
        full = np.concatenate([self.p_preclinical[:, None], clinical], axis=1)
        return full[:, len(TRANSITIONS) - len(remaining):]

    # -- simulator interface -------------------------------------------------------------------
    def sample(self, area: str, modality: str | None, stage: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, len(remaining_transitions(stage))) success probabilities; one posterior draw per row."""
        draws = self._all_draws(area, modality, stage)
        idx = rng.integers(0, self.n_draws, size=int(n))
        return draws[idx]

    def p_approval(self, area: str, modality: str | None, stage: str) -> dict:
        """Probability of approval from ``stage``: product of remaining transition probabilities."""
        loa = np.prod(self._all_draws(area, modality, stage), axis=1)
        lo, hi = hdi(loa, 0.90)
        return {"mean": float(loa.mean()), "hdi_90": [lo, hi]}

    def transition_means(self, area: str, modality: str | None, stage: str) -> dict[str, float]:
        draws = self._all_draws(area, modality, stage)
        return {t: float(draws[:, i].mean()) for i, t in enumerate(remaining_transitions(stage))}

    # -- reporting -----------------------------------------------------------------------------
    def show(self) -> dict:
        """The ``ipledge model show --json`` document."""
        rows = []
        for modality in [None, *self.modalities]:
            for area in self.areas:
                for stage in REPORTED_STAGES:
                    rows.append(
                        {"therapeutic_area": area, "modality": modality, "stage": stage,
                         **self.p_approval(area, modality, stage)}
                    )
        diag = self.attrs.get("diagnostics", {}) or {}
        return {
            "model_version": self.model_version,
            "diagnostics": {
                "r_hat_max": float(diag.get("r_hat_max", float("nan"))),
                "ess_bulk_min": float(diag.get("ess_bulk_min", float("nan"))),
            },
            "p_approval": rows,
            "ppc": self.attrs.get("ppc", {}),
            "sources": self.attrs.get("sources", []),
        }


def read_posterior(path: str | os.PathLike) -> PipelinePosterior:
    """Read a posterior file written by ``PipelineModel.save`` (no caching)."""
    import netCDF4

    path = str(path)
    with netCDF4.Dataset(path, "r") as ds:
        attrs = {k: _decode(ds.getncattr(k)) for k in ds.ncattrs()}
        post = ds.groups["posterior"]
        areas = _strings(post.variables["area"])
        modalities = _strings(post.variables["modality"])
        order = _strings(post.variables["clinical_transition"])
        if tuple(order) != CLINICAL_TRANSITIONS:
            raise ValueError(f"{path}: transitions {order} do not match {CLINICAL_TRANSITIONS}")
        logit_p_area = _draws(post.variables["logit_p_area"])
        modality_effect = _draws(post.variables["modality_effect"])
        p_pre = _draws(post.variables["p_preclinical"])
        cells = []
        if "ppc" in ds.groups:
            g = ds.groups["ppc"]
            cols = {name: (_strings(v) if v.dtype == str or np.dtype(v.dtype).kind in "SUO" else np.asarray(v[:]))
                    for name, v in g.variables.items()}
            n = len(next(iter(cols.values()))) if cols else 0
            for i in range(n):
                cells.append({k: (c[i] if isinstance(c, list) else c[i].item()) for k, c in cols.items()})
    return PipelinePosterior(logit_p_area, modality_effect, p_pre, areas, modalities, attrs, cells, path)


def shipped_posterior_path() -> Path:
    return Path(str(resources.files("risk") / "data" / DEFAULT_POSTERIOR))


@functools.lru_cache(maxsize=8)
def load_posterior(path: str | None = None) -> PipelinePosterior:
    """Cached posterior: ``path``, else $IPLEDGE_POSTERIOR, else the shipped risk/data file.

    Cached per argument: after changing $IPLEDGE_POSTERIOR call ``load_posterior.cache_clear()``."""
    if path is None:
        path = os.environ.get(ENV_POSTERIOR) or str(shipped_posterior_path())
    return read_posterior(path)
