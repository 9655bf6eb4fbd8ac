"""Bayesian pipeline-success model (DESIGN §7, issue 3), fitted offline by ``ipledge model fit``.

Hierarchical binomial on the BIO/QLS/Informa 2011-2020 phase-transition counts (risk/data/):

* areas a, clinical transitions k (phase1→2, 2→3, 3→filing, filing→approval)::

      successes[a, k] ~ Binomial(n[a, k], p[a, k])
      logit p[a, k]   = mu[k] + sigma[k] * z[a, k],   z ~ N(0, 1)   (non-centred, Papaspiliopoulos
                                                                    et al. 2007; partial pooling)
  The ``ALL`` row is the sum of the areas and is *not* fitted as one more area.

* modality offset: the modality table counts the *same* programmes as the area table, crossed the
  other way. Fitting both against shared parameters would count every programme twice, so the
  modality counts inform only an offset relative to the ``ALL`` row, through parameters of their own::

      successes_ALL[k]  ~ Binomial(n_ALL[k],  invlogit(reference[k]))
      successes[m, k]   ~ Binomial(n[m, k],   invlogit(reference[k] + delta[m, k]))

  ``mu``, ``sigma`` and ``z`` never see the modality counts; ``reference`` never enters a request.
  A request's modality effect is added on the logit scale (no area × modality interaction):
  ``logit p = mu[k] + modality_effect[g, k] + sigma[k] z[a, k]``, where ``modality_effect[g, k]`` is
  the n-weighted mean of ``delta`` over the data modalities of request group g:
  small_molecule = Small molecule; biologic = mAb, Protein, ADC, Peptide (peptides are made
  synthetically but sit with the protein-like biologics in the source figure's grouping and have
  similar rates); vaccine = Vaccine; cell_gene = CAR-T, Gene therapy. siRNA/RNAi and Antisense
  (oligonucleotides) are fitted (their deltas are in the file) but belong to no request group: their
  rates differ from small molecules and from each other (LOA 13.5% vs 5.2%), so pooling them into
  either request value would bias it. tcm and device get no offset (the all-modality probability).

* preclinical→phase1: ``p_preclinical ~ Beta(c * 0.69, c * 0.31)`` around Paul et al. 2010
  (risk/data/preclinical_prior_paul2010.csv), same for every area and modality; ``c`` (config
  ``preclinical_concentration``) is our choice because the source gives no count.

* evidence (``--evidence``): an institution's own counts per area and transition are extra binomial
  cells on the same ``p[a, k]`` (preclinical rows update ``p_preclinical``).

* shared area effect (issue 13; config ``area_effect``): ``+ area_sd * area_z[a]`` on every
  transition of area a, so an area that is above average in one phase may be above average in all
  (hematology is, in all four). Compared with the model without it by PSIS-LOO (``compare_area_effect``).

* between-edition drift (issue 13): other editions' headline rates of the whole industry
  (risk/data/edition_headline_rates.csv: Hay et al. 2014 for 2003-2011, Citeline 2014-2023, Paul et al.
  2010) are the fitted edition's ``ALL`` level plus a drift per edition and transition::

      logit rate[e, k] ~ N(reference[k] + eta[e, k], obs_sd),   eta[e, k] ~ N(0, drift_scale)
      logit LOA[e]     ~ N(logit prod_k invlogit(reference[k] + eta[e, k]), obs_sd)   (LOA-only editions)

  and a *new* programme faces the fitted edition's probability plus a new drift draw
  ``drift_new[k] = drift_scale * drift_z[k]`` (the posterior predictive of one more edition;
  Gelman et al., BDA3 §5.5). ``obs_sd`` covers rounding and the other editions' sampling error.

* China option (issue 13): ``china_offset[g]`` on the logit of every clinical transition, calibrated
  so the IND→approval probability ``prod_k invlogit(reference[k] + modality_effect[g, k] + china_offset[g])``
  reproduces Wang et al. 2022 (binomial on the published rates; group sizes assumed, see
  risk/data/china_wang2022.csv). Applied only when a request asks for ``pipeline.region = china``.

``pooling="none"`` replaces the area hierarchy by independent ``Beta(alpha, beta)`` priors (conjugate:
posterior mean (alpha + k) / (alpha + beta + n)); used by the tests and as a no-pooling baseline.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ipledge.risk.durations import area_code
from ipledge.risk.posterior import (
    AREA_ALIASES,
    AREAS,
    CHINA_GROUP_MODALITY,
    CHINA_GROUPS,
    CLINICAL_TRANSITIONS,
    MODALITIES,
    REQUEST_CHINA_GROUP,
    TRANSITIONS,
    shipped_posterior_path,
)

AREA_FILE = "phase_transitions_by_area_2011_2020.csv"
MODALITY_FILE = "phase_transitions_by_modality_2011_2020.csv"
PRECLINICAL_FILE = "preclinical_prior_paul2010.csv"
EDITION_FILE = "edition_headline_rates.csv"
CHINA_FILE = "china_wang2022.csv"
LOA = "loa_from_phase1"
# Data modality → request modality group (None: fitted, not a request value). See module docstring.
MODALITY_GROUPS: dict[str, str | None] = {
    "Small molecule": "small_molecule",
    "mAb": "biologic",
    "Protein": "biologic",
    "ADC": "biologic",
    "Peptide": "biologic",
    "Vaccine": "vaccine",
    "CAR-T": "cell_gene",
    "Gene therapy": "cell_gene",
    "siRNA/RNAi": None,
    "Antisense": None,
}
EVIDENCE_COLUMNS = ("therapeutic_area", "transition", "n", "successes")
FREE_VARS_PARTIAL = ("mu", "sigma", "z", "area_sd", "area_z", "reference", "delta", "p_preclinical",
                     "drift_scale", "edition_drift", "edition_loa_z", "drift_z", "china_offset")
FREE_VARS_NONE = ("p_area", "reference", "delta", "p_preclinical",
                  "drift_scale", "edition_drift", "edition_loa_z", "drift_z", "china_offset")
PPC_PROB = 0.94
# Quality bars of issue 3.
R_HAT_MAX = 1.01
ESS_BULK_MIN = 400.0
PPC_COVERAGE_MIN = 0.90


class EvidenceError(ValueError):
    """Invalid evidence CSV; the message names the problem in one line."""


def _data_file(name: str):
    return resources.files("ipledge.risk") / "data" / name


def _sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
@dataclass
class CountsData:
    """Counts the model is fitted on (one row per binomial cell)."""

    area: pd.DataFrame  # area, transition, n, successes
    all_: pd.DataFrame  # transition, n, successes (the ALL row)
    modality: pd.DataFrame  # data_modality, transition, n, successes
    evidence: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["area", "transition", "n", "successes"]))
    preclinical_mean: float = 0.69
    sources: list[str] = field(default_factory=list)
    # other editions' headline rates (fractions; transition may be LOA), drift observations
    editions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["edition", "transition", "rate"]))
    # China IND→approval calibration cells (Wang et al. 2022)
    china: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["group", "n", "successes"]))

    def canonical(self) -> dict:
        def rows(df, cols):
            return [[r[c] if isinstance(r[c], str) else int(r[c]) for c in cols] for _, r in df[list(cols)].iterrows()]

        out = {
            "area": rows(self.area, ["area", "transition", "n", "successes"]),
            "all": rows(self.all_, ["transition", "n", "successes"]),
            "modality": rows(self.modality, ["data_modality", "transition", "n", "successes"]),
            "evidence": rows(self.evidence, ["area", "transition", "n", "successes"]),
            "preclinical_mean": float(self.preclinical_mean),
        }
        if len(self.editions):
            out["editions"] = [[r.edition, r.transition, round(float(r.rate), 6)] for r in self.editions.itertuples()]
        if len(self.china):
            out["china"] = rows(self.china, ["group", "n", "successes"])
        return out

    @property
    def data_hash(self) -> str:
        return _sha256(self.canonical())


def load_data(evidence: pd.DataFrame | None = None) -> CountsData:
    """Cited counts from risk/data/ (+ optional evidence rows from :func:`read_evidence`)."""
    with _data_file(AREA_FILE).open(newline="") as fh:
        raw = pd.read_csv(fh)
    raw["area"] = raw["disease_area"].map(area_code)
    all_ = raw[raw["area"] == "ALL"][["transition", "n_transitions", "successes"]].rename(columns={"n_transitions": "n"})
    area = raw[raw["area"] != "ALL"][["area", "transition", "n_transitions", "successes"]].rename(columns={"n_transitions": "n"})
    if set(area["area"]) != set(AREAS):
        raise ValueError(f"{AREA_FILE}: areas {sorted(set(area['area']))} != {sorted(AREAS)}")
    # README: ALL is the sum of the areas. n adds up exactly; successes only up to rounding of rate x n.
    sums = area.groupby("transition")[["n", "successes"]].sum()
    for _, r in all_.iterrows():
        s = sums.loc[r["transition"]]
        if s["n"] != r["n"] or abs(s["successes"] - r["successes"]) > len(AREAS) / 2:
            raise ValueError(f"{AREA_FILE}: ALL row for {r['transition']} is not the sum of the areas")
    area = area.assign(
        _a=area["area"].map(AREAS.index), _k=area["transition"].map(CLINICAL_TRANSITIONS.index)
    ).sort_values(["_a", "_k"]).drop(columns=["_a", "_k"]).reset_index(drop=True)
    all_ = all_.assign(_k=all_["transition"].map(CLINICAL_TRANSITIONS.index)).sort_values("_k").drop(columns="_k")

    with _data_file(MODALITY_FILE).open(newline="") as fh:
        mraw = pd.read_csv(fh)
    unknown = set(mraw["modality"]) - set(MODALITY_GROUPS)
    if unknown:
        raise ValueError(f"{MODALITY_FILE}: unmapped modalities {sorted(unknown)}")
    modality = mraw[["modality", "transition", "n_transitions", "successes"]].rename(
        columns={"modality": "data_modality", "n_transitions": "n"}
    ).reset_index(drop=True)

    with _data_file(PRECLINICAL_FILE).open(newline="") as fh:
        pre = pd.read_csv(fh).set_index("quantity")
    sources = sorted(set(raw["source"]) | set(mraw["source"]) | {pre.loc["preclinical_to_phase1_success", "source"]})
    editions, china, more = load_editions(), load_china(), []
    with _data_file(EDITION_FILE).open(newline="") as fh:
        more += list(pd.read_csv(fh).query("role == 'drift'")["source"])
    with _data_file(CHINA_FILE).open(newline="") as fh:
        more += list(pd.read_csv(fh).query("role == 'calibrate'")["source"].iloc[:1])
    sources += [s for s in dict.fromkeys(more) if s not in sources]
    ev = evidence if evidence is not None else pd.DataFrame(columns=["area", "transition", "n", "successes"])
    if len(ev):
        sources.append("institution evidence (ipledge model fit --evidence)")
    return CountsData(
        area=area.reset_index(drop=True),
        all_=all_.reset_index(drop=True),
        modality=modality,
        evidence=ev.reset_index(drop=True),
        preclinical_mean=float(pre.loc["preclinical_to_phase1_success", "value"]),
        sources=sources,
        editions=editions,
        china=china,
    )


def load_editions(role: str = "drift") -> pd.DataFrame:
    """Other editions' headline rates (risk/data/edition_headline_rates.csv) with ``role``, as fractions."""
    with _data_file(EDITION_FILE).open(newline="") as fh:
        raw = pd.read_csv(fh)
    bad = set(raw["transition"]) - set(CLINICAL_TRANSITIONS) - {LOA}
    if bad:
        raise ValueError(f"{EDITION_FILE}: unknown transitions {sorted(bad)}")
    out = raw[raw["role"] == role].assign(rate=lambda d: d["rate_percent"] / 100.0)
    return out[["edition", "period", "transition", "rate", "source"]].reset_index(drop=True)


def load_china(role: str = "calibrate") -> pd.DataFrame:
    """Wang et al. 2022 China IND→approval rates; ``calibrate`` rows as binomial cells (n assumed)."""
    with _data_file(CHINA_FILE).open(newline="") as fh:
        raw = pd.read_csv(fh)
    rows = raw[raw["role"] == role].copy()
    rows["rate"] = rows["ind_to_approval_percent"] / 100.0
    if role != "calibrate":
        return rows[["group", "rate", "source"]].reset_index(drop=True)
    if set(rows["group"]) != set(CHINA_GROUPS):
        raise ValueError(f"{CHINA_FILE}: calibration groups {sorted(rows['group'])} != {sorted(CHINA_GROUPS)}")
    rows["n"] = rows["n_assumed"].astype(np.int64)
    rows["successes"] = np.rint(rows["rate"] * rows["n"]).astype(np.int64)
    rows = rows.set_index("group").loc[list(CHINA_GROUPS)].reset_index()
    return rows[["group", "n", "successes"]]


# Wang et al. 2022 therapeutic classes → our area (ATC A → metabolic, L → oncology, J → infectious).
CHINA_CHECK_AREAS = {"gi_metabolic": "metabolic", "antineoplastic_immunologic": "oncology",
                     "anti_infective": "infectious_disease"}


def reference_figures() -> list[dict]:
    """Published figures the predictive intervals are compared with (stored in the file; see
    ``PipelinePosterior.reference_check``): every edition row, the fitted edition's LOA per area, and
    Wang et al. 2022 (region china; groups by modality, classes by area)."""
    out = []
    with _data_file(EDITION_FILE).open(newline="") as fh:
        for r in pd.read_csv(fh).itertuples():
            out.append({"figure": f"{r.edition} {r.transition}", "role": r.role, "region": "global", "area": "ALL",
                        "modality": None, "quantity": r.transition, "rate": r.rate_percent / 100.0})
    with _data_file(AREA_FILE).open(newline="") as fh:
        raw = pd.read_csv(fh).drop_duplicates("disease_area")
    for r in raw.itertuples():
        a = area_code(r.disease_area)
        if a != "ALL":
            out.append({"figure": f"bio_2011_2020 {a} loa_from_phase1", "role": "fitted", "region": "global", "area": a,
                        "modality": None, "quantity": LOA, "rate": r.published_loa_from_phase1_percent / 100.0})
    inverse = {g: m for m, g in REQUEST_CHINA_GROUP.items() if m in (None, "small_molecule", "biologic", "vaccine")}
    with _data_file(CHINA_FILE).open(newline="") as fh:
        for r in pd.read_csv(fh).itertuples():
            area = CHINA_CHECK_AREAS.get(r.group, "ALL")
            out.append({"figure": f"wang_2022 {r.group} loa_from_phase1", "role": r.role, "region": "china",
                        "area": area, "modality": inverse.get(r.group) if area == "ALL" else None,
                        "quantity": LOA, "rate": r.ind_to_approval_percent / 100.0})
    return out


def read_evidence(path: str | os.PathLike) -> pd.DataFrame:
    """Evidence CSV (therapeutic_area, transition, n, successes) → validated frame; EvidenceError."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise EvidenceError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in EVIDENCE_COLUMNS if c not in df.columns]
    if missing:
        raise EvidenceError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(EVIDENCE_COLUMNS)}")
    if df.empty:
        raise EvidenceError(f"{path}: no evidence rows")
    out = []
    for i, r in df.iterrows():
        line = i + 2  # header is line 1
        area = r["therapeutic_area"].strip().lower()
        area = AREA_ALIASES.get(area, area)
        if area not in AREAS:
            raise EvidenceError(f"{path}:{line}: unknown therapeutic_area {r['therapeutic_area']!r}")
        transition = r["transition"].strip()
        if transition not in TRANSITIONS:
            raise EvidenceError(f"{path}:{line}: unknown transition {transition!r}; expected one of {', '.join(TRANSITIONS)}")
        try:
            n, k = int(r["n"].strip()), int(r["successes"].strip())
        except ValueError:
            raise EvidenceError(f"{path}:{line}: n and successes must be whole numbers (got {r['n']!r}, {r['successes']!r})") from None
        if n < 0 or k < 0:
            raise EvidenceError(f"{path}:{line}: negative count (n={n}, successes={k})")
        if k > n:
            raise EvidenceError(f"{path}:{line}: successes {k} > n {n}")
        out.append({"area": area, "transition": transition, "n": n, "successes": k})
    return pd.DataFrame(out, columns=["area", "transition", "n", "successes"])


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------
def _library_versions(sampler: str) -> dict[str, str]:
    import arviz
    import netCDF4
    import pymc
    import pytensor
    import xarray

    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pymc": pymc.__version__,
        "pytensor": pytensor.__version__,
        "arviz": arviz.__version__,
        "xarray": xarray.__version__,
        "netCDF4": netCDF4.__version__,
    }
    if sampler == "nutpie":
        import nutpie

        out["nutpie"] = nutpie.__version__
    return out


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def _group_weights(modality: pd.DataFrame) -> np.ndarray:
    """(request group, data modality, transition) weights: n share of each data modality in its group."""
    data_mods = list(dict.fromkeys(modality["data_modality"]))
    w = np.zeros((len(MODALITIES), len(data_mods), len(CLINICAL_TRANSITIONS)))
    for _, r in modality.iterrows():
        g = MODALITY_GROUPS[r["data_modality"]]
        if g is not None:
            w[MODALITIES.index(g), data_mods.index(r["data_modality"]), CLINICAL_TRANSITIONS.index(r["transition"])] = r["n"]
    tot = w.sum(axis=1, keepdims=True)
    return np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)


class PipelineModel:
    """Model builder in the style of pymc-marketing's ModelBuilder (configs, build, fit, save, load)."""

    _model_type = "ipledge-pipeline"
    version = "2"  # 2: area effect, between-edition drift, China offset, ArviZ InferenceData file

    def __init__(self, model_config: dict | None = None, sampler_config: dict | None = None):
        self.model_config = {**self.default_model_config, **(model_config or {})}
        self.sampler_config = {**self.default_sampler_config, **(sampler_config or {})}
        if self.model_config["pooling"] not in ("partial", "none"):
            raise ValueError(f"pooling must be 'partial' or 'none', got {self.model_config['pooling']!r}")
        self.model = None
        self.idata = None
        self.data: CountsData | None = None
        self.fit_seconds: float | None = None

    @property
    def default_model_config(self) -> dict:
        return {
            "pooling": "partial",
            # logit-scale baseline per transition: N(0, 1.5) is flat on the probability scale.
            "mu": {"mu": 0.0, "sigma": 1.5},
            # between-area spread (logit) per transition; published areas differ by ~0.3.
            "sigma": {"sigma": 1.0},
            # logit offset per data modality; 2 sd = odds x2.7.
            "modality_effect": {"sigma": 0.5},
            "reference": {"mu": 0.0, "sigma": 1.5},
            # Beta concentration around the Paul et al. 2010 preclinical rate (sd ~0.065).
            "preclinical_concentration": 50.0,
            "unpooled_prior": {"alpha": 1.0, "beta": 1.0},
            # shared effect of an area on all its transitions (issue 13); sd ~0.3 would be hematology's
            "area_effect": True,
            "area_sd": {"sigma": 0.5},
            # between-edition drift per transition (logit): scale ~ HalfNormal(0.5) (editions differ by
            # 0.05-0.5); obs_sd = rounding + other editions' binomial error (n in the thousands)
            "drift": {"sigma": 0.5, "obs_sd": 0.05},
            # China offset per Wang et al. group on every clinical transition's logit
            "china": {"sigma": 1.0},
        }

    @property
    def default_sampler_config(self) -> dict:
        return {
            "sampler": "nutpie",
            "draws": 2000,
            "tune": 1000,
            "chains": 4,
            "cores": 2,
            "target_accept": 0.9,
            "random_seed": 20210201,
            "thin_to": 2000,
        }

    # -- identity --------------------------------------------------------------------------------
    @property
    def config_hash(self) -> str:
        return _sha256({"model_type": self._model_type, "version": self.version, "config": self.model_config})

    @property
    def data_hash(self) -> str:
        if self.data is None:
            raise RuntimeError("no data: call build_model or fit first")
        return self.data.data_hash

    @property
    def model_version(self) -> str:
        h = hashlib.sha256((self.config_hash + self.data_hash).encode()).hexdigest()
        return f"pipeline-v{self.version}-{h[:8]}"

    # -- build -----------------------------------------------------------------------------------
    def build_model(self, data: CountsData | None = None):
        import pymc as pm
        import pytensor.tensor as pt

        self.data = data = data if data is not None else load_data()
        cfg = self.model_config
        data_mods = list(dict.fromkeys(data.modality["data_modality"]))
        clinical_ev = data.evidence[data.evidence["transition"] != TRANSITIONS[0]]
        pre_ev = data.evidence[data.evidence["transition"] == TRANSITIONS[0]]
        coords = {
            "area": list(AREAS),
            "clinical_transition": list(CLINICAL_TRANSITIONS),
            "data_modality": data_mods,
            "modality": list(MODALITIES),
            "area_cell": [f"{a}|{t}" for a, t in zip(data.area["area"], data.area["transition"])],
            "modality_cell": [f"{m}|{t}" for m, t in zip(data.modality["data_modality"], data.modality["transition"])],
        }
        a_idx = data.area["area"].map(AREAS.index).to_numpy()
        k_idx = data.area["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
        m_idx = data.modality["data_modality"].map(data_mods.index).to_numpy()
        mk_idx = data.modality["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()

        with pm.Model(coords=coords) as model:
            if cfg["pooling"] == "partial":
                mu = pm.Normal("mu", cfg["mu"]["mu"], cfg["mu"]["sigma"], dims="clinical_transition")
                sigma = pm.HalfNormal("sigma", cfg["sigma"]["sigma"], dims="clinical_transition")
                z = pm.Normal("z", 0.0, 1.0, dims=("area", "clinical_transition"))
                eta = mu + sigma * z
                if cfg["area_effect"]:
                    # one effect per area on all its transitions (non-centred, like z)
                    area_sd = pm.HalfNormal("area_sd", cfg["area_sd"]["sigma"])
                    area_z = pm.Normal("area_z", 0.0, 1.0, dims="area")
                    eta = eta + (area_sd * area_z)[:, None]
                logit_p_area = pm.Deterministic("logit_p_area", eta, dims=("area", "clinical_transition"))
            else:
                pr = cfg["unpooled_prior"]
                p_area = pm.Beta("p_area", pr["alpha"], pr["beta"], dims=("area", "clinical_transition"))
                logit_p_area = pm.Deterministic(
                    "logit_p_area", pt.log(p_area) - pt.log1p(-p_area), dims=("area", "clinical_transition")
                )
            pm.Binomial(
                "area_successes", n=data.area["n"].to_numpy(), logit_p=logit_p_area[a_idx, k_idx],
                observed=data.area["successes"].to_numpy(), dims="area_cell",
            )
            if len(clinical_ev):
                model.add_coord("evidence_cell", [f"{a}|{t}" for a, t in zip(clinical_ev["area"], clinical_ev["transition"])])
                pm.Binomial(
                    "evidence_successes", n=clinical_ev["n"].to_numpy(dtype=int),
                    logit_p=logit_p_area[clinical_ev["area"].map(AREAS.index).to_numpy(),
                                         clinical_ev["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()],
                    observed=clinical_ev["successes"].to_numpy(dtype=int), dims="evidence_cell",
                )

            reference = pm.Normal("reference", cfg["reference"]["mu"], cfg["reference"]["sigma"], dims="clinical_transition")
            pm.Binomial("all_successes", n=data.all_["n"].to_numpy(), logit_p=reference,
                        observed=data.all_["successes"].to_numpy(), dims="clinical_transition")
            delta = pm.Normal("delta", 0.0, cfg["modality_effect"]["sigma"], dims=("data_modality", "clinical_transition"))
            pm.Binomial(
                "modality_successes", n=data.modality["n"].to_numpy(), logit_p=reference[mk_idx] + delta[m_idx, mk_idx],
                observed=data.modality["successes"].to_numpy(), dims="modality_cell",
            )
            modality_effect = pm.Deterministic(
                "modality_effect", (pt.as_tensor(_group_weights(data.modality)) * delta[None, :, :]).sum(axis=1),
                dims=("modality", "clinical_transition"),
            )

            self._drift_terms(model, data, reference)
            self._china_terms(model, data, reference, modality_effect)

            c = float(cfg["preclinical_concentration"])
            p_pre = pm.Beta("p_preclinical", c * data.preclinical_mean, c * (1.0 - data.preclinical_mean))
            if len(pre_ev):
                pm.Binomial("preclinical_successes", n=int(pre_ev["n"].sum()), p=p_pre, observed=int(pre_ev["successes"].sum()))
        self.model = model
        return model

    def _drift_terms(self, model, data: CountsData, reference):
        """Between-edition drift: other editions' headline rates around ``reference`` (the fitted ALL row)."""
        import pymc as pm
        import pytensor.tensor as pt

        dcfg = self.model_config["drift"]
        obs_sd = float(dcfg["obs_sd"])
        drift_scale = pm.HalfNormal("drift_scale", float(dcfg["sigma"]))
        ed = data.editions
        phase = ed[ed["transition"] != LOA]
        loa = ed[ed["transition"] == LOA]
        if len(phase):
            names = list(dict.fromkeys(phase["edition"]))
            model.add_coord("edition", names)
            model.add_coord("edition_cell", [f"{e}|{t}" for e, t in zip(phase["edition"], phase["transition"])])
            # centred: each phase-level drift is pinned by its rate to ~obs_sd, far below drift_scale
            eta = pm.Normal("edition_drift", 0.0, drift_scale, dims=("edition", "clinical_transition"))
            e_i = phase["edition"].map(names.index).to_numpy()
            k_i = phase["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
            pm.Normal("edition_logit_rate", reference[k_i] + eta[e_i, k_i], obs_sd,
                      observed=_logit(phase["rate"].to_numpy(float)), dims="edition_cell")
        if len(loa):
            model.add_coord("edition_loa", list(loa["edition"]))
            # non-centred: one LOA leaves the four drifts of its edition mostly to the prior
            u = pm.Normal("edition_loa_z", 0.0, 1.0, dims=("edition_loa", "clinical_transition"))
            p = pm.math.sigmoid(reference[None, :] + drift_scale * u)
            loa_p = pt.prod(p, axis=1)
            pm.Normal("edition_logit_loa", pt.log(loa_p) - pt.log1p(-loa_p), obs_sd,
                      observed=_logit(loa["rate"].to_numpy(float)), dims="edition_loa")
        drift_z = pm.Normal("drift_z", 0.0, 1.0, dims="clinical_transition")
        pm.Deterministic("drift_new", drift_scale * drift_z, dims="clinical_transition")

    def _china_terms(self, model, data: CountsData, reference, modality_effect):
        """China offset per Wang et al. group, calibrated on IND→approval (product of the four transitions)."""
        import pymc as pm
        import pytensor.tensor as pt

        if not len(data.china):
            return
        groups = list(data.china["group"])
        model.add_coord("china_group", groups)
        offset = pm.Normal("china_offset", 0.0, float(self.model_config["china"]["sigma"]), dims="china_group")
        rows = []
        for g in groups:
            m = CHINA_GROUP_MODALITY[g]
            rows.append(modality_effect[MODALITIES.index(m)] if m is not None else pt.zeros(len(CLINICAL_TRANSITIONS)))
        logit = reference[None, :] + pt.stack(rows) + offset[:, None]
        pm.Binomial("china_successes", n=data.china["n"].to_numpy(), p=pt.prod(pm.math.sigmoid(logit), axis=1),
                    observed=data.china["successes"].to_numpy(), dims="china_group")

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, data: CountsData | None = None, progressbar: bool = False, **sampler_overrides):
        """Sample the posterior with the configured sampler (``nutpie`` or PyMC's ``pymc`` NUTS)."""
        import pymc as pm

        self.sampler_config.update(sampler_overrides)
        self.build_model(data if data is not None else self.data)
        sc = self.sampler_config
        kwargs = dict(
            model=self.model, draws=int(sc["draws"]), tune=int(sc["tune"]), chains=int(sc["chains"]),
            cores=int(sc["cores"]), target_accept=float(sc["target_accept"]), random_seed=int(sc["random_seed"]),
            progressbar=progressbar,
        )
        if sc["sampler"] == "nutpie":
            kwargs["nuts_sampler"] = "nutpie"
        elif sc["sampler"] != "pymc":
            raise ValueError(f"sampler must be 'nutpie' or 'pymc', got {sc['sampler']!r}")
        t0 = time.perf_counter()
        # pm.sample looked up at call time so pymc.testing.mock_sample can stand in for it.
        self.idata = pm.sample(**kwargs)
        self.fit_seconds = time.perf_counter() - t0
        return self.idata

    # -- checks ----------------------------------------------------------------------------------
    def free_vars(self) -> tuple[str, ...]:
        names = FREE_VARS_PARTIAL if self.model_config["pooling"] == "partial" else FREE_VARS_NONE
        if self.idata is not None:  # terms a config or data set leaves out (area effect, LOA-only editions)
            names = tuple(n for n in names if n in self.idata.posterior)
        return names

    def diagnostics(self) -> dict:
        """r_hat (rank-normalised, Vehtari et al. 2021), bulk/tail ESS over every free parameter."""
        import arviz as az

        if self.idata is None:
            raise RuntimeError("no posterior yet: call fit() or load() first")
        post = self.idata.posterior[list(self.free_vars())]
        with np.errstate(all="ignore"):
            rhat = az.rhat(post)
            ess_bulk = az.ess(post, method="bulk")
            ess_tail = az.ess(post, method="tail")

        def extreme(ds, fn):
            vals = np.concatenate([np.atleast_1d(ds[v].values).ravel() for v in ds.data_vars])
            return float(fn(vals)) if np.isfinite(vals).any() else float("nan")

        divergences = 0
        if "sample_stats" in self.idata and "diverging" in self.idata.sample_stats:
            divergences = int(self.idata.sample_stats["diverging"].sum())
        d = {
            "r_hat_max": extreme(rhat, np.nanmax),
            "ess_bulk_min": extreme(ess_bulk, np.nanmin),
            "ess_tail_min": extreme(ess_tail, np.nanmin),
            "divergences": divergences,
            "chains": int(post.sizes["chain"]),
            "draws_per_chain": int(post.sizes["draw"]),
        }
        d["converged"] = bool(d["r_hat_max"] <= R_HAT_MAX and d["ess_bulk_min"] >= ESS_BULK_MIN)
        return d

    # -- observed variables, their likelihood and replicates (numpy: no compilation) -------------
    def _observed(self, post) -> list[dict]:
        """One entry per observed variable of :meth:`build_model`: name, cell dim and labels, observed
        values, family (binomial n / normal sd) and its parameter per draw, shape (chain, draw, cell)."""
        d = self.data

        def inv(x):
            return 1.0 / (1.0 + np.exp(-x))

        def v(name):
            return post[name].values

        lp, ref, delta = v("logit_p_area"), v("reference"), v("delta")
        data_mods = list(post["data_modality"].values)
        out = []
        a_i = d.area["area"].map(AREAS.index).to_numpy()
        k_i = d.area["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
        out.append(dict(name="area_successes", dim="area_cell", block="area", label=list(d.area["area"]),
                        transition=list(d.area["transition"]), obs=d.area["successes"].to_numpy(np.int64),
                        n=d.area["n"].to_numpy(np.int64), p=inv(lp[..., a_i, k_i])))
        clin = d.evidence[d.evidence["transition"] != TRANSITIONS[0]]
        if len(clin):
            ai = clin["area"].map(AREAS.index).to_numpy()
            ki = clin["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
            out.append(dict(name="evidence_successes", dim="evidence_cell", block="evidence", label=list(clin["area"]),
                            transition=list(clin["transition"]), obs=clin["successes"].to_numpy(np.int64),
                            n=clin["n"].to_numpy(np.int64), p=inv(lp[..., ai, ki])))
        k_all = d.all_["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
        out.append(dict(name="all_successes", dim="clinical_transition", block="all", label=["ALL"] * len(k_all),
                        transition=list(d.all_["transition"]), obs=d.all_["successes"].to_numpy(np.int64),
                        n=d.all_["n"].to_numpy(np.int64), p=inv(ref[..., k_all])))
        mi = d.modality["data_modality"].map(data_mods.index).to_numpy()
        mk = d.modality["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
        out.append(dict(name="modality_successes", dim="modality_cell", block="modality",
                        label=list(d.modality["data_modality"]), transition=list(d.modality["transition"]),
                        obs=d.modality["successes"].to_numpy(np.int64), n=d.modality["n"].to_numpy(np.int64),
                        p=inv(ref[..., mk] + delta[..., mi, mk])))
        pre = d.evidence[d.evidence["transition"] == TRANSITIONS[0]]
        if len(pre):
            out.append(dict(name="preclinical_successes", dim=None, block="evidence", label=["preclinical"],
                            transition=[TRANSITIONS[0]], obs=np.array(int(pre["successes"].sum())),
                            n=np.array(int(pre["n"].sum())), p=v("p_preclinical")))
        obs_sd = float(self.model_config["drift"]["obs_sd"])
        ed = d.editions
        phase, loa = ed[ed["transition"] != LOA], ed[ed["transition"] == LOA]
        if len(phase):
            names = list(post["edition"].values)
            ei = phase["edition"].map(names.index).to_numpy()
            ki = phase["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
            out.append(dict(name="edition_logit_rate", dim="edition_cell", block="edition", label=list(phase["edition"]),
                            transition=list(phase["transition"]), obs=_logit(phase["rate"].to_numpy(float)),
                            sd=obs_sd, mean=ref[..., ki] + v("edition_drift")[..., ei, ki]))
        if len(loa):
            pl = np.prod(inv(ref[..., None, :] + v("drift_scale")[..., None, None] * v("edition_loa_z")), axis=-1)
            out.append(dict(name="edition_logit_loa", dim="edition_loa", block="edition", label=list(loa["edition"]),
                            transition=[LOA] * len(loa), obs=_logit(loa["rate"].to_numpy(float)), sd=obs_sd,
                            mean=_logit(pl)))
        if len(d.china):
            me = v("modality_effect")
            rows = [me[..., MODALITIES.index(CHINA_GROUP_MODALITY[g]), :] if CHINA_GROUP_MODALITY[g] else np.zeros_like(ref)
                    for g in d.china["group"]]
            logit = ref[..., None, :] + np.stack(rows, axis=-2) + v("china_offset")[..., :, None]
            out.append(dict(name="china_successes", dim="china_group", block="china", label=list(d.china["group"]),
                            transition=[LOA] * len(d.china), obs=d.china["successes"].to_numpy(np.int64),
                            n=d.china["n"].to_numpy(np.int64), p=np.prod(inv(logit), axis=-1)))
        return out

    @staticmethod
    def _loglik(o: dict) -> np.ndarray:
        from scipy import stats

        if "n" in o:
            return stats.binom.logpmf(o["obs"], o["n"], o["p"])
        return stats.norm.logpdf(o["obs"], o["mean"], o["sd"])

    @staticmethod
    def _replicate(o: dict, rng: np.random.Generator) -> np.ndarray:
        if "n" in o:
            return rng.binomial(np.broadcast_to(o["n"], o["p"].shape), o["p"])
        return rng.normal(o["mean"], o["sd"])

    def log_likelihood(self, post=None):
        """Pointwise log-likelihood per observed variable (the ArviZ ``log_likelihood`` group)."""
        import xarray as xr

        post = post if post is not None else self.idata.posterior
        return xr.Dataset({o["name"]: (("chain", "draw") + ((o["dim"],) if o["dim"] else ()), self._loglik(o))
                           for o in self._observed(post)}, coords={"chain": post["chain"], "draw": post["draw"]})

    def posterior_predictive_check(self, prob: float = PPC_PROB) -> tuple[pd.DataFrame, dict]:
        """Replicated counts y_rep ~ Binomial(n, p) per draw (Gelman et al., BDA3 ch. 6); share of the
        fitted edition's count cells (areas, ALL, modalities, evidence) whose observed successes fall
        inside the central ``prob`` interval of y_rep. Edition and China cells are reported apart."""
        rng = np.random.default_rng(int(self.sampler_config["random_seed"]))
        rows = []
        for o in self._observed(self.idata.posterior):
            if "n" not in o or o["block"] == "china":
                continue
            y_rep = self._replicate(o, rng).reshape((-1,) + np.shape(o["obs"]))
            lo, hi = np.quantile(y_rep, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
            for i, (lab, t) in enumerate(zip(o["label"], o["transition"])):
                ob, nn = np.atleast_1d(o["obs"])[i], np.atleast_1d(o["n"])[i]
                l, h = np.atleast_1d(lo)[i], np.atleast_1d(hi)[i]
                rows.append({"block": o["block"], "label": lab, "transition": t, "n": int(nn), "successes": int(ob),
                             "ppc_lo": int(l), "ppc_hi": int(h), "inside": int(l <= ob <= h)})
        cells = pd.DataFrame(rows)
        coverage = float(cells["inside"].mean())
        summary = {
            "interval": prob,
            "cells": int(len(cells)),
            "inside": int(cells["inside"].sum()),
            "coverage": coverage,
            "passed": bool(coverage >= PPC_COVERAGE_MIN),
            "outside": [f"{r.label} {r.transition}: {r.successes}/{r.n} not in [{r.ppc_lo}, {r.ppc_hi}]"
                        for r in cells.itertuples() if not r.inside],
        }
        return cells, summary

    # -- persistence -----------------------------------------------------------------------------
    def _thin_index(self) -> np.ndarray | None:
        draws = self.idata.posterior.sizes["draw"]
        per_chain = max(1, int(self.sampler_config["thin_to"]) // self.idata.posterior.sizes["chain"])
        if per_chain >= draws:
            return None
        return np.unique(np.linspace(0, draws - 1, per_chain).round().astype(int))

    def thinned_posterior(self):
        """Posterior thinned to ``thin_to`` draws in total, evenly spaced within each chain."""
        return self._thin(self.idata.posterior)

    def _thin(self, ds):
        idx = self._thin_index()
        if idx is None:
            return ds
        return ds.isel(draw=idx).assign_coords(draw=np.arange(len(idx)))

    def to_inference_data(self):
        """The shipped file's content: a standard ArviZ InferenceData (posterior, sample_stats,
        log_likelihood, posterior_predictive, observed_data, constant_data), thinned to ``thin_to``."""
        import arviz as az
        import xarray as xr

        post = self.thinned_posterior().copy()
        # nutpie also stores the unconstrained values (sigma_log__, ...); PyMC's own output has none.
        post = post[[v for v in post.data_vars if not v.endswith("__")]]
        # Keep only sampler attrs netcdf can store (e.g. sampling_time); drop anything else.
        post.attrs = {k: v for k, v in post.attrs.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        obs = self._observed(post)
        rng = np.random.default_rng(int(self.sampler_config["random_seed"]) + 1)

        def dims(o):
            return ((o["dim"],) if o["dim"] else ())

        def coords(o):
            return {o["dim"]: [f"{a}|{t}" if o["dim"] not in ("clinical_transition", "china_group", "edition_loa") else
                               (t if o["dim"] == "clinical_transition" else a)
                               for a, t in zip(o["label"], o["transition"])]} if o["dim"] else {}

        cc = {}
        for o in obs:
            cc.update(coords(o))
        observed = xr.Dataset({o["name"]: (dims(o), np.asarray(o["obs"])) for o in obs}, coords=cc)
        constant = xr.Dataset({f"{o['name']}_n": (dims(o), np.asarray(o["n"])) for o in obs if "n" in o}, coords=cc)
        # n of each area cell in its (area, transition) layout: the weights of the ALL aggregate
        n_at = np.zeros((len(AREAS), len(CLINICAL_TRANSITIONS)), dtype=np.int64)
        d = self.data
        n_at[d.area["area"].map(AREAS.index).to_numpy(), d.area["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()] = d.area["n"]
        constant["area_n"] = (("area", "clinical_transition"), n_at)
        constant = constant.assign_coords(area=list(AREAS), clinical_transition=list(CLINICAL_TRANSITIONS))
        pp = xr.Dataset({o["name"]: (("chain", "draw") + dims(o), self._replicate(o, rng).astype(
            np.int32 if "n" in o else np.float32)) for o in obs}, coords={**cc, "chain": post["chain"], "draw": post["draw"]})
        ll = self.log_likelihood(post).astype(np.float32).assign_coords(cc)
        groups = {"posterior": post, "log_likelihood": ll, "posterior_predictive": pp, "observed_data": observed,
                  "constant_data": constant}
        if "sample_stats" in self.idata:
            ss = self._thin(self.idata.sample_stats)
            keep = [v for v in ("diverging", "energy", "energy_error", "lp", "tree_depth", "n_steps", "step_size",
                                "acceptance_rate", "mean_tree_accept", "index_in_trajectory") if v in ss]
            ss = ss[keep].copy()
            ss.attrs = {}
            if "diverging" in ss:
                ss["diverging"] = ss["diverging"].astype(bool)
            groups["sample_stats"] = ss
        return az.InferenceData(**groups)

    def attributes(self, diagnostics: dict | None = None, ppc: dict | None = None) -> dict:
        sc = self.sampler_config
        return {
            "model_type": self._model_type,
            "model_version": self.model_version,
            "config_hash": self.config_hash,
            "data_hash": self.data_hash,
            "seed": int(sc["random_seed"]),
            "sampler": str(sc["sampler"]),
            "library_versions": _library_versions(str(sc["sampler"])),
            "model_config": self.model_config,
            "sampler_config": sc,
            "diagnostics": diagnostics if diagnostics is not None else self.diagnostics(),
            "ppc": ppc if ppc is not None else self.posterior_predictive_check()[1],
            "sources": self.data.sources,
            "preclinical_mean": float(self.data.preclinical_mean),
            "data": self.data.canonical(),
            "reference_figures": reference_figures(),
            "fit_seconds": float(self.fit_seconds) if self.fit_seconds is not None else float("nan"),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, path: str | os.PathLike, overwrite: bool = False, allow_shipped: bool = False) -> Path:
        """Write the thinned InferenceData with the attributes to netcdf (atomically)."""
        if self.idata is None:
            raise RuntimeError("nothing to save: call fit first")
        path = Path(path).expanduser().resolve()
        if path == shipped_posterior_path().resolve() and not allow_shipped:
            raise FileExistsError(f"{path} is the shipped default posterior; refusing to overwrite it")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; refusing to overwrite it")
        cells, ppc = self.posterior_predictive_check()
        attrs = {k: (json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
                 for k, v in self.attributes(ppc=ppc).items()}
        attrs["ppc_cells"] = json.dumps(cells.to_dict("records"))
        idata = self.to_inference_data()
        idata.attrs = attrs
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".nc", dir=path.parent)
        os.close(fd)
        try:
            idata.to_netcdf(tmp, engine="netcdf4")
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600; the file is meant to be shared
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PipelineModel":
        """Model (configs, data, thinned InferenceData) from a file written by save."""
        import arviz as az

        path = str(path)
        idata = az.from_netcdf(path, engine="netcdf4")
        attrs = {k: v for k, v in idata.attrs.items()}
        if attrs.get("model_type") != cls._model_type:
            raise ValueError(f"{path}: not an {cls._model_type} posterior (model_type={attrs.get('model_type')!r})")
        if "data" not in attrs:
            raise ValueError(f"{path}: written by an older model version ({attrs.get('model_version')}); refit it")
        self = cls(json.loads(attrs["model_config"]), json.loads(attrs["sampler_config"]))
        raw = json.loads(attrs["data"])

        def frame(rows, cols):
            df = pd.DataFrame(rows, columns=cols)
            for c in ("n", "successes"):
                if c in df:
                    df[c] = df[c].astype(np.int64)
            return df

        self.data = CountsData(
            area=frame(raw["area"], ["area", "transition", "n", "successes"]),
            all_=frame(raw["all"], ["transition", "n", "successes"]),
            modality=frame(raw["modality"], ["data_modality", "transition", "n", "successes"]),
            evidence=frame(raw["evidence"], ["area", "transition", "n", "successes"]),
            preclinical_mean=float(raw["preclinical_mean"]),
            sources=json.loads(attrs["sources"]),
            editions=frame(raw.get("editions", []), ["edition", "transition", "rate"]),
            china=frame(raw.get("china", []), ["group", "n", "successes"]),
        )
        self.idata = idata
        self.fit_seconds = float(attrs.get("fit_seconds", float("nan")))
        if self.model_version != attrs["model_version"]:
            raise ValueError(f"{path}: stored model_version {attrs['model_version']} != recomputed {self.model_version}")
        return self

# ---------------------------------------------------------------------------------------------
# methodology tables (issue 13): python -m ipledge.risk.pipeline_model tables [PATH]
# ---------------------------------------------------------------------------------------------
def report_tables(path: str | os.PathLike | None = None) -> str:
    """Markdown tables of docs/methodology.md §13 from a posterior file (ArviZ's hdi; the serving
    path's numpy hdi gives the same bounds): the fitted edition's check per area, the predictive
    intervals against every reference figure stored with the fit."""
    import arviz as az

    from ipledge.risk.posterior import ALL_AREAS, read_posterior

    post = read_posterior(path or shipped_posterior_path())

    def iv(x):
        lo, hi = az.hdi(np.asarray(x), hdi_prob=0.90)
        return f"{x.mean():.1%} [{lo:.1%}, {hi:.1%}]"

    with _data_file(AREA_FILE).open(newline="") as fh:
        pub = pd.read_csv(fh).drop_duplicates("disease_area")
    pub["area"] = pub["disease_area"].map(area_code)
    out = ["| area | published LOA from phase I | fitted edition, posterior [90% HDI] | new programme, predictive [90% HDI] |",
           "|---|---|---|---|"]
    for a in [*AREAS, ALL_AREAS]:
        fitted = np.prod(post.clinical_draws(a, None, predictive=False), axis=1)
        pred = np.prod(post.clinical_draws(a, None), axis=1)
        want = pub.loc[pub["area"] == a, "published_loa_from_phase1_percent"].iloc[0]
        out.append(f"| {a} | {want:.1f}% | {iv(fitted)} | {iv(pred)} |")
    out += ["", "| figure | role | published | predictive [90% HDI] | inside |", "|---|---|---|---|---|"]
    for r in post.reference_check():
        draws = post.clinical_draws(r["area"], r["modality"], r["region"])
        q = r["quantity"]
        x = np.prod(draws, axis=1) if q == LOA else draws[:, CLINICAL_TRANSITIONS.index(q)]
        out.append(f"| {r['figure']}{' (china)' if r['region'] == 'china' else ''} | {r['role']} | {r['rate']:.1%} | "
                   f"{iv(x)} | {'yes' if r['inside'] else '**no**'} |")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# area effect or not (issue 13): python -m ipledge.risk.pipeline_model compare-area-effect [--draws N]
# ---------------------------------------------------------------------------------------------
def compare_area_effect(**sampler_overrides) -> dict:
    """PSIS-LOO (Vehtari et al. 2017, ``az.loo``/``az.compare``) of the area cells with and without the
    shared area effect, both fitted on the same data and seed. Leave-one-out is over the 60 area cells."""
    import arviz as az

    idatas, diag = {}, {}
    for name, flag in (("with_area_effect", True), ("without_area_effect", False)):
        m = PipelineModel(model_config={"area_effect": flag}, sampler_config=sampler_overrides)
        m.fit(load_data())
        idatas[name] = az.InferenceData(posterior=m.idata.posterior, log_likelihood=m.log_likelihood(),
                                        sample_stats=m.idata.sample_stats)
        diag[name] = {**m.diagnostics(), "fit_seconds": m.fit_seconds}
    cmp = az.compare(idatas, var_name="area_successes", ic="loo")
    loos = {k: az.loo(v, var_name="area_successes") for k, v in idatas.items()}
    return {
        "compare": json.loads(cmp.drop(columns=["warning", "scale"], errors="ignore").to_json(orient="index")),
        "pareto_k_over_0.7": {k: int((v.pareto_k.values > 0.7).sum()) for k, v in loos.items()},
        "diagnostics": diag,
    }


def kfold_area_effect(folds: int = 10, seed: int = 13, **sampler_overrides) -> dict:
    """Exact K-fold cross-validation of the area cells (Vehtari et al. 2017 §4.3; used because PSIS-LOO's
    Pareto k exceeds 0.7 on many cells: each cell has its own z). A held-out cell keeps its place with
    n = 0 (likelihood 1), so the model is unchanged; its log predictive density is
    log mean_s Binomial(k | n, p_s). The ALL row informs only ``reference``, never the area parameters."""
    from scipy import stats

    data = load_data()
    order = np.random.default_rng(seed).permutation(len(data.area))
    fold_of = np.empty(len(order), dtype=int)
    fold_of[order] = np.arange(len(order)) % folds
    out = {}
    for name, flag in (("with_area_effect", True), ("without_area_effect", False)):
        elpd = np.zeros(len(order))
        for f in range(folds):
            held = fold_of == f
            train = data.area.copy()
            train.loc[held, ["n", "successes"]] = 0
            d = CountsData(area=train, all_=data.all_, modality=data.modality, evidence=data.evidence,
                           preclinical_mean=data.preclinical_mean, sources=data.sources,
                           editions=data.editions, china=data.china)
            m = PipelineModel(model_config={"area_effect": flag}, sampler_config=sampler_overrides)
            m.fit(d)
            lp = m.idata.posterior["logit_p_area"].stack(s=("chain", "draw")).transpose("s", ...).values
            rows = data.area[held]
            p = 1.0 / (1.0 + np.exp(-lp[:, rows["area"].map(AREAS.index).to_numpy(),
                                         rows["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()]))
            dens = stats.binom.pmf(rows["successes"].to_numpy(), rows["n"].to_numpy(), p)
            elpd[held] = np.log(dens.mean(axis=0))
            print(json.dumps({"model": name, "fold": f, "divergences": m.diagnostics()["divergences"]}),
                  file=sys.stderr, flush=True)
        out[name] = elpd
    diff = out["with_area_effect"] - out["without_area_effect"]
    return {"folds": folds, "cells": len(order),
            "elpd_kfold": {k: float(v.sum()) for k, v in out.items()},
            "elpd_diff_with_minus_without": float(diff.sum()),
            "se_diff": float(np.sqrt(len(diff)) * diff.std(ddof=1))}


# ---------------------------------------------------------------------------------------------
# sampler comparison (issue 3): python -m ipledge.risk.pipeline_model compare-samplers [--repeats 3] [--draws N]
# ---------------------------------------------------------------------------------------------
def _fit_metrics(sampler: str, seed: int, **sampler_overrides) -> dict:
    m = PipelineModel(sampler_config={**sampler_overrides, "sampler": sampler, "random_seed": seed})
    m.fit(load_data())
    d = m.diagnostics()
    return {
        "sampler": sampler, "seed": seed, "wall_s": m.fit_seconds,
        "sampling_s": float(m.idata.posterior.attrs.get("sampling_time", float("nan"))),
        "ess_bulk_min": d["ess_bulk_min"], "r_hat_max": d["r_hat_max"], "divergences": d["divergences"],
        "ess_per_s": d["ess_bulk_min"] / m.fit_seconds,
    }


def compare_samplers(repeats: int = 3, samplers=("pymc", "nutpie"), fresh_process: bool = True, **sampler_overrides) -> dict:
    """Median over ``repeats`` fits per sampler of wall time of ``pm.sample`` (compilation included),
    sampling time, min bulk ESS and min bulk ESS per wall second. Each fit runs in a fresh interpreter
    by default, as ``ipledge model fit`` does, so in-process compile caches do not favour later runs;
    ``process_s`` adds the imports."""
    import subprocess

    base_seed = int(PipelineModel().sampler_config["random_seed"])
    runs = []
    for r in range(repeats):
        for sampler in samplers:  # interleaved so drifting load on the shared cores hits both alike
            seed = base_seed + r
            if fresh_process:
                cmd = [sys.executable, "-m", "ipledge.risk.pipeline_model", "_fit-once", sampler, str(seed),
                       json.dumps(sampler_overrides)]
                t0 = time.perf_counter()
                out = subprocess.run(cmd, check=True, capture_output=True, text=True)
                run = json.loads(out.stdout.strip().splitlines()[-1])
                run["process_s"] = time.perf_counter() - t0
            else:
                run = _fit_metrics(sampler, seed, **sampler_overrides)
            runs.append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
    keys = ("wall_s", "sampling_s", "ess_bulk_min", "ess_per_s", "r_hat_max", "divergences") + (
        ("process_s",) if fresh_process else ())
    summary = {s: {k: float(np.median([r[k] for r in runs if r["sampler"] == s])) for k in keys} for s in samplers}
    return {"runs": runs, "median": summary, "sampler_config": {**PipelineModel().sampler_config, **sampler_overrides}}


if __name__ == "__main__":  # pragma: no cover - offline benchmark entry point
    args = sys.argv[1:]
    if args[:1] == ["_fit-once"]:
        print(json.dumps(_fit_metrics(args[1], int(args[2]), **json.loads(args[3]))))
    elif args[:1] == ["compare-area-effect"]:
        over = {"draws": int(args[args.index("--draws") + 1])} if "--draws" in args else {}
        print(json.dumps(compare_area_effect(**over), indent=2))
    elif args[:1] == ["tables"]:
        print(report_tables(args[1] if len(args) > 1 else None))
    elif args[:1] == ["kfold-area-effect"]:
        over = {k: int(args[args.index(f"--{k}") + 1]) for k in ("draws", "chains", "cores") if f"--{k}" in args}
        folds = int(args[args.index("--folds") + 1]) if "--folds" in args else 10
        print(json.dumps(kfold_area_effect(folds=folds, **over), indent=2))
    elif args[:1] == ["compare-samplers"]:
        reps = int(args[args.index("--repeats") + 1]) if "--repeats" in args else 3
        over = {"draws": int(args[args.index("--draws") + 1])} if "--draws" in args else {}
        print(json.dumps(compare_samplers(reps, fresh_process="--in-process" not in args, **over), indent=2))
    else:
        print("usage: python -m ipledge.risk.pipeline_model compare-samplers [--repeats N] [--draws N] [--in-process]",
              file=sys.stderr)
        sys.exit(2)
