"""Helpers for the host library's tests: a host on a real in-process server, a scripted model that
answers through LiteLLM's own mock path (no network), and reading a turn's events."""

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiops_mcp.client_demo.events import Event
from aiops_mcp.client_demo.host import McpHost
from aiops_mcp.llm import load_litellm
from aiops_mcp.server.app import build_runtime, build_server
from aiops_mcp.settings import Settings

MODEL = "openai/gpt-4o-mini"


@asynccontextmanager
async def hosted(settings: Settings, now: datetime | None = None) -> AsyncIterator[McpHost]:
    """A host on a fresh in-process server; `now` pins the server's clock."""
    runtime = build_runtime(settings)
    if now is not None:
        runtime.now = lambda: now
    try:
        async with McpHost.open(build_server(settings, runtime=runtime)) as host:
            yield host
    finally:
        await runtime.aclose()


def tool_reply(name: str, arguments: str, call_id: str = "call_1") -> Any:
    """A model reply asking for one tool call (LiteLLM streams it as a tool-call delta)."""
    return tool_calls_reply(name, [(call_id, arguments)])


def tool_calls_reply(name: str, calls: list[tuple[str, str]]) -> Any:
    """A model reply asking for several calls of one tool: `(call_id, arguments)` each."""
    litellm = load_litellm()
    asked = [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        for call_id, arguments in calls
    ]
    message = {"role": "assistant", "content": None, "tool_calls": asked}
    return litellm.ModelResponse(choices=[{"index": 0, "finish_reason": "tool_calls", "message": message}])


class ScriptedModel:
    """Stands in for `litellm.acompletion`: call n answers with `replies[n]` (text, a `tool_reply`, or
    an exception) through LiteLLM's `mock_response`, and keeps each call's messages and tools."""

    def __init__(self, *replies: Any) -> None:
        self.litellm = load_litellm()
        self.real = self.litellm.acompletion
        self.replies = list(replies)
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(copy.deepcopy({k: kwargs.get(k) for k in ("model", "messages", "tools", "stream")}))
        reply = self.replies[min(len(self.calls), len(self.replies)) - 1]
        return await self.real(**kwargs, mock_response=reply)


async def collect(events: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in events]


def kinds(events: list[Event]) -> list[str]:
    """Event class names, consecutive tokens folded into one 'Token'."""
    names: list[str] = []
    for event in events:
        name = type(event).__name__
        if not (name == "Token" and names and names[-1] == "Token"):
            names.append(name)
    return names
