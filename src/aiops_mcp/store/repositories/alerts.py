"""Alerts received from Alertmanager: idempotent, race-free upserts and the queries tools need.

An alert occurrence is identified by (fingerprint, starts_at), which is UNIQUE. `upsert_alerts`
relies on the database, not on a read-then-write, so concurrent webhook deliveries of
overlapping batches can neither duplicate a row nor fail:

1. ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` creates the new rows (they are "created");
2. ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` updates the others ("updated"), except
   that a late "firing" delivery never reopens an alert already resolved ("ignored").

Rows are written in key order, so two transactions lock shared keys in the same order and
cannot deadlock on PostgreSQL; on SQLite the first statement takes the write lock (other
writers wait on the busy timeout). Rows go as executemany, which SQLAlchemy sends as batched
multi-VALUES statements compiled once.
"""

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select

from aiops_mcp.store.errors import InvalidInput
from aiops_mcp.store.models import Alert
from aiops_mcp.store.schemas import AlertFilter, AlertIn, UpsertResult
from aiops_mcp.store.types import as_utc, is_stored_id, utcnow

APP_LABELS = ("app", "application", "app_kubernetes_io_name", "service", "service_name")
"""Labels that name the application an alert belongs to, in order of preference."""

UPDATED_COLUMNS = (
    *("status", "ends_at", "labels", "annotations", "alertname", "severity", "instance", "job", "app"),
    *("generator_url", "updated_at"),
)
"""What a redelivery changes; never ``received_at`` nor ``ai_analysis``."""
MAX_LIMIT = 500
Key = tuple[str, datetime]


def derive_app(labels: dict[str, str]) -> str | None:
    """The application named by ``labels`` (first of `APP_LABELS` present), if any."""
    return next((labels[name] for name in APP_LABELS if labels.get(name)), None)


@dataclass(frozen=True, slots=True)
class AlertCount:
    """How many alerts one (alertname, severity) pair had."""

    alertname: str
    severity: str | None
    count: int


@dataclass(frozen=True)
class AlertPage:
    """One page of alerts, newest first; pass ``next_cursor`` back for the next page (None: last)."""

    items: list[Alert]
    next_cursor: str | None


class AlertRepository:
    """Upserts and queries over the ``alerts`` table."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessions = sessions
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def upsert_alerts(self, batch: Iterable[AlertIn]) -> UpsertResult:
        """Insert new alerts and update known ones (status, ends_at, labels, annotations), atomically.

        Idempotent: delivering the same batch twice leaves the same rows. Within a batch, the
        last occurrence of a key wins.
        """
        latest: dict[Key, AlertIn] = {}
        for alert in batch:
            latest[(alert.fingerprint, alert.starts_at)] = alert
        now = utcnow()
        rows = [self._columns(latest[key], now) for key in sorted(latest)]
        result = UpsertResult()
        if not rows:
            return result
        # Executemany: SQLAlchemy batches the rows into multi-VALUES statements ("insertmanyvalues")
        # with one cached compilation, instead of compiling thousands of bound parameters.
        table = cast(Table, Alert.__table__)
        keys = [table.c.fingerprint, table.c.starts_at]
        returned = (table.c.id, table.c.fingerprint, table.c.starts_at)
        async with self._sessions.begin() as session:
            insert_new = self._insert(table).on_conflict_do_nothing(index_elements=keys).returning(*returned)
            created = {(fp, at): id_ for id_, fp, at in await session.execute(insert_new, rows)}
            result.created.extend(created[key] for key in sorted(created))
            rest = [row for row in rows if (row["fingerprint"], row["starts_at"]) not in created]
            if not rest:
                return result
            statement = self._insert(table)
            new = statement.excluded
            update_known = statement.on_conflict_do_update(
                index_elements=keys,
                set_={name: new[name] for name in UPDATED_COLUMNS},
                where=or_(table.c.status != "resolved", new.status == "resolved"),
            ).returning(*returned)
            updated = {(fp, at): id_ for id_, fp, at in await session.execute(update_known, rest)}
            result.updated.extend(updated[key] for key in sorted(updated))
            stale = [
                key for key in ((row["fingerprint"], row["starts_at"]) for row in rest) if key not in updated
            ]
            result.ignored.extend(await self._ids_of(session, stale))
        return result

    @staticmethod
    async def _ids_of(session: AsyncSession, keys: list[Key]) -> list[int]:
        """The ids of the alerts with these (fingerprint, starts_at) keys (few: stale deliveries)."""
        ids: list[int] = []
        for start in range(0, len(keys), 100):
            match = or_(
                *(
                    and_(Alert.fingerprint == fp, Alert.starts_at == at)
                    for fp, at in keys[start : start + 100]
                )
            )
            ids.extend((await session.scalars(select(Alert.id).where(match).order_by(Alert.id))).all())
        return ids

    @staticmethod
    def _columns(alert: AlertIn, now: datetime) -> dict[str, Any]:
        labels = alert.labels
        return {
            "fingerprint": alert.fingerprint,
            "status": alert.status,
            "alertname": labels.get("alertname", ""),
            "severity": labels.get("severity"),
            "instance": labels.get("instance"),
            "job": labels.get("job"),
            "app": derive_app(labels),
            "labels": labels,
            "annotations": alert.annotations,
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "generator_url": alert.generator_url,
            "received_at": now,
            "updated_at": now,
        }

    async def recent(
        self, filters: AlertFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> AlertPage:
        """Alerts matching ``filters``, newest ``starts_at`` first, ``limit`` at a time (keyset paging)."""
        limit = max(1, min(limit, MAX_LIMIT))
        statement = self._filtered(filters or AlertFilter())
        if cursor is not None:
            starts_at, id_ = decode_cursor(cursor)
            statement = statement.where(
                or_(Alert.starts_at < starts_at, and_(Alert.starts_at == starts_at, Alert.id < id_))
            )
        statement = statement.order_by(Alert.starts_at.desc(), Alert.id.desc()).limit(limit + 1)
        async with self._sessions() as session:
            rows = list((await session.scalars(statement)).all())
        more = len(rows) > limit
        items = rows[:limit]
        return AlertPage(items, encode_cursor(items[-1]) if more else None)

    async def count(self, filters: AlertFilter | None = None) -> int:
        """How many alerts match ``filters`` (e.g. "how many events for app X in the last 24 h")."""
        statement = self._filtered(filters or AlertFilter()).with_only_columns(func.count(Alert.id))
        async with self._sessions() as session:
            return int(await session.scalar(statement) or 0)

    async def breakdown(self, filters: AlertFilter | None = None) -> list[AlertCount]:
        """How many alerts match ``filters`` per (alertname, severity), the most frequent first."""
        statement = (
            self._filtered(filters or AlertFilter())
            .with_only_columns(Alert.alertname, Alert.severity, func.count(Alert.id))
            .group_by(Alert.alertname, Alert.severity)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        counts = [AlertCount(name, severity, int(n)) for name, severity, n in rows]
        return sorted(counts, key=lambda c: (-c.count, c.alertname, c.severity or ""))

    async def get(self, alert_id: int) -> Alert | None:
        """The alert with id ``alert_id``."""
        if not is_stored_id(alert_id):
            return None
        async with self._sessions() as session:
            return await session.get(Alert, alert_id)

    async def for_app(self, app: str, *, since: datetime | None = None, limit: int = 50) -> list[Alert]:
        """The newest alerts of ``app`` (optionally since ``since``)."""
        return (await self.recent(AlertFilter(app=app, since=since), limit=limit)).items

    async def similar(self, alert_id: int, *, limit: int = 10) -> list[Alert]:
        """Past alerts like ``alert_id``: same alertname or same instance, started no later, newest first."""
        limit = max(1, min(limit, MAX_LIMIT))
        async with self._sessions() as session:
            alert = await session.get(Alert, alert_id) if is_stored_id(alert_id) else None
            if alert is None:
                return []
            alike = Alert.alertname == alert.alertname
            if alert.instance:
                alike = or_(alike, Alert.instance == alert.instance)
            statement = (
                select(Alert)
                .where(alike, Alert.id != alert.id, Alert.starts_at <= alert.starts_at)
                .order_by(Alert.starts_at.desc(), Alert.id.desc())
                .limit(limit)
            )
            return list((await session.scalars(statement)).all())

    async def set_analysis(self, alert_id: int, analysis: str | None) -> bool:
        """Store the AI analysis of ``alert_id``; whether the alert exists."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Alert).where(Alert.id == alert_id).values(ai_analysis=analysis, updated_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0))

    @staticmethod
    def _filtered(filters: AlertFilter) -> Select[Alert]:
        statement = select(Alert)
        for column, value in (
            (Alert.status, filters.status),
            (Alert.app, filters.app),
            (Alert.severity, filters.severity),
            (Alert.alertname, filters.alertname),
            (Alert.instance, filters.instance),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if filters.since is not None:
            statement = statement.where(Alert.starts_at >= filters.since)
        if filters.until is not None:
            statement = statement.where(Alert.starts_at < filters.until)
        return statement


def encode_cursor(alert: Alert) -> str:
    """An opaque cursor pointing just after ``alert`` in (starts_at, id) descending order."""
    return base64.urlsafe_b64encode(f"{alert.starts_at.isoformat()}|{alert.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position `encode_cursor` encoded; `InvalidInput` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        when, id_ = text.split("|")
        return as_utc(datetime.fromisoformat(when)), int(id_)
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidInput("cursor", {"cursor": "not a cursor returned by this store"}) from None
