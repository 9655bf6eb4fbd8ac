"""One assessment: scores → pipeline → Monte Carlo → credit → LTV → decision (DESIGN §2, §5).

``assess(request) -> response`` is what the CLI and the API call. The response follows the v1
response schema; ``model_version`` names the pipeline posterior and the simulation version, and with
``seed`` (and ``scenario``) reproduces every random figure exactly.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import uuid

import numpy as np

from ipledge.risk.credit import (Limits, annualise, checks_at, ltv_search, measures, required_guarantee_share,
                         run_credit, split_loss, std_errors)
from ipledge.risk.decision import recommend
from ipledge.risk.params import DEFAULT_PARAMS, ModelParams
from ipledge.risk.posterior import PipelinePosterior, load_posterior
from ipledge.risk.profiles import knockouts as profile_knockouts
from ipledge.risk.profiles import profile_of
from ipledge.risk.simulate import SimResult, simulate
from ipledge.valuation import gbt42748
from ipledge.valuation.schema import SCHEMA_VERSION, PledgeRequest
from ipledge.valuation.scorecard import score_request

SIM_VERSION = "sim-2"   # sim-2: issue 10 (no look-ahead, IP value to exclusivity end, cost to complete,
                        # timing) and issue 11 (net-cash financing rule, limits for every party)
DEFAULT_MAX_PATHS = 200_000   # the schema bound; the server reads the same IPLEDGE_MAX_PATHS


ENGINE_STEPS = ("simulate", "credit", "ltv search")   # per simulation; an escalation repeats them


def no_progress(step: str, done: int = 0, total: int | None = None) -> None:
    """The default progress callback: nothing."""


def max_paths() -> int:
    """Most paths an assessment may escalate to (IPLEDGE_MAX_PATHS, at most the schema bound 200,000)."""
    try:
        n = int(os.environ.get("IPLEDGE_MAX_PATHS", DEFAULT_MAX_PATHS))
    except ValueError:
        raise ValueError("IPLEDGE_MAX_PATHS must be an integer number of paths") from None
    return max(1000, min(n, DEFAULT_MAX_PATHS))


def pct_pp(x: float) -> str:
    return f"{100 * x:.1f} pp" if math.isfinite(x) else "undefined (flat limit)"


def finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def credit_block(req: PledgeRequest, sim: SimResult, run, ltv, params: ModelParams):
    """The response's credit block at the requested amount, the checks, the guarantee share."""
    credit = run.summary(0)
    lim = Limits.of(req, params)
    vals = {k: float(v[0]) for k, v in measures(run, lim).items()}
    shares = {r["party"]: r["expected_loss"] for r in split_loss(req, credit["expected_loss"], run.loss[0])}
    amount, term = req.loan.amount, req.loan.term_years
    credit["pd_annual"] = vals["pd"]
    credit["expected_loss_rate_annual"] = float(annualise(credit["expected_loss_rate"], term))
    credit["bank_expected_loss"] = shares.get("bank", 0.0)
    credit["bank_expected_loss_rate"] = credit["bank_expected_loss"] / amount
    credit["bank_expected_loss_rate_annual"] = float(annualise(credit["bank_expected_loss_rate"], term))
    credit["expected_loss_basis"] = lim.basis
    credit["maturity_years"] = term
    checks = checks_at(req, run, sim, params, ltv)
    failed = {c["limit"] for c in checks if not c["passed"]}
    guarantee = None
    # a guarantee moves part of the bank's loss to a guarantor, who takes it only within its own fee
    if failed <= {"bank_el"}:
        fee = (req.sharing.party_limits or {}).get("guarantor", params.party_limits["guarantor"])
        if not failed:
            guarantee = 0.0
        elif credit["expected_loss_rate_annual"] <= fee:
            guarantee = required_guarantee_share(vals["bank_el"], req.policy.max_expected_loss,
                                                 params.max_guarantee_share)
    return credit, checks, guarantee


def model_version(posterior: PipelinePosterior) -> str:
    return f"{posterior.model_version}/{SIM_VERSION}"


def shocked(req: PledgeRequest, name: str, params: ModelParams = DEFAULT_PARAMS):
    """(scenario, request, params) after the named scenario (built-in name or YAML path) is applied.

    The shocked request is validated again, so a shock cannot produce an invalid case."""
    from ipledge.scenarios.loader import ScenarioError, apply_scenario, load_scenario

    scen = load_scenario(name)
    data, model = apply_scenario(scen, req.model_dump(mode="json"), params.to_dict())
    try:
        return scen, PledgeRequest.model_validate(data), ModelParams.from_dict(model)
    except ValueError as e:
        raise ScenarioError(f"scenario '{scen.name}' makes the case invalid: {e}") from None


def apply_named_scenario(req: PledgeRequest, params: ModelParams) -> tuple[PledgeRequest, ModelParams]:
    """The request and parameters after the stress scenario named in ``req.scenario`` (if any)."""
    if not req.scenario:
        return req, params
    _, shocked_req, shocked_params = shocked(req, req.scenario, params)
    return shocked_req, shocked_params


def _pipeline_block(req: PledgeRequest, posterior: PipelinePosterior, sim: SimResult) -> dict:
    prod = req.product
    if prod.stage == "approved":
        p_appr, trans, launch = {"mean": 1.0, "hdi_90": [1.0, 1.0]}, {}, prod.launch_year
    else:
        region = req.pipeline.region
        p_appr = posterior.p_approval(prod.therapeutic_area, prod.modality, prod.stage, region=region)
        trans = posterior.transition_means(prod.therapeutic_area, prod.modality, prod.stage, region=region)
        t_launch = sim.launch_time[sim.approved]
        launch = int(req.as_of.year + np.ceil(np.median(t_launch))) if t_launch.size else None
    return {"stage": prod.stage, "region": req.pipeline.region, "p_approval": p_appr, "transitions": trans,
            "expected_launch_year": launch,
            "simulated_p_approval": float(sim.approved.mean())}


def value_histogram(pv: np.ndarray, bins: int = 30) -> dict:
    """Histogram of the per-path IP value today, for charts and clients.

    Positive values only, binned up to their 99th percentile (the rest counted in ``above``); ``zero``
    counts the paths worth nothing; ``mean`` is the appraised value."""
    pos = pv[pv > 0]
    if pos.size:
        top = float(np.percentile(pos, 99))
        # top > 0 (a percentile of positive values): the range needs no fallback
        counts, edges = np.histogram(pos[pos <= top], bins=bins, range=(0.0, top))
    else:
        counts, edges = np.zeros(0, dtype=int), np.zeros(0)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts], "paths": int(pv.size),
            "zero": int((pv <= 0).sum()), "above": int(pos.size - counts.sum()), "mean": float(pv.mean())}


def cash_flow_percentiles(ip_cf: np.ndarray) -> np.ndarray:
    """(2, T) p5 and p95 of each year's IP cash flow over the paths: ``np.percentile(ip_cf, [5, 95],
    axis=0)``, one year (a contiguous row of the transpose) at a time, and 0 without computing it for a
    year in which no path has a cash flow (every percentile of zeros is 0)."""
    q = np.zeros((2, ip_cf.shape[1]))
    active = ip_cf.any(axis=0)
    if active.any():
        q[:, active] = np.percentile(ip_cf.T[active], [5, 95], axis=1)
    return q


def _valuation_block(sim: SimResult, scores: dict) -> dict:
    pv = sim.pv
    q = cash_flow_percentiles(sim.ip_cf)
    flows = [{"year": int(y), "mean": float(m), "p5": float(a), "p95": float(b)}
             for y, m, a, b in zip(sim.years, sim.ip_cf.mean(axis=0), q[0], q[1])]
    p5, p50, p95 = np.percentile(pv, [5, 50, 95])
    return {"currency": "CNY", "appraised_value": float(pv.mean()), "p5": float(p5), "p50": float(p50),
            "p95": float(p95), "prob_zero": float((pv <= 0).mean()),
            "exclusivity_end": scores.get("exclusivity_end"), "cash_flows": flows,
            "mc_std_error": sim.mc_std_error, "paths": sim.n, "horizon_years": sim.T,
            "ip_share_of_sales": sim.ip_share, "histogram": value_histogram(pv),
            # issue 10: what the product earns after the rights end (never in the LTV, cap or collateral),
            # and the cost to complete paid by the holder, who abandons when going on is worth less
            "value_after_exclusivity": sim.value_after_exclusivity,
            "development_cost_pv": float(sim.development.cost_pv.mean()),
            "abandonment_probability": float(sim.development.abandoned.mean())}


def gbt42748_derived(sim: SimResult) -> dict:
    """GB/T 42748 quantities the simulation measures (ipledge.valuation.gbt42748 rates them).

    ``remaining_economic_life`` (E1): mean years of protected sales from today, max(0, exclusivity end
    - max(launch, today)), over the paths that reach the market (pending grants and invalidations
    resolved per path); 0 when no path does."""
    on_market = sim.approved & np.isfinite(sim.launch_time)
    years = np.maximum(0.0, sim.exclusivity_end[on_market] - np.maximum(sim.launch_time[on_market], 0.0))
    life = round(float(years.mean()), 2) if years.size else 0.0
    return {"remaining_economic_life": {
        "value": life,
        "source": f"simulation: mean years of protected sales over the {int(on_market.sum()):,} of {sim.n:,} "
                  f"paths that reach the market"}}


def assess(req: PledgeRequest, *, assessment_id: str | None = None, created_at: dt.datetime | None = None,
           progress=None, posterior: PipelinePosterior | None = None,
           params: ModelParams = DEFAULT_PARAMS, escalate: bool = True) -> dict:
    """The full v1 response for one pledge request.

    ``escalate``: re-run with 4x the paths (up to :func:`max_paths`) while the LTV standard error
    exceeds ``params.ltv_se_limit``; off where rows must share their paths (the stress table).
    ``progress``: optional ``progress(step, done, total)`` called as each engine step starts (scores,
    simulate, credit, LTV search; an escalation adds three); None costs nothing."""
    step = progress or no_progress
    base_req = req
    req, params = apply_named_scenario(req, params)
    posterior = posterior or load_posterior()
    total = 1 + len(ENGINE_STEPS)
    step("scores", 0, total)
    scores = score_request(req)
    ipc = scores["competitive_contribution"]["ip_contribution"]
    paths, paths_note = req.simulation.paths, None
    cap_paths = max_paths() if escalate else paths
    while True:
        done = total - len(ENGINE_STEPS)
        step(f"simulate {paths:,} paths", done, total)
        sim = simulate(req, ipc, posterior, params, n=paths)
        step("credit", done + 1, total)
        run = run_credit(sim, req, [req.loan.amount])
        step("ltv search", done + 2, total)
        ltv = ltv_search(sim, req, params=params)
        se_loan, se_ltv = std_errors(sim, req, ltv, params)
        if se_ltv <= params.ltv_se_limit or paths >= cap_paths:
            break
        more = min(cap_paths, 4 * paths)
        paths_note = (f"LTV standard error {pct_pp(se_ltv)} at {paths:,} paths exceeds "
                      f"{pct_pp(params.ltv_se_limit)}: re-run at {more:,} paths")
        paths = more
        total += len(ENGINE_STEPS)
    step("done", total, total)
    credit, checks, guarantee = credit_block(req, sim, run, ltv, params)
    scores["gbt42748"] = gbt42748.crosswalk(scores, req, gbt42748_derived(sim))
    pipeline = _pipeline_block(req, posterior, sim)
    valuation = _valuation_block(sim, scores)
    recommendation = recommend(req, scores, pipeline, valuation, credit, ltv, guarantee, params, checks,
                               profile_knockouts(req), profile_of(req).conditions)
    recommendation["ltv_std_error"] = finite(se_ltv)
    recommendation["max_loan_std_error"] = finite(se_loan)
    recommendation["paths"] = sim.n
    if paths_note:
        recommendation["paths_note"] = paths_note + (
            f"; still {pct_pp(se_ltv)} at {sim.n:,} paths (IPLEDGE_MAX_PATHS)" if se_ltv > params.ltv_se_limit else ".")
        recommendation["reasons"].append("Monte Carlo: " + recommendation["paths_note"])
    created = created_at or dt.datetime.now(dt.timezone.utc)
    return {
        "id": assessment_id or uuid.uuid4().hex,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "as_of": base_req.as_of.isoformat(),
        "model_version": model_version(posterior),
        "seed": req.simulation.seed,
        "scenario": base_req.scenario,
        "schema_version": SCHEMA_VERSION,
        "params_hash": params.fingerprint(),
        "scores": scores,
        "pipeline": pipeline,
        "valuation": valuation,
        "credit": credit,
        "recommendation": recommendation,
        "risk_sharing": split_loss(req, credit["expected_loss"], run.loss[0]),
    }
