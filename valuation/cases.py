"""Reading a pledge case (YAML or JSON) into a validated request."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from ipledge.valuation.errors import field_errors
from ipledge.valuation.schema import PledgeRequest


class CaseError(ValueError):
    """A case file that cannot be read or parsed (not a schema problem)."""


def where(p: Path, line: int | None, column: int | None) -> str:
    """``file:line:column`` (1-based, as editors and compilers print it), or the file alone."""
    return f"{p}:{line}:{column}" if line else str(p)


def read_data_file(path: str | Path, error: type[Exception] = CaseError):
    """Parse a YAML file, or JSON when the name ends in .json; unreadable or malformed → ``error``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{p}: cannot read ({e.strerror})") from None
    try:
        return json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise error(f"{where(p, e.lineno, e.colno)}: not valid JSON ({e.msg})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        what = ": ".join(x for x in (getattr(e, "context", None), getattr(e, "problem", None)) if x) \
            or str(e).splitlines()[0]
        raise error(f"{where(p, mark and mark.line + 1, mark and mark.column + 1)}: not valid YAML "
                    f"({what})") from None


def yaml_position(text: str, loc: tuple) -> tuple[int, int] | None:
    """1-based (line, column) in a YAML (or JSON) document of the field at pydantic ``loc``.

    Walks the composed node tree: the key of the deepest mapping entry on the path (so a missing field
    points at the mapping that lacks it, a bad list item at the item); None when the text cannot be
    composed."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    mark = node.start_mark if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)),
                       None)
            if hit is None:
                break
            mark, node = hit[0].start_mark, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return (mark.line + 1, mark.column + 1) if mark is not None else None


def located_message(path: str | Path, exc: ValidationError) -> str:
    """``file:line:column: field: message (and N more)``: the first schema error where it is in the file."""
    p = Path(path)
    rows = field_errors(exc)
    first = exc.errors(include_url=False)[0]
    try:
        pos = yaml_position(p.read_text(encoding="utf-8"), tuple(first["loc"]))
    except OSError:
        pos = None
    more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
    return f"{where(p, *(pos or (None, None)))}: {rows[0]['field']}: {rows[0]['message']}{more}"


def read_case_data(path: str | Path) -> dict:
    data = read_data_file(path)
    if not isinstance(data, dict):
        raise CaseError(f"{path}: the case must be a mapping of fields at the top level")
    return data


def load_case(path: str | Path) -> PledgeRequest:
    """Parse and validate; raises CaseError or pydantic.ValidationError."""
    return PledgeRequest.model_validate(read_case_data(path))


def load_case_located(path: str | Path) -> PledgeRequest:
    """:func:`load_case` for a person at a terminal: a schema error is a CaseError whose one line names the
    file, the line and column of the offending key, and the field (``case.yaml:52:3: product.profit_margin:
    ...``)."""
    data = read_case_data(path)
    try:
        return PledgeRequest.model_validate(data)
    except ValidationError as e:
        raise CaseError(located_message(path, e)) from None
