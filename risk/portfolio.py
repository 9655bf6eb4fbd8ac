"""A lender's book of pledges simulated together, with common factors per path (DESIGN §11).

Book (YAML or JSON)::

    pledges: [request, ...]            # PledgeRequest v1 each; their own `simulation` is ignored
    simulation: {paths: 10000, seed: 7, chunk_paths: 2000}
    factors: on                        # on | off | {funding: 0.30, vbp: 0.50, rate_sd: 0.01}

Every pledge is simulated with :func:`ipledge.risk.simulate.simulate` and :func:`ipledge.risk.credit.run_credit` at its
requested amount; the book's loss on a path is the sum of its loans' losses on that path. Nothing of the
cash-flow or credit equations is repeated here: the factors enter only through the random inputs.

Factor model (one latent standard normal per path and factor, Z_f, Z_v, Z_r; positive = adverse):

- **funding climate** (one-factor Gaussian copula, Vasicek): the uniform that decides whether a
  cash-short borrower raises money in year k is ``u = Φ(√ρ_f Z_f + √(1-ρ_f) ε_k)`` with ε_k the loan's
  own normal. A borrower raises iff ``u < q``, so on a path with climate Z_f every borrower's q becomes
  ``q(Z_f) = Φ((Φ⁻¹(q) - √ρ_f Z_f) / √(1-ρ_f))``: in a funding winter (Z_f = 2.33, ρ_f = 0.3) the
  calibrated base q of 0.85 falls to 0.39 for every borrower at once. Z_f holds for the whole life of the loans.
- **VBP policy wave**: the VBP timing uniform ``u = Φ(-(√ρ_v Z_v + √(1-ρ_v) η))`` (small u = early event
  by inversion of the geometric law in simulate) and the cut ``Beta⁻¹(Φ(√ρ_v Z_v + √(1-ρ_v) η'))``:
  on a wave path every exposed product is hit earlier and harder. ``vbp_exposure: none`` products
  have no hazard and are unaffected. (The Beta quantile is read from an 8,001-point table in normal
  space for |x| <= 3, exact beyond; error < 1e-6 on the cut.)
- **rates**: the discount rate of every pledge moves by ``σ_r Z_r`` on the path (collateral values
  fall when rates rise); the loan rates are fixed (the book's loans are not repriced).

Each factor leaves the law of every random input unchanged (a standard normal mixed into a standard
normal stays standard normal; the rate shift has mean 0) and the loans' own draws are the same with the
factors on or off (``factors: off`` = Z, ρ and σ_r set to 0): what changes is how outcomes line up
across loans, so VaR and ES rise with the factors on. Within one loan the factors also tie inputs
together on purpose (a wave is one event: the VBP timing and cut share Z_v, hit earlier *and* deeper;
successive years' financing share Z_f), so a loan's own EL can move too (it roughly doubles for the
thin-cash VBP-exposed makers of the example book). ρ_f = 0.30, ρ_v = 0.50 and σ_r = 1% are assumptions
(no published default correlations for IP-backed loans, lending.md (ipledge cited data)), set in the book.

Chunking and seeds (the same numbers on every engine): paths are cut into chunks of ``chunk_paths``.
From ``SeedSequence(seed).spawn(2)`` the first child spawns one seed per path chunk (the factors of that
chunk) and the second one per loan, each spawning one per path chunk, each spawning two (the
simulation seed and the copula draws). A task simulates a block of loans on one path chunk; the local
engine and dask run exactly the same tasks, only the executor differs.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import betaincinv, ndtr, ndtri

from ipledge.risk.credit import DebtSchedule, financing_draws, run_credit
from ipledge.risk.params import DEFAULT_PARAMS, ModelParams
from ipledge.risk.posterior import PipelinePosterior
from ipledge.risk.simulate import beta_ab, simulate
from ipledge.risk.tail import var_es, worst_indices
from ipledge.valuation.schema import PledgeRequest

EPS = 1e-12
X_EXACT = 3.0
X_GRID = np.linspace(-X_EXACT, X_EXACT, 8001)   # normal scores for the Beta quantile table
TAIL = 0.99
DEFAULT_CHUNK_PATHS = 2000
DEFAULT_LOANS_PER_TASK = 25


class BookError(ValueError):
    """A book that cannot be read or is not valid; the message names the problem."""


@dataclass(frozen=True)
class FactorModel:
    """Loadings of the common factors (see the module docstring); ``off()`` switches all of them off."""

    funding: float = 0.30   # ρ_f, copula correlation of the financing outcome (assumption)
    vbp: float = 0.50       # ρ_v, copula correlation of VBP timing and cut (assumption)
    rate_sd: float = 0.01   # σ_r, sd of the per-path discount-rate shift (assumption: 100 bp)

    @classmethod
    def off(cls) -> "FactorModel":
        return cls(0.0, 0.0, 0.0)

    @property
    def on(self) -> bool:
        return self.funding > 0 or self.vbp > 0 or self.rate_sd > 0

    @classmethod
    def parse(cls, spec) -> "FactorModel":
        if spec is None or spec is True or spec == "on":
            return cls()
        if spec is False or spec == "off":
            return cls.off()
        if isinstance(spec, dict):
            unknown = set(spec) - {"funding", "vbp", "rate_sd"}
            if unknown:
                raise BookError(f"factors: unknown key(s) {', '.join(sorted(unknown))}; "
                                f"expected funding, vbp, rate_sd")
            vals = {**cls().__dict__, **spec}
            for k, v in vals.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise BookError(f"factors.{k} must be a number")
            if not (0 <= vals["funding"] < 1 and 0 <= vals["vbp"] < 1 and 0 <= vals["rate_sd"] <= 0.1):
                raise BookError("factors: funding and vbp in [0, 1), rate_sd in [0, 0.1]")
            return cls(float(vals["funding"]), float(vals["vbp"]), float(vals["rate_sd"]))
        raise BookError("factors must be on, off or a mapping {funding, vbp, rate_sd}")

    def to_dict(self) -> dict:
        return {"on": self.on, "funding": self.funding, "vbp": self.vbp, "rate_sd": self.rate_sd}


@dataclass
class Book:
    pledges: list[PledgeRequest]
    paths: int = 10_000
    seed: int = 7
    chunk_paths: int = DEFAULT_CHUNK_PATHS
    factors: FactorModel = field(default_factory=FactorModel)

    @classmethod
    def from_dict(cls, data) -> "Book":
        from pydantic import ValidationError

        from ipledge.valuation.errors import one_line

        if not isinstance(data, dict):
            raise BookError("a book must be a mapping with 'pledges'")
        unknown = set(data) - {"pledges", "simulation", "factors", "name", "description"}
        if unknown:
            raise BookError(f"book: unknown key(s) {', '.join(sorted(unknown))}")
        raw = data.get("pledges")
        if not isinstance(raw, list) or not raw:
            raise BookError("book: 'pledges' must be a non-empty list of pledge requests")
        pledges = []
        for i, p in enumerate(raw):
            try:
                pledges.append(PledgeRequest.model_validate(p))
            except ValidationError as e:
                err = BookError(f"pledges[{i}]: {one_line(e)}")
                err.loc = ("pledges", i, *e.errors()[0]["loc"])   # for load_book's line number
                raise err from None
        sim = data.get("simulation") or {}
        if not isinstance(sim, dict) or set(sim) - {"paths", "seed", "chunk_paths"}:
            raise BookError("book: simulation takes paths, seed, chunk_paths")
        paths, seed = sim.get("paths", 10_000), sim.get("seed", 7)
        chunk = sim.get("chunk_paths", DEFAULT_CHUNK_PATHS)
        for name, v, lo, hi in (("paths", paths, 1000, 1_000_000), ("seed", seed, 0, 2**63 - 1),
                                ("chunk_paths", chunk, 100, 1_000_000)):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise BookError(f"simulation.{name} must be an integer in {lo}..{hi}")
        return cls(pledges, paths, seed, min(chunk, paths), FactorModel.parse(data.get("factors", "on")))


def load_book(path: str | Path) -> Book:
    """Read a book from YAML or JSON (``.json`` suffix); a bad pledge names the file, line and column."""
    from ipledge.valuation.cases import read_data_file, where, yaml_position

    data = read_data_file(path, BookError)
    try:
        return Book.from_dict(data)
    except BookError as e:
        loc = getattr(e, "loc", None)
        pos = yaml_position(Path(path).read_text(encoding="utf-8"), loc) if loc else None
        raise BookError(f"{where(Path(path), *(pos or (None, None)))}: {e}") from None


# --------------------------------------------------------------------------------------------
# Plan: chunks, seeds, tasks (built by the driver; tasks are pure functions of their arguments)


@dataclass(frozen=True)
class LoanSpec:
    index: int
    request: PledgeRequest
    ip_contribution: float
    seeds: tuple  # per path chunk: (simulation SeedSequence, copula SeedSequence)


@dataclass(frozen=True)
class Task:
    chunk: int
    n_paths: int
    factor_seed: np.random.SeedSequence
    loans: tuple[LoanSpec, ...]


def chunk_sizes(paths: int, chunk_paths: int) -> list[int]:
    k = math.ceil(paths / chunk_paths)
    return [min(chunk_paths, paths - i * chunk_paths) for i in range(k)]


def plan(book: Book, loans_per_task: int = DEFAULT_LOANS_PER_TASK) -> list[Task]:
    from ipledge.valuation.scorecard import score_request

    sizes = chunk_sizes(book.paths, book.chunk_paths)
    factor_root, loan_root = np.random.SeedSequence(book.seed).spawn(2)
    chunk_seeds = factor_root.spawn(len(sizes))
    specs = []
    for i, (req, loan_ss) in enumerate(zip(book.pledges, loan_root.spawn(len(book.pledges)))):
        ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
        seeds = tuple(tuple(c.spawn(2)) for c in loan_ss.spawn(len(sizes)))
        specs.append(LoanSpec(i, req, float(ipc), seeds))
    tasks = []
    for c, n_c in enumerate(sizes):
        for j in range(0, len(specs), loans_per_task):
            tasks.append(Task(c, n_c, chunk_seeds[c], tuple(specs[j:j + loans_per_task])))
    return tasks


def _seed_int(ss: np.random.SeedSequence) -> int:
    """A 128-bit integer seed for simulate() (which builds its own SeedSequence from an int)."""
    words = ss.generate_state(4, np.uint32)
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


def _u(x: np.ndarray) -> np.ndarray:
    return np.clip(ndtr(x), EPS, 1.0 - EPS)


@functools.lru_cache(maxsize=16)
def _beta_ppf_table(a: float, b: float) -> np.ndarray:
    """Beta(a, b) quantiles at Φ(x) on the grid X_GRID (built once per process; on |x| <= 3, Φ(x) is in
    [0.00135, 0.99865]: no clip)."""
    return betaincinv(a, b, ndtr(X_GRID))


def beta_from_normal(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Beta(a, b) quantile of Φ(x): linear interpolation of a table in x for |x| <= 3 (|error| < 1e-6
    for the VBP cut laws of the scenarios), exact beyond; exact betaincinv everywhere costs ~3 µs per
    value and would double the cost of a task."""
    out = np.interp(x, X_GRID, _beta_ppf_table(float(a), float(b)))
    far = np.abs(x) > X_EXACT  # the steep tails (0.3% of the draws): exact
    if far.any():
        out[far] = betaincinv(a, b, np.clip(ndtr(x[far]), EPS, 1.0 - EPS))
    return out


def chunk_factors(task: Task) -> np.ndarray:
    """(n_paths, 3) latent normals (funding, vbp, rates) of the task's path chunk."""
    return np.random.Generator(np.random.PCG64(task.factor_seed)).standard_normal((task.n_paths, 3))


def path_draws(Z: np.ndarray, eta: np.ndarray, factors: FactorModel, params: ModelParams,
               exposed: bool) -> dict:
    """simulate()'s per-path inputs of one loan: the rate shift, and (exposed products) the VBP timing
    uniform and cut from the VBP factor Z[:, 1] mixed with the loan's own normals eta (2, n)."""
    draws = {"discount_shift": factors.rate_sd * Z[:, 2]}
    if exposed:  # no VBP hazard: timing and cut are never used
        sv, cv = math.sqrt(factors.vbp), math.sqrt(1.0 - factors.vbp)
        ca, cb = beta_ab(params.vbp_cut_mean, params.vbp_cut_concentration)
        draws["vbp_u"] = _u(-(sv * Z[:, 1] + cv * eta[0]))
        draws["vbp_cut"] = beta_from_normal(sv * Z[:, 1] + cv * eta[1], ca, cb)
    return draws


def financing_uniforms(Z: np.ndarray, u_own: np.ndarray, factors: FactorModel) -> np.ndarray:
    """(n, years) financing uniforms: the loan's own uniforms u_own mixed with the funding factor Z[:, 0]."""
    sf, cf = math.sqrt(factors.funding), math.sqrt(1.0 - factors.funding)
    return _u(sf * Z[:, 0][:, None] + cf * ndtri(np.clip(u_own, EPS, 1.0 - EPS)))


def run_task(task: Task, posterior: PipelinePosterior, factors: FactorModel,
             params: ModelParams = DEFAULT_PARAMS) -> dict:
    """Loss and default flags of the task's loans on its path chunk: pure numpy, no shared state."""
    n = task.n_paths
    Z = chunk_factors(task)
    loss = np.zeros((len(task.loans), n))
    default = np.zeros((len(task.loans), n), dtype=bool)
    period = np.zeros((len(task.loans), n), dtype=np.int64)
    for row, spec in enumerate(task.loans):
        sim_ss, cop_ss = spec.seeds[task.chunk]
        req = spec.request
        eta = np.random.Generator(np.random.PCG64(cop_ss)).standard_normal((2, n))
        exposed = params.vbp_hazard[req.product.vbp_exposure] > 0
        sim = simulate(req, spec.ip_contribution, posterior, params, n=n, seed=_seed_int(sim_ss),
                       path_draws=path_draws(Z, eta, factors, params, exposed))
        Tm = DebtSchedule.from_loan(req.loan.term_years, req.loan.rate, req.loan.repayment).periods
        run = run_credit(sim, req, [req.loan.amount], financing_uniforms(Z, financing_draws(sim, Tm), factors))
        loss[row] = run.loss[0]
        default[row] = run.defaulted[0]
        period[row] = run.default_period[0]
    # sparse: most (loan, path) cells have no default; only the others travel back to the driver
    li, lj = np.nonzero(loss)
    di, dj = np.nonzero(default)
    return {"chunk": task.chunk, "first": task.loans[0].index, "n_loans": len(task.loans),
            "loss": (li.astype(np.int32), lj.astype(np.int32), loss[li, lj]),
            "default": (di.astype(np.int32), dj.astype(np.int32)),
            "period": period[di, dj].astype(np.int16)}


# --------------------------------------------------------------------------------------------
# Engines


def _reporting(results, total: int, progress):
    """The task results, unchanged, calling ``progress("tasks", done, total)`` as each one arrives."""
    progress("tasks", 0, total)
    for done, r in enumerate(results, 1):
        progress("tasks", done, total)
        yield r


def _run_local(tasks, posterior, factors, params):
    for t in tasks:
        yield run_task(t, posterior, factors, params)


def local_cluster(workers: int = 2, processes: bool = True):
    """A LocalCluster of single-threaded workers for the portfolio tasks.

    A task allocates and frees many (paths x years) arrays. In dask's worker processes (task thread,
    dask's MALLOC_TRIM_THRESHOLD_=65536) glibc hands that memory back to the OS after each array, so
    every new array is page-faulted afresh and a task cost ~1.4-2x its CPU time in the driver
    (measured). The portfolio workers keep freed memory instead (trim threshold 1 GiB, mmap threshold
    32 MiB) and skip dask's sampling profiler. A cluster started elsewhere (--scheduler) should set
    MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ the same way in its workers' environment.
    """
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 1 << 30,
                          "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 1 << 25,
                          "distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                            dashboard_address=":0")


def _run_dask(tasks, posterior, factors, params, scheduler, client, workers: int, processes: bool):
    """Yield task results as they finish (released on the cluster once received)."""
    from dask.distributed import Client, as_completed

    own_client = own_cluster = None
    if client is None:
        if scheduler:
            client = own_client = Client(scheduler)
        else:
            own_cluster = local_cluster(workers, processes)
            client = own_client = Client(own_cluster)
    try:
        post_f = client.scatter(posterior, broadcast=True)  # shipped once to every worker
        futures = [client.submit(run_task, t, post_f, factors, params, pure=False) for t in tasks]
        for fut in as_completed(futures):
            yield fut.result()
            fut.release()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def assemble(book: Book, results, periods: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(loans, paths) loss and default matrices from task results (any order, consumed one by one).

    ``periods`` (optional dict) receives the (loans, paths) default period matrix under key "period"."""
    sizes = chunk_sizes(book.paths, book.chunk_paths)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    loss = np.zeros((len(book.pledges), book.paths))
    default = np.zeros((len(book.pledges), book.paths), dtype=bool)
    period = np.zeros((len(book.pledges), book.paths), dtype=np.int16)
    for r in results:
        c, i0 = r["chunk"], r["first"]
        li, lj, v = r["loss"]
        loss[i0 + li, starts[c] + lj] = v
        di, dj = r["default"]
        default[i0 + di, starts[c] + dj] = True
        if "period" in r:
            period[i0 + di, starts[c] + dj] = r["period"]
    if periods is not None:
        periods["period"] = period
    return loss, default


def yearly_caps(book: Book, loss: np.ndarray, period: np.ndarray) -> list[dict]:
    """Per scheme with a yearly pool cap: the probability that the fund's compensation in some
    calendar year exceeds the cap, the first year in which it can, and the probability by year.

    Each loan's fund compensation on a path is its share of the loss, capped per bad loan; the loans of
    one enterprise (same applicant name) are capped together per enterprise; compensation falls in the
    calendar year of the default (as_of.year + default period)."""
    from ipledge.risk.schemes import scheme_of

    out = []
    by_scheme: dict[str, list[int]] = {}
    for i, p in enumerate(book.pledges):
        by_scheme.setdefault(p.sharing.scheme, []).append(i)
    for name, idx in sorted(by_scheme.items()):
        sch = scheme_of(book.pledges[idx[0]])
        cp, year_cap = sch.capped_party, sch.caps.get("per_year")
        if not cp or year_cap is None:
            continue
        years = np.array([book.pledges[i].as_of.year for i in idx])[:, None] + period[idx]
        # each loan's compensation capped as in its own loss split (credit.split_paths): the per-loan cap and,
        # for a lone loan, the per-enterprise cap; then the loans of one enterprise together under the latter
        comp = np.minimum(sch.shares[cp] * loss[idx], sch.loan_cap)   # a capped party always has a share (schema)
        per_ent = sch.caps.get("per_enterprise")
        if per_ent is not None:
            names = [book.pledges[i].applicant.name for i in idx]
            for ent in set(names):
                rows = [k for k, nm in enumerate(names) if nm == ent]
                tot = comp[rows].sum(axis=0)
                scale = np.where(tot > per_ent, per_ent / np.maximum(tot, 1e-300), 1.0)
                comp[rows] *= scale[None, :]
        cal = sorted({int(y) for y in np.unique(years[comp > 0])})
        by_year = []
        binds_any = np.zeros(loss.shape[1], bool)
        for y in cal:
            paid = np.where(years == y, comp, 0.0).sum(axis=0)
            b = paid > year_cap
            binds_any |= b
            by_year.append({"year": y, "prob_cap_binds": float(b.mean()),
                            "expected_compensation": float(paid.mean())})
        first = next((r["year"] for r in by_year if r["prob_cap_binds"] > 0), None)
        out.append({"scheme": name, "party": cp, "per_year_cap": year_cap, "n_loans": len(idx),
                    "prob_yearly_cap_binds": float(binds_any.mean()), "first_year_cap_binds": first,
                    "by_year": by_year})
    return out


def summarise(book: Book, loss: np.ndarray, default: np.ndarray, period: np.ndarray | None = None) -> dict:
    """EL, VaR/ES 99%, each loan's contribution to EL and ES, concentration by therapeutic area; with the
    default periods, per scheme the probability and first year in which a fund's yearly cap binds."""
    total = loss.sum(axis=0)
    n = total.size
    tail_idx = worst_indices(total, TAIL)                     # the ceil(0.01 n) worst paths (ipledge.risk.tail)
    el = float(total.mean())
    var, es = var_es(total, TAIL)
    el_i = loss.mean(axis=1)
    es_i = loss[:, tail_idx].mean(axis=1)
    pd_i = default.mean(axis=1)
    amounts = np.array([p.loan.amount for p in book.pledges])
    exposure = float(amounts.sum())
    loans = [{"index": i, "applicant": p.applicant.name, "product": p.product.name,
              "therapeutic_area": p.product.therapeutic_area, "stage": p.product.stage,
              "vbp_exposure": p.product.vbp_exposure, "amount": float(amounts[i]), "pd": float(pd_i[i]),
              "expected_loss": float(el_i[i]), "el_contribution": float(el_i[i] / el) if el > 0 else 0.0,
              "es_contribution": float(es_i[i]), "es_share": float(es_i[i] / es) if es > 0 else 0.0}
             for i, p in enumerate(book.pledges)]
    areas: dict[str, dict] = {}
    for ln in loans:
        a = areas.setdefault(ln["therapeutic_area"], {"therapeutic_area": ln["therapeutic_area"], "n_loans": 0,
                                                     "exposure": 0.0, "expected_loss": 0.0,
                                                     "es_contribution": 0.0})
        a["n_loans"] += 1
        a["exposure"] += ln["amount"]
        a["expected_loss"] += ln["expected_loss"]
        a["es_contribution"] += ln["es_contribution"]
    by_area = sorted(areas.values(), key=lambda a: -a["es_contribution"])
    for a in by_area:
        a["exposure_share"] = a["exposure"] / exposure
        a["el_share"] = a["expected_loss"] / el if el > 0 else 0.0
        a["es_share"] = a["es_contribution"] / es if es > 0 else 0.0
    hhi = float(sum(a["exposure_share"] ** 2 for a in by_area))
    return {
        "n_loans": len(book.pledges), "paths": book.paths, "seed": book.seed, "chunk_paths": book.chunk_paths,
        "factors": book.factors.to_dict(), "exposure": exposure,
        "expected_loss": el, "expected_loss_rate": el / exposure, "var_99": var, "es_99": es,
        "var_99_rate": var / exposure, "es_99_rate": es / exposure,
        "mc_std_error_el": float(total.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        "expected_defaults": float(pd_i.sum()),
        "prob_any_default": float(default.any(axis=0).mean()),
        "loans": loans,
        "concentration": {"by_therapeutic_area": by_area, "hhi_exposure_by_area": hhi},
        "scheme_yearly_caps": yearly_caps(book, loss, period) if period is not None else [],
    }


def run_portfolio(book: Book, posterior: PipelinePosterior | None = None, *, engine: str = "local",
                  scheduler: str | None = None, client=None, workers: int = 2, processes: bool = True,
                  params: ModelParams = DEFAULT_PARAMS, loans_per_task: int = DEFAULT_LOANS_PER_TASK,
                  keep_matrix: bool = False, progress=None) -> dict:
    """Simulate the book and return the portfolio summary (``engine``: local | dask).

    ``progress``: optional ``progress("tasks", done, total)`` called as each task (a block of loans on one
    path chunk) finishes, in either engine; None costs nothing."""
    from ipledge.risk.posterior import load_posterior

    if engine not in ("local", "dask"):
        raise ValueError(f"unknown engine '{engine}'; expected local or dask")
    posterior = posterior or load_posterior()
    t0 = time.perf_counter()
    tasks = plan(book, loans_per_task)
    if engine == "local":
        results = _run_local(tasks, posterior, book.factors, params)
    else:
        results = _run_dask(tasks, posterior, book.factors, params, scheduler, client, workers, processes)
    if progress is not None:
        results = _reporting(results, len(tasks), progress)
    periods: dict = {}
    loss, default = assemble(book, results, periods)
    out = summarise(book, loss, default, periods["period"])
    out["engine"] = engine
    out["tasks"] = len(tasks)
    out["model_version"] = posterior.model_version
    out["wall_seconds"] = time.perf_counter() - t0
    if keep_matrix:
        out["_loss"] = loss
    return out
