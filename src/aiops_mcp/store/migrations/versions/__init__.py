"""Alembic revisions, applied in order by `aiops_mcp.store.migrate`."""
