"""Calibration of the financing odds to an observed IP-loan default series (issue 11, DESIGN §9).

The one public default series for IP-backed loans is Korea's (lending.md (ipledge cited data): NPL
rate 1.13%, 1.07%, 1.56%, 1.05% in 2020-2023, 2.55% in H1 2024, for a book of mostly revenue-earning
SMEs). ``scenarios/books/korea_ip_book.yaml`` defines a book of typical borrowers of that kind with
their balance weights. The book's annual default rate is the balance-weighted one-year PD
(``credit.pd_annual``) of its segments at their requested loans.

Fit: ``q_base`` (the yearly odds that a borrower short of runway closes a round or a refinancing,
outside news years) is the one parameter the series can identify; ``q_after_success`` and
``q_after_failure`` keep their design values (no IP-loan data on pipeline-news years). The book's
default rate falls monotonically in ``q_base`` on common random numbers (the simulation does not
depend on q; only the financing outcomes do), so bisection on q_base finds the rate at the middle of
the target band. The same paths then give the rate under ``funding_winter``, which must be at least
the band's stress floor (the 2.55% of H1 2024).

``calibrate(book, seed, observed=None)``: ``observed`` takes a lender's own evidence instead of the
Korean band, either yearly default rates (the band is their range) or ``{"base": [lo, hi],
"funding_winter_min": x}``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ipledge.risk.params import DEFAULT_PARAMS, ModelParams

KOREA_TARGET = {"base": [0.0105, 0.0156], "funding_winter_min": 0.025}   # lending.md, 2020-2023 and H1 2024
DEFAULT_BOOK = "korea_ip_book"
Q_BRACKET = (0.05, None)          # upper end: q_after_success (news never lowers the odds)
BISECTION_STEPS = 30


class CalibrationError(ValueError):
    """A calibration book or evidence that cannot be used; the message names the problem."""


@dataclass(frozen=True)
class Segment:
    name: str
    weight: float
    request: object


@dataclass(frozen=True)
class CalibrationBook:
    name: str
    description: str
    segments: tuple[Segment, ...]
    paths: int
    seed: int


def load_book(name_or_path: str | Path = DEFAULT_BOOK) -> CalibrationBook:
    """A calibration book by name (scenarios/books/<name>.yaml) or by path."""
    from pydantic import ValidationError

    from ipledge.valuation.cases import read_data_file
    from ipledge.valuation.errors import one_line
    from ipledge.valuation.schema import PledgeRequest

    p = Path(str(name_or_path))
    if not p.exists():
        p = Path(str(resources.files("ipledge.scenarios") / "books" / f"{name_or_path}.yaml"))
    data = read_data_file(p, CalibrationError)
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list) or not data["segments"]:
        raise CalibrationError(f"{p}: a calibration book needs a non-empty 'segments' list")
    segs = []
    for i, s in enumerate(data["segments"]):
        try:
            req = PledgeRequest.model_validate(s["pledge"])
        except ValidationError as e:
            raise CalibrationError(f"segments[{i}].pledge: {one_line(e)}") from None
        except (KeyError, TypeError):
            raise CalibrationError(f"segments[{i}]: needs name, weight and pledge") from None
        w = s.get("weight")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w <= 0:
            raise CalibrationError(f"segments[{i}].weight must be a positive number")
        segs.append(Segment(str(s.get("name", f"segment_{i}")), float(w), req))
    total = sum(s.weight for s in segs)
    segs = [Segment(s.name, s.weight / total, s.request) for s in segs]
    sim = data.get("simulation") or {}
    return CalibrationBook(str(data.get("name", p.stem)), " ".join(str(data.get("description", "")).split()),
                           tuple(segs), int(sim.get("paths", 4000)), int(sim.get("seed", 7)))


def target_from(observed) -> dict:
    """The target band: Korea's unless a lender's evidence is given (see the module docstring)."""
    if observed is None:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in KOREA_TARGET.items()}
    if isinstance(observed, dict):
        base = observed.get("base")
        if not (isinstance(base, (list, tuple)) and len(base) == 2 and 0 <= base[0] <= base[1] <= 1):
            raise CalibrationError("observed.base must be [lo, hi] with 0 <= lo <= hi <= 1")
        return {"base": [float(base[0]), float(base[1])],
                "funding_winter_min": float(observed.get("funding_winter_min", KOREA_TARGET["funding_winter_min"]))}
    rates = np.asarray(list(observed), dtype=float)
    if rates.size == 0 or np.any((rates < 0) | (rates > 1)) or not np.all(np.isfinite(rates)):
        raise CalibrationError("observed default rates must be numbers in 0..1")
    return {"base": [float(rates.min()), float(rates.max())],
            "funding_winter_min": KOREA_TARGET["funding_winter_min"]}


#: spread of the prior on the annual default rate when a lender's own book updates it: coefficient of
#: variation 0.5 (assumption: the Korean series moves by about a half between 2023 and H1 2024,
#: 1.05 % -> 2.55 %, lending.md); see ipledge.risk.book.prior_strength and docs/methodology.md §12
BOOK_PRIOR_CV = 0.5


def target_from_book(evidence: dict, cv: float = BOOK_PRIOR_CV) -> dict:
    """The base band after a lender's recorded defaults (``calibrate --from-book``).

    Beta-binomial: the Korean band's midpoint p0 is a prior with strength n0 = (1 - p0) / (p0 cv²) - 1
    loan-years; ``evidence`` = {loan_years, defaults} (ipledge.risk.book.default_evidence) gives the posterior
    mean p1 = (n0 p0 + defaults) / (n0 + loan_years), and the band is the Korean band scaled by p1 / p0
    (the same relative width). Few loan-years leave the band where it was."""
    from ipledge.risk.book import data_weight, posterior_mean, prior_strength

    years, defaults = float(evidence.get("loan_years", 0.0)), float(evidence.get("defaults", 0))
    if years < 0 or defaults < 0:
        raise CalibrationError("book evidence needs loan_years >= 0 and defaults >= 0")
    lo, hi = KOREA_TARGET["base"]
    p0 = 0.5 * (lo + hi)
    n0 = prior_strength(p0, cv)
    p1 = posterior_mean(p0, n0, defaults, years)
    k = p1 / p0
    return {"base": [lo * k, min(1.0, hi * k)], "funding_winter_min": KOREA_TARGET["funding_winter_min"],
            "book_update": {"prior_mean": p0, "prior_cv": cv, "prior_loan_years": n0, "loan_years": years,
                            "defaults": defaults, "observed_rate": defaults / years if years > 0 else None,
                            "data_weight": data_weight(years, n0), "posterior_mean": p1}}


class _BookRuns:
    """Each segment simulated once (base or shocked); default rates for any financing parameters."""

    def __init__(self, book: CalibrationBook, params: ModelParams, seed: int, scenario: str | None, posterior):
        from ipledge.risk.assess import shocked
        from ipledge.risk.simulate import simulate
        from ipledge.valuation.scorecard import score_request

        self.items = []
        for i, seg in enumerate(book.segments):
            req, p = seg.request, params
            if scenario:
                _, req, p = shocked(req, scenario, params)
            ipc = score_request(req)["competitive_contribution"]["ip_contribution"]
            sim = simulate(req, ipc, posterior, p, n=book.paths, seed=seed + i)
            self.items.append((seg, req, p, sim))

    def rate(self, **financing) -> tuple[float, dict]:
        from ipledge.risk.credit import annualise, run_credit

        total, per = 0.0, {}
        for seg, req, p, sim in self.items:
            sim.params = dataclasses.replace(p, **financing) if financing else p
            run = run_credit(sim, req, [req.loan.amount])
            pa = float(annualise(run.defaulted[0].mean(), req.loan.term_years))
            per[seg.name] = pa
            total += seg.weight * pa
        return total, per


FIT_TABLE_Q = (0.5, 0.6, 0.7, 0.8)   # q_base values of the fit table (with the fitted one)


def calibrate(book: CalibrationBook | str | Path = DEFAULT_BOOK, seed: int | None = None, observed=None,
              params: ModelParams = DEFAULT_PARAMS, posterior=None, progress=None) -> dict:
    """Fit q_base to the target band; the result ``--json`` prints (reproducible from ``seed``).

    ``progress``: optional ``progress(step, done, total)`` after each evaluation of the book's default rate
    (the bracket, the bisection, the fitted value, the funding winter, the fit table); None costs nothing."""
    from ipledge.risk.assess import no_progress
    from ipledge.risk.posterior import load_posterior

    step = progress or no_progress
    count = {"done": 0, "total": None}

    def rate(runs: _BookRuns, what: str, **kw):
        out = runs.rate(**kw)
        count["done"] += 1
        step(what, count["done"], count["total"])
        return out

    book = book if isinstance(book, CalibrationBook) else load_book(book)
    seed = book.seed if seed is None else int(seed)
    target = target_from(observed)
    posterior = posterior or load_posterior()
    step("simulate segments", 0, None)
    base = _BookRuns(book, params, seed, None, posterior)
    lo, hi = Q_BRACKET[0], params.q_after_success
    goal = 0.5 * (target["base"][0] + target["base"][1])
    r_lo, r_hi = rate(base, "bracket", q_base=lo)[0], rate(base, "bracket", q_base=hi)[0]
    if goal < r_hi <= target["base"][1]:
        # the band's middle is out of reach below q_after_success (news never lowers the odds): take the
        # in-band rate nearest to it, at the bracket's upper end
        goal, lo = r_hi, hi
    if not r_hi <= goal <= r_lo:
        raise CalibrationError(f"no q_base in [{lo}, {hi}] gives the target {goal:.4f}: the book's default "
                               f"rate runs from {r_hi:.4f} to {r_lo:.4f}")
    steps = BISECTION_STEPS if lo < hi else 0
    count["total"] = 2 + steps + 2 + len(FIT_TABLE_Q) + 1
    for _ in range(steps):          # rate falls as q_base rises
        mid = 0.5 * (lo + hi)
        if rate(base, "bisection", q_base=mid)[0] > goal:
            lo = mid
        else:
            hi = mid
    q = round(0.5 * (lo + hi), 4)
    fitted = dataclasses.replace(params, q_base=q)
    rate_base, per_base = rate(base, "fitted", q_base=q)
    winter = _BookRuns(book, fitted, seed, "funding_winter", posterior)
    rate_winter, per_winter = rate(winter, "funding winter")
    fit_table = [{"q_base": x, "annual_default_rate": rate(base, "fit table", q_base=x)[0]}
                 for x in (*FIT_TABLE_Q[:3], q, FIT_TABLE_Q[3])]
    return {
        "book": book.name,
        "parameters": {"q_base": q, "q_after_success": params.q_after_success,
                       "q_after_failure": params.q_after_failure,
                       "runway_target_years": params.runway_target_years},
        "annual_default_rate": {"base": rate_base, "funding_winter": rate_winter},
        "target": target,
        "in_band": bool(target["base"][0] <= rate_base <= target["base"][1]
                        and rate_winter >= target["funding_winter_min"]),
        "segments": [{"name": s.name, "weight": s.weight, "base": per_base[s.name],
                      "funding_winter": per_winter[s.name]} for s in book.segments],
        "fit": sorted(fit_table, key=lambda r: r["q_base"]),
        "seed": seed, "paths_per_segment": book.paths, "model_version": posterior.model_version,
    }
