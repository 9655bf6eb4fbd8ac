"""What the command groups share: user errors as one line on stderr (exit 2), reading a case file, JSON out."""
from __future__ import annotations

import functools
import json
import sys
from typing import NoReturn

import click
from pydantic import ValidationError

from ipledge.valuation.cases import CaseError, load_case_located
from ipledge.valuation.errors import one_line

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
