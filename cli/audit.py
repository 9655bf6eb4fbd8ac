"""``ipledge audit verify``: check the audit trail's hash chains (ipledge.api.audit); exit 1 on a broken link."""
from __future__ import annotations

import json

import click


@click.group()
def audit() -> None:
    """Verify the tamper-evident audit trail."""


@audit.command("verify")
@click.option("--tenant", default=None, help="Only this tenant (institution).")
@click.option("--anchor", "anchor_path", type=click.Path(dir_okay=False), default=None,
              help="JSON heads of an earlier run (see --save-anchor), kept outside the database.")
@click.option("--save-anchor", "save_path", type=click.Path(dir_okay=False), default=None,
              help="Write this run's chain heads to this file (when the trail verifies).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: $DATABASE_URL, $IPLEDGE_DB or ./instance/ipledge.db).")
@click.option("--schema", envvar="IPLEDGE_DB_SCHEMA", default=None, help="PostgreSQL schema (search_path).")
def verify(tenant, anchor_path, save_path, as_json, database_url, schema) -> None:
    """Report the first broken link of each chain (and every other one found); exit 1 if any."""
    from ipledge.api.audit import verify as run
    from ipledge.cli.common import fail
    from ipledge.cli.db import open_store

    anchor = None
    if anchor_path:
        try:
            with open(anchor_path, encoding="utf-8") as fh:
                anchor = json.load(fh)["heads"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            fail(f"--anchor {anchor_path}: not an anchor file ({type(e).__name__}: {e})")
    store = open_store(database_url, schema=schema, migrate=False)
    try:
        rep = run(store, tenant=tenant, anchor=anchor)
    finally:
        store.dispose()
    doc = rep.to_dict()
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(f"{rep.tenants} tenant(s), {rep.rows} audit row(s), {rep.unchained} written before the chain")
        if rep.ok:
            click.echo("audit trail intact")
        else:
            b = rep.first
            click.echo(f"BROKEN: first broken link: tenant {b.tenant}, audit row {b.audit_id}, seq {b.seq}: "
                       f"{b.reason}")
            for other in rep.breaks[1:]:
                click.echo(f"  also: tenant {other.tenant}, audit row {other.audit_id}, seq {other.seq}: "
                           f"{other.reason}")
    if save_path and rep.ok:
        with open(save_path, "w", encoding="utf-8") as fh:
            json.dump({"heads": rep.heads}, fh, indent=2, ensure_ascii=False)
    raise SystemExit(0 if rep.ok else 1)
