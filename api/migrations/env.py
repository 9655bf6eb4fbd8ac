"""Alembic environment of the ipledge API store.

Run by :meth:`ipledge.api.store.Store.migrate`, which passes an open connection in
``config.attributes["connection"]``. Standalone use (``alembic -c ...``) reads the URL the same way
the server does (``DATABASE_URL`` / ``IPLEDGE_DB`` / ./instance/ipledge.db).
"""
from alembic import context

from ipledge.api.store import Base, database_url, make_engine

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(database_url())
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
