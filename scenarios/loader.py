"""Stress scenarios: named shocks applied to a request and to the model parameters (DESIGN §10).

A scenario file (YAML)::

    name: vbp_price_cut
    description: one line a risk officer reads
    sources: [facts the numbers rest on]
    set:
      product.vbp_exposure: high          # a value replaces the field
      model.vbp_cut_mean: {scale: 1.13}   # multiply
      policy.discount_rate: {add: 0.03}   # add
      policy.liquidation_haircut: {at_least: 0.8}   # raise to 0.8 unless already stricter (at_most: lower to)

Paths are dotted: into the request schema (``product.peak_sales.p50``, ``patents.*.invalidation``
for every patent) or into the model parameters under ``model.`` (``model.vbp_hazard.high``;
``model.vbp_hazard.*`` for every value of a mapping). An unknown
path is refused with the path named. This module knows the request schema only: it edits plain dicts,
and the caller validates the result again, so a shock cannot produce an invalid request.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

OPS = ("scale", "add", "at_least", "at_most")


class ScenarioError(ValueError):
    """A scenario that cannot be found, parsed or applied; the message names the problem."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    set: dict
    sources: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict, origin: str = "scenario") -> "Scenario":
        if not isinstance(data, dict):
            raise ScenarioError(f"{origin}: a scenario must be a mapping")
        unknown = set(data) - {"name", "description", "set", "sources"}
        if unknown:
            raise ScenarioError(f"{origin}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("name", "description", "set"):
            if key not in data:
                raise ScenarioError(f"{origin}: '{key}' is required")
        if not isinstance(data["set"], dict) or not data["set"]:
            raise ScenarioError(f"{origin}: 'set' must map dotted paths to values")
        for path, spec in data["set"].items():
            if isinstance(spec, dict):
                if len(spec) != 1 or next(iter(spec)) not in OPS:
                    raise ScenarioError(f"{origin}: set.{path} takes a value or one of "
                                      f"{{scale: x}}, {{add: x}}, {{at_least: x}}, {{at_most: x}}")
                op_val = next(iter(spec.values()))
                if isinstance(op_val, bool) or not isinstance(op_val, (int, float)):
                    raise ScenarioError(f"{origin}: set.{path}: {next(iter(spec))} needs a number")
        return cls(str(data["name"]), str(data["description"]), dict(data["set"]),
                   list(data.get("sources") or []))


def _stress_dir():
    return resources.files("ipledge.scenarios") / "stress"


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in _stress_dir().iterdir() if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in by name, or a YAML file by path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        text, origin = p.read_text(encoding="utf-8"), str(p)
    else:
        f = _stress_dir() / f"{name_or_path}.yaml"
        if not f.is_file():
            raise ScenarioError(f"unknown scenario '{name_or_path}'; built-ins: {', '.join(builtin_names())}")
        text, origin = f.read_text(encoding="utf-8"), name_or_path
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScenarioError(f"{origin}: not valid YAML ({str(e).splitlines()[0]})") from None
    return Scenario.from_dict(data, origin)


def _apply_op(old, spec, path: str):
    if not isinstance(spec, dict):
        return copy.deepcopy(spec)
    if old is None or isinstance(old, bool) or not isinstance(old, (int, float)):
        raise ScenarioError(f"{path}: {next(iter(spec))} needs a numeric field (found {old!r})")
    op, x = next(iter(spec.items()))
    new = {"scale": old * x, "add": old + x, "at_least": max(old, x), "at_most": min(old, x)}[op]
    return type(old)(new) if isinstance(old, int) and float(new).is_integer() else new


def _set_path(target, parts: list[str], spec, full: str) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(target, dict) and target:
            # every value of a mapping (e.g. model.vbp_hazard.*: {scale: 2} for all exposure levels)
            for key in list(target):
                if rest:
                    _set_path(target[key], rest, spec, full)
                else:
                    target[key] = _apply_op(target[key], spec, full)
            return
        if not isinstance(target, list) or not rest:
            raise ScenarioError(f"{full}: '*' stands for every item of a list (with a field after it) "
                                f"or every value of a mapping")
        for item in target:
            _set_path(item, rest, spec, full)
        return
    if not isinstance(target, dict) or head not in target:
        raise ScenarioError(f"unknown path '{full}' (no field '{head}')")
    if rest:
        _set_path(target[head], rest, spec, full)
    else:
        target[head] = _apply_op(target[head], spec, full)


def apply_scenario(scenario: Scenario, request: dict, model: dict) -> tuple[dict, dict]:
    """Return shocked copies of the request dict (all fields filled in) and the model-parameter dict."""
    req, mod = copy.deepcopy(request), copy.deepcopy(model)
    for path, spec in scenario.set.items():
        parts = str(path).split(".")
        if parts[0] == "model":
            if len(parts) < 2:
                raise ScenarioError(f"unknown path '{path}'")
            _set_path(mod, parts[1:], spec, path)
        else:
            _set_path(req, parts, spec, path)
    return req, mod
