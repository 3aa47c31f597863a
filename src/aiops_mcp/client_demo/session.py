"""`ChatSession`: a conversation with one MCP server, answered by a model or, without one, offline."""

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any, Literal

from aiops_mcp.client_demo import loop
from aiops_mcp.client_demo.events import Answer, Event, ToolFinished
from aiops_mcp.client_demo.host import McpHost

Role = Literal["user", "assistant"]
Recorder = Callable[[Role, str, list[dict[str, Any]] | None], Awaitable[object]]
"""Saves one message: `(role, content, tool_calls)`; the tool calls (name, arguments, is_error,
seconds, queries) come with the assistant's answer."""


class ChatSession:
    """Questions and answers over `host`; `model` is a LiteLLM model name, or None for offline."""

    def __init__(
        self,
        host: McpHost,
        model: str | None,
        *,
        recorder: Recorder | None = None,
        max_rounds: int = 6,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.host = host
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
        """The turn's events; the question and its final answer are added to `history` (and recorded)."""
        if self.recorder is not None:
            await self.recorder("user", question, None)
        if self.model:
            turn = loop.model_turn(
                self.host,
                self.model,
                self.history,
                question,
                max_rounds=self.max_rounds,
                options=self.options,
            )
        else:
            turn = loop.offline_turn(self.host, question)
        calls: list[ToolFinished] = []
        answer: Answer | None = None
        async with aclosing(turn) as events:
            async for event in events:
                if isinstance(event, ToolFinished):
                    calls.append(event)
                elif isinstance(event, Answer):
                    answer = event
                yield event
        if answer is None:
            return
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
        if self.recorder is not None:
            await self.recorder("assistant", answer.text, [c.record() for c in calls] or None)
