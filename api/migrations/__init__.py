"""Alembic migrations of the API store (shipped in the package, applied by ipledge.api.store.Store.migrate)."""
