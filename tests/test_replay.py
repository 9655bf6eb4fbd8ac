"""Replay of stored assessments (issue 17): identical documents, a changed field named, another model
version answered with the version that reproduces it; API, CLI and audit."""
from __future__ import annotations

import json

from click.testing import CliRunner

from api_helpers import auth
from loan_helpers import assess, case_request


def _row(app, assessment_id):
    from ipledge.api.store_loans import LoanStore

    return LoanStore(app.extensions["ipledge_store"]).assessment_row(None, assessment_id)


def test_replay_identical_and_audited(api_app, api_client, api_key_factory):
    tenant, key = api_key_factory()
    a = assess(api_client, key, case_request("tcm_formulation"))
    r = api_client.get(f"/v1/assessments/{a['id']}/replay", headers=auth(key))
    assert r.status_code == 200, r.get_data(as_text=True)
    doc = r.get_json()
    assert doc["identical"] is True and doc["stored_hash"] == doc["replay_hash"] and doc["differences"] == []
    audit = api_app.extensions["ipledge_store"].audit_records(tenant)
    assert [x["action"] for x in audit] == ["assessment.create", "assessment.replay"]
    assert audit[-1]["decision"] == "identical" and audit[-1]["input_hash"] == doc["stored_hash"]


def test_replay_names_the_fields_that_differ(api_app, api_client, api_key_factory):
    from ipledge.api.service_loans import replay
    from ipledge.risk.posterior import load_posterior

    _, key = api_key_factory()
    a = assess(api_client, key, case_request("anaesthetic_injectable"))
    row = _row(api_app, a["id"])
    stored = json.loads(row["response_text"])
    stored["credit"]["pd"] = stored["credit"]["pd"] + 0.01          # a tampered stored figure
    stored["recommendation"]["decision"] = "decline"
    doc = replay({**row, "response_text": json.dumps(stored)}, load_posterior())
    assert doc["identical"] is False and doc["recomputed"] is True
    assert {d["field"] for d in doc["differences"]} == {"credit.pd", "recommendation.decision"}, doc["differences"]


def test_replay_with_another_model_served_does_not_recompute(api_app, api_client, api_key_factory, monkeypatch):
    from ipledge.api.service_loans import replay
    from ipledge.risk.posterior import load_posterior

    _, key = api_key_factory()
    a = assess(api_client, key, case_request("tcm_formulation"))
    row = {**_row(api_app, a["id"]), "model_version": "pipeline-v1-00000000/sim-1"}
    import ipledge.api.service

    def must_not_run(*a, **k):
        raise AssertionError("recomputed with another model")

    monkeypatch.setattr(ipledge.api.service, "assessment_document", must_not_run)
    doc = replay(row, load_posterior())
    assert doc["identical"] is None and doc["recomputed"] is False
    assert doc["reproduce_with"] == "pipeline-v1-00000000/sim-1" and "pipeline-v1-00000000" in doc["message"]


def test_replay_cli(tmp_path):
    from ipledge.api import create_app
    from ipledge.cli.main import main

    url = f"sqlite:///{tmp_path / 'r.db'}"
    app = create_app({"DATABASE_URL": url, "IPLEDGE_RATE_LIMIT": "100000 per minute", "TESTING": True})
    try:
        _, key = app.extensions["ipledge_store"].create_key("bank-r")
        a = assess(app.test_client(), key, case_request("tcm_formulation"))
        r = CliRunner().invoke(main, ["replay", a["id"], "--json", "--database-url", url])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["identical"] is True
        r = CliRunner().invoke(main, ["replay", "nope", "--database-url", url])
        assert r.exit_code == 2 and "no assessment" in r.output
    finally:
        app.extensions["ipledge_store"].dispose()
