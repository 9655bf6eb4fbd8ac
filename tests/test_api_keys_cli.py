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

    r = runner.invoke(main, ["keys", "create", "--tenant", "Bank of Example", "--create-db"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]  # the key is the last line
    assert key.startswith("ipk_")
    key_id = key.split("_")[1]

    r = runner.invoke(main, ["keys", "list", "--json"])
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
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
    assert json.loads(runner.invoke(main, ["keys", "list", "--json"]).stdout)[0]["revoked_at"]

    r = runner.invoke(main, ["keys", "revoke", key_id])  # already revoked
    assert r.exit_code == 2 and "no active key" in r.output
    r = runner.invoke(main, ["keys", "create", "--tenant", "  "])
    assert r.exit_code == 2 and "tenant" in r.output
    app.extensions["ipledge_store"].dispose()


# -- which database: printed, and never created by accident (issue 16) ---------------------------------


def _no_db_env(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("IPLEDGE_DB", raising=False)


def _error_lines(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.startswith("error:")]


def test_keys_create_from_another_directory_refuses_to_create_a_database(tmp_path, monkeypatch):
    """The old trap: run from elsewhere, the default ./instance/ipledge.db is a new, empty database whose key
    the server (which uses the repository's) refuses with 401. Now: one line naming the path and the flag."""
    _no_db_env(monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    expected = elsewhere / "instance" / "ipledge.db"
    for args in (["keys", "create", "--tenant", "Example Bank"], ["keys", "list"], ["keys", "revoke", "abc"],
                 ["replay", "abc"], ["audit", "verify"]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        errors = _error_lines(r)
        assert len(errors) == 1 and str(expected) in errors[0] and "--create-db" in errors[0], (args, r.output)
        assert "Traceback" not in r.output and r.stdout == "", (args, r.output)
        assert not expected.parent.exists(), args      # not even the instance/ folder


def test_keys_print_the_database_and_create_db_creates_it(tmp_path, monkeypatch):
    _no_db_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["keys", "create", "--tenant", "Example Bank", "--create-db"])
    assert r.exit_code == 0, r.output
    db = tmp_path / "instance" / "ipledge.db"
    assert db.exists()
    assert r.stderr.splitlines()[0] == f"database: sqlite:///{db}", r.stderr
    assert r.stdout.splitlines()[-1].startswith("ipk_")     # stdout unchanged: `| tail -n 1` is the key
    r = CliRunner().invoke(main, ["keys", "list", "--json"])  # now the database exists: no flag needed
    assert r.exit_code == 0 and f"database: sqlite:///{db}" in r.stderr, r.output
    assert [x["tenant"] for x in json.loads(r.stdout)] == ["Example Bank"]


def test_an_empty_database_file_is_not_an_ipledge_database(tmp_path, monkeypatch):
    _no_db_env(monkeypatch)
    empty = tmp_path / "empty.db"
    empty.touch()
    r = CliRunner().invoke(main, ["keys", "create", "--tenant", "X", "--database-url", f"sqlite:///{empty}"])
    assert r.exit_code == 2 and str(empty) in _error_lines(r)[0] and "--create-db" in r.stderr, r.output
    r = CliRunner().invoke(main, ["keys", "create", "--tenant", "X", "--database-url", f"sqlite:///{empty}",
                                  "--create-db"])
    assert r.exit_code == 0 and r.stdout.splitlines()[-1].startswith("ipk_"), r.output


def test_the_printed_database_url_masks_the_password(monkeypatch):
    from ipledge.cli.db import shown_url

    assert shown_url("postgresql+psycopg://ipledge_web:s3cr3t@db.example:5432/ipledge") == \
        "postgresql+psycopg://ipledge_web:***@db.example:5432/ipledge"
    assert shown_url("sqlite:////srv/ipledge/instance/ipledge.db") == "sqlite:////srv/ipledge/instance/ipledge.db"
    # a server that does not answer: one line, the password still masked
    r = CliRunner().invoke(main, ["keys", "list", "--database-url",
                                  "postgresql://u:s3cr3t@127.0.0.1:1/none?connect_timeout=2"])
    assert r.exit_code == 2, r.output
    assert "s3cr3t" not in r.output and "u:***@127.0.0.1:1" in r.stderr and len(_error_lines(r)) == 1, r.output
