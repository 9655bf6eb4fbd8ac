"""Helpers shared by the API tests (headers, problem+json checks)."""
from __future__ import annotations


def auth(key: str, **extra) -> dict:
    return {"Authorization": f"Bearer {key}", **extra}


def problem(resp, status: int) -> dict:
    """The problem+json document of a response that must have ``status``."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json", resp.mimetype
    return resp.get_json(force=True)
