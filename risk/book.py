"""A lender's book from its stored loans: the portfolio book, the recorded outcomes, and their weight.

- :func:`book_dict` turns the open loans (each at its latest revaluation's request) into the book of
  :mod:`ipledge.risk.portfolio` (``ipledge book export`` writes it as YAML, so ``ipledge portfolio`` on the
  export gives the same figures as ``POST /v1/book/risk``).
- :func:`outcomes` extracts what the loans' events record: defaults, recoveries, loan-years of
  exposure and the pipeline transitions resolved while the loans ran; :func:`phase_evidence` writes the
  transitions in the evidence CSV of ``ipledge model fit --evidence``; :func:`default_evidence` is the
  default/recovery evidence for the calibration of the credit defaults (``ipledge calibrate --from-book``).
- :func:`prior_strength` / :func:`loan_years_to_matter`: how much book history it takes before it moves
  a calibrated default (Beta-binomial, below).

How many outcomes before the update matters (Beta-binomial; Gelman et al., BDA3 §2.4). A calibrated
annual default rate p0 held with a coefficient of variation c is a Beta prior of strength
``n0 = (1 - p0) / (p0 c²) - 1`` pseudo loan-years (mean p0, variance p0(1-p0)/(n0+1)). After N
loan-years with D defaults the posterior mean is ``(n0 p0 + D) / (n0 + N)``: the book carries weight
``w = N / (n0 + N)``. If the book's true rate is r p0, the posterior mean moves by ``w (r - 1) p0`` in
expectation, and this exceeds one prior standard deviation ``c p0`` once ``w ≥ c / |r - 1|``, i.e.
``N ≥ n0 c / (|r - 1| - c)`` (never when ``|r - 1| ≤ c``: a book that defaults within the prior's own
uncertainty does not "matter"). The same algebra holds for a recovery rate with N = recoveries.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math

from ipledge.risk.posterior import STAGES, TRANSITIONS
from ipledge.risk.revalue import BALANCE_EPS
from ipledge.valuation.terms import DAYS_PER_YEAR

DEFAULT_BOOK_PATHS = 10_000
DEFAULT_BOOK_SEED = 7


def book_dict(requests: list[dict], *, paths: int = DEFAULT_BOOK_PATHS, seed: int = DEFAULT_BOOK_SEED,
              chunk_paths: int | None = None, factors="on", name: str | None = None) -> dict:
    """The portfolio book (ipledge.risk.portfolio format) of the given pledge requests, in their order."""
    sim = {"paths": int(paths), "seed": int(seed)}
    if chunk_paths is not None:
        sim["chunk_paths"] = int(chunk_paths)
    out = {"pledges": requests, "simulation": sim, "factors": factors}
    if name:
        out["name"] = name
    return out


def book_yaml(book: dict, loan_ids: list[str], header: str = "") -> str:
    """YAML text of a book, a comment naming the loan of each pledge (portfolio reads no loan ids)."""
    import yaml

    lines = [f"# {header}"] if header else []
    lines += ["# pledges in order are the loans:"] + [f"#   [{i}] {lid}" for i, lid in enumerate(loan_ids)]
    return "\n".join(lines) + "\n" + yaml.safe_dump(book, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------------------------
# Outcomes


def _years(a: dt.date, b: dt.date) -> float:
    return max(0.0, (b - a).days / DAYS_PER_YEAR)


def _transitions(stage_from: str, stage_to: str) -> list[str]:
    """Transitions passed going from one stage to a later one (e.g. phase2 -> filed: two)."""
    i, j = STAGES.index(stage_from), STAGES.index(stage_to)
    return list(TRANSITIONS[i:j])


def loan_outcome(loan_id: str, request: dict, amount: float, drawdown: dt.date, events: list[dict],
                 today: dt.date) -> dict:
    """One loan's recorded outcome: exposure time, default, recoveries, resolved transitions."""
    stage = request["product"]["stage"]
    area = request["product"]["therapeutic_area"]
    balance, end, default, ead, recovered, channels = amount, None, None, None, 0.0, {}
    transitions = []
    for e in events:
        d = dt.date.fromisoformat(e["date"])
        t = e["type"]
        if t == "phase_result" and stage != "approved":
            if e["outcome"] == "reached":
                transitions += [(tr, 1) for tr in _transitions(stage, e["stage"])]
                stage = e["stage"]
            else:
                transitions.append((TRANSITIONS[STAGES.index(stage)], 0))
                stage = "failed"
        elif t in ("approval", "launch") and stage not in ("approved", "failed"):
            transitions += [(tr, 1) for tr in _transitions(stage, "approved")]
            stage = "approved"
        elif t == "repayment":
            balance -= e["amount"]
            if balance <= BALANCE_EPS and end is None:
                end = d
        elif t == "default":
            default, ead = d, balance
            end = end or d
        elif t == "recovery":
            recovered += e["amount"]
            channels[e["channel"]] = channels.get(e["channel"], 0.0) + e["amount"]
    exposure_end = min(end or today, today)
    return {"loan_id": loan_id, "therapeutic_area": area, "loan_years": _years(drawdown, exposure_end),
            "defaulted": default is not None, "default_date": default.isoformat() if default else None,
            "ead": ead, "recovered": recovered, "recovery_rate": (recovered / ead) if ead else None,
            "recovery_channels": channels, "transitions": transitions}


def outcomes(loans: list[dict], today: dt.date | None = None) -> dict:
    """The book's outcomes from ``loans`` = [{loan_id, request, amount, drawdown_date, events}]."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    rows = [loan_outcome(ln["loan_id"], ln["request"], ln["amount"], dt.date.fromisoformat(ln["drawdown_date"]),
                         ln["events"], today) for ln in loans]
    ly = sum(r["loan_years"] for r in rows)
    defaults = [r for r in rows if r["defaulted"]]
    ead = sum(r["ead"] or 0.0 for r in defaults)
    rec = sum(r["recovered"] for r in defaults)
    phase: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        for tr, ok in r["transitions"]:
            cell = phase.setdefault((r["therapeutic_area"], tr), [0, 0])
            cell[0] += 1
            cell[1] += ok
    return {
        "as_of": today.isoformat(), "n_loans": len(rows), "loan_years": ly, "defaults": len(defaults),
        "default_rate_per_loan_year": len(defaults) / ly if ly > 0 else None,
        "ead_at_default": ead, "recovered": rec, "recovery_rate": rec / ead if ead > 0 else None,
        "phase_results": [{"therapeutic_area": a, "transition": t, "n": n, "successes": k}
                          for (a, t), (n, k) in sorted(phase.items())],
        "loans": rows,
    }


def phase_evidence(out: dict) -> str:
    """The phase results as the evidence CSV of ``ipledge model fit --evidence`` (header + rows)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["therapeutic_area", "transition", "n", "successes"])
    for r in out["phase_results"]:
        w.writerow([r["therapeutic_area"], r["transition"], r["n"], r["successes"]])
    return buf.getvalue()


def default_evidence(out: dict) -> dict:
    """Default and recovery evidence for calibrating the credit defaults (``calibrate --from-book``).

    ``defaults`` events over ``loan_years`` of exposure (a Poisson/binomial count per loan-year), and per
    defaulted loan the exposure at default and what was recovered (recoveries still under way count as
    recorded so far)."""
    return {"loan_years": out["loan_years"], "defaults": out["defaults"],
            "recoveries": [{"loan_id": r["loan_id"], "ead": r["ead"], "recovered": r["recovered"],
                            "recovery_rate": r["recovery_rate"]} for r in out["loans"] if r["defaulted"]],
            "source": f"the institution's recorded loan events to {out['as_of']}"}


# --------------------------------------------------------------------------------------------
# How much history matters


def prior_strength(p0: float, cv: float) -> float:
    """n0 of a Beta prior with mean p0 and coefficient of variation cv (pseudo-observations)."""
    if not (0 < p0 < 1 and cv > 0):
        raise ValueError("need 0 < p0 < 1 and cv > 0")
    return max(0.0, (1.0 - p0) / (p0 * cv * cv) - 1.0)


def data_weight(n: float, n0: float) -> float:
    return n / (n0 + n) if n0 + n > 0 else 0.0


def posterior_mean(p0: float, n0: float, events: float, n: float) -> float:
    return (n0 * p0 + events) / (n0 + n)


def loan_years_to_matter(p0: float, cv: float, ratio: float) -> float:
    """Loan-years after which a book defaulting at ``ratio`` x p0 moves the posterior mean by more than
    one prior sd (inf if never: |ratio - 1| <= cv)."""
    n0 = prior_strength(p0, cv)
    gap = abs(ratio - 1.0)
    if gap <= cv:
        return math.inf
    return n0 * cv / (gap - cv)
