"""Bank policy profiles (policy.profile: ccb | bocom | custom) from risk/data/bank_profiles.yaml.

A profile caps the LTV by patent kind, the amount and the term, and asks a remaining patent life. A
rule the request breaks is a knock-out with its fix (the decision then declines and says what to
change); the caps enter the max-loan search as ``policy_ltv_cap``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import yaml

from ipledge.valuation.terms import DAYS_PER_YEAR, base_expiry


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    ltv_by_kind: dict[str, float]
    max_amount: float | None
    max_term_years: float | None
    min_remaining_life_years: dict[str, float]
    conditions: tuple[str, ...]
    source: str


@functools.lru_cache(maxsize=1)
def profiles() -> dict[str, Profile]:
    text = (resources.files("ipledge.risk") / "data" / "bank_profiles.yaml").read_text(encoding="utf-8")
    return {name: Profile(name, d["label"], {k: float(v) for k, v in d["ltv_by_kind"].items()},
                          None if d.get("max_amount") is None else float(d["max_amount"]),
                          None if d.get("max_term_years") is None else float(d["max_term_years"]),
                          {k: float(v) for k, v in (d.get("min_remaining_life_years") or {}).items()},
                          tuple(d.get("conditions") or ()), d.get("source", ""))
            for name, d in yaml.safe_load(text).items()}


def profile_of(req) -> Profile:
    return profiles()[req.policy.profile]


def remaining_life_years(patent, as_of) -> float:
    return (base_expiry(patent.kind, patent.filing_date) - as_of).days / DAYS_PER_YEAR


def eligible_patents(req, prof: Profile) -> list:
    """Granted patents of an accepted kind with the remaining life the profile asks."""
    out = []
    for p in req.patents:
        if p.status != "granted" or p.kind not in prof.ltv_by_kind:
            continue
        if remaining_life_years(p, req.as_of) < prof.min_remaining_life_years.get(p.kind, 0.0):
            continue
        out.append(p)
    return out


def ltv_cap(req) -> float:
    """policy.max_ltv, lowered to the profile's cap of the weakest accepted kind pledged (conservative:
    without per-patent values the pledge is capped as its weakest eligible right)."""
    prof = profile_of(req)
    kinds = {p.kind for p in eligible_patents(req, prof)}
    by_kind = min((prof.ltv_by_kind[k] for k in kinds), default=min(prof.ltv_by_kind.values()))
    return min(req.policy.max_ltv, by_kind)


def amount_cap(req) -> float | None:
    return profile_of(req).max_amount


def knockouts(req) -> list[dict]:
    """Profile rules the request breaks, each with its fix (same shape as the scorecards' knock-outs)."""
    prof = profile_of(req)
    if prof.name == "custom":
        return []
    out = []
    if prof.max_term_years is not None and req.loan.term_years > prof.max_term_years + 1e-9:
        out.append({"code": "profile_term", "message": f"term {req.loan.term_years:g} years exceeds the "
                    f"{prof.name.upper()} maximum of {prof.max_term_years:g} years ({prof.source})",
                    "fix": f"Shorten the term to {prof.max_term_years:g} years or less."})
    if prof.max_amount is not None and req.loan.amount > prof.max_amount + 1e-6:
        out.append({"code": "profile_amount", "message": f"amount CNY {req.loan.amount / 1e6:,.1f}m exceeds the "
                    f"{prof.name.upper()} maximum of CNY {prof.max_amount / 1e6:,.1f}m ({prof.source})",
                    "fix": f"Reduce the amount to CNY {prof.max_amount / 1e6:,.1f}m or less."})
    granted = [p for p in req.patents if p.status == "granted"]
    if granted and not eligible_patents(req, prof):
        need = ", ".join(f"{k} >= {v:g} years" for k, v in prof.min_remaining_life_years.items())
        out.append({"code": "profile_patent", "message": f"no pledged patent meets the {prof.name.upper()} "
                    f"rules (kinds {', '.join(prof.ltv_by_kind)}" + (f"; remaining life {need}" if need else "")
                    + f"; {prof.source})",
                    "fix": "Pledge a granted patent of an accepted kind with enough remaining life, "
                           "or apply under another bank profile."})
    return out
