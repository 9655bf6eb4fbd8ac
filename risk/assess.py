"""One assessment: scores → pipeline → Monte Carlo → credit → LTV → decision (DESIGN §2, §5).

``assess(request) -> response`` is what the CLI and the API call. The response follows the v1
response schema; ``model_version`` names the pipeline posterior and the simulation version, and with
``seed`` (and ``scenario``) reproduces every random figure exactly.
"""
from __future__ import annotations

import datetime as dt
import uuid

import numpy as np

from risk.credit import bank_share, ltv_search, required_guarantee_share, run_credit, split_loss
from risk.decision import recommend
from risk.params import DEFAULT_PARAMS, ModelParams
from risk.posterior import PipelinePosterior, load_posterior
from risk.simulate import SimResult, simulate
from valuation.schema import SCHEMA_VERSION, PledgeRequest
from valuation.scorecard import score_request

SIM_VERSION = "sim-1"


def model_version(posterior: PipelinePosterior) -> str:
    return f"{posterior.model_version}/{SIM_VERSION}"


def shocked(req: PledgeRequest, name: str, params: ModelParams = DEFAULT_PARAMS):
    """(scenario, request, params) after the named scenario (built-in name or YAML path) is applied.

    The shocked request is validated again, so a shock cannot produce an invalid case."""
    from scenarios.loader import ScenarioError, apply_scenario, load_scenario

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
        counts, edges = np.histogram(pos[pos <= top], bins=bins, range=(0.0, top if top > 0 else 1.0))
    else:
        counts, edges = np.zeros(0, dtype=int), np.zeros(0)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts], "paths": int(pv.size),
            "zero": int((pv <= 0).sum()), "above": int(pos.size - counts.sum()), "mean": float(pv.mean())}


def _valuation_block(sim: SimResult, scores: dict) -> dict:
    pv = sim.pv
    q = np.percentile(sim.ip_cf, [5, 95], axis=0)
    flows = [{"year": int(y), "mean": float(m), "p5": float(a), "p95": float(b)}
             for y, m, a, b in zip(sim.years, sim.ip_cf.mean(axis=0), q[0], q[1])]
    p5, p50, p95 = np.percentile(pv, [5, 50, 95])
    return {"currency": "CNY", "appraised_value": float(pv.mean()), "p5": float(p5), "p50": float(p50),
            "p95": float(p95), "prob_zero": float((pv <= 0).mean()),
            "exclusivity_end": scores.get("exclusivity_end"), "cash_flows": flows,
            "mc_std_error": sim.mc_std_error, "paths": sim.n, "horizon_years": sim.T,
            "ip_share_of_sales": sim.ip_share, "histogram": value_histogram(pv)}


def assess(req: PledgeRequest, *, assessment_id: str | None = None, created_at: dt.datetime | None = None,
           progress=None, posterior: PipelinePosterior | None = None,
           params: ModelParams = DEFAULT_PARAMS) -> dict:
    """The full v1 response for one pledge request."""
    step = progress or (lambda name: None)
    base_req = req
    req, params = apply_named_scenario(req, params)
    posterior = posterior or load_posterior()
    step("scores")
    scores = score_request(req)
    step("simulate")
    sim = simulate(req, scores["competitive_contribution"]["ip_contribution"], posterior, params)
    step("credit")
    amount = req.loan.amount
    credit = run_credit(sim, req, [amount]).summary(0)
    w = bank_share(req)
    credit["bank_expected_loss"] = w * credit["expected_loss"]
    credit["bank_expected_loss_rate"] = w * credit["expected_loss_rate"]
    credit["maturity_years"] = req.loan.term_years
    step("ltv search")
    ltv = ltv_search(sim, req)
    guarantee = (required_guarantee_share(credit["bank_expected_loss_rate"], req.policy.max_expected_loss,
                                          params.max_guarantee_share)
                 if amount <= ltv.cap else None)
    pipeline = _pipeline_block(req, posterior, sim)
    valuation = _valuation_block(sim, scores)
    recommendation = recommend(req, scores, pipeline, valuation, credit, ltv, guarantee, params)
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
        "risk_sharing": split_loss(req, credit["expected_loss"]),
    }
