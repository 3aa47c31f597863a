"""app_events through a real MCP client: the seeded store for alerts, and for logs the Loki double
loaded with the world's generated log history (Grafana Loki cannot run here; the double answers
in the shapes recorded from a real Loki 3.4.2). Expected counts come from the generated lines."""

from datetime import datetime, timedelta
from pathlib import Path

import anyio
import pytest

from aiops_mcp.demo.logs import NS, LogLine, count_levels
from aiops_mcp.demo.seed import demo_alerts
from aiops_mcp.demo.world import World
from aiops_mcp.query.logql import LineFilter, parse_logql, walk
from aiops_mcp.store import ProfileIn
from aiops_mcp.store.repositories.alerts import derive_app
from tests.doubles.loki import LokiDouble
from tests.tools.conftest import call, call_error, connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
PROD = {"app": "abc-app", "env": "prod"}
DAY = timedelta(hours=24)


def ns(moment: datetime) -> int:
    return round(moment.timestamp() * NS)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def alerts_of(world: World, app: str, start: datetime, end: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, alert in demo_alerts(world.end):
        if derive_app(alert.labels) == app and start <= alert.starts_at < end:
            counts[alert.labels["alertname"]] = counts.get(alert.labels["alertname"], 0) + 1
    return counts


async def test_events_of_the_last_24_hours_by_level_with_peak_and_alerts(
    world: World, lines: list[LogLine], loki: LokiDouble, tmp_path: Path
) -> None:
    # "Now" is early enough today that the last 24 hours hold yesterday's 14:30 burst and alerts,
    # whatever the time of day the suite runs.
    now = min(world.end, world.yesterday_at(30))
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    async with connected(settings, now=now) as (client, _):
        raw = await client.call_tool("app_events", {"app": "abc"})
    result = raw.structured_content
    assert result is not None and not raw.is_error, text_of(raw)
    start = now - DAY
    expected = count_levels(lines, PROD, ns(start), ns(now))
    assert result["app"] == "abc-app" and result["status"] == "ok"
    assert result["log_events"] == sum(expected.values())
    total = sum(expected.values())
    assert {c["level"]: c["count"] for c in result["levels"]} == dict(expected)
    for level in result["levels"]:
        assert level["percent"] == round(100 * expected[level["level"]] / total, 2)

    # Half-hour buckets on the half-hour grid cover the day (reaching past its edges when off the grid).
    step = timedelta(seconds=result["bucket_seconds"])
    first = at(result["timeline_start"])
    assert step == timedelta(minutes=30) and first <= start < first + step
    assert len(result["timeline"]) in (48, 49) and first + len(result["timeline"]) * step >= now
    covered = count_levels(lines, PROD, ns(first), ns(first + len(result["timeline"]) * step))
    assert sum(result["timeline"]) == sum(covered.values())
    burst = world.incident("abc-app-5xx-burst")
    for name in ("peak", "error_peak"):
        peak = result[name]
        lo, hi = at(peak["start"]), at(peak["end"])
        assert hi - lo == timedelta(minutes=30) and lo <= burst.start and burst.end <= hi
        bucket = count_levels(lines, PROD, ns(lo), ns(hi))
        assert peak["count"] == (bucket["error"] if name == "error_peak" else sum(bucket.values()))

    expected_alerts = alerts_of(world, "abc-app", start, now)
    alerts_total = sum(expected_alerts.values())
    assert result["alerts_total"] == alerts_total > 0
    assert {a["alertname"]: a["count"] for a in result["alerts"]} == expected_alerts
    for group in result["alerts"]:
        assert group["percent"] == round(100 * expected_alerts[group["alertname"]] / alerts_total, 2)
    assert result["alerts_uri"] == "aiops://apps/abc-app/alerts"
    levels = result["queries"]["levels"]["query"]
    assert parse_logql(levels).kind == "metric" and '{app="abc-app",env="prod"}' in levels.replace(", ", ",")
    text = text_of(raw)
    assert f"log events: {total}" in text and "error peak:" in text and "HighErrorRate" in text


async def test_a_text_filter_counts_only_matching_lines(
    world: World, lines: list[LogLine], loki: LokiDouble, tmp_path: Path
) -> None:
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(
            client, "app_events", app="abc-app", time_range="yesterday", text="database timeout"
        )
    expected = count_levels(lines, PROD, ns(start), ns(end), contains="database timeout")
    assert result["log_events"] == sum(expected.values()) > 0
    assert {c["level"]: c["count"] for c in result["levels"]} == dict(expected)
    assert '|= "database timeout"' in result["queries"]["levels"]["query"]


async def test_checkout_logs_are_selected_by_service_and_namespace(
    world: World, lines: list[LogLine], loki: LokiDouble, tmp_path: Path
) -> None:
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_events", app="checkout", time_range="yesterday")
    selector = {"service": "checkout", "namespace": "payments"}
    expected = count_levels(lines, selector, ns(world.yesterday_at(0)), ns(world.yesterday_at(24)))
    assert result["log_events"] == sum(expected.values())
    assert {c["level"]: c["count"] for c in result["levels"]} == dict(expected)
    assert "app=" not in result["queries"]["levels"]["query"]
    latency = world.incident("checkout-latency")
    assert at(result["peak"]["start"]) <= latency.start and latency.end <= at(result["peak"]["end"])
    assert {a["alertname"] for a in result["alerts"]} == {"HighLatency"}


async def test_loki_down_leaves_the_alerts_and_says_what_is_missing(
    world: World, loki: LokiDouble, tmp_path: Path
) -> None:
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url, loki_timeout_seconds=2)
    loki.fail_next(status=503, body="ingester unavailable", count=20)
    try:
        async with connected(settings, now=world.end) as (client, _):
            with anyio.fail_after(30):
                raw = await client.call_tool("app_events", {"app": "abc-app", "time_range": "yesterday"})
    finally:
        loki.fail_next(count=0)
        loki.app.faults.clear()
    result = raw.structured_content
    assert result is not None and not raw.is_error
    assert result["status"] == "partial" and result["log_events"] is None
    assert result["missing"][0].startswith("logs:") and "503" in result["missing"][0]
    yesterday = alerts_of(world, "abc-app", world.yesterday_at(0), world.yesterday_at(24))
    assert result["alerts_total"] == sum(yesterday.values())
    assert "missing logs:" in text_of(raw)


async def test_a_profile_without_log_labels_still_answers_with_its_alerts(
    world: World, loki: LokiDouble, tmp_path: Path
) -> None:
    metrics_only = ProfileIn(name="abc-metrics", service_mappings={"metrics": PROD}, aliases=["abc-app"])
    settings = await seeded_settings(tmp_path, None, world.end, metrics_only, loki_url=loki.url)
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool("app_events", {"app": "abc-metrics", "time_range": "yesterday"})
    result = raw.structured_content
    assert result is not None and not raw.is_error, text_of(raw)
    assert result["status"] == "partial" and result["log_events"] is None and result["queries"] == {}
    assert result["missing"] == [
        "logs: the profile of abc-metrics maps no log labels (service_mappings.logs)"
    ]
    assert result["alerts_total"] == 0 and result["alerts_uri"] == "aiops://apps/abc-metrics/alerts"
    assert "missing logs: the profile of abc-metrics maps no log labels" in text_of(raw)


async def test_without_loki_configured_the_answer_is_alerts_only(world: World, tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path, None, world.end)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_events", app="abc-app", time_range="yesterday")
    assert result["status"] == "partial" and "no loki datasource is configured" in result["missing"][0]
    assert result["alerts_total"] and result["alerts_total"] > 0


async def test_a_quiet_window_is_empty_and_an_unknown_app_lists_known_ones(
    world: World, loki: LokiDouble, tmp_path: Path
) -> None:
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    before = world.start - timedelta(days=2)
    async with connected(settings, now=world.end) as (client, _):
        quiet = await client.call_tool(
            "app_events",
            {"app": "abc-app", "start": before.isoformat(), "end": (before + timedelta(hours=1)).isoformat()},
        )
        message = await call_error(client, "app_events", app="abc-ap")
    assert quiet.structured_content is not None
    assert quiet.structured_content["status"] == "empty" and quiet.structured_content["log_events"] == 0
    assert "no log events and no alerts for abc-app" in text_of(quiet)
    assert "abc-ap" in message and "abc-app" in message


async def test_a_text_that_tries_to_escape_the_filter_stays_one_string(
    world: World, loki: LokiDouble, tmp_path: Path
) -> None:
    hostile = '"} or vector(1) |= "'
    settings = await seeded_settings(tmp_path, None, world.end, loki_url=loki.url)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_events", app="abc-app", text=hostile)
    assert result["log_events"] == 0 and result["timeline"] and not any(result["timeline"])
    query = parse_logql(result["queries"]["levels"]["query"])
    filters = [node for node in walk(query.expr) if isinstance(node, LineFilter)]
    assert [(f.op, f.values) for f in filters] == [("|=", (hostile,))]
