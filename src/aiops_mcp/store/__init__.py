"""The engine's memory: datasources (secrets encrypted), application profiles, alerts, chats,
audit log and API tokens, as SQLAlchemy 2 async models behind one repository per aggregate.

    store = await open_store(settings_url_or_None, settings.data_dir)   # migrates to head
    result = await store.alerts.upsert_alerts(AlertIn.model_validate(a) for a in payload["alerts"])
    await store.aclose()

SQLite (aiosqlite, the embedded default) and PostgreSQL (asyncpg) behave the same; every
datetime in and out is aware UTC. Never imports MCP.
"""

from aiops_mcp.store.core import Store, open_store
from aiops_mcp.store.engine import default_url, display_url
from aiops_mcp.store.errors import InvalidInput, NotFound, SecretKeyError, StoreError, StoreUnavailable
from aiops_mcp.store.migrator import alembic_config, head_revision, migrate
from aiops_mcp.store.repositories import AlertPage
from aiops_mcp.store.schemas import (
    AlertFilter,
    AlertIn,
    DatasourcePublic,
    ProfileIn,
    UpsertResult,
    validate_profile,
)
from aiops_mcp.store.secrets import SecretBox, load_secret_box

__all__ = [
    "AlertFilter",
    "AlertIn",
    "AlertPage",
    "DatasourcePublic",
    "InvalidInput",
    "NotFound",
    "ProfileIn",
    "SecretBox",
    "SecretKeyError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UpsertResult",
    "alembic_config",
    "default_url",
    "display_url",
    "head_revision",
    "load_secret_box",
    "migrate",
    "open_store",
    "validate_profile",
]
