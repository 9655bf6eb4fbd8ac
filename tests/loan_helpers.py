"""Helpers of the loan/book tests (issue 17): case requests, booking, events."""
from __future__ import annotations

from pathlib import Path

from api_helpers import auth

CASES = Path(__file__).resolve().parents[1] / "scenarios" / "cases"
PATHS = 1000


def case_request(name: str, paths: int = PATHS, **loan) -> dict:
    from ipledge.valuation.cases import load_case

    d = load_case(CASES / f"{name}.yaml").model_dump(mode="json")
    d["simulation"]["paths"] = paths
    d["loan"].update(loan)
    return d


def assess(client, key: str, request: dict) -> dict:
    r = client.post("/v1/assessments", json=request, headers=auth(key))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def book(client, key: str, assessment_id: str, amount: float, drawdown: str = "2026-11-05", **extra) -> dict:
    r = client.post("/v1/loans", json={"assessment_id": assessment_id, "amount": amount, "drawdown_date": drawdown,
                                       **extra}, headers=auth(key))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def event(client, key: str, loan_id: str, body: dict, status: int = 201, **headers) -> dict:
    r = client.post(f"/v1/loans/{loan_id}/events", json=body, headers=auth(key, **headers))
    assert r.status_code == status, (body, r.get_data(as_text=True))
    return r.get_json()


def loan_counts(app) -> dict:
    import sqlalchemy as sa

    eng = app.extensions["ipledge_store"].engine
    with eng.connect() as c:
        return {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("loans", "loan_events", "loan_valuations", "alerts", "audit_log", "idempotency_keys")}
