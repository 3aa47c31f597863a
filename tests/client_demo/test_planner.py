"""The offline planner through the real `McpHost` on an in-process server: real Prometheus with the
generated world, the seeded store, and for logs the Loki double loaded with the world's log history
(Grafana Loki cannot run here; the double answers in the shapes recorded from a real Loki 3.4.2).
Expected figures come from the world's ground truth, not from the tools."""

import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from aiops_mcp.analysis.series import round_sig
from aiops_mcp.client_demo.answers import Clock, count, number, quantity, window_words
from aiops_mcp.client_demo.events import Answer, Event, ToolFinished, ToolStarted
from aiops_mcp.client_demo.host import HostDisconnected
from aiops_mcp.client_demo.planner import plan_turn
from aiops_mcp.demo.backends import free_port
from aiops_mcp.demo.logs import NS, LogLine, count_levels
from aiops_mcp.demo.seed import demo_alerts
from aiops_mcp.demo.world import World
from aiops_mcp.store.repositories.alerts import derive_app
from tests.client_demo.hosting import hosted
from tests.doubles.loki import LokiDouble
from tests.tools.conftest import lines, loki, seeded_settings  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio
PROD = {"app": "abc-app", "env": "prod"}
DAY = timedelta(hours=24)


async def ask(host: Any, question: str) -> tuple[list[ToolFinished], Answer]:
    """The turn's finished calls and its answer, checking the event protocol on the way."""
    events: list[Event] = [event async for event in plan_turn(host, question)]
    *calls, answer = events
    assert isinstance(answer, Answer) and answer.mode == "offline"
    assert len(calls) % 2 == 0
    finished = []
    for started, done in zip(calls[::2], calls[1::2], strict=True):
        assert isinstance(started, ToolStarted) and isinstance(done, ToolFinished)
        assert (started.call_id, started.name, started.arguments) == (done.call_id, done.name, done.arguments)
        finished.append(done)
    return finished, answer


def ns(moment: datetime) -> int:
    return round(moment.timestamp() * NS)


def figure(pattern: str, text: str) -> float:
    """The number the pattern's group captures in `text` (thousands separators removed)."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return float(found[1].replace(",", ""))


def memory_used(world: World, host: str, start: datetime, end: datetime) -> list[float]:
    """100 * (1 - available / total) at every sample of [start, end]."""
    (available,) = world.select("node_memory_MemAvailable_bytes", {"instance": host})
    (total,) = world.select("node_memory_MemTotal_bytes", {"instance": host})
    lo, hi = start.timestamp(), end.timestamp()
    pairs = zip(available.timestamps, available.values, total.values, strict=True)
    return [100 * (1 - a / t) for ts, a, t in pairs if lo <= ts <= hi]


# --- the three flows --------------------------------------------------------------------------


async def test_flow_1_counts_the_events_of_the_last_24_hours_by_level(
    world: World,
    lines: list[LogLine],  # noqa: F811
    loki: LokiDouble,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    async with hosted(settings, world.end) as host:
        calls, answer = await ask(host, "How many events did abc create in the last 24 hours?")
    assert [c.name for c in calls] == ["translate_query", "app_events"]
    assert calls[1].arguments == {"app": "abc-app", "time_range": "last 24h"}

    start = world.end - DAY
    expected = count_levels(lines, PROD, ns(start), ns(world.end))
    total = sum(expected.values())
    first = answer.text.splitlines()[0]
    assert first.startswith(f"abc-app created {total:,} log events in the last 24 hours (")
    for level, n in expected.items():
        assert f"{level} {n:,} ({number(round(100 * n / total, 2))} %)" in first

    burst = world.incident("abc-app-5xx-burst")
    if start < burst.start:  # the burst's half hour lies in the window: it is the peak
        bucket = count_levels(lines, PROD, ns(burst.start), ns(burst.start + timedelta(minutes=30)))
        assert f"Peak: {sum(bucket.values()):,} events between 14:30 and 15:00 UTC" in answer.text

    alerts = Counter(
        (a.labels["alertname"], a.labels["severity"])
        for _, a in demo_alerts(world.end)
        if derive_app(a.labels) == "abc-app" and start <= a.starts_at < world.end
    )
    assert f"Alerts in the window: {sum(alerts.values())}" in answer.text
    for (name, severity), n in alerts.items():
        assert f"{name} {severity} {n}" in answer.text
    levels = 'sum by (level, detected_level) (count_over_time({app="abc-app", env="prod"} [86400s]))'
    assert levels in answer.queries and f"- levels: {levels}" in answer.text


async def test_flow_2_says_whether_abc_was_healthy_yesterday(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with hosted(settings, world.end) as host:
        calls, answer = await ask(host, "Was abc healthy yesterday?")
    assert [c.name for c in calls] == ["translate_query", "app_health"]
    assert calls[1].arguments == {"app": "abc-app", "time_range": "yesterday"}
    text = answer.text

    day = world.yesterday
    assert re.match(rf"abc-app was (degraded|unhealthy) yesterday \(00:00–24:00 UTC on {day}\): ", text)
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    uptime = number(round_sig(100 * world.expected_uptime("abc-app", start, end)))
    assert f"Uptime {uptime} % (" in text
    assert f"- availability: {uptime} % measured vs 99.9 % target: breached" in text
    measured = figure(r"- error rate: ([0-9.]+) % measured vs 1 % target: met", text)
    assert measured == pytest.approx(100 * world.expected_error_ratio("abc-app", start, end), rel=0.02)

    burst = world.incident("abc-app-5xx-burst")
    window = f"- error rate above target {burst.start:%H:%M}–{burst.end:%H:%M} UTC, peak "
    assert window == "- error rate above target 14:30–14:45 UTC, peak " and window in text
    assert figure(re.escape(window) + r"([0-9.]+) %", text) == pytest.approx(100 * burst.peak, rel=0.1)
    outage = world.incident("abc-2-down")
    assert f"- abc-2:8080 down {outage.start:%H:%M}–{outage.end:%H:%M} UTC" in text
    up = 'up{app="abc-app",env="prod",job="abc-app"}'
    assert up in answer.queries and f"- up: {up}" in text


async def test_flow_3_names_node_1_impacted_during_the_last_incident(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with hosted(settings, world.end) as host:
        calls, answer = await ask(host, "Was the server impacted during the last incident?")
    assert [(c.name, c.arguments) for c in calls] == [
        ("translate_query", {"question": "Was the server impacted during the last incident?"}),
        ("incident_impact", {}),
    ]
    text = answer.text
    first = text.splitlines()[0]
    assert first.startswith("Yes: impacted during alert #") and "node-1 (CPU busy, memory used" in first
    impacted = text.split("Impacted:\n")[1].split("Not impacted:\n")[0]
    assert "- CPU busy on node-1: worst " in impacted

    burst = world.incident("abc-app-5xx-burst")
    memory = memory_used(world, "node-1:9100", burst.start, burst.end)
    worst = figure(r"- memory used on node-1: worst ([0-9.]+) %", impacted)
    assert worst == pytest.approx(max(memory), rel=1e-3)
    assert "- availability on abc-app: worst 100 %" in text.split("Not impacted:\n")[1]
    assert "Stored analysis of alert #" in text and "host resource exhaustion" in text
    assert any("node_memory_MemAvailable_bytes" in q for q in answer.queries)


# --- the other intents ------------------------------------------------------------------------


async def test_a_metrics_question_answers_with_the_value_and_its_promql(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with hosted(settings, world.end) as host:
        calls, answer = await ask(host, "What was the p95 latency of abc over the last hour?")
    assert [c.name for c in calls] == ["translate_query", "translate_query"]
    assert calls[1].arguments["run"] is True
    (query,) = answer.queries
    assert query.startswith("histogram_quantile(0.95,") and f"- query: {query}" in answer.text
    # "over the last hour" is one figure for the hour: the quantile of the hour's rates, at its end.
    assert query.endswith("[1h])))")
    value = figure(r"- value: ([0-9.]+)", answer.text)
    expected = world.expected_quantile(0.95, "abc-app", world.end - timedelta(hours=1), world.end)
    assert value == pytest.approx(expected, rel=0.05)


async def test_a_logs_question_counts_the_matching_lines_and_shows_the_newest(
    world: World,
    lines: list[LogLine],  # noqa: F811
    loki: LokiDouble,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    async with hosted(settings, world.end) as host:
        _, answer = await ask(host, "show error logs of abc yesterday")
    levels = count_levels(lines, PROD, ns(world.yesterday_at(0)), ns(world.yesterday_at(24)))
    errors = levels["error"] + levels["critical"]
    assert f"{errors:,} log lines matched yesterday" in answer.text
    assert len(re.findall(r"^- \d\d:\d\d:\d\d \[error\] ", answer.text, re.MULTILINE)) == 5
    assert answer.queries == ['{app="abc-app", env="prod"} | detected_level=~"error|critical"']


async def test_an_alerts_question_lists_the_stored_alerts(world: World, tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path, None, world.end)
    async with hosted(settings, world.end) as host:
        calls, answer = await ask(host, "Which alerts fired?")
    assert calls[-1].name == "read_resource" and calls[-1].arguments == {"uri": "aiops://alerts"}
    stored = demo_alerts(world.end)
    assert answer.text.startswith(f"{len(stored)} alerts, newest first:")
    assert "HighErrorRate [critical] abc-app, resolved 14:30–14:45 UTC" in answer.text


async def test_an_unknown_app_gets_the_known_apps_closest_first(world: World, tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path, None, world.end)
    async with hosted(settings, world.end) as host:
        calls, answer = await ask(host, "What was the error rate of chekout-api yesterday?")
    assert calls[0].name == "translate_query" and calls[0].is_error
    assert answer.text.startswith("I could not answer that: no application 'chekout-api'")
    known = answer.text.split("Known applications:\n")[1]
    assert known.index("- checkout (also") < known.index("- abc-app (also")
    async with hosted(settings, world.end) as host:
        _, general = await ask(host, "hello")
    assert "Without a model I answer" in general.text and "- abc-app (also abc, abc app)" in general.text


async def test_a_prometheus_that_is_down_is_told_not_raised(prometheus, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    world = prometheus.world
    settings = await seeded_settings(tmp_path, down, world.end, prometheus_timeout_seconds=2)
    async with hosted(settings, world.end) as host:
        with anyio.fail_after(60):
            calls, answer = await ask(host, "Was abc healthy yesterday?")
    assert calls[-1].name == "app_health" and calls[-1].is_error
    assert answer.text.startswith("I could not judge the health of abc-app: app_health failed: ")
    assert "prometheus" in answer.text and "unavailable" in answer.text and answer.queries == []


# --- without a server -------------------------------------------------------------------------


class FakeHost:
    """Answers translate_query with an alerts translation; reading resources fails as told."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    async def call_tool(
        self, name: str, arguments: dict[str, Any], *, call_id: str | None = None
    ) -> ToolFinished:
        structured = {
            "status": "ok",
            "question": arguments["question"],
            "intent": "alerts",
            "language": None,
            "query": None,
            "kind": "instant",
            "time_range": "last 1h",
            "explanation": "Answered by a resource: read aiops://alerts?status=firing (recent alerts).",
            "confidence": 0.85,
            "source": "rules",
            "answer_tool": "read_resource",
            "tool_arguments": {"uri": "aiops://alerts?status=firing"},
        }
        return ToolFinished(call_id or "c1", name, arguments, False, "alerts", structured, 0.0)

    async def read_resource(self, uri: str) -> str:
        raise self.failure


async def test_a_resource_that_cannot_be_read_is_an_error_result_and_said() -> None:
    calls, answer = await ask(FakeHost(RuntimeError("store unavailable: disk I/O error")), "what is firing?")
    read = calls[-1]
    assert (read.name, read.arguments, read.is_error) == (
        "read_resource",
        {"uri": "aiops://alerts?status=firing"},
        True,
    )
    assert answer.text == (
        "I could not list the alerts: read_resource failed: "
        "reading aiops://alerts?status=firing failed: store unavailable: disk I/O error"
    )
    with pytest.raises(HostDisconnected):
        await ask(FakeHost(HostDisconnected("lost the connection")), "what is firing?")


def test_numbers_and_times_are_written_for_people() -> None:
    assert [count(4287), number(13_530_000.0), number(99.79), number(0.001967), number(2.0)] == [
        "4,287",
        "13,530,000",
        "99.79",
        "0.001967",
        "2",
    ]
    assert (number(None), number(79.1), number(0.2675)) == ("n/a", "79.1", "0.2675")
    assert (quantity(13_534_000, "B/s"), quantity(960.7, "ms"), quantity(5.1, "%")) == (
        "13.53 MB/s",
        "960.7 ms",
        "5.1 %",
    )
    day = Clock.of_window("2026-05-04T00:00:00Z", "2026-05-05T00:00:00Z")
    assert day.span("2026-05-04T14:30:15Z", "2026-05-04T14:45:30Z") == "14:30–14:45 UTC"
    assert day.at("2026-05-04T14:42:30Z") == "14:42 UTC"
    assert Clock().span("2026-05-04T00:00:00Z", "2026-05-05T00:00:00Z") == "00:00–24:00 UTC on 2026-05-04"
    assert Clock().span("2026-05-04T23:30:00Z", "2026-05-05T00:30:00Z") == (
        "2026-05-04 23:30 – 2026-05-05 00:30 UTC"
    )
    assert Clock().between("2026-05-04T14:30:00Z", "2026-05-04T15:00:00Z") == (
        "between 14:30 and 15:00 UTC on 2026-05-04"
    )
    assert [window_words(t) for t in ("last 24h", "last 1h", "yesterday", "since 14:00")] == [
        "in the last 24 hours",
        "in the last hour",
        "yesterday",
        "since 14:00",
    ]
