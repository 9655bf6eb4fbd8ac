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

from risk.durations import area_code
from risk.posterior import (
    AREA_ALIASES,
    AREAS,
    CLINICAL_TRANSITIONS,
    MODALITIES,
    TRANSITIONS,
    shipped_posterior_path,
)

AREA_FILE = "phase_transitions_by_area_2011_2020.csv"
MODALITY_FILE = "phase_transitions_by_modality_2011_2020.csv"
PRECLINICAL_FILE = "preclinical_prior_paul2010.csv"
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
FREE_VARS_PARTIAL = ("mu", "sigma", "z", "reference", "delta", "p_preclinical")
FREE_VARS_NONE = ("p_area", "reference", "delta", "p_preclinical")
PPC_PROB = 0.94
# Quality bars of issue 3.
R_HAT_MAX = 1.01
ESS_BULK_MIN = 400.0
PPC_COVERAGE_MIN = 0.90


class EvidenceError(ValueError):
    """Invalid evidence CSV; the message names the problem in one line."""


def _data_file(name: str):
    return resources.files("risk") / "data" / name


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

    def canonical(self) -> dict:
        def rows(df, cols):
            return [[r[c] if isinstance(r[c], str) else int(r[c]) for c in cols] for _, r in df[list(cols)].iterrows()]

        return {
            "area": rows(self.area, ["area", "transition", "n", "successes"]),
            "all": rows(self.all_, ["transition", "n", "successes"]),
            "modality": rows(self.modality, ["data_modality", "transition", "n", "successes"]),
            "evidence": rows(self.evidence, ["area", "transition", "n", "successes"]),
            "preclinical_mean": float(self.preclinical_mean),
        }

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
    )


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
    version = "1"

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
                logit_p_area = pm.Deterministic("logit_p_area", mu + sigma * z, dims=("area", "clinical_transition"))
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
            pm.Deterministic(
                "modality_effect", (pt.as_tensor(_group_weights(data.modality)) * delta[None, :, :]).sum(axis=1),
                dims=("modality", "clinical_transition"),
            )

            c = float(cfg["preclinical_concentration"])
            p_pre = pm.Beta("p_preclinical", c * data.preclinical_mean, c * (1.0 - data.preclinical_mean))
            if len(pre_ev):
                pm.Binomial("preclinical_successes", n=int(pre_ev["n"].sum()), p=p_pre, observed=int(pre_ev["successes"].sum()))
        self.model = model
        return model

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
        return FREE_VARS_PARTIAL if self.model_config["pooling"] == "partial" else FREE_VARS_NONE

    def diagnostics(self) -> dict:
        """r_hat (rank-normalised, Vehtari et al. 2021), bulk/tail ESS over every free parameter."""
        import arviz as az

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

    def _cell_probabilities(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Every observed binomial cell with its posterior success-probability draws (draws, cells)."""
        post = self.idata.posterior
        lp = post["logit_p_area"].stack(s=("chain", "draw")).transpose("s", ...).values  # (S, area, k)
        ref = post["reference"].stack(s=("chain", "draw")).transpose("s", ...).values
        delta = post["delta"].stack(s=("chain", "draw")).transpose("s", ...).values
        pre = post["p_preclinical"].stack(s=("chain", "draw")).values
        data_mods = list(post["data_modality"].values)
        d = self.data

        def inv(x):
            return 1.0 / (1.0 + np.exp(-x))

        blocks, probs = [], []
        ak = (d.area["area"].map(AREAS.index).to_numpy(), d.area["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy())
        blocks.append(d.area.assign(block="area", label=d.area["area"]))
        probs.append(inv(lp[:, ak[0], ak[1]]))
        k_all = d.all_["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
        blocks.append(d.all_.assign(block="all", label="ALL"))
        probs.append(inv(ref[:, k_all]))
        mi = d.modality["data_modality"].map(data_mods.index).to_numpy()
        mk = d.modality["transition"].map(CLINICAL_TRANSITIONS.index).to_numpy()
        blocks.append(d.modality.assign(block="modality", label=d.modality["data_modality"]))
        probs.append(inv(ref[:, mk] + delta[:, mi, mk]))
        for _, r in d.evidence.iterrows():
            blocks.append(pd.DataFrame([{**r.to_dict(), "block": "evidence", "label": r["area"]}]))
            if r["transition"] == TRANSITIONS[0]:
                probs.append(pre[:, None])
            else:
                probs.append(inv(lp[:, AREAS.index(r["area"]), CLINICAL_TRANSITIONS.index(r["transition"])])[:, None])
        cells = pd.concat(blocks, ignore_index=True)[["block", "label", "transition", "n", "successes"]]
        return cells, np.concatenate(probs, axis=1)

    def posterior_predictive_check(self, prob: float = PPC_PROB) -> tuple[pd.DataFrame, dict]:
        """Replicated counts y_rep ~ Binomial(n, p) per draw (Gelman et al., BDA3 ch. 6); share of
        cells whose observed successes fall inside the central ``prob`` interval of y_rep."""
        cells, p = self._cell_probabilities()
        rng = np.random.default_rng(int(self.sampler_config["random_seed"]))
        n = cells["n"].to_numpy(dtype=np.int64)
        y_rep = rng.binomial(n[None, :], p)
        lo, hi = np.quantile(y_rep, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        obs = cells["successes"].to_numpy(dtype=np.int64)
        cells = cells.assign(ppc_lo=lo.astype(np.int64), ppc_hi=hi.astype(np.int64), inside=((obs >= lo) & (obs <= hi)).astype(np.int8))
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
    def thinned_posterior(self):
        """Posterior thinned to ``thin_to`` draws in total, evenly spaced within each chain."""
        post = self.idata.posterior
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        per_chain = max(1, int(self.sampler_config["thin_to"]) // chains)
        if per_chain >= draws:
            return post
        idx = np.unique(np.linspace(0, draws - 1, per_chain).round().astype(int))
        return post.isel(draw=idx).assign_coords(draw=np.arange(len(idx)))

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
            "fit_seconds": float(self.fit_seconds) if self.fit_seconds is not None else float("nan"),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, path: str | os.PathLike, overwrite: bool = False, allow_shipped: bool = False) -> Path:
        """Write the thinned posterior, the PPC cells and the attributes to netcdf (atomically)."""
        import xarray as xr

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
        post = self.thinned_posterior()
        post = post.copy()
        # Keep only sampler attrs netcdf can store (e.g. sampling_time); drop anything else.
        post.attrs = {k: v for k, v in post.attrs.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        enc = {v: {"zlib": True, "complevel": 4} for v in post.data_vars}
        ppc_ds = xr.Dataset({c: ("cell", cells[c].to_numpy() if cells[c].dtype != object else cells[c].astype(str).to_numpy())
                             for c in cells.columns})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".nc", dir=path.parent)
        os.close(fd)
        try:
            xr.Dataset(attrs=attrs).to_netcdf(tmp, mode="w", engine="netcdf4")
            post.to_netcdf(tmp, mode="a", group="posterior", engine="netcdf4", encoding=enc)
            ppc_ds.to_netcdf(tmp, mode="a", group="ppc", engine="netcdf4")
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
        """Model (configs, data, thinned posterior as InferenceData) from a file written by save."""
        import arviz as az
        import xarray as xr

        path = str(path)
        with xr.open_dataset(path, engine="netcdf4") as root:
            attrs = dict(root.attrs)
        with xr.open_dataset(path, group="posterior", engine="netcdf4") as ds:
            post = ds.load()
        with xr.open_dataset(path, group="ppc", engine="netcdf4") as ds:
            cells = ds.load().to_dataframe().reset_index(drop=True)
        if attrs.get("model_type") != cls._model_type:
            raise ValueError(f"{path}: not an {cls._model_type} posterior (model_type={attrs.get('model_type')!r})")
        self = cls(json.loads(attrs["model_config"]), json.loads(attrs["sampler_config"]))

        def block(name, first):
            b = cells[cells["block"] == name].rename(columns={"label": first})
            return b[[first, "transition", "n", "successes"]].reset_index(drop=True)

        area = block("area", "area")
        ev = block("evidence", "area")
        self.data = CountsData(
            area=area,
            all_=cells[cells["block"] == "all"][["transition", "n", "successes"]].reset_index(drop=True),
            modality=block("modality", "data_modality"),
            evidence=ev,
            preclinical_mean=float(attrs["preclinical_mean"]),
            sources=json.loads(attrs["sources"]),
        )
        for c in ("n", "successes"):
            for df in (self.data.area, self.data.all_, self.data.modality, self.data.evidence):
                df[c] = df[c].astype(np.int64)
        self.idata = az.InferenceData(posterior=post)
        self.fit_seconds = float(attrs.get("fit_seconds", float("nan")))
        if self.model_version != attrs["model_version"]:
            raise ValueError(f"{path}: stored model_version {attrs['model_version']} != recomputed {self.model_version}")
        return self


# ---------------------------------------------------------------------------------------------
# sampler comparison (issue 3): python -m risk.pipeline_model compare-samplers [--repeats 3] [--draws N]
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
                cmd = [sys.executable, "-m", "risk.pipeline_model", "_fit-once", sampler, str(seed),
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
    elif args[:1] == ["compare-samplers"]:
        reps = int(args[args.index("--repeats") + 1]) if "--repeats" in args else 3
        over = {"draws": int(args[args.index("--draws") + 1])} if "--draws" in args else {}
        print(json.dumps(compare_samplers(reps, fresh_process="--in-process" not in args, **over), indent=2))
    else:
        print("usage: python -m risk.pipeline_model compare-samplers [--repeats N] [--draws N] [--in-process]",
              file=sys.stderr)
        sys.exit(2)
