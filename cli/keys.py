"""``ipledge keys``: API keys per tenant (institution). Only a SHA-256 of each key is stored.

The database is the server's: ``DATABASE_URL`` / ``IPLEDGE_DB`` / ./instance/ipledge.db, or ``--database-url``.
Each command prints the database it uses on stderr (password masked) and refuses to create a new one
unless ``keys create --create-db`` asks for it (:mod:`ipledge.cli.db`).
"""
from __future__ import annotations

import json

import click


def _store(database_url: str | None, create: bool = False):
    from ipledge.cli.db import open_store

    return open_store(database_url, create=create)


_db_option = click.option("--database-url", envvar="DATABASE_URL", default=None,
                          help="SQLAlchemy URL (default: $DATABASE_URL, $IPLEDGE_DB or ./instance/ipledge.db).")


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--tenant", required=True, help="Institution the key acts for (created if new).")
@_db_option
@click.option("--create-db", "create_db", is_flag=True,
              help="Create (and migrate) the database if it does not exist yet; without it a missing database "
                   "is an error (a key in a database the server does not use is refused with 401).")
def create(tenant: str, database_url: str | None, create_db: bool) -> None:
    """Create a key for TENANT; the key itself is printed once, on the last line."""
    from ipledge.cli.common import fail

    try:
        key_id, key = _store(database_url, create_db).create_key(tenant)
    except ValueError as e:
        fail(str(e))
    click.echo(f"tenant: {tenant.strip()}")
    click.echo(f"key id: {key_id}")
    click.echo("The key is shown only now; store it safely. Use it as `Authorization: Bearer <key>`.")
    click.echo(key)


@keys.command("list")
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_db_option
def list_(tenant: str | None, as_json: bool, database_url: str | None) -> None:
    """List keys (ids, tenants, dates; never the keys)."""
    rows = _store(database_url).list_keys(tenant)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no keys")
        return
    click.echo(f"{'KEY ID':<14} {'TENANT':<24} {'CREATED':<28} STATUS")
    for r in rows:
        status = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        click.echo(f"{r['key_id']:<14} {r['tenant']:<24} {r['created_at']:<28} {status}")


@keys.command("revoke")
@click.argument("key_id")
@_db_option
def revoke(key_id: str, database_url: str | None) -> None:
    """Revoke the key KEY_ID (requests with it then answer 401)."""
    from ipledge.cli.common import fail

    if not _store(database_url).revoke_key(key_id):
        fail(f"no active key with id {key_id!r}")
    click.echo(f"revoked {key_id}")
