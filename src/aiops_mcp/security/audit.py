"""The audit trail: every tool call, resource read, prompt and REST call, kept in the store.

Entries are buffered and written in batches by a background task (`run`, every `interval`
seconds, started in the server's lifespan) and on shutdown, so no call ever waits for the
database, and a database that is down slows nothing. Readers `flush()` first, so they see every
entry. While the store is down entries stay buffered, up to `capacity`; beyond it the oldest
are dropped, counted, and logged. Arguments are stored redacted: credential-looking keys by the
repository, secrets and personal data inside values by the `Redactor`.
"""

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from aiops_mcp.security.redaction import Redactor
    from aiops_mcp.store import Store

logger = logging.getLogger(__name__)


class Auditor:
    """Buffers audit entries and writes them to the store in batches."""

    def __init__(
        self,
        store: Callable[[], Awaitable["Store"]],
        redactor: "Redactor | None",
        *,
        interval: float = 1.0,
        capacity: int = 10_000,
    ) -> None:
        self._store = store
        self._redactor = redactor
        self._interval = interval
        self._pending: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._lock = anyio.Lock()
        self._failing = False
        self.dropped = 0

    def add(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        arguments: Mapping[str, Any],
        status: str,
        duration_ms: float,
        result_bytes: int,
    ) -> None:
        """Queue one entry (never blocks, never raises)."""
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(
            {
                "actor": actor,
                "action": action,
                "target": target,
                "arguments": self._scrub(arguments),
                "status": status,
                "duration_ms": round(duration_ms, 3),
                "result_bytes": result_bytes,
                "at": datetime.now(UTC),
            }
        )

    async def run(self) -> None:
        """Write the buffer every `interval` seconds, until cancelled."""
        while True:
            await anyio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        """Write everything buffered; on a store failure keep it for the next attempt."""
        async with self._lock:
            entries = list(self._pending)
            if not entries:
                return
            try:
                await (await self._store()).audit.record_many(entries)
            except Exception as error:  # the store is down: the entries wait in the buffer
                if not self._failing:
                    logger.warning("audit log not written, %d entries kept until the store is back: %s",
                                   len(entries), error)  # fmt: skip
                self._failing = True
                return
            if self._failing:
                logger.info("audit log written again (%d entries)", len(entries))
                self._failing = False
            written = {id(entry) for entry in entries}
            while self._pending and id(self._pending[0]) in written:
                self._pending.popleft()
            if self.dropped:
                logger.warning("audit buffer was full: %d oldest entries were dropped", self.dropped)
                self.dropped = 0

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redactor.redact(value)[0] if self._redactor else value
        if isinstance(value, Mapping):
            return {str(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value if value is None or isinstance(value, int | float | bool) else str(value)
