"""Storage of a lender's live book: loans, their events, valuations and alerts (migration 0003_loans).

Same SQLAlchemy metadata and engine as :mod:`ipledge.api.store` (the tables sit next to ``assessments``);
:class:`LoanStore` wraps a :class:`ipledge.api.store.Store` and reuses its sessions, idempotency records and
audit log. Append-only (database triggers refuse UPDATE and DELETE): ``loans``, ``loan_events``,
``loan_valuations``. ``alerts`` is not: an alert is acknowledged once (``acknowledged_at`` set from
NULL, never back); the acknowledgement is audited append-only.

Every step is audited through :func:`audit_row` (action ``loan.create``, ``loan.event``,
``loan.revalue``, ``alert.raise``, ``alert.ack``, ``assessment.replay``, ``book.risk`` from the CLI;
the ``book.risk`` job of the API is :meth:`ipledge.api.store.Store.create_job`'s audit row), with the new
nullable ``audit_log.loan_id`` column linking the row to its loan.
"""
from __future__ import annotations

import contextlib

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ipledge.api.store import (Assessment, AuditRecord, Base, Principal, Store, StoredResponse, Tenant, _iso, _utcnow,
                       append_audit, canonical_hash, new_id)

ALERT_STATUSES = ("open", "acknowledged")


class Loan(Base):
    __tablename__ = "loans"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    assessment_id: Mapped[str] = mapped_column(sa.ForeignKey("assessments.id"))
    reference: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    amount: Mapped[float] = mapped_column(sa.Float)
    drawdown_date: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    monitoring_json: Mapped[str] = mapped_column(sa.Text)
    __table_args__ = (sa.Index("ix_loans_tenant_id_id", "tenant_id", "id"),)


class LoanEvent(Base):
    __tablename__ = "loan_events"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    loan_id: Mapped[str] = mapped_column(sa.ForeignKey("loans.id"))
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    seq: Mapped[int] = mapped_column(sa.Integer)
    type: Mapped[str] = mapped_column(sa.String(32))
    event_date: Mapped[str] = mapped_column(sa.String(10))
    body_json: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    __table_args__ = (sa.UniqueConstraint("loan_id", "seq", name="uq_loan_events_loan_seq"),)


class LoanValuation(Base):
    __tablename__ = "loan_valuations"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    loan_id: Mapped[str] = mapped_column(sa.ForeignKey("loans.id"))
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    seq: Mapped[int] = mapped_column(sa.Integer)
    as_of: Mapped[str] = mapped_column(sa.String(10))
    reason: Mapped[str] = mapped_column(sa.String(16))           # booking | event | on_demand
    event_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    n_events: Mapped[int] = mapped_column(sa.Integer)            # events known at as_of
    balance: Mapped[float] = mapped_column(sa.Float)
    collateral_value: Mapped[float] = mapped_column(sa.Float)
    ltv: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    pd: Mapped[float] = mapped_column(sa.Float)
    expected_loss: Mapped[float] = mapped_column(sa.Float)
    decision: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(16))
    model_version: Mapped[str] = mapped_column(sa.String(100))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    summary_json: Mapped[str] = mapped_column(sa.Text)           # valuation, change, drivers
    request_json: Mapped[str] = mapped_column(sa.Text)           # the revalued request
    params_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    response_json: Mapped[str] = mapped_column(sa.Text)          # the assessment document
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    __table_args__ = (sa.UniqueConstraint("loan_id", "seq", name="uq_loan_valuations_loan_seq"),)


class Alert(Base):
    """Raised by a revaluation; acknowledged once (NOT append-only: ``acknowledged_*`` go NULL -> set)."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    loan_id: Mapped[str] = mapped_column(sa.ForeignKey("loans.id"))
    valuation_id: Mapped[str] = mapped_column(sa.String(32))
    trigger: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(32))
    numbers_json: Mapped[str] = mapped_column(sa.Text)
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    ack_note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'acknowledged')", name="ck_alerts_status"),
        sa.Index("ix_alerts_tenant_id_id", "tenant_id", "id"),
    )


class ConcurrentUpdate(Exception):
    """Another request appended to the same loan at the same time (retry)."""


def audit_row(s, principal: Principal, action: str, *, loan_id: str | None = None,
              assessment_id: str | None = None, input_hash: str = "", model_version: str = "", seed: int = 0,
              decision: str | None = None, job_id: str | None = None, at: dt.datetime | None = None) -> AuditRecord:
    """The one place this module writes audit rows: the tenant's next link of the hash chain
    (:func:`ipledge.api.store.append_audit`), added to the session's transaction."""
    return append_audit(s, tenant_id=principal.tenant_id, key_id=principal.key_id, at=at or _utcnow(),
                        action=action, assessment_id=assessment_id, input_hash=input_hash or canonical_hash(None),
                        model_version=model_version, seed=int(seed), decision=decision, job_id=job_id,
                        loan_id=loan_id)


@contextlib.contextmanager
def _concurrent_writes():
    """A unique (loan, seq) clash while the transaction is still being built — the audit chain flushes
    pending rows before it reads its head — is the same lost race as one at commit: 409, retry."""
    try:
        yield
    except IntegrityError:
        raise ConcurrentUpdate() from None


@dataclass(frozen=True)
class LoanRecord:
    id: str
    tenant_id: int
    assessment_id: str
    reference: str | None
    amount: float
    drawdown_date: str
    created_at: str
    monitoring: dict
    request: dict            # the stored request of the assessment the loan was booked from


def _loan_record(loan: Loan, request_json: str) -> LoanRecord:
    return LoanRecord(loan.id, loan.tenant_id, loan.assessment_id, loan.reference, loan.amount,
                      loan.drawdown_date, _iso(loan.created_at), json.loads(loan.monitoring_json),
                      json.loads(request_json))


def _valuation_view(v: LoanValuation) -> dict:
    s = json.loads(v.summary_json)
    return {"id": v.id, "loan_id": v.loan_id, "seq": v.seq, "as_of": v.as_of, "reason": v.reason,
            "event_id": v.event_id, "created_at": _iso(v.created_at), **s["valuation"],
            "change": s["change"], "drivers": s["drivers"], "assessment": f"/v1/loans/{v.loan_id}/valuations/{v.id}"}


def _latest_doc(v: LoanValuation) -> dict:
    out = _valuation_view(v)
    s = json.loads(v.summary_json)
    out.update(valuation=s["valuation"], n_events=v.n_events, request=json.loads(v.request_json),
               params=json.loads(v.params_json) if v.params_json else None)
    return out


def _event_view(e: LoanEvent) -> dict:
    return {"id": e.id, "loan_id": e.loan_id, "seq": e.seq, "created_at": _iso(e.created_at),
            **json.loads(e.body_json)}


def _alert_view(a: Alert) -> dict:
    return {"id": a.id, "loan_id": a.loan_id, "valuation_id": a.valuation_id, "trigger": a.trigger,
            "status": a.status, "action": a.action, "numbers": json.loads(a.numbers_json), "message": a.message,
            "created_at": _iso(a.created_at), "acknowledged_at": _iso(a.acknowledged_at),
            "acknowledged_by": a.acknowledged_by, "note": a.ack_note}


class LoanStore:
    def __init__(self, store: Store):
        self.store = store
        self.Session = store.Session

    # -- reading -------------------------------------------------------------------------------
    def assessment_for_booking(self, principal: Principal, assessment_id: str) -> tuple[dict, str] | None:
        """(stored request, model_version) of the tenant's assessment, None if absent or another tenant's."""
        with self.Session() as s:
            row = s.execute(sa.select(Assessment.request_json, Assessment.model_version).where(
                Assessment.id == assessment_id, Assessment.tenant_id == principal.tenant_id)).first()
        return (json.loads(row[0]), row[1]) if row else None

    def loan(self, principal: Principal | None, loan_id: str) -> LoanRecord | None:
        """The loan (None when absent or another tenant's; ``principal=None``: any tenant, operators)."""
        q = (sa.select(Loan, Assessment.request_json).join(Assessment, Assessment.id == Loan.assessment_id)
             .where(Loan.id == loan_id))
        if principal is not None:
            q = q.where(Loan.tenant_id == principal.tenant_id)
        with self.Session() as s:
            row = s.execute(q).first()
        return _loan_record(*row) if row else None

    def events(self, loan_id: str) -> list[dict]:
        with self.Session() as s:
            rows = s.scalars(sa.select(LoanEvent).where(LoanEvent.loan_id == loan_id).order_by(LoanEvent.seq))
            return [_event_view(e) for e in rows]

    def valuations(self, loan_id: str) -> list[dict]:
        with self.Session() as s:
            rows = s.scalars(sa.select(LoanValuation).where(LoanValuation.loan_id == loan_id)
                             .order_by(LoanValuation.seq))
            return [_valuation_view(v) for v in rows]

    def latest_valuation(self, loan_id: str) -> dict | None:
        """The newest valuation with its stored request, params and n_events (for the next revaluation)."""
        with self.Session() as s:
            v = s.scalar(sa.select(LoanValuation).where(LoanValuation.loan_id == loan_id)
                         .order_by(LoanValuation.seq.desc()).limit(1))
        return _latest_doc(v) if v is not None else None

    def valuation_document(self, principal: Principal, loan_id: str, valuation_id: str) -> str | None:
        with self.Session() as s:
            return s.scalar(sa.select(LoanValuation.response_json).where(
                LoanValuation.id == valuation_id, LoanValuation.loan_id == loan_id,
                LoanValuation.tenant_id == principal.tenant_id))

    def list_loans(self, principal: Principal, limit: int, before: str | None = None) -> list[dict]:
        """Newest first with the latest valuation of each (keyset on the sortable id)."""
        q = (sa.select(Loan).where(Loan.tenant_id == principal.tenant_id).order_by(Loan.id.desc()).limit(limit))
        if before is not None:
            q = q.where(Loan.id < before)
        with self.Session() as s:
            loans = list(s.scalars(q))
            latest = self._latest_by_loan(s, [ln.id for ln in loans])
        return [self._loan_summary(ln, latest.get(ln.id)) for ln in loans]

    def _latest_by_loan(self, s: Session, loan_ids: list[str] | None = None,
                        tenant_id: int | None = None) -> dict[str, LoanValuation]:
        """Newest valuation of each of the loans (or of every loan of ``tenant_id``), in one query."""
        if loan_ids is not None and not loan_ids:
            return {}
        cond = (LoanValuation.loan_id.in_(loan_ids) if loan_ids is not None
                else LoanValuation.tenant_id == tenant_id)
        top = (sa.select(LoanValuation.loan_id, sa.func.max(LoanValuation.seq).label("m"))
               .where(cond).group_by(LoanValuation.loan_id).subquery())
        rows = s.scalars(sa.select(LoanValuation).join(
            top, sa.and_(LoanValuation.loan_id == top.c.loan_id, LoanValuation.seq == top.c.m)))
        return {v.loan_id: v for v in rows}

    @staticmethod
    def _loan_summary(ln: Loan, v: LoanValuation | None) -> dict:
        latest = _valuation_view(v) if v is not None else None
        return {"id": ln.id, "assessment_id": ln.assessment_id, "reference": ln.reference, "amount": ln.amount,
                "drawdown_date": ln.drawdown_date, "created_at": _iso(ln.created_at),
                "monitoring": json.loads(ln.monitoring_json),
                "status": latest["status"] if latest else "active",
                "balance": latest["balance"] if latest else ln.amount, "latest_valuation": latest}

    def loan_view(self, principal: Principal, loan_id: str) -> dict | None:
        with self.Session() as s:
            ln = s.scalar(sa.select(Loan).where(Loan.id == loan_id, Loan.tenant_id == principal.tenant_id))
            if ln is None:
                return None
            latest = self._latest_by_loan(s, [ln.id]).get(ln.id)
        out = self._loan_summary(ln, latest)
        out["events"] = self.events(loan_id)
        out["valuations"] = self.valuations(loan_id)
        return out

    def tenant_loans(self, tenant_id: int) -> list[tuple[LoanRecord, dict | None]]:
        """Every loan of a tenant with its latest valuation (oldest loan first: a stable book order)."""
        with self.Session() as s:
            rows = s.execute(sa.select(Loan, Assessment.request_json)
                             .join(Assessment, Assessment.id == Loan.assessment_id)
                             .where(Loan.tenant_id == tenant_id).order_by(Loan.id)).all()
            latest = self._latest_by_loan(s, tenant_id=tenant_id)
            return [(_loan_record(ln, rj), _latest_doc(latest[ln.id]) if ln.id in latest else None)
                    for ln, rj in rows]

    def tenant_events(self, tenant_id: int) -> dict[str, list[dict]]:
        with self.Session() as s:
            rows = s.scalars(sa.select(LoanEvent).where(LoanEvent.tenant_id == tenant_id)
                             .order_by(LoanEvent.loan_id, LoanEvent.seq))
            out: dict[str, list[dict]] = {}
            for e in rows:
                out.setdefault(e.loan_id, []).append(json.loads(e.body_json))
        return out

    def tenant_id(self, name: str) -> int | None:
        with self.Session() as s:
            return s.scalar(sa.select(Tenant.id).where(Tenant.name == name))

    # -- writing -------------------------------------------------------------------------------
    def _commit(self, s: Session, principal: Principal, idem, status: int, body: str, rid: str) -> StoredResponse:
        try:
            return self.store._commit_or_replay(s, principal, idem, status, body, rid)
        except IntegrityError:
            raise ConcurrentUpdate() from None

    def _valuation_row(self, principal: Principal, loan_id: str, seq: int, reason: str, event_id: str | None,
                       n_events: int, reval, now: dt.datetime) -> LoanValuation:
        v = reval.valuation
        summary = {"valuation": v.to_dict(), "change": reval.change, "drivers": reval.drivers}
        vid = new_id(now.timestamp())
        doc = {**reval.response, "id": vid}   # the assessment document of a valuation carries its id
        return LoanValuation(
            id=vid, loan_id=loan_id, tenant_id=principal.tenant_id, key_id=principal.key_id,
            seq=seq, as_of=v.as_of, reason=reason, event_id=event_id, n_events=n_events, balance=v.balance,
            collateral_value=v.collateral_value, ltv=v.ltv, pd=v.pd, expected_loss=v.expected_loss,
            decision=v.decision, status=v.status, model_version=v.model_version, seed=v.seed,
            summary_json=json.dumps(summary, ensure_ascii=False, allow_nan=False),
            request_json=json.dumps(reval.request, ensure_ascii=False, sort_keys=True),
            params_json=json.dumps(reval.params) if reval.params is not None else None,
            response_json=json.dumps(doc, ensure_ascii=False, allow_nan=False), created_at=now)

    def _add_valuation_and_alerts(self, s: Session, principal: Principal, loan: LoanRecord, row: LoanValuation,
                                  alerts: list[dict], input_hash: str, now: dt.datetime) -> list[Alert]:
        s.add(row)
        audit_row(s, principal, "loan.revalue", loan_id=loan.id, assessment_id=loan.assessment_id,
                        input_hash=input_hash, model_version=row.model_version, seed=row.seed,
                        decision=row.decision, at=now)
        out = []
        for a in alerts:
            al = Alert(id=new_id(now.timestamp()), tenant_id=principal.tenant_id, loan_id=loan.id,
                       valuation_id=row.id, trigger=a["trigger"], status="open", action=a["action"],
                       numbers_json=json.dumps(a["numbers"], allow_nan=False), message=a["message"],
                       created_at=now)
            s.add(al)
            audit_row(s, principal, "alert.raise", loan_id=loan.id, assessment_id=loan.assessment_id,
                            input_hash=canonical_hash(a), model_version=row.model_version, seed=row.seed,
                            decision=a["trigger"], at=now)
            out.append(al)
        return out

    def book_loan(self, principal: Principal, *, assessment_id: str, amount: float, drawdown_date: str,
                  reference: str | None, monitoring: dict, request: dict, reval, alerts: list[dict], view,
                  input_hash: str, idem=None) -> StoredResponse:
        """Loan + its booking valuation + audit rows (+ idempotency record) in one transaction."""
        now = _utcnow()
        loan = Loan(id=new_id(now.timestamp()), tenant_id=principal.tenant_id, key_id=principal.key_id,
                    assessment_id=assessment_id, reference=reference, amount=float(amount),
                    drawdown_date=drawdown_date, created_at=now,
                    monitoring_json=json.dumps(monitoring, allow_nan=False))
        rec = _loan_record(loan, json.dumps(request))
        row = self._valuation_row(principal, loan.id, 0, "booking", None, 0, reval, now)
        with self.Session() as s:
            s.add(loan)
            s.flush()
            audit_row(s, principal, "loan.create", loan_id=loan.id, assessment_id=assessment_id,
                            input_hash=input_hash, model_version=row.model_version, seed=row.seed,
                            decision=row.decision, at=now)
            added = self._add_valuation_and_alerts(s, principal, rec, row, alerts, input_hash, now)
            body = json.dumps(view(loan.id, row, added), ensure_ascii=False, allow_nan=False)
            if idem is not None:
                s.add(self.store._idem_record(principal, idem, 201, body, loan.id, now))
            return self._commit(s, principal, idem, 201, body, loan.id)

    def append_event(self, principal: Principal, loan: LoanRecord, *, seq: int, event: dict, reval, alerts,
                     val_seq: int, view, idem=None) -> StoredResponse:
        """Event + its valuation + alerts + audit rows (+ idempotency record) in one transaction."""
        now = _utcnow()
        ev = LoanEvent(id=new_id(now.timestamp()), loan_id=loan.id, tenant_id=principal.tenant_id,
                       key_id=principal.key_id, seq=seq, type=event["type"], event_date=event["date"],
                       body_json=json.dumps(event, ensure_ascii=False, allow_nan=False), created_at=now)
        ihash = canonical_hash(event)
        row = self._valuation_row(principal, loan.id, val_seq, "event", ev.id, seq + 1, reval, now)
        with self.Session() as s, _concurrent_writes():
            s.add(ev)
            audit_row(s, principal, "loan.event", loan_id=loan.id, assessment_id=loan.assessment_id,
                            input_hash=ihash, model_version=row.model_version, seed=row.seed,
                            decision=event["type"], at=now)
            added = self._add_valuation_and_alerts(s, principal, loan, row, alerts, ihash, now)
            body = json.dumps(view(ev, row, added), ensure_ascii=False, allow_nan=False)
            if idem is not None:
                s.add(self.store._idem_record(principal, idem, 201, body, ev.id, now))
            return self._commit(s, principal, idem, 201, body, ev.id)

    def add_revaluation(self, principal: Principal, loan: LoanRecord, *, reval, alerts, val_seq: int,
                        n_events: int, view, input_hash: str, idem=None) -> StoredResponse:
        now = _utcnow()
        row = self._valuation_row(principal, loan.id, val_seq, "on_demand", None, n_events, reval, now)
        with self.Session() as s, _concurrent_writes():
            added = self._add_valuation_and_alerts(s, principal, loan, row, alerts, input_hash, now)
            body = json.dumps(view(row, added), ensure_ascii=False, allow_nan=False)
            if idem is not None:
                s.add(self.store._idem_record(principal, idem, 201, body, row.id, now))
            return self._commit(s, principal, idem, 201, body, row.id)

    # -- alerts ----------------------------------------------------------------------------------
    def list_alerts(self, principal: Principal, status: str | None, loan_id: str | None, limit: int,
                    before: str | None = None) -> list[dict]:
        q = sa.select(Alert).where(Alert.tenant_id == principal.tenant_id).order_by(Alert.id.desc()).limit(limit)
        if status is not None:
            q = q.where(Alert.status == status)
        if loan_id is not None:
            q = q.where(Alert.loan_id == loan_id)
        if before is not None:
            q = q.where(Alert.id < before)
        with self.Session() as s:
            return [_alert_view(a) for a in s.scalars(q)]

    def get_alert(self, principal: Principal, alert_id: str) -> dict | None:
        with self.Session() as s:
            a = s.scalar(sa.select(Alert).where(Alert.id == alert_id, Alert.tenant_id == principal.tenant_id))
            return _alert_view(a) if a is not None else None

    def ack_alert(self, principal: Principal, alert_id: str, note: str | None) -> tuple[dict, bool] | None:
        """Acknowledge once: (alert, True) when this call did it, (alert, False) when already acknowledged,
        None when absent or another tenant's. The acknowledgement and its audit row commit together."""
        now = _utcnow()
        with self.Session() as s:
            a = s.scalar(sa.select(Alert).where(Alert.id == alert_id, Alert.tenant_id == principal.tenant_id))
            if a is None:
                return None
            res = s.execute(sa.update(Alert).where(Alert.id == alert_id, Alert.status == "open")
                            .values(status="acknowledged", acknowledged_at=now, acknowledged_by=principal.key_id,
                                    ack_note=note).execution_options(synchronize_session=False))
            if res.rowcount == 1:
                audit_row(s, principal, "alert.ack", loan_id=a.loan_id,
                                input_hash=canonical_hash({"alert": alert_id, "note": note}),
                                decision=a.trigger, at=now)
            s.commit()
            done = res.rowcount == 1
            a = s.scalar(sa.select(Alert).where(Alert.id == alert_id).execution_options(populate_existing=True))
            return _alert_view(a), done

    # -- other audited reads -----------------------------------------------------------
    def audit(self, principal: Principal, action: str, **fields) -> None:
        with self.Session.begin() as s:
            audit_row(s, principal, action, **fields)

    def loan_audit(self, loan_id: str) -> list[dict]:
        with self.Session() as s:
            rows = s.scalars(sa.select(AuditRecord).where(AuditRecord.loan_id == loan_id).order_by(AuditRecord.id))
            return [{"action": a.action, "tenant_id": a.tenant_id, "key_id": a.key_id, "at": _iso(a.at),
                     "assessment_id": a.assessment_id, "input_hash": a.input_hash, "decision": a.decision,
                     "model_version": a.model_version, "seed": a.seed} for a in rows]

    def assessment_rows(self, tenant_id: int | None = None, after: str | None = None) -> list[dict]:
        """Stored assessments (request, response, model version), oldest first (replay, operators)."""
        q = sa.select(Assessment).order_by(Assessment.id)
        if tenant_id is not None:
            q = q.where(Assessment.tenant_id == tenant_id)
        if after is not None:
            q = q.where(Assessment.id > after)
        with self.Session() as s:
            return [{"id": a.id, "tenant_id": a.tenant_id, "request": json.loads(a.request_json),
                     "response": json.loads(a.response_json), "model_version": a.model_version}
                    for a in s.scalars(q)]

    def assessment_row(self, tenant_id: int | None, assessment_id: str) -> dict | None:
        q = sa.select(Assessment).where(Assessment.id == assessment_id)
        if tenant_id is not None:
            q = q.where(Assessment.tenant_id == tenant_id)
        with self.Session() as s:
            a = s.scalar(q)
            if a is None:
                return None
            return {"id": a.id, "tenant_id": a.tenant_id, "key_id": a.key_id, "request": json.loads(a.request_json),
                    "response_text": a.response_json, "model_version": a.model_version, "seed": a.seed}
