"""Golden outputs (issue 12): every bundled case under the base and each built-in stress scenario.

The way the Open Source Risk Engine guards its examples: the decision-relevant fields of a fresh
assessment are compared with files committed in ``tests/expected/``, one per case and scenario
(``<case>__<scenario>.json``), within the tolerances of ``tests/expected/tolerances.yaml``.
``tests/test_expected_outputs.py`` compares; ``python -m tests.update_expected`` rewrites the files and
prints every number that moved. Both use this module, so they run the engine one way.

A run is the assessment as deployed: :func:`ipledge.risk.assess.assess` on the case file as written (its
``simulation.paths`` / ``seed``, the schema defaults 10,000 / 7), escalation on, the request's
``scenario`` set to the stress scenario — what ``ipledge assess CASE --scenario NAME --json`` and
``POST /v1/assessments`` with ``"scenario": NAME`` compute (the API then rounds amounts to the fen,
inside the money tolerance). It always uses the shipped pipeline posterior and the default path cap,
whatever ``$IPLEDGE_POSTERIOR``, ``ipledge model use`` or ``$IPLEDGE_MAX_PATHS`` say on this machine.

Fields are dotted paths into the v1 response (``api/responses.py``); a list item is picked by its key,
``recommendation.checks[limit=pd].value``, ``risk_sharing[party=bank].expected_loss``.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

import ipledge.scenarios as scenarios
from ipledge.risk.assess import assess
from ipledge.risk.posterior import load_posterior, shipped_posterior_path
from ipledge.scenarios.loader import builtin_names
from ipledge.valuation.cases import load_case
from ipledge.valuation.schema import PledgeRequest

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"
TOLERANCES_FILE = EXPECTED_DIR / "tolerances.yaml"
CASES_DIR = Path(scenarios.__file__).resolve().parent / "cases"
BASE = "base"
SEP = "__"
SIGNIFICANT = 12   #: digits a float keeps in a golden file (5e-13 relative: far inside every tolerance)

#: fields read from the response; ``*`` items are expanded per check / per party the response carries
TOP = ("model_version", "seed", "params_hash")
VALUATION = ("appraised_value", "p5", "p50", "p95", "prob_zero", "abandonment_probability", "paths")
PIPELINE = ("p_approval.mean", "simulated_p_approval")
CREDIT = ("pd", "pd_annual", "expected_loss", "expected_loss_rate", "expected_loss_rate_annual",
          "bank_expected_loss", "bank_expected_loss_rate", "bank_expected_loss_rate_annual",
          "expected_loss_basis")
RECOMMENDATION = ("decision", "binding_constraint", "max_loan", "ltv", "risk_supported_max_loan",
                  "risk_supported_ltv", "requested_ltv", "required_guarantee_share", "ltv_std_error", "paths")
CHECK = ("value", "threshold", "passed", "basis")   # per recommendation.checks[] item, keyed by limit
SHARE = ("share", "expected_loss")                   # per risk_sharing[] item, keyed by party


# -- the runs -------------------------------------------------------------------------------------

def case_names() -> list[str]:
    return sorted(p.stem for p in CASES_DIR.glob("*.yaml"))


def scenario_names() -> list[str]:
    """``base`` then every built-in stress scenario (scenarios/stress/*.yaml)."""
    return [BASE, *builtin_names()]


def golden_path(case: str, scenario: str) -> Path:
    return EXPECTED_DIR / f"{case}{SEP}{scenario}.json"


def golden_files() -> dict[tuple[str, str], Path]:
    """Every golden file present, by (case, scenario)."""
    out = {}
    for p in sorted(EXPECTED_DIR.glob("*.json")):
        case, sep, scenario = p.stem.partition(SEP)
        out[(case, scenario) if sep else (p.stem, "")] = p
    return out


@contextlib.contextmanager
def _default_path_cap():
    """``$IPLEDGE_MAX_PATHS`` unset for the run (escalation up to the deployed default), restored after."""
    old = os.environ.pop("IPLEDGE_MAX_PATHS", None)
    try:
        yield
    finally:
        if old is not None:
            os.environ["IPLEDGE_MAX_PATHS"] = old


def request_of(case: str, scenario: str) -> PledgeRequest:
    """The case file as written, with ``scenario`` set (``None`` for the base)."""
    data = load_case(CASES_DIR / f"{case}.yaml").model_dump(mode="json")
    data["scenario"] = None if scenario == BASE else scenario
    return PledgeRequest.model_validate(data)


def run(case: str, scenario: str, **assess_kwargs) -> dict:
    """The full v1 response of one case under one scenario, as deployed (see the module docstring)."""
    kwargs = {"posterior": load_posterior(str(shipped_posterior_path())), **assess_kwargs}
    with _default_path_cap():
        return assess(request_of(case, scenario), **kwargs)


def _get(doc, dotted: str):
    node = doc
    for part in dotted.split("."):
        node = node[part]
    return node


def extract(resp: dict) -> dict:
    """The golden fields of a response, by dotted path."""
    out = {k: resp[k] for k in TOP}
    for section, keys in (("valuation", VALUATION), ("pipeline", PIPELINE), ("credit", CREDIT),
                          ("recommendation", RECOMMENDATION)):
        for k in keys:
            out[f"{section}.{k}"] = _get(resp[section], k)
    for c in resp["recommendation"].get("checks") or []:
        for k in CHECK:
            out[f"recommendation.checks[limit={c['limit']}].{k}"] = c[k]
    for s in resp["risk_sharing"]:
        for k in SHARE:
            out[f"risk_sharing[party={s['party']}].{k}"] = s[k]
    return out


def fresh(case: str, scenario: str, **assess_kwargs) -> dict:
    """The golden document of a fresh run: metadata and the fields."""
    resp = run(case, scenario, **assess_kwargs)
    return {"case": case, "scenario": scenario, "model_version": resp["model_version"], "seed": resp["seed"],
            "paths": resp["recommendation"]["paths"], "fields": normalise(extract(resp))}


# -- the files ------------------------------------------------------------------------------------

def _float(x: float):
    if not math.isfinite(x):
        return repr(x)   # 'nan' / 'inf' / '-inf': JSON has no such number; compared as strings
    return float(format(x, f".{SIGNIFICANT}g"))


def normalise(fields: dict) -> dict:
    """Plain JSON values, floats at :data:`SIGNIFICANT` significant digits (numpy scalars included)."""
    out = {}
    for k, v in fields.items():
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            v = v.item()
        out[k] = _float(v) if isinstance(v, float) else v
    return out


def dumps(doc: dict) -> str:
    """Deterministic text of a golden document: sorted keys, 2-space indent, a final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# -- the tolerances -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tolerance:
    pattern: str
    exact: bool = False
    abs_tol: float = 0.0
    rel_tol: float = 0.0

    def __str__(self) -> str:
        return "exact" if self.exact else f"abs {self.abs_tol:g}, rel {self.rel_tol:g}"


def _pattern_re(pattern: str) -> re.Pattern:
    """``*`` matches any text within one path part (brackets are literal, unlike fnmatch)."""
    return re.compile("^" + re.escape(pattern).replace(r"\*", r"[^.\]]*") + "$")


def load_tolerances(path: Path = TOLERANCES_FILE) -> list[tuple[re.Pattern, Tolerance]]:
    """The tolerance file as (compiled pattern, tolerance), in file order (the first match wins)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for pattern, spec in (data.get("fields") or {}).items():
        if spec == "exact":
            tol = Tolerance(pattern, exact=True)
        elif isinstance(spec, dict) and set(spec) <= {"abs_tol", "rel_tol"} and spec:
            tol = Tolerance(pattern, abs_tol=float(spec.get("abs_tol", 0.0)), rel_tol=float(spec.get("rel_tol", 0.0)))
        else:
            raise ValueError(f"{path}: fields.{pattern}: 'exact' or {{abs_tol: x, rel_tol: y}} (got {spec!r})")
        out.append((_pattern_re(pattern), tol))
    return out


def tolerance_for(field: str, tolerances) -> Tolerance | None:
    for rx, tol in tolerances:
        if rx.match(field):
            return tol
    return None


# -- the comparison -------------------------------------------------------------------------------

MISSING = "<missing>"


@dataclass(frozen=True)
class Row:
    case: str
    scenario: str
    field: str
    expected: object
    got: object
    abs_diff: float | None
    rel_diff: float | None
    tolerance: str


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def within(expected, got, tol: Tolerance) -> tuple[bool, float | None, float | None]:
    """(inside the tolerance, |got - expected|, that over |expected|) as in :func:`math.isclose`:
    |got - expected| <= max(rel_tol * max(|got|, |expected|), abs_tol). Strings, booleans, null and
    integers must be equal; a float only within its tolerance."""
    if not (_is_number(expected) and _is_number(got)):
        return expected == got and type(expected) is type(got), None, None
    diff = abs(got - expected)
    rel = diff / abs(expected) if expected else (0.0 if diff == 0 else math.inf)
    if tol.exact or (isinstance(expected, int) and isinstance(got, int)):
        return diff == 0, diff, rel
    return diff <= max(tol.rel_tol * max(abs(got), abs(expected)), tol.abs_tol), diff, rel


def compare(case: str, scenario: str, expected: dict, got: dict, tolerances) -> list[Row]:
    """A row for every field out of tolerance, missing on one side, or without a tolerance entry."""
    rows = []
    for field in sorted(set(expected) | set(got)):
        e, g = expected.get(field, MISSING), got.get(field, MISSING)
        tol = tolerance_for(field, tolerances)
        if tol is None:
            rows.append(Row(case, scenario, field, e, g, None, None, "none in tolerances.yaml"))
            continue
        if field not in expected or field not in got:
            rows.append(Row(case, scenario, field, e, g, None, None, str(tol)))
            continue
        ok, diff, rel = within(e, g, tol)
        if not ok:
            rows.append(Row(case, scenario, field, e, g, diff, rel, str(tol)))
    return rows


def _cell(x) -> str:
    if x is None:
        return "null"
    if isinstance(x, float):
        return format(x, ".12g")
    return str(x)


def table(rows: list[Row], title: str = "", labels: tuple[str, str] = ("expected", "got")) -> str:
    """One plain-text table of the rows (case, scenario, field, expected, got, abs/rel diff, tolerance)."""
    head = ("case", "scenario", "field", *labels, "abs diff", "rel diff", "tolerance")
    body = [(r.case, r.scenario, r.field, _cell(r.expected), _cell(r.got),
             "" if r.abs_diff is None else format(r.abs_diff, ".3g"),
             "" if r.rel_diff is None else format(r.rel_diff, ".3g"), r.tolerance) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [title] if title else []
    out += [line(head), line(tuple("-" * w for w in widths)), *(line(b) for b in body)]
    return "\n".join(out)
