"""The `ipledge` command line. Each command group lives in its own module; this file wires them.

Errors a user can fix (a bad case file, a field out of range) print one line on stderr and exit 2;
no traceback reaches the user.
"""
from __future__ import annotations

import click

from ipledge.cli.common import EXIT_USAGE, emit_json, fail, read_request, user_errors  # noqa: F401  (re-exported)


@click.group()
@click.version_option(package_name="ipledge")
def main() -> None:
    """ipledge: value pledged patents and decide how much to lend against them."""
    from ipledge.risk.runtime import tune_allocator

    tune_allocator()


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the `scores` object of the response schema.")
@user_errors
def score(case: str, as_json: bool) -> None:
    """Score the three aspects of the pledged IP in CASE (YAML or JSON)."""
    from ipledge.valuation.scorecard import score_request
    from ipledge.cli.render import print_scores

    req = read_request(case)
    scores = score_request(req)
    if as_json:
        emit_json(scores)
    else:
        print_scores(req, scores)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the API (and the self-assessment page)."""
    from ipledge.api.serve import run_server

    run_server(host, port)


from ipledge.cli.keys import keys  # noqa: E402

main.add_command(keys)


from ipledge.cli.assess import assess  # noqa: E402  (commands live in their own modules)

main.add_command(assess)

from ipledge.cli.stress import stress  # noqa: E402

main.add_command(stress)

from ipledge.cli.portfolio import portfolio  # noqa: E402

main.add_command(portfolio)

from ipledge.cli.report import report  # noqa: E402

main.add_command(report)

from ipledge.cli.model import model  # noqa: E402

main.add_command(model)

from ipledge.cli.loans import book, replay, revalue  # noqa: E402  (issue 17)

main.add_command(revalue)
main.add_command(replay)
main.add_command(book)

from ipledge.cli.calibrate import calibrate  # noqa: E402

main.add_command(calibrate)

from ipledge.cli.audit import audit  # noqa: E402

main.add_command(audit)
