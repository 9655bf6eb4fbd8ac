"""Catalogue of loss-sharing schemes (risk/data/schemes.yaml) and the per-loan loss split (DESIGN §9).

A scheme gives each party a share of a bad loan's principal loss; one party (the fund) may have caps
per bad loan and per enterprise (applied here, loan by loan) and per year (a pool-level cap, reported
by :mod:`ipledge.risk.portfolio`). The loss above a cap stays with the bank. ``custom`` takes the shares and
optional caps from the request.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import yaml

CAP_KEYS = ("per_loan", "per_enterprise", "per_year")


@dataclass(frozen=True)
class Scheme:
    name: str
    label: str
    status: str                       # current | legacy
    shares: dict[str, float]
    caps: dict[str, float] = field(default_factory=dict)
    capped_party: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    source: str = ""
    note: str = ""

    @property
    def loan_cap(self) -> float:
        """Compensation cap of the capped party on one loan (per bad loan and per enterprise)."""
        return min(self.caps.get("per_loan", math.inf), self.caps.get("per_enterprise", math.inf))

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "status": self.status, "shares": dict(self.shares),
                "caps": dict(self.caps), "capped_party": self.capped_party,
                "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_to": self.valid_to.isoformat() if self.valid_to else None,
                "source": self.source, "note": self.note}


def _date(v):
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, Scheme]:
    """Every scheme of risk/data/schemes.yaml, by name (read once per process)."""
    text = (resources.files("ipledge.risk") / "data" / "schemes.yaml").read_text(encoding="utf-8")
    out = {}
    for name, d in yaml.safe_load(text).items():
        shares = {k: float(v) for k, v in (d.get("shares") or {}).items()}
        if shares and abs(sum(shares.values()) - 1.0) > 1e-9:
            raise ValueError(f"schemes.yaml: {name} shares sum to {sum(shares.values())}, not 1")
        caps = {k: float(v) for k, v in (d.get("caps") or {}).items()}
        if set(caps) - set(CAP_KEYS):
            raise ValueError(f"schemes.yaml: {name} has unknown caps {sorted(set(caps) - set(CAP_KEYS))}")
        out[name] = Scheme(name, d["label"], d["status"], shares, caps, d.get("capped_party"),
                           _date(d.get("valid_from")), _date(d.get("valid_to")), d.get("source", ""),
                           " ".join(str(d.get("note", "")).split()))
    return out


def scheme_of(req) -> Scheme:
    """The request's scheme; ``custom`` with the request's shares and optional caps (on the fund)."""
    s = catalogue()[req.sharing.scheme]
    if req.sharing.scheme != "custom":
        return s
    caps = {k: v for k, v in (req.sharing.caps.model_dump() if req.sharing.caps else {}).items()
            if v is not None}
    return Scheme("custom", s.label, s.status, dict(req.sharing.shares), caps,
                  "fund" if caps else None, source=s.source)


def split_paths(scheme: Scheme, loss: np.ndarray) -> dict[str, np.ndarray]:
    """Each party's loss on every path (any array shape): shares, then the capped party's per-loan cap,
    with the excess added to the bank's part. The parts sum to ``loss``."""
    parts = {p: w * loss for p, w in scheme.shares.items()}
    cp = scheme.capped_party
    cap = scheme.loan_cap
    if cp in parts and math.isfinite(cap):
        capped = np.minimum(parts[cp], cap)
        excess = parts[cp] - capped
        parts[cp] = capped
        parts["bank"] = parts.get("bank", 0.0 * loss) + excess
    return parts
