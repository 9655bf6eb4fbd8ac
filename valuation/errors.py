"""Turning pydantic validation errors into field paths a client or a loan officer can act on."""
from __future__ import annotations

from pydantic import ValidationError


def field_path(loc: tuple) -> str:
    """('patents', 0, 'grant_date') -> 'patents[0].grant_date'."""
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic marks a bad dict key this way; the path already names the key
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(body)"


def field_errors(exc: ValidationError) -> list[dict]:
    """One entry per problem: {"field": dotted path, "message": text, "type": pydantic error type}."""
    rows = []
    for err in exc.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        rows.append({"field": field_path(err["loc"]), "message": msg, "type": err["type"]})
    return rows


def one_line(exc: ValidationError) -> str:
    """The first problem on one line, plus a count of the others (for the CLI)."""
    rows = field_errors(exc)
    head = f"{rows[0]['field']}: {rows[0]['message']}"
    return head if len(rows) == 1 else f"{head} (and {len(rows) - 1} more)"
