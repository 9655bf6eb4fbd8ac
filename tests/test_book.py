"""The book from the database (issue 17): POST /v1/book/risk on 200 stored loans gives the figures of
`ipledge portfolio` on the YAML `ipledge book export` writes; outcomes and the evidence CSV."""
from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from api_helpers import auth
from loan_helpers import assess, book, case_request, event

N_LOANS = 200
BOOK_PATHS, BOOK_SEED = 1000, 11
CASES = ("anaesthetic_injectable", "tcm_formulation", "biologic_phase3_coowned", "medical_consumable_utility",
         "oncology_antibody_phase2")
SAME = 1e-12   # the same tasks with the same seeds: equal up to float summation order (none expected)


@pytest.fixture(scope="module")
def stored_book(tmp_path_factory):
    from ipledge.api import create_app

    db = tmp_path_factory.mktemp("book") / "book.db"
    url = f"sqlite:///{db}"
    app = create_app({"DATABASE_URL": url, "IPLEDGE_RATE_LIMIT": "1000000 per minute",
                      "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True})
    client = app.test_client()
    _, key = app.extensions["ipledge_store"].create_key("book-bank")
    assessments = [assess(client, key, case_request(c)) for c in CASES]
    loans = []
    for i in range(N_LOANS):
        a = assessments[i % len(assessments)]
        amount = round(a["recommendation"]["risk_supported_max_loan"] * (0.4 + 0.1 * (i % 5)), 2) or 1.0e6
        loans.append(book(client, key, a["id"], amount)["id"])
    # facts on a few loans: one repaid, one in default (both leave the book), two with news
    ln = client.get(f"/v1/loans/{loans[0]}", headers=auth(key)).get_json()
    event(client, key, loans[0], {"type": "repayment", "date": "2026-11-20", "amount": ln["balance"]})
    event(client, key, loans[1], {"type": "default", "date": "2026-11-20"})
    event(client, key, loans[1], {"type": "recovery", "date": "2026-11-25", "amount": 1.0e5, "channel": "insurance"})
    event(client, key, loans[2], {"type": "phase_result", "date": "2026-11-20", "stage": "filed",
                                  "outcome": "reached"})
    event(client, key, loans[4], {"type": "phase_result", "date": "2026-11-20", "stage": "phase2",
                                  "outcome": "failed"})
    yield app, client, key, url, loans
    app.extensions["ipledge_store"].dispose()


def _job(client, key, body) -> dict:
    r = client.post("/v1/book/risk", json=body, headers=auth(key))
    assert r.status_code == 202, r.get_data(as_text=True)
    job_id = r.get_json()["job_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        doc = client.get(f"/v1/book/risk/{job_id}", headers=auth(key)).get_json()
        if doc["status"] in ("done", "failed"):
            assert doc["status"] == "done", doc["error"]
            return doc["result"]
        time.sleep(0.1)
    raise AssertionError("book job did not finish")


def test_book_risk_equals_portfolio_on_the_export(stored_book, tmp_path):
    from ipledge.cli.main import main

    app, client, key, url, loans = stored_book
    api = _job(client, key, {"simulation": {"paths": BOOK_PATHS, "seed": BOOK_SEED}, "factors": "on"})
    # the open loans, read independently through GET /v1/loans
    items, cursor = [], None
    while True:
        page = client.get("/v1/loans?limit=100" + (f"&cursor={cursor}" if cursor else ""), headers=auth(key)).get_json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    active = [x for x in items if x["status"] == "active"]
    assert len(items) == N_LOANS and len(active) == N_LOANS - 2
    assert api["n_loans"] == len(active)
    assert api["exposure"] == pytest.approx(sum(x["balance"] for x in active), rel=SAME)
    assert {r["loan_id"] for r in api["loans"]} == {x["id"] for x in active}

    out = tmp_path / "book.yaml"
    runner = CliRunner()
    r = runner.invoke(main, ["book", "export", "--tenant", "book-bank", "--paths", str(BOOK_PATHS), "--seed",
                             str(BOOK_SEED), "-o", str(out), "--database-url", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["portfolio", str(out), "--json"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.output)
    for k in ("n_loans", "paths", "seed", "exposure", "expected_loss", "var_99", "es_99", "expected_defaults",
              "prob_any_default", "model_version"):
        a, c = api[k], cli[k]
        assert a == pytest.approx(c, rel=SAME) if isinstance(a, float) else a == c, (k, "api", a, "cli", c)
    assert cli["expected_loss"] > 0 and cli["es_99"] >= cli["var_99"] > 0
    for la, lc in zip(api["loans"], cli["loans"]):
        for k in ("amount", "pd", "expected_loss", "es_contribution"):
            assert la[k] == pytest.approx(lc[k], rel=SAME, abs=1e-9), (la["loan_id"], k, la[k], lc[k])
    assert json.dumps(api["concentration"], sort_keys=True) == json.dumps(cli["concentration"], sort_keys=True)

    # the same from the command line, local engine
    r = runner.invoke(main, ["book", "risk", "--tenant", "book-bank", "--paths", str(BOOK_PATHS), "--seed",
                             str(BOOK_SEED), "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    local = json.loads(r.stdout)
    assert local["expected_loss"] == api["expected_loss"] and local["es_99"] == api["es_99"]


def test_book_outcomes_and_evidence(stored_book, tmp_path):
    from ipledge.cli.main import main
    from ipledge.api.service_loans import book_default_evidence
    from ipledge.risk.pipeline_model import read_evidence

    app, client, key, url, loans = stored_book
    csv_path = tmp_path / "evidence.csv"
    r = CliRunner().invoke(main, ["book", "outcomes", "--tenant", "book-bank", "--as-of", "2026-12-01", "--json",
                                  "--evidence", str(csv_path), "--database-url", url])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["defaults"] == 1 and out["recovered"] == 1.0e5 and out["n_loans"] == N_LOANS
    # exposure: 198 loans from 2026-11-05 to 2026-12-01, the repaid and the defaulted one to 2026-11-20
    expected_ly = ((N_LOANS - 2) * 26 + 2 * 15) / 365.25
    assert out["loan_years"] == pytest.approx(expected_ly, rel=1e-12), (expected_ly, out["loan_years"])
    ev = read_evidence(csv_path)          # what `ipledge model fit --evidence` reads
    rows = {(x.area, x.transition): (x.n, x.successes) for x in ev.itertuples()}
    assert rows == {("oncology", "phase2_to_phase3"): (1, 0), ("autoimmune", "phase3_to_filing"): (1, 1)}, rows
    d = book_default_evidence(app.extensions["ipledge_store"], "book-bank")
    assert d["defaults"] == 1 and d["recoveries"][0]["recovered"] == 1.0e5


@pytest.mark.slow
def test_book_risk_dask_engine_equals_local(stored_book):
    """`ipledge book risk --engine dask` (2-worker LocalCluster) gives the local engine's figures."""
    from ipledge.cli.main import main

    _, _, _, url, _ = stored_book
    runs = {}
    for engine in ("local", "dask"):
        r = CliRunner().invoke(main, ["book", "risk", "--tenant", "book-bank", "--paths", str(BOOK_PATHS), "--seed",
                                      "5", "--engine", engine, "--json", "--database-url", url])
        assert r.exit_code == 0, r.output
        runs[engine] = json.loads(r.stdout)
    for k in ("expected_loss", "var_99", "es_99"):
        assert runs["dask"][k] == runs["local"][k], (k, runs["local"][k], runs["dask"][k])
