"""`ipledge assess CASE`: the full assessment as a readable report or as the v1 response JSON."""
from __future__ import annotations

import click

from ipledge.cli.common import emit_json, read_request, user_errors
from ipledge.cli.progress import progress_bar, quiet_option


@click.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the full v1 response.")
@click.option("--paths", type=int, default=None, help="Monte Carlo paths (1,000-200,000).")
@click.option("--seed", type=int, default=None, help="Random seed (stored with the result).")
@click.option("--scenario", default=None, help="Apply a named stress scenario (see scenarios/stress).")
@quiet_option
@user_errors
def assess(case: str, as_json: bool, paths: int | None, seed: int | None, scenario: str | None,
           quiet: bool) -> None:
    """Assess the pledge in CASE: value, default risk, recommended LTV, decision and loss split."""
    from ipledge.risk.assess import assess as run_assessment
    from ipledge.valuation.schema import PledgeRequest

    req = read_request(case)
    data = req.model_dump(mode="json")
    if paths is not None:
        data["simulation"]["paths"] = paths
    if seed is not None:
        data["simulation"]["seed"] = seed
    if scenario is not None:
        data["scenario"] = scenario
    req = PledgeRequest.model_validate(data)
    with progress_bar("assess", quiet, as_json) as progress:
        result = run_assessment(req, progress=progress)
    if as_json:
        emit_json(result)
    else:
        from ipledge.cli.render_assess import print_assessment

        print_assessment(req, result)
