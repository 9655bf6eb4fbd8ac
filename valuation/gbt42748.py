"""GB/T 42748-2023 crosswalk: which of the standard's 27 indicators an assessment evidences, derives or lacks.

GB/T 42748-2023 (patent evaluation guideline; CNIPA, PBoC and NFRA, with finance as one scenario)
values a patent on legal, technical and economic value with 27 third-level indicators. The list in
``data/gbt42748_indicators.csv`` is a reconstruction whose count matches the standard; its 14
second-level groups and finance-scenario weights are not confirmed, so neither is used: the crosswalk
reports coverage and ratings, not a GB/T-weighted score.

The rules are data (``data/gbt42748_crosswalk.yaml``, one per code: status, request fields, the
scorecard indicator that rates it, the optional ``evidence`` field and the simulation quantity that
replaces the proxy in a full assessment); this module only interprets them. ``rating`` is 0..100: the
points of the scorecard (or evidence) row that rates the indicator, or a ramp of a simulated value.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from ipledge.valuation import evidence

DATA = Path(__file__).resolve().parent / "data"
STANDARD = "GB/T 42748-2023"
TOTAL = 27
CAVEAT = ("The 27-indicator list is a reconstruction whose count matches GB/T 42748-2023; its second-level "
          "grouping and finance-scenario weights are not confirmed and are not used.")
CAVEAT_ZH = "27项指标清单系按GB/T 42748-2023重构，数量与标准一致；二级指标分组及金融场景权重未经确认，未予使用。"
Status = Literal["evidenced", "derived", "missing"]
STATUSES: tuple[Status, ...] = ("evidenced", "derived", "missing")
SOURCE_KINDS = ("request_field", "scorecard_indicator", "simulation", "none")
RATINGS = ("indicator_points", "ramp", "none")
STATUS_ZH = {"evidenced": "有证据", "derived": "推导", "missing": "缺失"}
DIMENSION_ZH = {"legal": "法律价值", "technical": "技术价值", "economic": "经济价值"}
CARD_ZH = {"rights_certainty": "权利确定性", "competitive_contribution": "竞争贡献", "revenue_potential": "收益潜力"}
CARD_EN = {"rights_certainty": "Rights certainty", "competitive_contribution": "Competitive contribution",
           "revenue_potential": "Revenue potential"}
# labels travel with the block so the page, the reports and API clients share one table
LABELS = {"zh": {"status": STATUS_ZH, "dimension": DIMENSION_ZH, "scorecard": CARD_ZH}, "en": {"scorecard": CARD_EN}}


@dataclass(frozen=True)
class Rule:
    code: str
    dimension: str
    name_zh: str
    name_en: str
    status: Status
    source: str
    fields: tuple[str, ...]
    indicator: str | None          # "card/indicator name"
    rating: str
    evidence: str | None
    derived: str | None
    ramp: tuple[float, float] | None
    why: str

    @property
    def card(self) -> str | None:
        """The card the indicator rests on without evidence (else the card its evidence would feed)."""
        if self.indicator:
            return self.indicator.split("/", 1)[0]
        return evidence.BY_FIELD[self.evidence].card if self.evidence else None


@functools.lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    """The 27 rules, in the order of the indicator list (raises on a malformed crosswalk)."""
    with open(DATA / "gbt42748_indicators.csv", encoding="utf-8", newline="") as f:
        names = list(csv.DictReader(f))
    with open(DATA / "gbt42748_crosswalk.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    out = []
    for row in names:
        r = data.get(row["code"])
        if r is None:
            raise ValueError(f"crosswalk: no rule for {row['code']} ({row['indicator_en']})")
        ramp = tuple(float(x) for x in r["ramp"]) if r.get("ramp") else None
        out.append(Rule(row["code"], row["dimension"], row["indicator_zh"], row["indicator_en"], r["status"],
                        r["source"], tuple(r.get("fields") or ()), r.get("indicator"), r["rating"],
                        r.get("evidence"), r.get("derived"), ramp, r["why"]))
    extra = set(data) - {r.code for r in out}
    if extra:
        raise ValueError(f"crosswalk: rules for unknown codes {sorted(extra)}")
    return tuple(out)


def _row(card: dict, name: str) -> dict | None:
    return next((r for r in card.get("indicators", []) if r["name"] == name), None)


def ramp_rating(x: float, lo: float, hi: float) -> float:
    return round(100.0 * min(1.0, max(0.0, (x - lo) / (hi - lo))), 1)


def indicator(rule: Rule, scores: dict, req, derived: dict | None) -> dict:
    """One entry of ``scores.gbt42748.indicators``."""
    head = {"dimension": rule.dimension, "code": rule.code, "name_zh": rule.name_zh, "name_en": rule.name_en,
            "scorecard": rule.card, "row": None}
    ev = req.evidence
    if rule.evidence and ev is not None and getattr(ev, rule.evidence) is not None:
        e = evidence.BY_FIELD[rule.evidence]
        row = _row(scores[e.card], e.name)
        return {**head, "scorecard": e.card, "row": e.name, "status": "evidenced", "value": row["value"], "rating": row["points"],
                "source": f"evidence.{rule.evidence} -> {e.card}/{e.name} (weight {e.weight:g})"}
    if rule.status == "missing":
        hint = f"; add evidence.{rule.evidence}" if rule.evidence else ""
        return {**head, "status": "missing", "value": None, "rating": None, "source": f"none: {rule.why}{hint}"}
    if rule.derived and derived and rule.derived in derived:
        d = derived[rule.derived]
        lo, hi = rule.ramp
        return {**head, "row": "simulation", "status": rule.status, "value": d["value"],
                "rating": ramp_rating(d["value"], lo, hi), "source": d["source"]}
    card, name = rule.indicator.split("/", 1)
    row = _row(scores[card], name)
    fields = ", ".join(rule.fields)
    return {**head, "row": name, "status": rule.status, "value": row["value"], "rating": row["points"],
            "source": f"{fields} -> {card}/{name}" if fields else f"{card}/{name}"}


def crosswalk(scores: dict, req, derived: dict | None = None) -> dict:
    """``scores.gbt42748``: the 27 indicators with status, value, rating and source, and the coverage.

    ``derived`` = {name: {"value", "source"}} of quantities the assessment computed from the simulation
    (e.g. ``remaining_economic_life``); without it the scorecard proxies are reported.
    """
    items = [indicator(r, scores, req, derived) for r in rules()]
    counts = {s: sum(1 for i in items if i["status"] == s) for s in STATUSES}
    return {"standard": STANDARD, "indicators": items, "coverage": {**counts, "total": len(items)},
            "caveat": CAVEAT, "caveat_zh": CAVEAT_ZH, "labels": LABELS}


def coverage_line(block: dict) -> str:
    c = block["coverage"]
    return f"{c['evidenced']} evidenced, {c['derived']} derived, {c['missing']} missing of {c['total']}"


def missing_evidence(req) -> list[Rule]:
    """Rules with an evidence field the request does not fill (what an applicant could add)."""
    ev = req.evidence
    return [r for r in rules() if r.evidence and (ev is None or getattr(ev, r.evidence) is None)]
