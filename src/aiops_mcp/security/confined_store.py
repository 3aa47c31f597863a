"""The store as a confined principal sees it: only the apps, alerts, chats and datasources of its scope.

A token with `label:namespace=payments` sees an alert only when the alert's labels carry
namespace="payments", an application only when the labels that select its metrics do, a chat
session only when its alert or its app is visible, and only the datasources its
`datasource:` scopes name. Writes other than chat messages are refused. Everything that reads
the store (resources, prompts, the answer tools) goes through `Runtime.store()`, which hands
out this view for such principals, so none of them can see past it.
"""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NoReturn

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.security.policy import AccessDenied
from aiops_mcp.security.scopes import Principal
from aiops_mcp.store import AlertFilter, DatasourcePublic, Store
from aiops_mcp.store.models import Alert, ApplicationProfile, ChatMessage, ChatSession
from aiops_mcp.store.repositories import (
    AlertPage,
    AlertRepository,
    ChatRepository,
    DatasourceRepository,
    ProfileRepository,
)
from aiops_mcp.store.repositories.alerts import AlertCount

SCAN_LIMIT = 10_000
"""Most alerts a confined count or breakdown reads (it filters in Python, not in SQL)."""


def sees_labels(principal: Principal, labels: Mapping[str, Any] | None) -> bool:
    """Whether labels carry every label the principal is confined to."""
    return all((labels or {}).get(m.name) == m.value for m in principal.labels)


def sees_profile(principal: Principal, profile: ApplicationProfile | None) -> bool:
    metrics = ((profile.service_mappings or {}).get("metrics") if profile else None) or {}
    return profile is not None and sees_labels(principal, metrics)


def confined(store: Store, principal: Principal) -> Store:
    """`store` as `principal` sees it (the store itself for an unconfined principal)."""
    if not principal.scoped and principal.datasources is None:
        return store
    view = object.__new__(Store)
    view.__dict__.update(store.__dict__)
    view.profiles = ConfinedProfiles(store.profiles, principal)
    view.alerts = ConfinedAlerts(store.alerts, principal)
    view.chats = ConfinedChats(store.chats, view, principal)
    view.datasources = ConfinedDatasources(store.datasources, principal)
    return view


def _refuse(what: str) -> NoReturn:
    raise AccessDenied(f"{what} is not available to a token confined to labels or datasources")


class ConfinedProfiles(ProfileRepository):
    def __init__(self, shared: ProfileRepository, principal: Principal) -> None:
        self.__dict__.update(shared.__dict__)
        self._principal = principal

    async def get(self, name: str) -> ApplicationProfile | None:
        row = await super().get(name)
        return row if sees_profile(self._principal, row) else None

    async def find(self, name_or_alias: str) -> ApplicationProfile | None:
        row = await super().find(name_or_alias)
        return row if sees_profile(self._principal, row) else None

    async def list_all(self) -> list[ApplicationProfile]:
        return [row for row in await super().list_all() if sees_profile(self._principal, row)]

    async def save(self, *_: Any, **__: Any) -> NoReturn:
        _refuse("changing application profiles")

    async def delete(self, *_: Any, **__: Any) -> NoReturn:
        _refuse("changing application profiles")


class ConfinedAlerts(AlertRepository):
    def __init__(self, shared: AlertRepository, principal: Principal) -> None:
        self.__dict__.update(shared.__dict__)
        self._principal = principal

    def _sees(self, alert: Alert | None) -> bool:
        return alert is not None and sees_labels(self._principal, alert.labels)

    async def recent(
        self, filters: AlertFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> AlertPage:
        """A page of the store's, keeping the visible alerts (a page may hold fewer than `limit`)."""
        page = await super().recent(filters, limit=limit, cursor=cursor)
        return replace(page, items=[a for a in page.items if self._sees(a)])

    async def count(self, filters: AlertFilter | None = None) -> int:
        return len(await self._visible(filters))

    async def breakdown(self, filters: AlertFilter | None = None) -> list[AlertCount]:
        counts: dict[tuple[str, str | None], int] = {}
        for alert in await self._visible(filters):
            key = (alert.alertname, alert.severity)
            counts[key] = counts.get(key, 0) + 1
        rows = [AlertCount(name, severity, n) for (name, severity), n in counts.items()]
        return sorted(rows, key=lambda c: (-c.count, c.alertname, c.severity or ""))

    async def get(self, alert_id: int) -> Alert | None:
        alert = await super().get(alert_id)
        return alert if self._sees(alert) else None

    async def similar(self, alert_id: int, *, limit: int = 10) -> list[Alert]:
        if await self.get(alert_id) is None:
            return []
        return [a for a in await super().similar(alert_id, limit=limit) if self._sees(a)]

    async def set_analysis(self, alert_id: int, analysis: str | None) -> bool:
        return await self.get(alert_id) is not None and await super().set_analysis(alert_id, analysis)

    async def upsert_alerts(self, *_: Any, **__: Any) -> NoReturn:
        _refuse("storing alerts")

    async def _visible(self, filters: AlertFilter | None) -> list[Alert]:
        found: list[Alert] = []
        cursor: str | None = None
        for _ in range(SCAN_LIMIT // 500):
            page = await AlertRepository.recent(self, filters, limit=500, cursor=cursor)
            found += [a for a in page.items if self._sees(a)]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return found


class ConfinedChats(ChatRepository):
    def __init__(self, shared: ChatRepository, store: Store, principal: Principal) -> None:
        self.__dict__.update(shared.__dict__)
        self._store = store
        self._principal = principal

    async def _sees(self, session: ChatSession | None) -> bool:
        if session is None:
            return False
        if session.alert_id is not None and await self._store.alerts.get(session.alert_id) is not None:
            return True
        return session.app is not None and await self._store.profiles.get(session.app) is not None

    async def get_session(self, session_id: int) -> ChatSession | None:
        session = await super().get_session(session_id)
        return session if await self._sees(session) else None

    async def messages(self, session_id: int) -> list[ChatMessage]:
        return await super().messages(session_id) if await self.get_session(session_id) else []

    async def sessions_for_alert(self, alert_id: int) -> list[ChatSession]:
        return await super().sessions_for_alert(alert_id) if await self._store.alerts.get(alert_id) else []

    async def recent_sessions(
        self, *, app: str | None = None, offset: int = 0, limit: int = 50
    ) -> list[ChatSession]:
        """A page of the store's, keeping the visible sessions (a page may hold fewer than `limit`)."""
        page = await super().recent_sessions(app=app, offset=offset, limit=limit)
        return [s for s in page if await self._sees(s)]

    async def set_subject(self, session_id: int, *, app: str | None, alert_id: int | None) -> bool:
        return await self.get_session(session_id) is not None and await super().set_subject(
            session_id, app=app, alert_id=alert_id
        )

    async def sessions_for_app(self, app: str, *, limit: int = 50) -> list[ChatSession]:
        visible = await self._store.profiles.get(app) is not None
        return await super().sessions_for_app(app, limit=limit) if visible else []


class ConfinedDatasources(DatasourceRepository):
    def __init__(self, shared: DatasourceRepository, principal: Principal) -> None:
        self.__dict__.update(shared.__dict__)
        self._principal = principal

    async def get_config(self, name: str) -> DatasourceConfig | None:
        return await super().get_config(name) if self._principal.may_use(name) else None

    async def get_public(self, name: str) -> DatasourcePublic | None:
        return await super().get_public(name) if self._principal.may_use(name) else None

    async def list_public(self) -> list[DatasourcePublic]:
        return [d for d in await super().list_public() if self._principal.may_use(d.name)]

    async def save(self, *_: Any, **__: Any) -> NoReturn:
        _refuse("changing datasources")

    async def delete(self, *_: Any, **__: Any) -> NoReturn:
        _refuse("changing datasources")
