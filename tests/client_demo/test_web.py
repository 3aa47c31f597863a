"""The web page of `aiops-mcp chat --web`: its SSE stream and recorder (httpx, SQLite), and the page in a
real headless Chromium (Debian's /usr/bin/chromium through Playwright) served by uvicorn on loopback.

Screenshots go to $TEST_ARTIFACTS/web (by default test-artifacts/web); the path is printed.
"""

import contextlib
import csv
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import func, select
from starlette.applications import Starlette

from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted
from aiops_mcp.client_demo.host import McpHost
from aiops_mcp.client_demo.session import ChatSession
from aiops_mcp.client_demo.web import StoreRecorder, build_chat_app
from aiops_mcp.store import open_store
from aiops_mcp.store.models import ChatSession as ChatRow
from tests.client_demo.browser import ask_in_page, browsing, download_of, served
from tests.client_demo.hosting import hosted
from tests.tools.conftest import seeded_settings

pytestmark = pytest.mark.anyio
MODE = "model:openai/gpt-4o-mini"
T0 = 1_767_000_000
RANGE_QUERY = 'sum by (instance) (rate(http_requests_total{app="abc-app",code=~"5.."}[5m]))'
LOG_QUERY = '{app="abc-app"} |= "timeout"'


def _series(instance: str, values: list[float]) -> dict[str, Any]:
    points = [[T0 + 60 * i, v] for i, v in enumerate(values)]
    stats = {
        "samples": len(values),
        "min": min(values),
        "max": max(values),
        "mean": sum(values) / len(values),
        "last": values[-1],
        "p95": max(values),
        "max_at": "2025-12-29T09:25:00Z",
    }
    return {"labels": {"app": "abc-app", "instance": instance}, "stats": stats, "points": points}


SERIES = [
    _series("abc-1:8080", [0.5, 0.75, 3.25, 1.5, 0.5, 0.25]),
    _series("abc-2:8080", [1.0, 2.0, 2.5, 2.25, 2.0, 1.75]),
]
PROVENANCE = {"datasource": "prometheus", "datasource_type": "prometheus", "step_seconds": 60.0}
METRICS = {
    "status": "ok",
    "provenance": {**PROVENANCE, "query": RANGE_QUERY, "start": "2025-12-29T09:20:00Z", "end": "x"},
    "series_total": 2,
    "series": SERIES,
}
LINES = [
    ("2025-12-29T09:25:04Z", "error", "upstream timeout after 30s"),
    ("2025-12-29T09:25:03Z", "warn", "retrying request (timeout)"),
    ("2025-12-29T09:25:02Z", "info", "request served"),
    ("2025-12-29T09:25:01Z", "debug", "cache miss"),
]
LOGS = {
    "status": "ok",
    "provenance": {"datasource": "loki", "datasource_type": "loki", "query": LOG_QUERY},
    "lines": [{"time": t, "level": lv, "line": text, "labels": {}} for t, lv, text in LINES],
    "more_lines": False,
    "level_counts": [
        {"level": "error", "count": 12, "percent": 60.0},
        {"level": "warn", "count": 8, "percent": 40.0},
    ],
}
STATS = ("min", "mean", "max", "last")
SERIES_ITEM = "[data-testid=panel] [data-testid=panel-item][data-kind=series]"
# Per series (by its legend marker's colour): the share of the canvas columns between its first and
# last drawn pixel that hold its colour: a line drawn whole covers most of them (less where a later
# line crosses it), one broken into dashes a small part (about a fifth when they were).
LINE_COVERAGE = """item => {
  const canvas = item.querySelector("[data-testid=chart] canvas");
  const { data, width } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  const markers = [...item.querySelectorAll(".u-legend .u-series .u-marker")].slice(1);
  const coverage = {};
  for (const marker of markers) {
    const colour = getComputedStyle(marker).borderColor;
    const [r, g, b] = colour.match(/\\d+/g).map(Number);
    const columns = new Set();
    for (let p = 0; p < data.length; p += 4) {
      const near = Math.abs(data[p] - r) + Math.abs(data[p + 1] - g) + Math.abs(data[p + 2] - b) < 60;
      if (data[p + 3] > 200 && near) columns.add((p / 4) % width);
    }
    const xs = [...columns];
    coverage[colour] = xs.length ? xs.length / (Math.max(...xs) - Math.min(...xs) + 1) : 0;
  }
  return coverage;
}"""
ANSWER = "abc-1:8080 peaked at **3.25** errors/s; the logs show upstream timeouts."


def scripted_turn(question: str) -> list[Event]:
    """A realistic turn: a range query, a log query, a notice, the answer streamed then final."""
    metric_args = {"query": RANGE_QUERY, "time_range": "last 1h"}
    log_args = {"query": LOG_QUERY, "limit": 4}
    return [
        ToolStarted("c1", "prometheus_query_range", metric_args),
        ToolFinished("c1", "prometheus_query_range", metric_args, False, "2 series", METRICS, 0.25),
        ToolStarted("c2", "loki_query_logs", log_args),
        ToolFinished("c2", "loki_query_logs", log_args, False, "4 lines", LOGS, 0.5),
        Notice("the model answered from 2 tool calls"),
        *(Token(word + " ") for word in ANSWER.split(" ")),
        Answer(ANSWER, [RANGE_QUERY, LOG_QUERY], MODE),
    ]


async def scripted_ask(question: str) -> AsyncIterator[Event]:
    for event in scripted_turn(question):
        yield event


async def failing_ask(question: str) -> AsyncIterator[Event]:
    yield Token("Looking")
    raise RuntimeError("the model went away")


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of each block of an SSE stream."""
    events = []
    for block in text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765")


async def ask_over_http(http: httpx.AsyncClient, question: str) -> list[tuple[str, dict[str, Any]]]:
    response = await http.post("/api/ask", json={"question": question})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response.text)


# --- the SSE stream ---------------------------------------------------------------------------


async def test_a_turn_streams_as_server_sent_events_in_order_and_ends() -> None:
    async with client(build_chat_app(scripted_ask, MODE)) as http:
        events = await ask_over_http(http, "Why 5xx on abc?")
        assert (await http.get("/api/mode")).json() == {"mode": MODE, "notes": []}
    kinds = [kind for kind, _ in events]
    tokens = kinds.count("token")
    assert kinds == [
        "tool_started",
        "tool_finished",
        "tool_started",
        "tool_finished",
        "notice",
        *["token"] * tokens,
        "answer",
        "done",
    ]
    assert tokens == len(ANSWER.split(" "))
    started, finished = events[0][1], events[1][1]
    assert started == {"call_id": "c1", "name": "prometheus_query_range", "arguments": finished["arguments"]}
    assert finished["structured"] == METRICS and finished["queries"] == [RANGE_QUERY]
    assert (finished["is_error"], finished["seconds"], finished["text"]) == (False, 0.25, "2 series")
    assert "".join(data["text"] for kind, data in events if kind == "token").strip() == ANSWER
    assert events[-2][1] == {"text": ANSWER, "queries": [RANGE_QUERY, LOG_QUERY], "mode": MODE}


async def test_a_failing_turn_ends_with_an_error_event() -> None:
    async with client(build_chat_app(failing_ask, "offline")) as http:
        events = await ask_over_http(http, "anything")
    assert events == [
        ("token", {"text": "Looking"}),
        ("error", {"message": "RuntimeError: the model went away"}),
        ("done", {}),
    ]


async def test_bad_requests_are_refused_and_one_turn_runs_at_a_time() -> None:
    release = anyio.Event()

    async def slow_ask(question: str) -> AsyncIterator[Event]:
        await release.wait()
        yield Answer("done", [], "offline")

    async with client(build_chat_app(slow_ask, "offline")) as http:
        assert (await http.post("/api/ask", content=b'{"question": "x"}')).status_code == 415
        assert (await http.post("/api/ask", json={"question": "  "})).status_code == 400
        assert (await http.post("/api/ask", json=["x"])).status_code == 400
        assert (await http.post("/api/ask", json={"question": "x" * 5000})).status_code == 413
        rebound = await http.get("/api/mode", headers={"Host": "attacker.example"})
        assert rebound.status_code == 400  # DNS rebinding: only loopback names are served
        first: list[httpx.Response] = []
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: _post(http, first))
            await anyio.sleep(0.2)
            busy = await http.post("/api/ask", json={"question": "second"})
            release.set()
        assert busy.status_code == 409 and "already" in busy.json()["error"]
        assert [kind for kind, _ in sse_events(first[0].text)] == ["answer", "done"]
        assert [kind for kind, _ in await ask_over_http(http, "third")] == ["answer", "done"]


async def _post(http: httpx.AsyncClient, into: list[httpx.Response]) -> None:
    into.append(await http.post("/api/ask", json={"question": "first"}))


async def test_the_page_and_its_vendored_chart_library_are_served() -> None:
    async with client(build_chat_app(scripted_ask, MODE)) as http:
        page = await http.get("/")
        script = await http.get("/static/vendor/uPlot.iife.min.js")
        license_ = await http.get("/static/vendor/LICENSE")
        assert (await http.get("/static/app.js")).status_code == 200
        assert (await http.get("/static/style.css")).status_code == 200
    assert page.status_code == 200 and 'id="panel"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert script.text.startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert "MIT License" in license_.text and "Leon Sorokin" in license_.text


# --- the recorder -----------------------------------------------------------------------------


async def test_the_store_recorder_keeps_one_session_with_every_message(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", tmp_path)
    async with store:
        recorder = StoreRecorder(store)
        first = "Why were there 5xx errors on abc-app between 09:00 and 10:00 UTC yesterday, and who was hit?"
        async with client(build_chat_app(scripted_ask, MODE, recorder)) as http:
            await ask_over_http(http, first)
            await ask_over_http(http, "And today?")
        assert recorder.session_id is not None
        session = await store.chats.get_session(recorder.session_id)
        assert session is not None and session.title is not None
        assert len(session.title) == 80 and first.startswith(session.title[:-1]) and session.title[-1] == "…"
        async with store.engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(ChatRow)) == 1
        messages = await store.chats.messages(recorder.session_id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", first),
        ("assistant", ANSWER),
        ("user", "And today?"),
        ("assistant", ANSWER),
    ]
    assert messages[0].tool_calls is None
    calls = messages[1].tool_calls
    assert calls is not None
    assert [(c["name"], c["is_error"], c["seconds"]) for c in calls] == [
        ("prometheus_query_range", False, 0.25),
        ("loki_query_logs", False, 0.5),
    ]
    assert calls[0]["arguments"] == {"query": RANGE_QUERY, "time_range": "last 1h"}
    assert calls[1]["queries"] == [LOG_QUERY]


async def test_the_session_takes_the_app_and_alert_its_tool_calls_name(tmp_path: Path) -> None:
    def call(call_id: str, name: str, arguments: dict[str, Any], structured: dict[str, Any]) -> ToolFinished:
        return ToolFinished(call_id, name, arguments, False, "", structured, 0.1)

    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", tmp_path)
    async with store:
        [alert_id] = (await store.alerts.upsert_alerts([_alert()])).created
        recorder = StoreRecorder(store)
        general = call("c0", "translate_query", {"question": "hello"}, {"intent": "general"})
        await recorder("user", "hello", None)
        await recorder("assistant", "I answer...", [general.record()])
        first = await store.chats.get_session(recorder.session_id or 0)
        health = call("c1", "app_health", {"app": "abc"}, {"app": "abc-app"})  # the name it resolved
        elsewhere = call("c2", "incident_impact", {}, {"alert_id": alert_id + 100, "app": "other"})
        impact = call("c3", "incident_impact", {"alert_id": str(alert_id)}, {"app": "checkout"})
        await recorder("user", "was abc healthy, and impacted?", None)
        await recorder("assistant", "...", [health.record(), elsewhere.record(), impact.record()])
        second = await store.chats.get_session(recorder.session_id or 0)
    assert first is not None and (first.app, first.alert_id) == (None, None)
    assert second is not None and (second.app, second.alert_id) == ("abc-app", alert_id)
    assert health.record()["app"] == "abc-app" and "alert_id" not in health.record()


def _alert() -> Any:
    from aiops_mcp.store import AlertIn

    return AlertIn.model_validate(
        {
            "fingerprint": "f1",
            "status": "resolved",
            "labels": {"alertname": "HighErrorRate", "app": "abc-app"},
            "startsAt": "2026-05-04T14:30:00Z",
            "endsAt": "2026-05-04T14:45:00Z",
        }
    )


async def test_a_recorder_that_fails_leaves_a_notice_not_a_failed_turn() -> None:
    async def broken(role: str, content: str, tool_calls: list[dict[str, Any]] | None) -> None:
        raise OSError("disk full")

    async with client(build_chat_app(scripted_ask, MODE, broken)) as http:
        events = await ask_over_http(http, "Why 5xx on abc?")
    notices = [data["text"] for kind, data in events if kind == "notice"]
    assert "this conversation could not be saved (see the server's log)" in notices
    assert "the answer could not be saved (see the server's log)" in notices
    assert [kind for kind, _ in events][-3:] == ["answer", "notice", "done"]


# --- the page in Chromium ---------------------------------------------------------------------


async def first_cells(page: Page) -> list[str]:
    return await page.locator("[data-testid=table-series] tbody tr td:first-child").all_inner_texts()


async def test_the_page_shows_the_answer_its_trace_and_its_data(artifacts: Path) -> None:
    async with served(build_chat_app(scripted_ask, MODE)) as url, browsing(url) as page:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        await expect(page.get_by_test_id("mode")).to_have_text("model: openai/gpt-4o-mini")
        await ask_in_page(page, "Why 5xx on abc?")
        answer = page.get_by_test_id("answer-text")
        await expect(answer).to_contain_text("abc-1:8080 peaked at 3.25 errors/s; the logs show")
        await expect(answer.locator("strong")).to_have_text("3.25")
        await expect(page.get_by_test_id("user-message")).to_have_text("Why 5xx on abc?")
        await expect(page.get_by_test_id("answer-queries").locator("code")).to_have_text(
            [RANGE_QUERY, LOG_QUERY]
        )
        await expect(page.get_by_test_id("answer-mode")).to_have_text("answered by model: openai/gpt-4o-mini")
        await expect(page.get_by_test_id("notice")).to_have_text("note: the model answered from 2 tool calls")

        trace = page.get_by_test_id("trace")
        await expect(trace.locator("summary")).to_have_text("Tool calls: 2")
        await trace.locator("summary").click()
        calls = trace.get_by_test_id("tool-call")
        await expect(calls).to_have_count(2)
        await expect(calls.nth(0)).to_contain_text("✓")
        await expect(calls.nth(0)).to_contain_text("prometheus_query_range(")
        await expect(calls.nth(0)).to_contain_text("0.25s")
        await expect(calls.nth(1)).to_contain_text("0.50s")

        panel = page.get_by_test_id("panel")
        items = panel.get_by_test_id("panel-item")
        await expect(items).to_have_count(3)  # series, level counts, log lines
        await expect(items.nth(0).get_by_test_id("item-queries")).to_contain_text(RANGE_QUERY)
        canvas = panel.locator("[data-testid=chart] canvas").first
        await expect(canvas).to_be_visible()
        box = await canvas.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        await expect(panel.locator(".u-legend .u-series")).to_have_count(3)  # x and the two series

        assert await first_cells(page) == [
            "app=abc-app,instance=abc-1:8080",
            "app=abc-app,instance=abc-2:8080",
        ]
        max_header = panel.locator("[data-testid=table-series] th", has_text="max")
        await max_header.get_by_role("button").click()  # ascending: 2.5, 3.25
        await expect(max_header).to_have_attribute("aria-sort", "ascending")
        assert await first_cells(page) == [
            "app=abc-app,instance=abc-2:8080",
            "app=abc-app,instance=abc-1:8080",
        ]
        await max_header.get_by_role("button").click()
        await expect(max_header).to_have_attribute("aria-sort", "descending")
        assert await first_cells(page) == [
            "app=abc-app,instance=abc-1:8080",
            "app=abc-app,instance=abc-2:8080",
        ]

        logs = panel.get_by_test_id("log-lines").locator("li")
        await expect(logs).to_have_count(4)
        for i, (_, level, text) in enumerate(LINES):
            await expect(logs.nth(i)).to_have_class(f"log level-{level}")
            await expect(logs.nth(i)).to_contain_text(text)
        colour = await logs.nth(0).locator(".line").evaluate("e => getComputedStyle(e).color")
        assert colour == "rgb(185, 28, 28)"  # error lines in red

        series_item = items.nth(0)
        name, text = await download_of(page, series_item.get_by_test_id("export-csv"))
        rows = list(csv.DictReader(text.splitlines()))
        assert name == "prometheus_query_range-series-1.csv"
        assert [r["series"] for r in rows] == [
            "app=abc-app,instance=abc-1:8080",
            "app=abc-app,instance=abc-2:8080",
        ]
        for row, sent in zip(rows, SERIES, strict=True):
            assert {k: float(row[k]) for k in ("min", "mean", "max", "last")} == {
                k: sent["stats"][k] for k in ("min", "mean", "max", "last")
            }
        name, text = await download_of(page, series_item.get_by_test_id("export-json"))
        assert name.endswith(".json") and json.loads(text) == SERIES
        _, text = await download_of(page, items.nth(1).get_by_test_id("export-csv"))
        assert list(csv.reader(text.splitlines())) == [
            ["level", "count", "%"],
            ["error", "12", "60"],
            ["warn", "8", "40"],
        ]

        await page.screenshot(path=artifacts / "answer-and-data.png", full_page=True)
        await items.nth(2).screenshot(path=artifacts / "log-lines.png")


async def test_the_divider_resizes_the_panes_and_the_panel_collapses(artifacts: Path) -> None:
    notes = ["logs are not configured (LOKI_URL)"]
    async with served(build_chat_app(scripted_ask, "offline", notes=notes)) as url, browsing(url) as page:
        await expect(page.get_by_test_id("mode")).to_have_text("offline planner")
        await expect(page.get_by_test_id("setup-note")).to_have_text(notes[0])
        await ask_in_page(page, "Why 5xx on abc?")
        chart = page.locator("[data-testid=chart] canvas").first
        await expect(chart).to_be_visible()
        chat, panel = page.get_by_test_id("chat"), page.get_by_test_id("panel")
        chat_before, panel_before = await _width(chat), await _width(panel)
        chart_before = await _width(chart)
        divider = await page.get_by_test_id("divider").bounding_box()
        assert divider is not None
        x, y = divider["x"] + divider["width"] / 2, divider["y"] + divider["height"] / 2
        await page.mouse.move(x, y)
        await page.mouse.down()
        await page.mouse.move(x - 300, y, steps=10)
        await page.mouse.up()
        assert await _width(chat) == pytest.approx(chat_before - 300, abs=4)
        assert await _width(panel) == pytest.approx(panel_before + 300, abs=4)
        await expect(page.get_by_test_id("divider")).to_have_attribute("aria-valuenow", "29")
        await page.wait_for_function(  # the chart follows its pane
            "w => document.querySelector('[data-testid=chart] canvas').getBoundingClientRect().width > w",
            arg=chart_before + 250,
        )
        await page.get_by_test_id("divider").focus()
        await page.keyboard.press("ArrowRight")
        await expect(page.get_by_test_id("divider")).to_have_attribute("aria-valuenow", "31")
        await page.screenshot(path=artifacts / "resized.png")

        toggle = page.get_by_test_id("toggle-panel")
        await expect(toggle).to_have_text("Hide data")
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        await toggle.click()
        await expect(panel).to_be_hidden()
        await expect(page.get_by_test_id("divider")).to_be_hidden()
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(toggle).to_have_text("Show data")
        assert await _width(chat) == pytest.approx(1400, abs=4)
        await page.screenshot(path=artifacts / "collapsed.png")
        await page.get_by_role("button", name="Show data (3)").click()  # an answer's own data
        await expect(panel).to_be_visible()
        await expect(toggle).to_have_text("Hide data")
        await expect(page.get_by_test_id("panel-item")).to_have_count(3)


async def _width(locator: Any) -> float:
    box = await locator.bounding_box()
    assert box is not None
    return float(box["width"])


async def test_the_page_shows_a_failed_turn_and_a_failed_tool(artifacts: Path) -> None:
    async def ask(question: str) -> AsyncIterator[Event]:
        args = {"app": "nope"}
        yield ToolStarted("c1", "app_health", args)
        yield ToolFinished("c1", "app_health", args, True, "unknown app 'nope'; known: abc-app", None, 0.01)
        raise RuntimeError("the model went away")

    async with served(build_chat_app(ask, "offline")) as url, browsing(url) as page:
        await ask_in_page(page, "Was nope healthy?")
        await expect(page.get_by_role("alert")).to_have_text("error: RuntimeError: the model went away")
        call = page.get_by_test_id("tool-call")
        await expect(call).to_contain_text("✗")
        await expect(call.locator("pre")).to_be_visible()  # a failed call opens the trace
        await expect(call).to_contain_text("unknown app 'nope'; known: abc-app")
        await expect(page.get_by_test_id("panel-items")).to_have_text("No charts or tables for this answer.")
        await expect(page.get_by_role("button", name="Ask")).to_be_enabled()
        await page.screenshot(path=artifacts / "failed-turn.png")


# --- end to end: the real server and the offline planner -------------------------------------


async def test_end_to_end_the_offline_planner_answers_in_the_page(
    prometheus: Any, tmp_path: Path, artifacts: Path
) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with (
        hosted(settings, world.end) as host,
        hosted(settings, world.end) as other,  # another server and MCP client on the same data
        await open_store(settings.database_url, settings.data_dir) as store,
    ):
        health = await other.call_tool("app_health", {"app": "abc-app", "time_range": "yesterday"})
        assert health.structured is not None
        chat = ChatSession(host, None)
        recorder = StoreRecorder(store)
        async with served(build_chat_app(chat.ask, chat.mode, recorder)) as url, browsing(url) as page:
            await expect(page.get_by_test_id("mode")).to_have_text("offline planner")
            await ask_in_page(page, "Was abc healthy yesterday?")
            answer = page.get_by_test_id("answer-text")
            await expect(answer).to_contain_text("abc-app was", timeout=60_000)
            await expect(answer).to_contain_text("yesterday")
            await expect(page.get_by_test_id("answer-mode")).to_have_text("answered by offline planner")
            await expect(page.get_by_test_id("tool-call")).to_have_count(2)
            slos = page.locator("[data-testid=table-slos] tbody tr")
            await expect(slos).to_have_count(len(health.structured["slos"]))
            await expect(page.locator("[data-testid=table-slos]")).to_contain_text("availability")
            up = 'up{app="abc-app",env="prod",job="abc-app"}'
            await expect(answer).to_contain_text(up)  # cited in the answer, so not listed again
            await expect(page.get_by_test_id("answer-queries")).to_have_count(0)
            await page.screenshot(path=artifacts / "end-to-end.png", full_page=True)

            rows = await _series_in_page(page, world, other, artifacts)

            await ask_in_page(page, "Was the server impacted during the last incident?")
            await expect(page.get_by_test_id("answer-text").nth(2)).to_contain_text(
                "impacted", timeout=60_000
            )
            await expect(page.get_by_role("button", name="Ask")).to_be_enabled()  # recorded: done
        assert recorder.session_id is not None
        session_id = recorder.session_id
        messages = await store.chats.messages(session_id)
        listed = json.loads(await host.read_resource("aiops://chats?app=abc"))
        read_back = json.loads(await host.read_resource(f"aiops://chats/{session_id}"))
        impact = json.loads(await host.read_resource("aiops://alerts"))
    assert [m.role for m in messages] == ["user", "assistant"] * 3
    assert [c["name"] for c in messages[1].tool_calls or []] == ["translate_query", "app_health"]

    # The page's conversation is a chat resource, found by its app and by the alert it discussed,
    # read through a real MCP client.
    assert session_id in [s["id"] for s in listed["sessions"]]
    assert read_back["app"] == "abc-app" and read_back["title"] == "Was abc healthy yesterday?"
    assert [m["content"] for m in read_back["messages"]] == [m.content for m in messages]
    impact_calls = [c for c in messages[5].tool_calls or [] if c["name"] == "incident_impact"]
    (alert_id,) = {c["alert_id"] for c in impact_calls}
    assert read_back["alert"] == f"aiops://alerts/{alert_id}"
    assert any(a["id"] == alert_id for a in impact["alerts"])
    assert rows  # the CSV was compared above


async def _series_in_page(page: Page, world: Any, other: McpHost, artifacts: Path) -> list[dict[str, str]]:
    """Ask for a metric over time: the chart draws every series, and the CSV export holds exactly
    the tool's statistics, fetched again through a separate MCP client, and the world's last rate."""
    question = "show the request rate trend of abc per instance over the last 6 hours"
    await ask_in_page(page, question)
    answer = page.get_by_test_id("answer-text").nth(1)
    await expect(answer).to_contain_text("In the last 6 hours", timeout=60_000)
    item = page.locator(SERIES_ITEM)
    await expect(item).to_have_count(1)

    fetched = await other.call_tool("translate_query", {"question": question, "run": True})
    assert fetched.structured is not None
    series = fetched.structured["metrics"]["series"]
    instances = sorted(s["labels"]["instance"] for s in series)
    assert instances == sorted(i for i in world.apps["abc-app"].instances)

    await expect(item.locator(".u-legend .u-series")).to_have_count(1 + len(series))  # time, then each
    await expect(item.locator("[data-testid=chart] canvas")).to_be_visible()
    # The chart is drawn again as its pane settles: wait for whole lines, as expect() would.
    whole = f"""lines => {{
      const shares = Object.values(({LINE_COVERAGE})(document.querySelector("{SERIES_ITEM}")));
      return shares.length === lines && shares.every(share => share > 0.6);
    }}"""
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(whole, arg=len(series), timeout=10_000)
    coverage = await item.evaluate(LINE_COVERAGE)
    assert _whole(coverage, len(series)), coverage
    await item.screenshot(path=artifacts / "end-to-end-chart.png")

    name, text = await download_of(page, item.get_by_test_id("export-csv"))
    rows = list(csv.DictReader(text.splitlines()))
    assert name == "translate_query-series-1.csv"
    expected = {",".join(f"{k}={v}" for k, v in s["labels"].items()): s["stats"] for s in series}
    assert {r["series"]: {k: float(r[k]) for k in STATS} for r in rows} == {
        label: {k: stats[k] for k in STATS} for label, stats in expected.items()
    }
    end = world.end
    for row in rows:
        labels = dict(pair.split("=", 1) for pair in row["series"].split(","))
        selector = {"app": "abc-app", "env": "prod", "job": "abc-app", **labels}
        truth = world.expected_rate("http_requests_total", end - timedelta(minutes=5), end, selector)
        assert float(row["last"]) == pytest.approx(truth, rel=1e-3)
    return rows


def _whole(coverage: dict[str, float], lines: int) -> bool:
    return len(coverage) == lines and all(share > 0.6 for share in coverage.values())
