"""The tool-calling loop with LiteLLM answering from mocks (no network) and the real server."""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest

from aiops_mcp.client_demo import loop
from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted
from aiops_mcp.client_demo.host import McpHost
from aiops_mcp.client_demo.loop import model_turn
from aiops_mcp.llm import load_litellm
from aiops_mcp.settings import Settings
from tests.client_demo.hosting import (
    MODEL,
    ScriptedModel,
    collect,
    hosted,
    kinds,
    tool_calls_reply,
    tool_reply,
)
from tests.tools.conftest import seeded_settings

pytestmark = pytest.mark.anyio
OFFLINE = Answer("offline answer", ["up"], "offline")


@pytest.fixture
def litellm() -> Any:
    return load_litellm()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The offline planner replaced: it answers `OFFLINE` and records the questions it got."""
    questions: list[str] = []

    async def fake(host: McpHost, question: str) -> AsyncIterator[Event]:
        questions.append(question)
        yield OFFLINE

    monkeypatch.setattr(loop, "offline_turn", fake)
    return questions


def script(monkeypatch: pytest.MonkeyPatch, litellm: Any, *replies: Any) -> ScriptedModel:
    model = ScriptedModel(*replies)
    monkeypatch.setattr(litellm, "acompletion", model)
    return model


async def test_a_tool_call_then_a_grounded_answer(
    prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    model = script(
        monkeypatch,
        litellm,
        tool_reply("app_health", '{"app": "abc-app"}', "call_h"),
        "abc-app was unhealthy yesterday: uptime 99.79 %.",
    )
    async with hosted(settings, now=world.end) as host:
        events = await collect(model_turn(host, MODEL, [], "Was abc app healthy yesterday?"))

    assert kinds(events) == ["ToolStarted", "ToolFinished", "Token", "Answer"]
    started, finished, answer = events[0], events[1], events[-1]
    assert started == ToolStarted("call_h", "app_health", {"app": "abc-app"})
    assert isinstance(finished, ToolFinished) and not finished.is_error
    assert finished.structured is not None and finished.structured["app"] == "abc-app"
    tokens = "".join(e.text for e in events if isinstance(e, Token))
    assert tokens == "abc-app was unhealthy yesterday: uptime 99.79 %."
    assert isinstance(answer, Answer) and answer.text == tokens and answer.mode == f"model:{MODEL}"
    health_queries = finished.structured["queries"]
    assert set(answer.queries) == {q["query"] for q in health_queries.values()}

    first, second = model.calls
    assert first["stream"] is True and first["model"] == MODEL
    assert {t["function"]["name"] for t in first["tools"]} >= {"app_health", "app_events", "translate_query"}
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert "cite" in first["messages"][0]["content"].lower()
    assistant, tool = second["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_h"
    assert assistant["tool_calls"][0]["function"] == {"name": "app_health", "arguments": '{"app": "abc-app"}'}
    assert tool == {"role": "tool", "tool_call_id": "call_h", "content": finished.text}


async def test_tool_call_deltas_are_assembled_across_chunks(
    monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    def chunk(delta: dict[str, Any]) -> Any:
        return litellm.ModelResponseStream(choices=[{"index": 0, "delta": delta}])

    def call(index: int, arguments: str, name: str | None = None, call_id: str | None = None) -> Any:
        piece = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        return chunk({"tool_calls": [piece]})

    rounds = [
        [
            chunk({"content": "Checking. "}),
            call(0, "", "translate_query", "call_a"),
            call(0, '{"question": "cpu '),
            call(1, '{"query": "up{"}', "prometheus_query", "call_b"),
            call(0, 'usage of node-1"}'),
        ],
        [chunk({"content": "Done"}), chunk({"content": "."})],
    ]
    seen: list[list[dict[str, Any]]] = []

    async def acompletion(**kwargs: Any) -> AsyncIterator[Any]:
        seen.append(list(kwargs["messages"]))
        chunks = rounds[len(seen) - 1]

        async def stream() -> AsyncIterator[Any]:
            for c in chunks:
                yield c

        return stream()

    monkeypatch.setattr(litellm, "acompletion", acompletion)
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, [], "cpu of node-1?"))

    starts = [e for e in events if isinstance(e, ToolStarted)]
    assert starts == [
        ToolStarted("call_a", "translate_query", {"question": "cpu usage of node-1"}),
        ToolStarted("call_b", "prometheus_query", {"query": "up{"}),
    ]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [f.is_error for f in finished] == [False, True]
    assert kinds(events) == [
        "Token",
        "ToolStarted",
        "ToolFinished",
        "ToolStarted",
        "ToolFinished",
        "Token",
        "Answer",
    ]
    assistant, *tools = seen[1][-3:]
    assert assistant["content"] == "Checking. "
    assert [t["tool_call_id"] for t in tools] == ["call_a", "call_b"]
    assert tools[1]["content"].startswith("Tool error: ") and "invalid PromQL" in tools[1]["content"]
    assert isinstance(events[-1], Answer) and events[-1].text == "Done."


async def test_a_tool_error_goes_back_to_the_model(monkeypatch: pytest.MonkeyPatch, litellm: Any) -> None:
    model = script(monkeypatch, litellm, tool_reply("prometheus_query", '{"query": "rate(up"}'), "Fixed it.")
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, [], "q"))
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.is_error
    tool = model.calls[1]["messages"][-1]
    assert tool["role"] == "tool" and tool["content"] == f"Tool error: {finished.text}"
    assert isinstance(events[-1], Answer) and events[-1].text == "Fixed it." and events[-1].queries == []


async def test_arguments_that_are_not_json_are_a_tool_error(
    monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    script(monkeypatch, litellm, tool_reply("app_health", '{"app": '), "Sorry.")
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, [], "q"))
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.is_error and "not valid JSON" in finished.text


async def test_long_tool_results_are_cut_for_the_model(monkeypatch: pytest.MonkeyPatch, litellm: Any) -> None:
    monkeypatch.setattr(loop, "TOOL_RESULT_BUDGET", 40)
    model = script(monkeypatch, litellm, tool_reply("prometheus_query", '{"query": "up{"}'), "ok")
    async with hosted(Settings()) as host:
        await collect(model_turn(host, MODEL, [], "q"))
    content = model.calls[1]["messages"][-1]["content"]
    assert content.startswith("Tool error: ") and "[... cut: " in content and len(content) < 100


@pytest.mark.parametrize(
    ("failure", "name"),
    [
        ("litellm.RateLimitError", "RateLimitError"),
        ("auth", "AuthenticationError"),
        ("Exception: mock_streaming_error", "MidStreamFallbackError"),
    ],
)
async def test_a_model_error_falls_back_to_offline(
    failure: str, name: str, monkeypatch: pytest.MonkeyPatch, litellm: Any, offline: list[str]
) -> None:
    if failure == "auth":
        failure = litellm.AuthenticationError(message="invalid api key", llm_provider="openai", model=MODEL)
    script(monkeypatch, litellm, failure)
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, [], "Was abc app healthy?"))
    notice, answer = events[-2:]
    assert isinstance(notice, Notice)
    assert notice.text.startswith(f"model error: {name}: ") and notice.text.endswith("; answering offline")
    assert f"{name}: litellm.{name}" not in notice.text and len(notice.text) < 400
    assert answer == OFFLINE
    assert offline == ["Was abc app healthy?"]


async def test_a_hanging_model_times_out_and_answers_offline(
    monkeypatch: pytest.MonkeyPatch, litellm: Any, offline: list[str]
) -> None:
    monkeypatch.setattr(loop, "MODEL_IDLE_SECONDS", 0.2)

    async def hangs(**_: Any) -> Any:
        await anyio.sleep(3600)

    monkeypatch.setattr(litellm, "acompletion", hangs)
    async with hosted(Settings()) as host:
        with anyio.fail_after(5):
            events = await collect(model_turn(host, MODEL, [], "q"))
    notice = "model error: TimeoutError: no answer for 0.2 s before the first chunk; answering offline"
    assert events == [Notice(notice), OFFLINE]


def chunks(litellm: Any, pause: float, first: int | None = None) -> Any:
    """A stand-in for acompletion: text chunks `pause` seconds apart, then (after `first`) silence."""

    async def streaming(**_: Any) -> Any:
        async def stream() -> AsyncIterator[Any]:
            sent = 0
            while first is None or sent < first:
                yield litellm.ModelResponseStream(choices=[{"index": 0, "delta": {"content": "Partial "}}])
                sent += 1
                await anyio.sleep(pause)
            await anyio.sleep(3600)

        return stream()

    return streaming


async def test_a_stream_that_stalls_times_out(
    monkeypatch: pytest.MonkeyPatch, litellm: Any, offline: list[str]
) -> None:
    monkeypatch.setattr(loop, "MODEL_IDLE_SECONDS", 0.2)
    monkeypatch.setattr(litellm, "acompletion", chunks(litellm, 0.0, first=1))
    async with hosted(Settings()) as host:
        with anyio.fail_after(5):
            events = await collect(model_turn(host, MODEL, [], "q"))
    assert kinds(events) == ["Token", "Notice", "Answer"]
    notice = "model error: TimeoutError: no answer for 0.2 s between two chunks; answering offline"
    assert events[1] == Notice(notice)
    assert events[-1] == OFFLINE


async def test_a_reply_that_trickles_on_and_on_meets_the_whole_reply_deadline(
    monkeypatch: pytest.MonkeyPatch, litellm: Any, offline: list[str]
) -> None:
    monkeypatch.setattr(loop, "MODEL_IDLE_SECONDS", 1.0)  # every chunk comes well within it
    monkeypatch.setattr(loop, "MODEL_REPLY_SECONDS", 0.5)
    monkeypatch.setattr(litellm, "acompletion", chunks(litellm, 0.02))
    async with hosted(Settings()) as host:
        with anyio.fail_after(5):
            events = await collect(model_turn(host, MODEL, [], "q"))
    assert kinds(events) == ["Token", "Notice", "Answer"]
    assert sum(isinstance(e, Token) for e in events) > 2
    assert events[-2] == Notice("model error: TimeoutError: the reply took over 0.5 s; answering offline")
    assert events[-1] == OFFLINE


async def test_a_reply_runs_at_most_max_tool_calls_and_the_rest_are_answered_not_run(
    monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    asked = [
        (f"call_{i}", json.dumps({"question": f"cpu of node-{i}"})) for i in range(loop.MAX_TOOL_CALLS + 2)
    ]
    model = script(monkeypatch, litellm, tool_calls_reply("translate_query", asked), "Done.")
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, [], "q"))
    started = [e.call_id for e in events if isinstance(e, ToolStarted)]
    assert started == [call_id for call_id, _ in asked[: loop.MAX_TOOL_CALLS]]
    assert (
        Notice(f"the model asked for {len(asked)} tool calls; ran the first {loop.MAX_TOOL_CALLS}") in events
    )
    answers = [m for m in model.calls[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in answers] == [call_id for call_id, _ in asked]
    for m in answers[loop.MAX_TOOL_CALLS :]:
        assert (
            m["content"]
            == f"Not run: at most {loop.MAX_TOOL_CALLS} tool calls per reply. Ask again if still needed."
        )
    assert f"at most {loop.MAX_TOOL_CALLS} tool calls per reply" in model.calls[0]["messages"][0]["content"]
    assert events[-1] == Answer("Done.", events[-1].queries, f"model:{MODEL}")  # type: ignore[union-attr]


async def test_max_rounds_ends_with_a_notice_and_what_was_found(
    monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    model = script(
        monkeypatch, litellm, tool_reply("translate_query", json.dumps({"question": "cpu of node-1"}))
    )
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, [], "q", max_rounds=2))
    assert kinds(events) == ["ToolStarted", "ToolFinished", "ToolStarted", "ToolFinished", "Notice", "Answer"]
    assert len(model.calls) == 2
    notice, answer = events[-2:]
    assert notice == Notice("stopped after 2 model rounds without a final answer")
    assert isinstance(answer, Answer) and answer.mode == f"model:{MODEL}"
    assert answer.text.startswith("I reached the limit of 2 tool-calling rounds")
    assert "- translate_query: " in answer.text


async def test_history_and_server_instructions_reach_the_model(
    monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    model = script(monkeypatch, litellm, "Yes.")
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "before"}]
    async with hosted(Settings()) as host:
        events = await collect(model_turn(host, MODEL, history, "and now?"))
        instructions = host.instructions
    assert events[-1] == Answer("Yes.", [], f"model:{MODEL}")
    messages = model.calls[0]["messages"]
    assert messages[1:] == [*history, {"role": "user", "content": "and now?"}]
    assert instructions and instructions in messages[0]["content"]
    assert len(history) == 2


async def test_leaving_a_turn_early_closes_the_model_stream(
    monkeypatch: pytest.MonkeyPatch, litellm: Any
) -> None:
    closed: list[bool] = []

    async def endless(**_: Any) -> Any:
        async def stream() -> AsyncIterator[Any]:
            try:
                while True:
                    yield litellm.ModelResponseStream(choices=[{"index": 0, "delta": {"content": "more "}}])
            finally:
                closed.append(True)

        return stream()

    monkeypatch.setattr(litellm, "acompletion", endless)
    async with hosted(Settings()) as host, aclosing(model_turn(host, MODEL, [], "q")) as events:
        async for event in events:
            assert event == Token("more ")
            break
    assert closed == [True]
