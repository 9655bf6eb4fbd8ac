"""Reading a pledge case (YAML or JSON) into a validated request."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from ipledge.valuation.schema import PledgeRequest


class CaseError(ValueError):
    """A case file that cannot be read or parsed (not a schema problem)."""


def read_data_file(path: str | Path, error: type[Exception] = CaseError):
    """Parse a YAML file, or JSON when the name ends in .json; unreadable or malformed → ``error``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{p}: cannot read ({e.strerror})") from None
    try:
        return json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise error(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'} "
                    f"({str(e).splitlines()[0]})") from None


def read_case_data(path: str | Path) -> dict:
    data = read_data_file(path)
    if not isinstance(data, dict):
        raise CaseError(f"{path}: the case must be a mapping of fields at the top level")
    return data


def load_case(path: str | Path) -> PledgeRequest:
    """Parse and validate; raises CaseError or pydantic.ValidationError."""
    return PledgeRequest.model_validate(read_case_data(path))
