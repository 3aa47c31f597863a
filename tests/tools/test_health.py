"""app_health through a real MCP client: real Prometheus with the generated world, seeded store."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from aiops_mcp.analysis.series import round_sig
from aiops_mcp.datasources.models import QueryData, Series
from aiops_mcp.demo.backends import free_port
from aiops_mcp.store import ProfileIn
from aiops_mcp.tools.contract import Provenance
from aiops_mcp.tools.health import evaluate, render
from tests.tools.conftest import call, call_error, connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
STEP = timedelta(seconds=15)
# The ratio and p95 are rates over 30 s (two scrapes): a breach shows from the first sample of
# the incident and lasts until the rate window has left it, so the reported end is late by up
# to the rate window (plus one step from the window's end convention).
RATE_WINDOW = timedelta(seconds=30)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def windows_of(result: dict[str, Any], signal: str) -> list[dict[str, Any]]:
    return [w for w in result["windows"] if w["signal"] == signal]


async def test_abc_app_was_not_healthy_yesterday(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool("app_health", {"app": "abc"})
    result = raw.structured_content
    assert result is not None and not raw.is_error
    assert result["app"] == "abc-app" and result["status"] == "ok"
    assert result["verdict"] in {"degraded", "unhealthy"}

    start, end = world.yesterday_at(0), world.yesterday_at(24)
    # A 15 s step is the scrape interval: the range query returns every up sample, so exact.
    expected = 100 * world.expected_uptime("abc-app", start, end)
    assert result["uptime_percent"] == round_sig(expected)
    assert result["queries"]["up"]["step_seconds"] == 15

    incident = world.incident("abc-app-5xx-burst")
    (errors,) = windows_of(result, "error_rate")
    assert abs(at(errors["start"]) - incident.start) <= STEP
    assert timedelta(0) <= at(errors["end"]) - incident.end <= STEP + RATE_WINDOW
    assert errors["peak"] == pytest.approx(100 * incident.peak, rel=0.1)

    (down,) = windows_of(result, "down abc-2:8080")
    outage = world.incident("abc-2-down")
    assert abs(at(down["start"]) - outage.start) <= STEP and abs(at(down["end"]) - outage.end) <= STEP
    assert not windows_of(result, "down abc-1:8080")

    slos = {s["name"]: s for s in result["slos"]}
    assert slos["availability"]["compliant"] is False
    error_rate = 100 * world.expected_error_ratio("abc-app", start, end)
    assert slos["error_rate"]["measured"] == pytest.approx(error_rate, rel=0.02)
    assert slos["error_rate"]["query"] == result["queries"]["error_rate_total"]["query"]
    text = text_of(raw)
    assert "window error_rate:" in text and "SLO availability:" in text


async def test_checkout_is_selected_by_service_and_namespace(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_health", app="checkout")
    incident = world.incident("checkout-latency")
    (latency,) = windows_of(result, "p95_latency")
    assert abs(at(latency["start"]) - incident.start) <= STEP
    assert timedelta(0) <= at(latency["end"]) - incident.end <= STEP + RATE_WINDOW
    assert latency["peak"] > 500
    assert not windows_of(result, "error_rate")
    for provenance in result["queries"].values():
        assert "app=" not in provenance["query"]
        assert 'service="checkout"' in provenance["query"] and 'namespace="payments"' in provenance["query"]


async def test_unknown_app_lists_the_known_ones(prometheus, tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path, prometheus.url, prometheus.world.end)
    async with connected(settings, now=prometheus.world.end) as (client, _):
        message = await call_error(client, "app_health", app="checkuot")
    assert "checkuot" in message and message.index("checkout") < message.index("abc-app")


async def test_a_quiet_window_is_empty_with_no_verdict_of_health(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    before = world.start - timedelta(days=3)
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool(
            "app_health",
            {"app": "abc-app", "start": before.isoformat(), "end": (before + timedelta(hours=1)).isoformat()},
        )
    assert raw.structured_content is not None
    assert raw.structured_content["status"] == "empty" and raw.structured_content["verdict"] == "no data"
    assert "no samples for abc-app" in text_of(raw)


async def test_a_prometheus_that_is_down_is_named_within_the_timeout(prometheus, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    settings = await seeded_settings(tmp_path, down, prometheus.world.end)
    settings = settings.model_copy(update={"prometheus_timeout_seconds": 2})
    async with connected(settings, now=prometheus.world.end) as (client, _):
        with anyio.fail_after(30):
            message = await call_error(client, "app_health", app="abc-app")
    assert "prometheus" in message and "unavailable" in message


async def test_an_app_without_slos_is_measured_without_a_verdict(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    bare = ProfileIn(name="staging", service_mappings={"metrics": {"app": "abc-app", "env": "staging"}})
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, bare)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_health", app="staging")
    assert result["verdict"] is None and "no SLOs" in result["reason"]
    assert result["slos"] == [] and result["uptime_percent"] == 100


def test_a_failed_query_makes_the_result_partial_and_names_it() -> None:
    series = Series({"instance": "a:1"}, [0.0, 15.0, 30.0], [1.0, 1.0, 1.0])
    data = {
        "up": QueryData("matrix", [series]),
        "error_ratio": QueryData("matrix", []),
        "error_rate_total": QueryData("vector", []),
        "p95_latency": None,
    }
    queries = {name: Provenance(datasource="prom", datasource_type="prometheus", query=name) for name in data}
    result = evaluate("a", data, {"availability": 99.9, "p95_latency_ms": 500}, queries)
    assert result.status == "partial" and result.missing == ["p95_latency"]
    assert [(s.name, s.compliant) for s in result.slos] == [("availability", True), ("p95_latency_ms", None)]
    assert result.verdict == "healthy" and "no data for p95_latency_ms" in result.reason
    assert "missing (query failed): p95_latency" in render(result, "w", 4000)


def test_a_flapping_app_keeps_its_longest_windows_and_counts_the_rest() -> None:
    # 30 breaches of 15 s and one of 60 s: the result keeps 10 (the 60 s one among them) and says so.
    times = [15.0 * i for i in range(200)]
    ratio = [0.05 if i % 4 == 0 and i < 120 else 0.0 for i in range(200)]
    ratio[150:154] = [0.09] * 4
    data = {
        "up": QueryData("matrix", [Series({"instance": "a:1"}, times, [1.0] * 200)]),
        "error_ratio": QueryData("matrix", [Series({}, times, ratio)]),
        "error_rate_total": QueryData("vector", [Series({}, [times[-1]], [0.01])]),
        "p95_latency": QueryData("matrix", []),
    }
    queries = {name: Provenance(datasource="prom", datasource_type="prometheus", query=name) for name in data}
    result = evaluate("a", data, {"error_rate": 1}, queries)
    error_windows = [w for w in result.windows if w.signal == "error_rate"]
    assert len(error_windows) == 10 and result.windows_omitted == 21
    assert any(w.peak == 9 for w in error_windows), "the longest breach is kept"
    assert [w.start for w in error_windows] == sorted(w.start for w in error_windows)
    assert result.status == "truncated"
    assert "21 shorter breach windows left out" in render(result, "w", 4000)


async def test_the_scrape_interval_setting_sets_the_finest_step(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(
        tmp_path, prometheus.url, world.end, prometheus_scrape_interval_seconds=60
    )
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_health", app="abc-app")
    assert result["queries"]["up"]["step_seconds"] == 60
    assert "[2m]" in result["queries"]["error_ratio"]["query"]
