"""`ipledge keys create|list|revoke` and the keys they make."""
from __future__ import annotations

import json

from click.testing import CliRunner

from ipledge.api import create_app
from ipledge.cli.main import main


def test_keys_create_list_revoke(tmp_path, monkeypatch):
    db = tmp_path / "cli.db"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("IPLEDGE_DB", str(db))
    runner = CliRunner()

    r = runner.invoke(main, ["keys", "create", "--tenant", "Bank of Example"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]  # the key is the last line
    assert key.startswith("ipk_")
    key_id = key.split("_")[1]

    r = runner.invoke(main, ["keys", "list", "--json"])
    assert r.exit_code == 0
    rows = json.loads(r.output)
    assert [(x["key_id"], x["tenant"], x["revoked_at"]) for x in rows] == [(key_id, "Bank of Example", None)]
    assert key.split("_", 2)[2] not in r.output  # list never shows the key
    assert key_id in runner.invoke(main, ["keys", "list"]).output

    app = create_app({"DATABASE_URL": f"sqlite:///{db}", "IPLEDGE_LOAD_MODEL": False})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/assessments", headers=headers).status_code == 200

    r = runner.invoke(main, ["keys", "revoke", key_id])
    assert r.exit_code == 0 and "revoked" in r.output
    assert client.get("/v1/assessments", headers=headers).status_code == 401
    assert json.loads(runner.invoke(main, ["keys", "list", "--json"]).output)[0]["revoked_at"]

    r = runner.invoke(main, ["keys", "revoke", key_id])  # already revoked
    assert r.exit_code == 2 and "no active key" in r.output
    r = runner.invoke(main, ["keys", "create", "--tenant", "  "])
    assert r.exit_code == 2 and "tenant" in r.output
    app.extensions["ipledge_store"].dispose()
