"""Verification of the audit trail's hash chains (``ipledge audit verify``).

Per tenant, in ``seq`` order, each row's ``prev_hash`` must be the previous row's ``row_hash`` (the
first row's the genesis hash), its ``row_hash`` must be the hash of its own fields
(:func:`ipledge.api.store.audit_row_hash`), and ``seq`` must run 1, 2, 3... without a gap. Each
``assessment.create`` row must match its stored assessment (request and response hashes, decision,
input hash), and each stored assessment and portfolio job must have its audit row, so deleting or
truncating audit rows is found even at the tail. An anchor (the heads of an earlier run, kept outside
the database) also catches a tail cut together with its assessments, or a chain rewritten from scratch.
Rows written before migration 0003 carry no hash: they are counted, and must all precede the chain.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import sqlalchemy as sa

from ipledge.api.store import (GENESIS_HASH, Assessment, AuditRecord, PortfolioJob, Store, Tenant, audit_row_hash,
                       text_hash)


@dataclass(frozen=True)
class Break:
    tenant: str
    audit_id: int | None
    seq: int | None
    reason: str


@dataclass
class Report:
    tenants: int = 0
    rows: int = 0
    unchained: int = 0
    heads: dict = field(default_factory=dict)  # tenant -> {"seq", "row_hash"} (an anchor for next time)
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "tenants": self.tenants, "rows": self.rows, "unchained_rows": self.unchained,
                "first_break": asdict(self.first) if self.first else None,
                "breaks": [asdict(b) for b in self.breaks], "heads": self.heads}


def verify(store: Store, tenant: str | None = None, anchor: dict | None = None) -> Report:
    """Check every tenant's chain (or one tenant's); ``anchor`` = ``heads`` of an earlier report."""
    rep = Report()
    with store.Session() as s:
        tq = sa.select(Tenant.id, Tenant.name).order_by(Tenant.id)
        if tenant:
            tq = tq.where(Tenant.name == tenant)
        tenants = list(s.execute(tq))
        for tid, name in tenants:
            rep.tenants += 1
            _verify_tenant(s, tid, name, rep, (anchor or {}).get(name))
        for name in sorted(set(anchor or {}) - {n for _, n in tenants}):
            if tenant is None or name == tenant:
                rep.breaks.append(Break(name, None, None, "tenant of the anchor is missing"))
    return rep


def _verify_tenant(s, tid: int, name: str, rep: Report, anchor: dict | None) -> None:
    rows = list(s.scalars(sa.select(AuditRecord).where(AuditRecord.tenant_id == tid).order_by(AuditRecord.id)))
    rep.rows += len(rows)
    chained = [r for r in rows if r.seq is not None]
    first_chained = chained[0].id if chained else None
    for r in rows:
        if r.seq is None:
            rep.unchained += 1
            if first_chained is not None and r.id > first_chained:
                rep.breaks.append(Break(name, r.id, None, "row without a chain hash after the chain began"))
    prev, by_seq = GENESIS_HASH, {}
    for i, r in enumerate(sorted(chained, key=lambda r: r.seq), 1):
        by_seq[r.seq] = r
        if r.seq != i:
            rep.breaks.append(Break(name, r.id, r.seq, f"sequence gap: expected row {i}, found {r.seq}"))
        if r.prev_hash != prev:
            rep.breaks.append(Break(name, r.id, r.seq, "prev_hash is not the previous row's hash "
                                                      "(a row was removed, inserted or reordered)"))
        if r.row_hash != audit_row_hash(r):
            rep.breaks.append(Break(name, r.id, r.seq, "row_hash does not match the row (the row was altered)"))
        prev = r.row_hash
    if chained:
        last = max(chained, key=lambda r: r.seq)
        rep.heads[name] = {"seq": last.seq, "row_hash": last.row_hash}
    if anchor:
        r = by_seq.get(anchor["seq"])
        if r is None or r.row_hash != anchor["row_hash"]:
            rep.breaks.append(Break(name, r.id if r else None, anchor["seq"],
                                    "anchored head is missing or different (rows cut or the chain rewritten)"))
    _check_assessments(s, tid, name, rows, rep)


def _check_assessments(s, tid: int, name: str, rows: list, rep: Report) -> None:
    audited = {r.assessment_id: r for r in rows if r.action == "assessment.create" and r.assessment_id}
    jobs = {r.job_id for r in rows if r.action in ("portfolio.submit", "book.risk") and r.job_id}  # job submits
    stored = {a.id: a for a in s.scalars(sa.select(Assessment).where(Assessment.tenant_id == tid))}
    for aid, a in stored.items():
        r = audited.get(aid)
        if r is None:
            rep.breaks.append(Break(name, None, None, f"assessment {aid} has no audit row"))
            continue
        if r.seq is None:  # written before the chain: only the fields it had
            bad = r.decision != a.decision or r.input_hash != a.input_hash
        else:
            bad = (r.request_hash != text_hash(a.request_json) or r.response_hash != text_hash(a.response_json)
                   or r.decision != a.decision or r.input_hash != a.input_hash)
        if bad:
            rep.breaks.append(Break(name, r.id, r.seq, f"assessment {aid} differs from its audit row "
                                                       "(stored request, response or decision changed)"))
    for aid, r in audited.items():
        if aid not in stored:
            rep.breaks.append(Break(name, r.id, r.seq, f"assessment {aid} of the audit row is missing"))
    for (jid,) in s.execute(sa.select(PortfolioJob.id).where(PortfolioJob.tenant_id == tid)):
        if jid not in jobs:
            rep.breaks.append(Break(name, None, None, f"portfolio job {jid} has no audit row"))
