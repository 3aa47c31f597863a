"""`ChatSession`: a conversation with one MCP server, answered by a model or, without one, offline.

Given a `Connection` (not a bare `McpHost`), a turn that loses the server raises `HostDisconnected`
saying so and whether it reconnected at once (a stdio server is spawned again); otherwise the next
question connects again, or raises `HostDisconnected` with the reason it cannot.
"""

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any, Literal

from aiops_mcp.client_demo import loop
from aiops_mcp.client_demo.connection import Connection
from aiops_mcp.client_demo.events import Answer, Event, ToolFinished
from aiops_mcp.client_demo.host import HostDisconnected, McpHost

Role = Literal["user", "assistant"]
Recorder = Callable[[Role, str, list[dict[str, Any]] | None], Awaitable[object]]
"""Saves one message: `(role, content, tool_calls)`; the tool calls (name, arguments, is_error,
seconds, queries) come with the assistant's answer."""


class ChatSession:
    """Questions and answers over `host` (a host, or a `Connection` that reconnects); `model` is a
    LiteLLM model name, or None for offline."""

    def __init__(
        self,
        host: McpHost | Connection,
        model: str | None,
        *,
        recorder: Recorder | None = None,
        max_rounds: int = 6,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.connection = host if isinstance(host, Connection) else None
        self._host = host if isinstance(host, McpHost) else None
        self.model = model
        self.recorder = recorder
        self.max_rounds = max_rounds
        self.options = dict(options or {})
        self.history: list[dict[str, Any]] = []

    @property
    def mode(self) -> str:
        """`model:<name>` or `offline`."""
        return f"model:{self.model}" if self.model else "offline"

    async def ask(self, question: str) -> AsyncGenerator[Event, None]:
        """The turn's events; the question and its final answer are added to `history` (and recorded).
        Raises `HostDisconnected` when the server cannot be reached or is lost during the turn."""
        host = await self.host()
        if self.recorder is not None:
            await self.recorder("user", question, None)
        if self.model:
            turn = loop.model_turn(
                host,
                self.model,
                self.history,
                question,
                max_rounds=self.max_rounds,
                options=self.options,
            )
        else:
            turn = loop.offline_turn(host, question)
        calls: list[ToolFinished] = []
        answer: Answer | None = None
        try:
            async with aclosing(turn) as events:
                async for event in events:
                    if isinstance(event, ToolFinished):
                        calls.append(event)
                    elif isinstance(event, Answer):
                        answer = event
                    yield event
        except HostDisconnected as lost:
            raise await self._after_loss(host, lost) from lost
        if answer is None:
            return
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
        if self.recorder is not None:
            await self.recorder("assistant", answer.text, [c.record() for c in calls] or None)

    async def host(self) -> McpHost:
        """The host the next turn uses (with a `Connection`, connecting first when it was lost)."""
        if self._host is not None:
            return self._host
        assert self.connection is not None
        return await self.connection.host()

    async def _after_loss(self, host: McpHost, lost: HostDisconnected) -> HostDisconnected:
        """What to raise for a turn that lost the server, after reconnecting once when possible."""
        if self.connection is None:
            return lost
        try:
            await self.connection.reconnect(host)
        except HostDisconnected as failed:
            return HostDisconnected(f"{lost}; {failed}; the next question tries again")
        return HostDisconnected(f"{lost}; reconnected, ask again")
