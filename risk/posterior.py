"""Run-time access to the fitted pipeline-success posterior (DESIGN §7).

Light on purpose: numpy + netCDF4 only, no PyMC/PyTensor/ArviZ, so loading the shipped posterior at
start-up compiles nothing. The file is written by :mod:`ipledge.risk.pipeline_model` (``ipledge model fit``).

Probability of success a *new* programme faces for (area, modality, region), posterior draw d:
``p = invlogit(logit_p_area[d, area, k] + modality_effect[d, modality, k] + drift_new[d, k]
(+ china_offset[d, group] when region is china))`` for the four clinical transitions (hierarchical
binomial on BIO/QLS/Informa 2011-2020 counts; ``drift_new`` is one more edition's drift, learned from
other editions' headline rates) and ``p_preclinical[d]`` for preclinical→phase1 (Beta prior around
Paul et al. 2010, same for every area and modality). ``predictive=False`` drops ``drift_new``: the
fitted edition's own probability (what its posterior predictive check uses).

Which file is served: an explicit path, else $IPLEDGE_POSTERIOR, else the file recorded by
``ipledge model use`` ($IPLEDGE_HOME/model_in_use.json, default ~/.ipledge), else the shipped one.
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
ENV_HOME = "IPLEDGE_HOME"
IN_USE_FILE = "model_in_use.json"

REGIONS: tuple[str, ...] = ("global", "china")
# Wang et al. 2022 groups (risk/data/china_wang2022.csv) and the modality whose offset each is relative to.
CHINA_GROUPS: tuple[str, ...] = ("overall", "chemical", "therapeutic_biologic", "preventive_biologic")
CHINA_GROUP_MODALITY: dict[str, str | None] = {
    "overall": None, "chemical": "small_molecule", "therapeutic_biologic": "biologic", "preventive_biologic": "vaccine",
}
# Request modality → China group. NMPA registers cell and gene therapies as therapeutic biologics.
REQUEST_CHINA_GROUP: dict[str | None, str] = {
    None: "overall", "small_molecule": "chemical", "biologic": "therapeutic_biologic",
    "cell_gene": "therapeutic_biologic", "vaccine": "preventive_biologic", "tcm": "overall", "device": "overall",
}
ALL_AREAS = "ALL"  #: n-weighted aggregate of the areas (weights: the fitted edition's transition counts)
INTERVAL_PROB = 0.90  #: width of every interval reported with a probability (p_approval, transitions)


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
        drift_new: np.ndarray | None = None,
        china_offset: np.ndarray | None = None,
        china_groups: list[str] | None = None,
        area_n: np.ndarray | None = None,
        drift_scale: np.ndarray | None = None,
        source: str = "argument",
    ):
        self.logit_p_area = logit_p_area  # (draw, area, clinical transition)
        self.modality_effect = modality_effect  # (draw, modality, clinical transition)
        self.p_preclinical = p_preclinical  # (draw,)
        self.n_draws = int(p_preclinical.shape[0])
        # (draw, clinical transition): a new edition's drift; zeros for a file without drift (v1)
        self.drift_new = drift_new if drift_new is not None else np.zeros((self.n_draws, logit_p_area.shape[2]))
        self.drift_scale = drift_scale
        self.china_offset = china_offset  # (draw, china group) or None
        self.china_groups = list(china_groups or [])
        self.areas = list(areas)
        self.modalities = list(modalities)
        # (area, clinical transition) counts: weights of the ALL aggregate (equal weights if absent)
        self.area_n = area_n if area_n is not None else np.ones(logit_p_area.shape[1:])
        self.attrs = attrs
        self.model_version: str = str(attrs.get("model_version", "unknown"))
        self.ppc_cells = ppc_cells or []
        self.path = path
        self.source = source
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

    def _region_offset(self, modality: str | None, region: str) -> np.ndarray | float:
        if region == "global":
            return 0.0
        if region != "china":
            raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")
        if self.china_offset is None:
            raise ValueError(f"posterior {self.model_version} has no China calibration; refit with `ipledge model fit`")
        self._modality(modality)  # validates
        return self.china_offset[:, self.china_groups.index(REQUEST_CHINA_GROUP[modality]), None]

    def clinical_draws(self, area: str, modality: str | None, region: str = "global",
                       predictive: bool = True) -> np.ndarray:
        """(n_draws, 4) clinical success probabilities; ``area`` may be ALL (n-weighted over areas)."""
        shift = self._region_offset(modality, region) + (self.drift_new if predictive else 0.0)
        m = self._modality(modality)
        if m is not None:
            shift = shift + self.modality_effect[:, m, :]
        if area == ALL_AREAS:
            shift = np.broadcast_to(shift, (self.n_draws, self.logit_p_area.shape[2]))
            p = 1.0 / (1.0 + np.exp(-(self.logit_p_area + shift[:, None, :])))
            w = self.area_n / self.area_n.sum(axis=0, keepdims=True)
            return np.einsum("dak,ak->dk", p, w)
        return 1.0 / (1.0 + np.exp(-(self.logit_p_area[:, self._area(area), :] + shift)))

    def _all_draws(self, area: str, modality: str | None, stage: str, region: str = "global",
                   predictive: bool = True) -> np.ndarray:
        """(n_draws, len(remaining)) success probabilities for every posterior draw."""
        remaining = remaining_transitions(stage)
        clinical = self.clinical_draws(area, modality, region, predictive)
        full = np.concatenate([self.p_preclinical[:, None], clinical], axis=1)
        return full[:, len(TRANSITIONS) - len(remaining):]

    # -- simulator interface -------------------------------------------------------------------
    def sample(self, area: str, modality: str | None, stage: str, n: int, rng: np.random.Generator,
               region: str = "global") -> np.ndarray:
        """(n, len(remaining_transitions(stage))) success probabilities a new programme faces (drift
        included, predictive); one posterior draw per row."""
        draws = self._all_draws(area, modality, stage, region)
        return draws[self.sample_rows(n, rng)]

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n,) index of the posterior draw of each row: the only random draw of :meth:`sample`."""
        return rng.integers(0, self.n_draws, size=int(n))

    def transition_table(self, area: str, modality: str | None, stage: str, region: str = "global",
                         scale: float = 1.0) -> np.ndarray:
        """(len(remaining_transitions(stage)), n_draws), read-only: the predictive success probabilities
        of :meth:`sample` × ``scale``, clipped to [0, 1], one row per transition (a transition of every
        path is then one contiguous gather). Cached per argument set: the simulator asks for the same
        table on every request."""
        key = (area, modality, stage, region, float(scale))
        cache = self.__dict__.setdefault("_transition_tables", {})
        table = cache.get(key)
        if table is None:
            table = np.ascontiguousarray(np.clip(self._all_draws(area, modality, stage, region) * scale, 0.0, 1.0).T)
            table.setflags(write=False)
            if len(cache) >= 256:     # areas × modalities × stages × regions × stress scales: bounded anyway
                cache.clear()
            cache[key] = table
        return table

    def p_approval(self, area: str, modality: str | None, stage: str, region: str = "global",
                   predictive: bool = True) -> dict:
        """Probability of approval from ``stage``: product of remaining transition probabilities."""
        loa = np.prod(self._all_draws(area, modality, stage, region, predictive), axis=1)
        lo, hi = hdi(loa, INTERVAL_PROB)
        return {"mean": float(loa.mean()), "hdi_90": [lo, hi]}

    def transition_means(self, area: str, modality: str | None, stage: str, region: str = "global",
                         predictive: bool = True) -> dict[str, float]:
        draws = self._all_draws(area, modality, stage, region, predictive)
        return {t: float(draws[:, i].mean()) for i, t in enumerate(remaining_transitions(stage))}

    # -- reporting -----------------------------------------------------------------------------
    def reference_check(self) -> list[dict]:
        """Published reference figures stored with the fit next to the predictive 90% interval of the
        same quantity (ALL areas; the China rows with region china). Not a held-out test: the drift
        scale and the China offset are fitted on most of these figures."""
        rows = []
        for f in self.attrs.get("reference_figures", []) or []:
            region = f.get("region", "global")
            if region == "china" and self.china_offset is None:
                continue
            area, modality = f.get("area", ALL_AREAS), f.get("modality")
            q = f["quantity"]
            draws = self.clinical_draws(area, modality, region)
            x = np.prod(draws, axis=1) if q == "loa_from_phase1" else draws[:, CLINICAL_TRANSITIONS.index(q)]
            lo, hi = hdi(x, INTERVAL_PROB)
            rows.append({**f, "mean": float(x.mean()), "interval_90": [lo, hi],
                         "inside": bool(lo <= f["rate"] <= hi)})
        return rows

    def show(self, region: str = "global") -> dict:
        """The ``ipledge model show --json`` document (intervals: predictive, drift included)."""
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")
        rows, trans = [], []
        for modality in [None, *self.modalities]:
            for area in [*self.areas, ALL_AREAS]:
                clinical = self.clinical_draws(area, modality, region)
                for i, t in enumerate(CLINICAL_TRANSITIONS):
                    lo, hi = hdi(clinical[:, i], INTERVAL_PROB)
                    trans.append({"therapeutic_area": area, "modality": modality, "transition": t,
                                  "mean": float(clinical[:, i].mean()), "interval_90": [lo, hi]})
                full = np.concatenate([self.p_preclinical[:, None], clinical], axis=1)
                for j, stage in enumerate(REPORTED_STAGES):
                    loa = np.prod(full[:, j:], axis=1)
                    lo, hi = hdi(loa, INTERVAL_PROB)
                    rows.append({"therapeutic_area": area, "modality": modality, "stage": stage,
                                 "mean": float(loa.mean()), "hdi_90": [lo, hi]})
        diag = self.attrs.get("diagnostics", {}) or {}
        check = self.reference_check()
        ds = self.drift_scale
        return {
            "model_version": self.model_version,
            "region": region,
            "served": {"path": self.path, "model_version": self.model_version, "source": self.source},
            "interval": "predictive: a new programme's probability, between-edition drift included"
                        + (", China offset (Wang et al. 2022)" if region == "china" else ""),
            "diagnostics": {
                "r_hat_max": float(diag.get("r_hat_max", float("nan"))),
                "ess_bulk_min": float(diag.get("ess_bulk_min", float("nan"))),
                "divergences": diag.get("divergences"),
            },
            "drift_scale": ({"mean": float(ds.mean()), "interval_90": list(hdi(ds, INTERVAL_PROB))}
                            if ds is not None else None),
            "p_approval": rows,
            "transitions": trans,
            "reference_check": {"inside": int(sum(r["inside"] for r in check)), "figures": len(check), "rows": check,
                                "note": "in-sample: the drift scale and China offset are fitted on most of these"},
            "ppc": self.attrs.get("ppc", {}),
            "sources": self.attrs.get("sources", []),
        }


def read_posterior(path: str | os.PathLike, source: str = "argument") -> PipelinePosterior:
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
        drift = _draws(post.variables["drift_new"]) if "drift_new" in post.variables else None
        drift_scale = _draws(post.variables["drift_scale"]) if "drift_scale" in post.variables else None
        china, groups = None, None
        if "china_offset" in post.variables:
            china, groups = _draws(post.variables["china_offset"]), _strings(post.variables["china_group"])
        area_n = None
        if "constant_data" in ds.groups and "area_n" in ds.groups["constant_data"].variables:
            area_n = np.asarray(ds.groups["constant_data"].variables["area_n"][:], dtype=np.float64)
        cells = attrs.pop("ppc_cells", None)
        if not isinstance(cells, list):
            cells = []
    return PipelinePosterior(logit_p_area, modality_effect, p_pre, areas, modalities, attrs, cells, path,
                             drift_new=drift, china_offset=china, china_groups=groups, area_n=area_n,
                             drift_scale=drift_scale, source=source)


def shipped_posterior_path() -> Path:
    return Path(str(resources.files("ipledge.risk") / "data" / DEFAULT_POSTERIOR))


def ipledge_home() -> Path:
    return Path(os.environ.get(ENV_HOME) or "~/.ipledge").expanduser()


def in_use_path() -> Path:
    """Where ``ipledge model use`` records the posterior to serve."""
    return ipledge_home() / IN_USE_FILE


def served_posterior_path() -> tuple[str, str]:
    """(path, source) of the posterior the CLI and the server load when given no path."""
    env = os.environ.get(ENV_POSTERIOR)
    if env:
        return env, f"${ENV_POSTERIOR}"
    use = in_use_path()
    if use.exists():
        try:
            recorded = json.loads(use.read_text())["path"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{use}: unreadable model-in-use record ({exc}); run `ipledge model use --shipped`") from None
        return str(recorded), f"ipledge model use ({use})"
    return str(shipped_posterior_path()), "shipped"


@functools.lru_cache(maxsize=8)
def _load(path: str, source: str) -> PipelinePosterior:
    return read_posterior(path, source=source)


def load_posterior(path: str | None = None) -> PipelinePosterior:
    """Cached posterior: ``path``, else $IPLEDGE_POSTERIOR, else the `model use` file, else the shipped one."""
    if path is not None:
        return _load(str(path), "argument")
    return _load(*served_posterior_path())


# callers clear and inspect the cache through load_posterior, as when it was the cached function itself
load_posterior.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
load_posterior.cache_info = _load.cache_info  # type: ignore[attr-defined]
