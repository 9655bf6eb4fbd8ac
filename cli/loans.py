"""``ipledge revalue``, ``ipledge replay`` and ``ipledge book risk|export|outcomes`` (issue 17).

They work on the server's database (``DATABASE_URL`` / ``IPLEDGE_DB`` / ./instance/ipledge.db, or
``--database-url``) as an operator: writes are audited with key id ``cli`` under the loan's tenant.
"""
from __future__ import annotations

import datetime as dt
import json
import sys

import click

from ipledge.cli.common import emit_json, fail, user_errors
from ipledge.cli.progress import progress_bar, quiet_option

CLI_KEY = "cli"
_db_option = click.option("--database-url", envvar="DATABASE_URL", default=None,
                          help="SQLAlchemy URL (default: $DATABASE_URL, $IPLEDGE_DB or ./instance/ipledge.db).")
_tenant_option = click.option("--tenant", required=True, help="Institution whose book to read.")


def _store(database_url: str | None):
    from ipledge.cli.db import open_store

    return open_store(database_url)


def _problem(e) -> str:
    """One line from an API problem (the CLI shares the service functions)."""
    if e.errors:
        first = e.errors[0]
        return f"{first['field']}: {first['message']}"
    return e.detail or e.slug or str(e.status)


def _principal(ls, tenant_id: int):
    from ipledge.api.store import Principal, Tenant

    with ls.Session() as s:
        name = s.get(Tenant, tenant_id).name
    return Principal(tenant_id, name, CLI_KEY)


def _tenant(ls, name: str) -> int:
    tid = ls.tenant_id(name)
    if tid is None:
        fail(f"no tenant {name!r}")
    return tid


@click.command()
@click.argument("loan_id")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="Valuation date (default today).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored valuation and alerts as JSON.")
@_db_option
@user_errors
def revalue(loan_id: str, as_of: str | None, as_json: bool, database_url: str | None) -> None:
    """Revalue LOAN_ID on its recorded facts and store the valuation (as POST /v1/loans/{id}/revaluations)."""
    from ipledge.api.problems import Problem
    from ipledge.api.service_loans import revalue_loan
    from ipledge.api.store_loans import LoanStore
    from ipledge.risk.posterior import load_posterior

    store = _store(database_url)
    ls = LoanStore(store)
    loan = ls.loan(None, loan_id)
    if loan is None:
        fail(f"no loan {loan_id!r}")
    try:
        res = revalue_loan(store, _principal(ls, loan.tenant_id), loan_id, {"as_of": as_of} if as_of else {},
                           None, load_posterior())
    except Problem as e:
        fail(_problem(e))
    doc = json.loads(res.body)
    if as_json:
        emit_json(doc)
        return
    v, ch = doc["valuation"], doc["valuation"]["change"] or {}
    ltv = "n/a (collateral 0)" if v["ltv"] is None else f"{v['ltv']:.1%}"
    click.echo(f"loan {loan_id} at {v['as_of']} ({v['status']}): balance CNY {v['balance'] / 1e6:,.2f}m, collateral "
               f"CNY {v['collateral_value'] / 1e6:,.2f}m, LTV {ltv}, PD {v['pd']:.1%}, EL CNY "
               f"{v['expected_loss'] / 1e6:,.2f}m, decision {v['decision']}")
    if ch:
        click.echo(f"change: collateral {ch['collateral_value'] / 1e6:+,.2f}m, PD {100 * ch['pd']:+.1f} pts, "
                   f"EL {ch['expected_loss'] / 1e6:+,.2f}m")
    for d in v["drivers"]:
        click.echo(f"  {d['label']}: collateral {d['collateral_value'] / 1e6:+,.2f}m, PD {100 * d['pd']:+.1f} pts")
    for a in doc["alerts"]:
        click.echo(f"ALERT {a['trigger']} -> {a['action']}: {a['message']}")


@click.command()
@click.argument("assessment_id")
@click.option("--json", "as_json", is_flag=True, help="Print the replay document as JSON.")
@_db_option
@user_errors
def replay(assessment_id: str, as_json: bool, database_url: str | None) -> None:
    """Recompute stored assessment ASSESSMENT_ID and compare (exit 0 identical, 1 otherwise)."""
    from ipledge.api.service_loans import replay as run
    from ipledge.api.store_loans import LoanStore
    from ipledge.risk.posterior import load_posterior

    ls = LoanStore(_store(database_url))
    row = ls.assessment_row(None, assessment_id)
    if row is None:
        fail(f"no assessment {assessment_id!r}")
    doc = run(row, load_posterior())
    ls.audit(_principal(ls, row["tenant_id"]), "assessment.replay", assessment_id=assessment_id,
             input_hash=doc["stored_hash"], model_version=row["model_version"], seed=row["seed"],
             decision={True: "identical", False: "differs", None: "not_recomputed"}[doc["identical"]])
    if as_json:
        emit_json(doc)
    elif doc["identical"]:
        click.echo(f"identical: stored and replayed documents hash to {doc['stored_hash']}")
    elif not doc["recomputed"]:
        click.echo(doc["message"])
    else:
        click.echo(f"differs in {doc['n_differences']} field(s) (stored {doc['stored_hash'][:12]}, replayed "
                   f"{doc['replay_hash'][:12]}):")
        for d in doc["differences"][:20]:
            click.echo(f"  {d['field']}: stored {d['stored']!r}, replayed {d['replayed']!r}")
    sys.exit(0 if doc["identical"] else 1)


@click.group()
def book() -> None:
    """A lender's book from the database: risk, export as a portfolio YAML, recorded outcomes."""


_sim_options = [
    click.option("--paths", type=click.IntRange(1000, 1_000_000), default=10_000, show_default=True),
    click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=7, show_default=True),
    click.option("--factors", type=click.Choice(["on", "off"]), default="on", show_default=True),
]


def _sim(fn):
    for opt in reversed(_sim_options):
        fn = opt(fn)
    return fn


def _tenant_book(database_url, tenant, paths, seed, factors):
    from ipledge.api.service_loans import tenant_book
    from ipledge.api.store_loans import LoanStore

    ls = LoanStore(_store(database_url))
    book_doc, ids = tenant_book(ls, _tenant(ls, tenant), paths=paths, seed=seed, factors=factors)
    if not ids:
        fail(f"tenant {tenant!r} has no open loans")
    return ls, book_doc, ids


@book.command("risk")
@_tenant_option
@_sim
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler (default: a LocalCluster).")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the portfolio result as JSON.")
@quiet_option
@_db_option
@user_errors
def book_risk(tenant, paths, seed, factors, engine, scheduler, workers, as_json, quiet, database_url) -> None:
    """EL, VaR, ES and contributions of TENANT's open loans at their latest valuations."""
    from ipledge.cli.portfolio import print_portfolio
    from ipledge.api.store import canonical_hash
    from ipledge.risk.portfolio import Book, run_portfolio

    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    ls, book_doc, ids = _tenant_book(database_url, tenant, paths, seed, factors)
    with progress_bar("book risk", quiet, as_json) as progress:
        res = run_portfolio(Book.from_dict(book_doc), engine=engine, scheduler=scheduler, workers=workers,
                            progress=progress)
    for row in res["loans"]:
        row["loan_id"] = ids[row["index"]]
    ls.audit(_principal(ls, _tenant(ls, tenant)), "book.risk", input_hash=canonical_hash(book_doc),
             model_version=res["model_version"], seed=seed)
    if as_json:
        emit_json(res)
    else:
        print_portfolio(res)


@book.command("export")
@_tenant_option
@_sim
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None, help="File (default stdout).")
@_db_option
@user_errors
def book_export(tenant, paths, seed, factors, out, database_url) -> None:
    """TENANT's open loans as a book for `ipledge portfolio` (YAML; each pledge = a loan's latest valuation)."""
    from ipledge.risk.book import book_yaml

    _, book_doc, ids = _tenant_book(database_url, tenant, paths, seed, factors)
    text = book_yaml(book_doc, ids, header=f"book of {tenant}: {len(ids)} open loans, exported "
                                           f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"wrote {out} ({len(ids)} loans)", err=True)
    else:
        click.echo(text, nl=False)


@book.command("outcomes")
@_tenant_option
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="Count exposure up to (default today).")
@click.option("--evidence", "evidence", type=click.Path(dir_okay=False), default=None, metavar="FILE.csv",
              help="Also write the phase results as an evidence CSV for `ipledge model fit --evidence`.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@_db_option
@user_errors
def book_outcomes(tenant, as_of, evidence, as_json, database_url) -> None:
    """TENANT's recorded defaults, recoveries, loan-years of exposure and phase results."""
    from ipledge.api.service_loans import tenant_outcomes
    from ipledge.api.store_loans import LoanStore
    from ipledge.risk.book import phase_evidence

    ls = LoanStore(_store(database_url))
    day = dt.date.fromisoformat(as_of) if as_of else None
    out = tenant_outcomes(ls, _tenant(ls, tenant), day)
    if evidence:
        if not out["phase_results"]:
            fail("no phase results recorded: no evidence file written")
        with open(evidence, "w", encoding="utf-8") as fh:
            fh.write(phase_evidence(out))
    if as_json:
        emit_json(out)
        return
    rate = out["default_rate_per_loan_year"]
    rec = out["recovery_rate"]
    click.echo(f"{tenant}: {out['n_loans']} loans, {out['loan_years']:.2f} loan-years of exposure to {out['as_of']}; "
               f"{out['defaults']} default(s)" + (f" ({rate:.2%} per loan-year)" if rate is not None else "")
               + f"; recovered CNY {out['recovered'] / 1e6:,.2f}m of {out['ead_at_default'] / 1e6:,.2f}m at default"
               + (f" ({rec:.1%})" if rec is not None else ""))
    for r in out["phase_results"]:
        click.echo(f"  {r['therapeutic_area']} {r['transition']}: {r['successes']}/{r['n']}")
    if evidence:
        click.echo(f"wrote {evidence} ({len(out['phase_results'])} rows)", err=True)
