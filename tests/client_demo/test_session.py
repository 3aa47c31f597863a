"""ChatSession: the mode it answers in, the history it keeps, the messages it records."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from aiops_mcp.client_demo import loop
from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished
from aiops_mcp.client_demo.host import McpHost
from aiops_mcp.client_demo.session import ChatSession
from aiops_mcp.llm import load_litellm
from aiops_mcp.settings import Settings
from tests.client_demo.hosting import MODEL, ScriptedModel, collect, hosted, tool_reply

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, list[dict[str, Any]] | None]] = []

    async def __call__(self, role: str, content: str, tool_calls: list[dict[str, Any]] | None) -> None:
        self.messages.append((role, content, tool_calls))


async def test_without_a_model_the_offline_planner_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    async def planner(host: McpHost, question: str) -> AsyncIterator[Event]:
        yield Token("ok")
        yield Answer(f"offline: {question}", ["up"], "offline")

    monkeypatch.setattr(loop, "offline_turn", planner)
    record = Recorder()
    async with hosted(Settings()) as host:
        chat = ChatSession(host, None, recorder=record)
        events = await collect(chat.ask("Was abc healthy?"))
    assert chat.mode == "offline"
    assert events == [Token("ok"), Answer("offline: Was abc healthy?", ["up"], "offline")]
    assert chat.history == [
        {"role": "user", "content": "Was abc healthy?"},
        {"role": "assistant", "content": "offline: Was abc healthy?"},
    ]
    assert record.messages == [
        ("user", "Was abc healthy?", None),
        ("assistant", "offline: Was abc healthy?", None),
    ]


async def test_with_a_model_history_grows_and_tool_calls_are_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    litellm = load_litellm()
    model = ScriptedModel(tool_reply("prometheus_query", '{"query": "up{"}', "call_x"), "First.", "Second.")
    monkeypatch.setattr(litellm, "acompletion", model)
    record = Recorder()
    async with hosted(Settings()) as host:
        chat = ChatSession(host, MODEL, recorder=record)
        first = await collect(chat.ask("one?"))
        second = await collect(chat.ask("two?"))
    assert chat.mode == f"model:{MODEL}"
    assert first[-1] == Answer("First.", [], f"model:{MODEL}")
    assert second[-1] == Answer("Second.", [], f"model:{MODEL}")
    assert model.calls[2]["messages"][1:] == [
        {"role": "user", "content": "one?"},
        {"role": "assistant", "content": "First."},
        {"role": "user", "content": "two?"},
    ]
    (failed,) = [e for e in first if isinstance(e, ToolFinished)]
    assert [m[:2] for m in record.messages] == [
        ("user", "one?"),
        ("assistant", "First."),
        ("user", "two?"),
        ("assistant", "Second."),
    ]
    (call,) = record.messages[1][2] or []
    assert call == {
        "id": "call_x",
        "name": "prometheus_query",
        "arguments": {"query": "up{"},
        "is_error": True,
        "seconds": failed.seconds,
        "queries": [],
    }
    assert record.messages[3][2] is None


async def test_a_turn_without_an_answer_leaves_history_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    async def planner(host: McpHost, question: str) -> AsyncIterator[Event]:
        yield Notice("nothing to say")

    monkeypatch.setattr(loop, "offline_turn", planner)
    async with hosted(Settings()) as host:
        chat = ChatSession(host, None)
        assert await collect(chat.ask("q")) == [Notice("nothing to say")]
    assert chat.history == []
