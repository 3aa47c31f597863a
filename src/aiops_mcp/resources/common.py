"""What the store-backed resource families share: store access with clear errors, JSON, paging.

The store (and SQLAlchemy) is imported only when a resource is read, so building the server
stays light. A database that cannot be opened, or is lost while running, becomes a
`ResourceError` starting "store unavailable:"; tools over Prometheus and Loki are unaffected.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError

from aiops_mcp.analysis.logs import clip_line
from aiops_mcp.runtime import Runtime, runtime

if TYPE_CHECKING:
    from aiops_mcp.store import Store

TEXT_CHARS = 4_000
"""Longest free text (annotations, analyses, messages) a resource returns before cutting it."""


def store_failure(exc: BaseException) -> str | None:
    """One line describing why the database failed, or None when ``exc`` is not a database failure."""
    from aiops_mcp.store import InvalidInput, StoreError

    if isinstance(exc, InvalidInput):
        return None
    if isinstance(exc, StoreError | OSError) or type(exc).__module__.startswith("sqlalchemy"):
        cause = getattr(exc, "orig", None) or exc
        return (str(cause).strip().splitlines() or [type(cause).__name__])[0][:300]
    return None


@asynccontextmanager
async def reading(ctx: Context) -> AsyncIterator["Store"]:
    """The store, for one resource read; database failures and bad cursors become `ResourceError`."""
    rt: Runtime = runtime(ctx)
    try:
        yield await rt.store()
    except ResourceError:
        raise
    except Exception as exc:
        from aiops_mcp.store import InvalidInput

        if isinstance(exc, InvalidInput):
            raise ResourceError(str(exc)) from None
        reason = store_failure(exc)
        if reason is None:
            raise
        raise ResourceError(f"store unavailable: {reason}") from None


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, seconds precision."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def clip(text: str | None, limit: int = TEXT_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters, marked when cut (as log lines are)."""
    return None if text is None else clip_line(text, limit)[0]


def offset_of(cursor: str | None) -> int:
    """The offset an offset cursor names (0 when absent); `ResourceError` for anything else."""
    if not cursor:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        raise ResourceError(f"cursor must be the non-negative integer a previous page gave, got {cursor!r}")
    return int(cursor)


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)
