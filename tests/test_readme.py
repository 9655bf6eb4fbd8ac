"""The README covers every route and command, links only to files of the repository, and its walk-through's
figures are what the engine gives (issue 16). docs/schema.md and docs/examples/approval.json are generated
from the models: they fail here when out of date (``make schema-doc``)."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _norm(path: str) -> str:
    """'/v1/loans/<string:loan_id>' and '/v1/loans/{id}' -> '/v1/loans/{}'."""
    return re.sub(r"\{[^}]*\}", "{}", re.sub(r"<[^>]*>", "{}", path))


@pytest.fixture(scope="module")
def app():
    from ipledge.api import create_app

    app = create_app({"DATABASE_URL": "sqlite:///:memory:", "IPLEDGE_LOAD_MODEL": False})
    yield app
    app.extensions["ipledge_store"].dispose()


def test_every_route_is_in_the_readme(app):
    text = _norm(README)
    missing = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            pattern = rf"`{method} {re.escape(_norm(rule.rule))}[`?]"
            if not re.search(pattern, text):
                missing.append(f"{method} {rule.rule}")
    assert len(list(app.url_map.iter_rules())) >= 13
    assert not missing, f"routes not described in README.md (as `METHOD /path`): {missing}"


def _commands(group: click.Group, prefix: tuple[str, ...]):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


def test_every_command_and_option_is_in_the_readme():
    from ipledge.cli.main import main

    missing, options = [], []
    for path, cmd in _commands(main, ("ipledge",)):
        name = " ".join(path)
        rows = [line for line in README.splitlines() if f"`{name} " in line or f"`{name}`" in line]
        if not rows:
            missing.append(name)
            continue
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name not in ("database_url", "schema", "progress"):
                if not any(any(o in row for o in p.opts) for row in rows):
                    options.append(f"{name} {p.opts[-1]}")
    assert not missing, f"commands not in README.md: {missing}"
    assert not options, f"options missing from their command's README line: {options}"


def _links() -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", README)


def test_readme_links_point_into_the_repository():
    bad = []
    for link in _links():
        if link.startswith(("http://", "https://", "mailto:")):
            assert link.startswith(("http://127.0.0.1", "http://localhost")), f"external link {link}"
            continue
        target, _, anchor = link.partition("#")
        f = ROOT / target
        if not f.exists():
            bad.append(link)
        elif anchor:
            heads = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
                     for h in re.findall(r"^#+ (.+)$", f.read_text(encoding="utf-8"), re.M)}
            if anchor not in heads:
                bad.append(link)
    assert not bad, f"README links to files or anchors that do not exist: {bad}"


def test_readme_names_no_file_outside_the_repository():
    assert "DESIGN" not in README, "README cites the design reference, which is not in the repository"
    placeholders = ("<", "~", "…", "*")
    missing = []
    for tok in re.findall(r"[\w.~<>…*/-]+/[\w.<>…*-]+\.(?:md|ya?ml|json|csv|py|nc|po|cfg)\b", README):
        if tok.startswith(("http", "/v1", "//")) or any(c in tok for c in placeholders):
            continue
        if not (ROOT / tok).exists():
            missing.append(tok)
    for tok in set(re.findall(r"(?<![\w/.-])[\w-]+\.md\b", README)):      # a bare name must be a repository file
        if not list(ROOT.glob(f"**/{tok}")):
            missing.append(tok)
    assert not missing, f"README names files that are not in the repository: {missing}"


def test_generated_docs_are_up_to_date():
    from ipledge.api.schema_doc import generated

    for path, text in generated().items():
        assert path.exists() and path.read_text(encoding="utf-8") == text, f"{path} is out of date: run make schema-doc"


def test_schema_doc_lists_every_request_field():
    """Independent of the generator's walk: every field name of every model reachable from PledgeRequest's
    JSON schema is a row of docs/schema.md."""
    from ipledge.valuation.schema import PledgeRequest

    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    js = PledgeRequest.model_json_schema()
    for name, model in [("PledgeRequest", js), *js["$defs"].items()]:
        section = doc.split(f"### {name}\n", 1)
        assert len(section) == 2, f"no section for {name}"
        body = section[1].split("\n### ", 1)[0]
        for field in model.get("properties", {}):
            assert f"| `{field}` |" in body, f"{name}.{field} missing from docs/schema.md"


def test_first_examples_are_approvals():
    """The README's walk-through and `make run`'s hint approve, with the figures the README quotes."""
    from ipledge.api.examples import approval_request
    from ipledge.api.serve import curl_example
    from ipledge.cli.main import main
    from ipledge.risk.assess import assess
    from ipledge.valuation.schema import PledgeRequest

    body = json.loads((ROOT / "docs" / "examples" / "approval.json").read_text())
    assert body == approval_request()
    rec = assess(PledgeRequest.model_validate(body))["recommendation"]
    assert rec["decision"] == "approve", rec["reasons"]
    assert f"`approve {round(rec['max_loan'])}`" in README, (round(rec["max_loan"]), "not quoted in README")

    hint = curl_example("127.0.0.1", 8000, "sqlite:////tmp/x.db")
    curl = next(line for line in hint.splitlines() if line.strip().startswith("curl "))
    sent = shlex.split(curl)[-1]                                # the -d argument of the curl line
    assert json.loads(sent) == approval_request()

    assert "ipledge assess scenarios/cases/anaesthetic_injectable.yaml\n" in README
    res = CliRunner().invoke(main, ["assess", str(ROOT / "scenarios/cases/anaesthetic_injectable.yaml")],
                             terminal_width=200)
    assert res.exit_code == 0, res.output
    quoted = re.search(r"`APPROVE` · `([^`]+)`", README).group(1)
    assert "APPROVE" in res.stdout and quoted in res.stdout, (quoted, res.stdout[-1500:])
