"""docs/schema.md, generated from the pydantic models so the document cannot drift from the code.

The request is :class:`ipledge.valuation.schema.PledgeRequest` and the models it nests; the responses are the
models of :mod:`ipledge.api.responses` (the ones that also generate the OpenAPI document). For every field: its
JSON type, whether it is required (or its default), its bounds, and its description (with the unit)
as written in the model. ``make schema-doc`` rewrites the file; ``tests/test_readme.py`` fails when
the file and the models disagree.
"""
from __future__ import annotations

import datetime as dt
import inspect
import sys
import types
import typing
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
#: the approved example request as a file (the README's curl walk-through posts it)
EXAMPLE = DOC.parent / "examples" / "approval.json"

HEADER = """# Request and response schema (v1)

Generated from the pydantic models by `make schema-doc` (do not edit by hand: `tests/test_readme.py` fails when
this file and the models disagree). The same models generate the OpenAPI 3.1 document the server serves at
`/v1/openapi.json` (interactive: `/v1/docs`).

Conventions: amounts are in CNY (responses round them to the fen, 2 decimals); a **fraction** is a number
between 0 and 1 where 0.35 means 35%; rates and loss limits are fractions (per year where the description
says so); dates are `YYYY-MM-DD` strings; durations in years are decimal years. Requests forbid unknown
fields and non-finite numbers, and numbers and booleans are strict (`"5"` is not a number). Responses may
gain fields (a client must ignore fields it does not know); a field is never renamed.
"""


def _name(m: type) -> str:
    return m.__name__


def _anchor(m: type) -> str:
    return _name(m).lower()


def _strip(tp):
    """(type without Annotated, its metadata)."""
    meta = []
    while typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        tp, meta = args[0], meta + list(args[1:])
    return tp, meta


def type_text(tp, seen: list) -> str:
    """Markdown for a field type; nested models are linked and queued in ``seen``."""
    tp, _ = _strip(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{v!r}`".replace("'", '"') for v in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        parts = [type_text(a, seen) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin in (list, tuple, set):
        args = typing.get_args(tp)
        return f"list of {type_text(args[0], seen)}" if args else "list"
    if origin is dict:
        args = typing.get_args(tp)
        return f"object of {type_text(args[1], seen)}" if args else "object"
    if inspect.isclass(tp) and issubclass(tp, BaseModel):
        if tp not in seen:
            seen.append(tp)
        return f"[{_name(tp)}](#{_anchor(tp)})"
    simple = {float: "number", int: "integer", str: "string", bool: "boolean", dt.date: "date (YYYY-MM-DD)",
              dt.datetime: "date-time (ISO 8601)", list: "list", dict: "object", type(None): "null"}
    return simple.get(tp, getattr(tp, "__name__", str(tp)))


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def bounds_text(field) -> str:
    _, inner = _strip(field.annotation)
    lo = hi = None
    out = []
    for m in list(field.metadata) + inner:
        if isinstance(m, at.Ge):
            lo = f"≥ {_num(m.ge)}"
        elif isinstance(m, at.Gt):
            lo = f"> {_num(m.gt)}"
        elif isinstance(m, at.Le):
            hi = f"≤ {_num(m.le)}"
        elif isinstance(m, at.Lt):
            hi = f"< {_num(m.lt)}"
        elif isinstance(m, at.MinLen):
            out.append(f"min length {m.min_length}")
        elif isinstance(m, at.MaxLen):
            out.append(f"max length {m.max_length}")
    text = ", ".join(x for x in (lo, hi) if x)
    ge = next((m for m in field.metadata if isinstance(m, (at.Ge, at.Gt))), None)
    le = next((m for m in field.metadata if isinstance(m, at.Le)), None)
    tp, _ = _strip(field.annotation)
    if ge is not None and le is not None and tp is float and getattr(ge, "ge", getattr(ge, "gt", -1)) >= 0 \
            and le.le <= 1:
        text += " (fraction)"
    return "; ".join(x for x in [text] + out if x)


def default_text(field) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        factory = field.default_factory
        name = getattr(factory, "__name__", "")
        if inspect.isclass(factory) and issubclass(factory, BaseModel):
            return "optional (defaults inside)"
        if name == "today":
            return "optional (today)"
        try:
            return f"`{_json(factory())}`"
        except TypeError:
            return "optional"
    if field.default is PydanticUndefined:
        return "optional"
    return f"`{_json(field.default)}`"


def _json(v) -> str:
    import json

    return json.dumps(v, default=str, ensure_ascii=False)


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def model_section(m: type, seen: list) -> str:
    doc = inspect.getdoc(m) if m.__doc__ and m.__doc__ != BaseModel.__doc__ else ""
    lines = [f"### {_name(m)}", ""]
    if doc:
        lines += [" ".join(doc.split()), ""]
    fields = m.model_fields
    if list(fields) == ["root"]:                     # a RootModel: the members of its union, each its own model
        lines += [f"One of: {type_text(fields['root'].annotation, seen)}.", ""]
        return "\n".join(lines) + "\n"
    lines += ["| field | type | required / default | bounds | description |", "|---|---|---|---|---|"]
    for name, f in m.model_fields.items():
        lines.append(f"| `{name}` | {type_text(f.annotation, seen)} | {default_text(f)} | {_cell(bounds_text(f))} "
                     f"| {_cell(f.description)} |")
    return "\n".join(lines) + "\n"


def _sections(roots: list[type]) -> list[str]:
    """Each model once: breadth-first from the first root (the order a reader meets them), then the next
    root not yet shown, and so on."""
    seen: list[type] = []
    out, i = [], 0
    for root in roots:
        if root not in seen:
            seen.append(root)
        while i < len(seen):
            out.append(model_section(seen[i], seen))
            i += 1
    return out


def response_models() -> list[type]:
    """The response models of ipledge.api.responses, in the order they are defined (public ones only)."""
    import ipledge.api.responses as responses

    found = [obj for name, obj in vars(responses).items()
             if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == responses.__name__
             and not name.startswith("_")]
    return found  # a module's namespace keeps definition order (models made by create_model included)


def body_models() -> list[type]:
    """The request bodies of the other routes (stress, portfolio jobs, loans, events, alerts)."""
    from ipledge.api.routes.book import BookRiskBody
    from ipledge.api.routes.stress import BookBody, StressBody
    from ipledge.api.service_loans import AckBody, EventBody, LoanBody, RevaluationBody

    return [StressBody, BookBody, BookRiskBody, LoanBody, EventBody, RevaluationBody, AckBody]


def render() -> str:
    from ipledge.valuation.schema import SCHEMA_VERSION, PledgeRequest

    request = _sections([PledgeRequest])
    bodies = _sections(body_models())
    from ipledge.api.responses import AssessmentResponse

    responses = _sections([AssessmentResponse, *response_models()])
    return "\n".join([HEADER, f"Schema version: `{SCHEMA_VERSION}`.", "",
                      "## Request: a pledge (`POST /v1/assessments`, `/v1/valuations`, `/v1/readiness`, "
                      "and the case files of the command line)", "", *request,
                      "## Other request bodies", "",
                      "`POST /v1/assessments/{id}/stress`: [StressBody](#stressbody); `POST /v1/portfolio/stress`: "
                      "[BookBody](#bookbody); `POST /v1/book/risk`: [BookRiskBody](#bookriskbody); `POST /v1/loans`: "
                      "[LoanBody](#loanbody); `POST /v1/loans/{id}/events`: [EventBody](#eventbody) (one of the "
                      "event types, selected by `type`); `POST /v1/loans/{id}/revaluations`: "
                      "[RevaluationBody](#revaluationbody); `POST /v1/alerts/{id}/ack`: [AckBody](#ackbody).", "",
                      *bodies,
                      "## Responses", "",
                      "Models of the answers (`api/responses.py`); the assessment is "
                      "[AssessmentResponse](#assessmentresponse); errors are [Problem](#problem) "
                      "(`application/problem+json`).", "", *responses]).rstrip() + "\n"


def example_text() -> str:
    import json

    from ipledge.api.examples import approval_request

    return json.dumps(approval_request(), indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[Path, str]:
    """Every generated file and its text."""
    return {DOC: render(), EXAMPLE: example_text()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stale = [p for p, text in generated().items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if argv and argv[0] == "--check":
        for p in stale:
            print(f"{p}: out of date; run make schema-doc")
        return 1 if stale else 0
    for p, text in generated().items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
