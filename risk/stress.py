"""Stress table of one pledge: the base assessment and each named scenario, on common random numbers.

``stress_rows(req, names)`` runs :func:`ipledge.risk.assess.assess` once for the base case and once per
scenario (``scenarios/stress/<name>.yaml`` or a scenario YAML path), all with the same seed and number
of paths, so each scenario's paths differ from the base only by its shock: the change against the base
is the scenario's effect, not Monte Carlo noise (DESIGN §10).

The base is the request without any named scenario of its own (``req.scenario`` is ignored here; a
scenario is always applied to the plain case). Each row carries the response figures a credit committee
compares (appraised value, PD, EL rate, LTV = max_loan / appraised value, decision) plus the change
against the base.
"""
from __future__ import annotations

from ipledge.risk.params import DEFAULT_PARAMS, ModelParams
from ipledge.risk.posterior import PipelinePosterior, load_posterior
from ipledge.valuation.schema import PledgeRequest

ROW_KEYS = ("scenario", "appraised_value", "pd", "expected_loss_rate", "ltv", "decision")
DELTA_KEYS = ("appraised_value", "pd", "expected_loss_rate", "bank_expected_loss_rate", "ltv", "max_loan")


def resolve_names(names=None, all_: bool = False) -> list[str]:
    """Scenario names to run (all built-ins with ``all_`` or no names), each checked to load."""
    from ipledge.scenarios.loader import builtin_names, load_scenario

    chosen = list(builtin_names()) if all_ or not names else []
    for n in names or []:
        if n not in chosen:
            chosen.append(n)
    for n in chosen:
        load_scenario(n)  # raises ScenarioError naming the unknown scenario before any simulation
    return chosen


def _row(name: str, description: str, resp: dict) -> dict:
    rec, cr, val = resp["recommendation"], resp["credit"], resp["valuation"]
    return {
        "scenario": name,
        "appraised_value": val["appraised_value"],
        "pd": cr["pd"],
        "expected_loss_rate": cr["expected_loss_rate"],
        "ltv": rec["ltv"],
        "decision": rec["decision"],
        "description": description,
        "bank_expected_loss_rate": cr.get("bank_expected_loss_rate"),
        "max_loan": rec["max_loan"],
        "requested_ltv": rec["requested_ltv"],
        "var_99": cr["var_99"],
        "p5": val["p5"],
        "prob_zero": val["prob_zero"],
        "params_hash": resp.get("params_hash"),
    }


def stress_rows(req: PledgeRequest, names=None, posterior: PipelinePosterior | None = None, *,
                params: ModelParams = DEFAULT_PARAMS, paths: int | None = None, seed: int | None = None,
                all_: bool = False, progress=None) -> list[dict]:
    """Rows for the base case and each scenario; the first row is ``base``.

    ``paths`` / ``seed`` override the request's simulation settings (the same for every row).
    ``progress``: optional ``progress(row, done, total)`` called as each row's assessment starts (total =
    1 + the scenarios) and once at the end; None costs nothing.
    Raises :class:`ipledge.scenarios.loader.ScenarioError` for an unknown scenario, before running anything.
    """
    from ipledge.risk.assess import no_progress, assess, shocked

    chosen = resolve_names(names, all_)
    data = req.model_dump(mode="json")
    data["scenario"] = None
    sim = dict(data.get("simulation") or {})
    if paths is not None:
        sim["paths"] = int(paths)
    if seed is not None:
        sim["seed"] = int(seed)
    data["simulation"] = sim
    base_req = PledgeRequest.model_validate(data)
    posterior = posterior or load_posterior()

    step = progress or no_progress
    step("base", 0, 1 + len(chosen))
    base_resp = assess(base_req, posterior=posterior, params=params)
    base = _row("base", "the case as entered", base_resp)
    # every scenario row on the base's paths (the base may have escalated them): common random numbers
    data["simulation"] = {**sim, "paths": base_resp["valuation"]["paths"]}
    base_req = PledgeRequest.model_validate(data)
    rows = [base]
    for i, name in enumerate(chosen, 1):
        step(name, i, 1 + len(chosen))
        scen, r, p = shocked(base_req, name, params)
        rows.append(_row(scen.name, " ".join(scen.description.split()),
                         assess(r, posterior=posterior, params=p, escalate=False)))
    step("done", len(rows), len(rows))
    for row in rows:
        row["change"] = {k: (row[k] - base[k]) if row[k] is not None and base[k] is not None else None
                         for k in DELTA_KEYS}
        row["paths"] = base_req.simulation.paths
        row["seed"] = base_req.simulation.seed
    return rows
