"""`Connection`: an MCP server kept connected for a long-lived front end (the terminal, the page).

`McpHost.open` ties a connection to the caller's block: when the transport fails (the server exits,
its port closes) the SDK cancels that block, and whatever ran in it goes too. A `Connection` holds
each host in a task of its own instead, so a failure ends only that connection: calls in flight
raise `HostDisconnected`, and `host()` opens a new one (respawning a stdio server) or raises
`HostDisconnected` saying why it cannot.

    async with Connection.open(target, token=token) as connection:
        chat = ChatSession(connection, model)      # reconnects after a loss
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup, TaskStatus

from aiops_mcp.client_demo.host import CALL_TIMEOUT_SECONDS, HostDisconnected, McpHost, Target, describe

logger = logging.getLogger(__name__)


class Connection:
    """Opens hosts on `target` on demand, each held open in its own task until it is dropped or lost.
    Create it with `Connection.open(target)`."""

    def __init__(self, target: Target, tasks: TaskGroup, *, token: str | None, call_timeout: float) -> None:
        self.target = target
        self.where = describe(target)
        self._tasks = tasks
        self._token = token
        self._call_timeout = call_timeout
        self._current: McpHost | None = None
        self._closers: dict[int, anyio.Event] = {}
        self._lock = anyio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(
        cls, target: Target, *, token: str | None = None, call_timeout: float = CALL_TIMEOUT_SECONDS
    ) -> AsyncIterator["Connection"]:
        """Connect once (`HostDisconnected` when that fails) and close every host on exit."""
        try:
            async with anyio.create_task_group() as tasks:
                connection = cls(target, tasks, token=token, call_timeout=call_timeout)
                try:
                    await connection.host()
                    yield connection
                finally:
                    connection._close_all()
        except BaseExceptionGroup as group:
            # The holders never fail, so the group holds what the block raised: raise it as it was.
            lone = _lone(group)
            if lone is None:
                raise
            raise lone from None

    @property
    def connected(self) -> bool:
        """Whether a host is open (it may still turn out lost at its next call)."""
        return self._current is not None

    async def host(self) -> McpHost:
        """The open host, connecting first when there is none; `HostDisconnected` when it cannot."""
        async with self._lock:
            if self._current is None:
                self._current = await self._tasks.start(self._hold)
            return self._current

    def drop(self, host: McpHost) -> None:
        """Close `host` (its connection was lost); the next `host()` connects again."""
        if self._current is host:
            self._current = None
        if (closer := self._closers.pop(id(host), None)) is not None:
            closer.set()

    async def reconnect(self, host: McpHost) -> McpHost:
        """Drop `host` and connect again, once; `HostDisconnected` when that fails."""
        self.drop(host)
        return await self.host()

    async def _hold(self, *, task_status: TaskStatus[McpHost]) -> None:
        """Open a host, hand it over, and keep it open until it is dropped or its transport fails."""
        closer = anyio.Event()
        host: McpHost | None = None
        try:
            opening = McpHost.open(self.target, token=self._token, call_timeout=self._call_timeout)
            async with opening as host:
                self._closers[id(host)] = closer
                task_status.started(host)
                await closer.wait()
        except Exception as exc:
            if host is None:  # not started: the caller of host() gets the reason
                raise exc if isinstance(exc, HostDisconnected) else HostDisconnected(str(exc)) from exc
            logger.warning("MCP connection to %s ended: %s", self.where, exc)
        finally:
            if host is not None:
                self._closers.pop(id(host), None)
                if self._current is host:
                    self._current = None

    def _close_all(self) -> None:
        self._current = None
        for closer in list(self._closers.values()):
            closer.set()


def _lone(group: BaseExceptionGroup) -> BaseException | None:
    """The one exception a (nested) group holds, or None when it holds several."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup):
        if len(found.exceptions) != 1:
            return None
        found = found.exceptions[0]
    return found
