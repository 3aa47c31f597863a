"""The terminal view: what a user sees for each kind of event (rendered to a recording console)."""

from collections.abc import AsyncIterator

import pytest
from rich.console import Console

from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted
from aiops_mcp.client_demo.terminal import TerminalView, repl

pytestmark = pytest.mark.anyio
SERIES = {
    "series": [
        {
            "labels": {"instance": "abc-1:8080"},
            "stats": {"min": 0.1, "mean": 0.2, "max": 0.96, "last": 0.21},
            "points": [[1, 0.1], [2, 0.96], [3, 0.2]],
        }
    ]
}


def rendered(*events: Event) -> str:
    console = Console(record=True, width=160, color_system=None)
    view = TerminalView(console)
    for event in events:
        view.show(event)
    return console.export_text()


def test_tool_calls_leave_a_trace_and_a_table() -> None:
    args = {"query": "rate(x[5m])"}
    text = rendered(
        ToolStarted("1", "prometheus_query_range", args),
        ToolFinished("1", "prometheus_query_range", args, False, "", SERIES, 0.25),
        ToolFinished(
            "2", "app_health", {"app": "nope"}, True, "unknown app 'nope'; known: abc-app", None, 0.01
        ),
    )
    assert "✓ prometheus_query_range(query='rate(x[5m])') 0.25s" in text
    assert "instance=abc-1:8080" in text and "0.96" in text
    assert "✗ app_health(app='nope')" in text and "known: abc-app" in text


def test_answers_stream_or_render_and_cite_their_queries() -> None:
    streamed = rendered(
        Token("abc-app was "), Token("unhealthy."), Answer("abc-app was unhealthy.", ["up{}"], "m")
    )
    assert "abc-app was unhealthy." in streamed and "query: up{}" in streamed
    offline = rendered(
        Notice("model error: RateLimitError; answering offline"), Answer("**42** events", [], "offline")
    )
    assert "note: model error: RateLimitError; answering offline" in offline and "42 events" in offline


async def test_the_loop_says_the_mode_and_ends_on_exit_or_end_of_input() -> None:
    asked: list[str] = []

    async def ask(question: str) -> AsyncIterator[Event]:
        asked.append(question)
        yield Answer(f"answer to {question}", [], "offline")

    questions = iter(["how many events?", "", "exit", "never asked"])
    console = Console(record=True, width=120, color_system=None)
    await repl(ask, "offline", read=lambda _: next(questions), console=console)
    assert asked == ["how many events?"]
    shown = console.export_text()
    assert "mode: offline" in shown and "answer to how many events?" in shown

    def end_of_input(_: str) -> str:
        raise EOFError

    await repl(ask, "offline", read=end_of_input, console=console)
    assert asked == ["how many events?"]
