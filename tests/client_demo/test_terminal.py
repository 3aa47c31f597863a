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


def test_an_offline_answer_after_a_model_failed_mid_stream_is_shown_whole() -> None:
    text = rendered(
        Token("Partial"),
        Notice("model error: TimeoutError: no answer for 60 s between two chunks; answering offline"),
        Answer("abc-app was **unhealthy** yesterday.", ["up{}"], "offline"),
    )
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "Partial"  # the notice starts on a line of its own
    assert lines[1].startswith("note: model error: TimeoutError")
    assert lines[2:] == ["abc-app was unhealthy yesterday.", "  query: up{}"]


def test_text_streamed_before_tool_calls_is_not_taken_for_the_answer() -> None:
    args = {"app": "abc-app"}
    text = rendered(
        Token("Checking "),
        Token("the health."),
        ToolStarted("1", "app_health", args),
        ToolFinished("1", "app_health", args, True, "app_health failed: boom", None, 0.1),
        Token("abc-app could not be judged."),
        Answer("abc-app could not be judged.", [], "m"),
    )
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "Checking the health."
    assert lines[1].startswith("✗ app_health(app='abc-app')")
    assert text.count("abc-app could not be judged.") == 1
    offline = rendered(
        Token("Checking."),
        ToolStarted("1", "app_health", args),
        ToolFinished("1", "app_health", args, True, "boom", None, 0.1),
        Answer("I could not judge the health of abc-app.", [], "offline"),
    )
    assert "I could not judge the health of abc-app." in offline


def test_every_part_of_a_result_is_rendered_metrics_logs_lines_and_timeline() -> None:
    logs = {
        "lines": [
            {"time": "2026-05-04T14:31:02Z", "level": "error", "line": "database timeout after 5000ms"},
            {"time": "2026-05-04T14:31:01Z", "level": "info", "line": "GET /api/orders 200"},
        ],
        "level_counts": [{"level": "error", "count": 1, "percent": 50.0}],
    }
    both = {"metrics": SERIES, "logs": logs}
    text = rendered(ToolFinished("1", "translate_query", {}, False, "", both, 0.1))
    assert "instance=abc-1:8080" in text and "0.96" in text  # the series table
    assert "error" in text and "50" in text  # the level counts
    assert "database timeout after 5000ms" in text and "14:31:02" in text  # the log lines
    events = {
        "app": "abc-app",
        "levels": [{"level": "info", "count": 1200, "percent": 100.0}],
        "bucket_seconds": 1800.0,
        "timeline_start": "2026-05-04T00:00:00Z",
        "timeline": [10, 20, 400, 30],
    }
    shown = rendered(ToolFinished("2", "app_events", {}, False, "", events, 0.1))
    assert "1,200" in shown
    line = next(line for line in shown.splitlines() if line.startswith("events per 30 min"))
    assert "from 2026-05-04T00:00:00Z" in line and "(peak 400)" in line
    assert any(c in line for c in "▁▂▃▄▅▆▇█")


def test_a_failed_turn_is_an_error_line_and_the_chat_goes_on() -> None:
    console = Console(record=True, width=160, color_system=None)
    view = TerminalView(console)
    view.show(Token("Looking"))
    view.fail(RuntimeError("lost the connection to MCP server at x; reconnected, ask again"))
    assert console.export_text().splitlines() == [
        "Looking",
        "error: lost the connection to MCP server at x; reconnected, ask again",
    ]


async def test_the_loop_says_the_mode_and_ends_on_exit_or_end_of_input() -> None:
    asked: list[str] = []

    async def ask(question: str) -> AsyncIterator[Event]:
        asked.append(question)
        if question == "fail":
            raise RuntimeError("the server went away")
        yield Answer(f"answer to {question}", [], "offline")

    questions = iter(["how many events?", "", "fail", "after the failure", "exit", "never asked"])
    console = Console(record=True, width=120, color_system=None)
    await repl(ask, "offline", read=lambda _: next(questions), console=console)
    assert asked == ["how many events?", "fail", "after the failure"]
    shown = console.export_text()
    assert "mode: offline" in shown and "answer to how many events?" in shown
    assert "error: the server went away" in shown and "answer to after the failure" in shown

    def end_of_input(_: str) -> str:
        raise EOFError

    await repl(ask, "offline", read=end_of_input, console=console)
    assert len(asked) == 3
