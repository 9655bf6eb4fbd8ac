"""Alembic migrations of the API store (shipped in the package, applied by api.store.Store.migrate)."""
