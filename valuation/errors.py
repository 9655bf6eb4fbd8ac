"""Turning pydantic validation errors into field paths a client or a loan officer can act on.

Range errors say the unit: ``product.profit_margin: must be a fraction between 0 and 1; 0.35 means 35%
(got 35)``, read from the field's :class:`ipledge.valuation.units.Unit` (the metadata that also writes the
OpenAPI description), so the API's problem+json and the CLI's one-line message say the same.
"""
from __future__ import annotations

from pydantic import BaseModel, ValidationError

#: pydantic error types of a numeric bound, and the bound's key in the error's ``ctx``
RANGE_TYPES = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt"}
#: messages of the strict number type (ipledge.valuation.schema.Number) in the words the API has always used
TYPE_MESSAGES = {"float_type": "must be a number", "int_type": "must be a whole number",
                 "finite_number": "must be a finite number (NaN and infinity are not allowed)"}


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


def _num(v) -> str:
    v = float(v)
    return f"{int(v):,}" if v.is_integer() and abs(v) < 1e18 else f"{v:g}"


def _bounds(metadata: list) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """(lower, strict), (upper, strict): the tightest bounds in the metadata."""
    from pydantic.fields import FieldInfo

    flat = []
    for m in metadata:
        flat.extend(m.metadata if isinstance(m, FieldInfo) else [m])
    lo = hi = None
    for m in flat:
        for attr, is_lo, strict in (("ge", True, False), ("gt", True, True), ("le", False, False),
                                    ("lt", False, True)):
            v = getattr(m, attr, None)
            if v is None or type(m).__name__.lower() != attr:
                continue
            if is_lo and (lo is None or v > lo[0] or (v == lo[0] and strict)):
                lo = (float(v), strict)
            if not is_lo and (hi is None or v < hi[0] or (v == hi[0] and strict)):
                hi = (float(v), strict)
    return lo, hi


def range_message(unit, metadata: list, value) -> str:
    """'must be a fraction between 0 and 1; 0.35 means 35% (got 35)'."""
    lo, hi = _bounds(metadata)
    if lo and hi and not lo[1] and not hi[1]:
        span = f"between {_num(lo[0])} and {_num(hi[0])}"
    else:
        parts = []
        if lo:
            parts.append(f"{'above' if lo[1] else 'at least'} {_num(lo[0])}")
        if hi:
            parts.append(f"{'below' if hi[1] else 'at most'} {_num(hi[0])}")
        span = " and ".join(parts)
    hint = f"; {unit.hint}" if unit.hint else ""
    got = f" (got {_num(value)})" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return f"must be {unit.noun} {span}{hint}{got}"


def _message(err: dict, model: type[BaseModel] | None) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] in TYPE_MESSAGES:
        return TYPE_MESSAGES[err["type"]]
    if err["type"] in RANGE_TYPES and model is not None:
        from ipledge.valuation.units import Unit, metadata_at

        meta = metadata_at(model, tuple(err["loc"]))
        unit = next((m for m in meta if isinstance(m, Unit)), None)
        if unit is not None:
            return range_message(unit, meta, err.get("input"))
    return msg


def field_errors(exc: ValidationError, model: type[BaseModel] | None = None) -> list[dict]:
    """One entry per problem: {"field": dotted path, "message": text, "type": pydantic error type}.

    ``model``: the model that raised (default: the registered model named by the error's title), so
    range errors can name the field's unit."""
    from ipledge.valuation.units import MODELS

    model = model or MODELS.get(exc.title)
    rows = []
    for err in exc.errors(include_url=False):
        rows.append({"field": field_path(err["loc"]), "message": _message(err, model), "type": err["type"]})
    return rows


def one_line(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The first problem on one line, plus a count of the others (for the CLI)."""
    rows = field_errors(exc, model)
    head = f"{rows[0]['field']}: {rows[0]['message']}"
    return head if len(rows) == 1 else f"{head} (and {len(rows) - 1} more)"
