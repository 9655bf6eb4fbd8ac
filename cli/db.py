"""The server's database as the operator commands open it (``keys``, ``revalue``, ``replay``, ``book``).

Each command says on stderr which database it uses (the URL with any password masked) and never creates
one by accident: run from another directory, the default ``./instance/ipledge.db`` names a file that does
not exist, and a key written there is one the server has never seen (it answers 401). Only
``ipledge keys create --create-db`` may create (and migrate) a new database.
"""
from __future__ import annotations

from pathlib import Path

import click

CREATE_FLAG = "--create-db"


def shown_url(url: str) -> str:
    """The URL to print: the password masked (``postgresql://user:***@host/db``)."""
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparsable database URL)"


def _missing(url: str) -> str:
    hint = (f"start the server once there, run from the server's directory, set DATABASE_URL or IPLEDGE_DB "
            f"to the server's database, or pass {CREATE_FLAG} to `ipledge keys create` to create it")
    return f"no ipledge database at {shown_url(url)} ({hint})"


def open_store(explicit_url: str | None, *, create: bool = False, schema: str | None = None, migrate: bool = True):
    """A migrated :class:`ipledge.api.store.Store` on the server's database; exit 2 with one line if there is none.

    ``create``: make and migrate a new database instead of refusing (``--create-db``); ``migrate=False``
    opens an existing database as it is (``audit verify`` reads, never changes the schema)."""
    import sqlalchemy as sa

    from ipledge.cli.common import fail
    from ipledge.api.store import Store, database_url

    url = database_url(explicit_url)
    click.echo(f"database: {shown_url(url)}", err=True)
    try:
        u = sa.make_url(url)
    except sa.exc.ArgumentError:
        fail(f"not a database URL: {shown_url(url)}")
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") \
            and not Path(u.database).exists() and not create:
        fail(_missing(url))          # checked before connecting: connecting would create the file
    store = Store(url, schema=schema)
    try:
        if store.revision() is None and not create:   # an empty file or PostgreSQL schema
            store.dispose()
            fail(_missing(url))
        if migrate:
            store.migrate()
    except sa.exc.DBAPIError as e:
        store.dispose()
        fail(f"cannot open the database {shown_url(url)}: {str(e.orig).strip().splitlines()[0]}")
    return store
