"""The audit log: who called which tool, resource or route, how it went, how big the answer was.

Arguments are redacted before they are written: any key that looks like a credential
(password, token, secret, api key, authorization, cookie...) has its value replaced, at any
depth, and `SecretStr` values never reveal themselves.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import SecretBytes, SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops_mcp.store.models import AuditLog

Action = Literal["tool", "resource", "prompt", "rest"]
REDACTED = "[redacted]"
SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|auth|credential|cookie|private", re.I)


def redact(value: Any) -> Any:
    """``value`` with credential-looking keys' values and secret values replaced by `REDACTED`."""
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if SECRET_KEY.search(str(key)) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class AuditRepository:
    """Append audit entries and read the newest back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(
        self,
        *,
        actor: str,
        action: Action,
        target: str,
        arguments: Mapping[str, Any] | None = None,
        status: str,
        duration_ms: float,
        result_bytes: int = 0,
        at: datetime | None = None,
    ) -> AuditLog:
        """Write one entry; ``actor`` is a token id or ``"local"``; ``arguments`` are redacted."""
        row = AuditLog(
            actor=actor,
            action=action,
            target=target[:500],
            arguments=redact(dict(arguments or {})),
            status=status,
            duration_ms=duration_ms,
            result_bytes=result_bytes,
        )
        if at is not None:
            row.at = at
        async with self._sessions.begin() as session:
            session.add(row)
            await session.flush()
            return row

    async def record_many(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Write several entries (keyword arguments of `record`) in one transaction; how many."""
        rows = [
            AuditLog(
                actor=e["actor"],
                action=e["action"],
                target=str(e["target"])[:500],
                arguments=redact(dict(e.get("arguments") or {})),
                status=e["status"],
                duration_ms=e["duration_ms"],
                result_bytes=e.get("result_bytes", 0),
                at=e["at"],
            )
            for e in entries
        ]
        async with self._sessions.begin() as session:
            session.add_all(rows)
        return len(rows)

    async def recent(
        self,
        *,
        limit: int = 100,
        actor: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
    ) -> list[AuditLog]:
        """The newest entries, optionally of one actor, since a time, and older than an entry id."""
        statement = select(AuditLog).order_by(AuditLog.id.desc()).limit(max(1, min(limit, 1000)))
        if actor is not None:
            statement = statement.where(AuditLog.actor == actor)
        if since is not None:
            statement = statement.where(AuditLog.at >= since)
        if before_id is not None:
            statement = statement.where(AuditLog.id < before_id)
        async with self._sessions() as session:
            return list((await session.scalars(statement)).all())
