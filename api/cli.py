"""The `ipledge` command line. Each command group lives in its own module; this file wires them.

Errors a user can fix (a bad case file, a field out of range) print one line on stderr and exit 2;
no traceback reaches the user.
"""
from __future__ import annotations

import functools
import json
import sys
from typing import NoReturn

import click
from pydantic import ValidationError

from valuation.cases import CaseError, load_case_located
from valuation.errors import one_line

EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def user_errors(fn):
    """Turn the errors a user can fix into one line on stderr and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationError as e:
            fail(one_line(e))
        except (CaseError, ValueError, FileNotFoundError) as e:
            fail(str(e))
    return wrapper


def read_request(path: str):
    """The case in PATH; a schema error names the file, line and column (``case.yaml:52:3: field: ...``)."""
    return load_case_located(path)


def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.version_option(package_name="ipledge")
def main() -> None:
    """ipledge: value pledged patents and decide how much to lend against them."""
    from risk.runtime import tune_allocator

    tune_allocator()


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the `scores` object of the response schema.")
@user_errors
def score(case: str, as_json: bool) -> None:
    """Score the three aspects of the pledged IP in CASE (YAML or JSON)."""
    from valuation.scorecard import score_request
    from api.render import print_scores

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
    from api.serve import run_server

    run_server(host, port)


from api.cli_keys import keys  # noqa: E402

main.add_command(keys)


from api.cli_assess import assess  # noqa: E402  (commands live in their own modules)

main.add_command(assess)

from api.cli_stress import stress  # noqa: E402

main.add_command(stress)

from api.cli_portfolio import portfolio  # noqa: E402

main.add_command(portfolio)

from api.cli_report import report  # noqa: E402

main.add_command(report)

from api.cli_model import model  # noqa: E402

main.add_command(model)

from api.cli_loans import book, replay, revalue  # noqa: E402  (issue 17)

main.add_command(revalue)
main.add_command(replay)
main.add_command(book)

from api.cli_calibrate import calibrate  # noqa: E402

main.add_command(calibrate)

from api.cli_audit import audit  # noqa: E402

main.add_command(audit)
