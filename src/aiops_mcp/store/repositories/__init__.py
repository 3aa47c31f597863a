"""One repository per aggregate; each owns its queries and its transactions."""

from aiops_mcp.store.repositories.alerts import AlertPage, AlertRepository
from aiops_mcp.store.repositories.audit import AuditRepository
from aiops_mcp.store.repositories.chats import ChatRepository
from aiops_mcp.store.repositories.datasources import DatasourceRepository
from aiops_mcp.store.repositories.profiles import ProfileRepository
from aiops_mcp.store.repositories.tokens import TokenRepository

__all__ = [
    "AlertPage",
    "AlertRepository",
    "AuditRepository",
    "ChatRepository",
    "DatasourceRepository",
    "ProfileRepository",
    "TokenRepository",
]
