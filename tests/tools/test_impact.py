"""incident_impact through a real MCP client: real Prometheus with the generated world, seeded store.

Gauges are compared exactly: at a 15 s step on the 15 s sample grid every point is a sample, so
memory use in the window and baselines is computed here from the world's own samples."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from aiops_mcp.analysis.series import round_sig
from aiops_mcp.demo.backends import free_port
from aiops_mcp.demo.seed import CHAT
from aiops_mcp.demo.world import World
from aiops_mcp.settings import Settings
from aiops_mcp.store import AlertFilter, ProfileIn, open_store
from aiops_mcp.tools.impact import host_matcher
from tests.tools.conftest import call, call_error, connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
HOST_SIGNALS = {"cpu_busy", "memory_used", "disk_io", "network"}
APP_SIGNALS = {"availability", "error_ratio", "latency_p95"}


async def alert_id(settings: Settings, alertname: str, **labels: str) -> int:
    async with await open_store(settings.database_url, settings.data_dir) as store:
        page = await store.alerts.recent(AlertFilter(alertname=alertname), limit=50)
    (found,) = [a.id for a in page.items if all(a.labels.get(k) == v for k, v in labels.items())]
    return found


def by_signal(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["signal"]: s for s in result["signals"]}


async def impact_during(settings: Settings, world: World, incident: str, **target: str) -> dict[str, Any]:
    """incident_impact for `target` (an app and/or a host) over a world incident's window."""
    window = world.incident(incident)
    async with connected(settings, now=world.end) as (client, _):
        return await call(
            client, "incident_impact", start=window.start.isoformat(), end=window.end.isoformat(), **target
        )


def memory_used(world: World, host: str, start: datetime, end: datetime) -> list[float]:
    """100 * (1 - available / total) at every sample of [start, end]."""
    (available,) = world.select("node_memory_MemAvailable_bytes", {"instance": host})
    (total,) = world.select("node_memory_MemTotal_bytes", {"instance": host})
    lo, hi = start.timestamp(), end.timestamp()
    pairs = zip(available.timestamps, available.values, total.values, strict=True)
    return [100 * (1 - a / t) for ts, a, t in pairs if lo <= ts <= hi]


async def test_the_5xx_burst_impacted_the_host_and_the_app(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    burst = world.incident("abc-app-5xx-burst")
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool(
            "incident_impact", {"alert_id": await alert_id(settings, "HighErrorRate")}
        )
    result = raw.structured_content
    assert result is not None and not raw.is_error, text_of(raw)
    assert (result["status"], result["verdict"]) == ("ok", "impacted")
    assert (result["app"], result["host"], result["instance"]) == ("abc-app", "node-1", None)
    assert result["windows"]["window"] == [
        burst.start.isoformat()[:19] + "Z",
        burst.end.isoformat()[:19] + "Z",
    ]
    assert set(result["impacted"]) == HOST_SIGNALS | {"error_ratio", "latency_p95"}
    signals = by_signal(result)
    assert signals["availability"]["impacted"] is False

    memory = signals["memory_used"]
    window = memory_used(world, "node-1:9100", burst.start, burst.end)
    assert memory["peak"] == pytest.approx(round_sig(max(window)), rel=1e-3)
    assert memory["mean"] == pytest.approx(round_sig(sum(window) / len(window)), rel=1e-3)
    assert memory["coverage"] == 1
    baselines = {b["name"]: b for b in memory["baselines"]}
    day = memory_used(world, "node-1:9100", burst.start - timedelta(days=1), burst.end - timedelta(days=1))
    hour = memory_used(world, "node-1:9100", burst.start - timedelta(hours=1), burst.start)
    for name, values in (("previous_day", day), ("hour_before", hour)):
        mean = sum(values) / len(values)
        assert baselines[name]["mean"] == pytest.approx(mean, rel=1e-3)
        assert baselines[name]["mean_ratio"] == pytest.approx(sum(window) / len(window) / mean, rel=1e-3)
        assert baselines[name]["peak_ratio"] == pytest.approx(max(window) / mean, rel=1e-3)
    assert signals["error_ratio"]["peak"] == pytest.approx(100 * burst.peak, rel=0.1)

    assert result["ai_analysis"] and "host resource exhaustion" in result["ai_analysis"]
    assert result["chat_questions"] == [text for role, text in CHAT if role == "user"]
    text = text_of(raw)
    assert "impacted (cpu_busy" in text and "asked in chat:" in text and "query memory_used:" in text


async def test_an_instance_outage_impacts_its_availability_not_the_host(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    down = await alert_id(settings, "InstanceDown")
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "incident_impact", alert_id=down)
    assert result["instance"] == "abc-2:8080" and result["impacted"] == ["availability"]
    signals = by_signal(result)
    assert signals["availability"]["peak"] == 0
    assert all(signals[name]["impacted"] is False for name in HOST_SIGNALS)
    assert 'instance="abc-2:8080"' in signals["availability"]["query"]
    # abc-2 served nothing while down: its ratio and latency have a point or two at the edges.
    for name in ("error_ratio", "latency_p95"):
        signal = signals[name]
        assert (signal["status"], signal["impacted"]) == ("insufficient data", None)
        assert signal["coverage"] < 0.5 and "insufficient data" in signal["reason"]


async def test_checkout_latency_by_app_and_window_is_latency_only(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    result = await impact_during(settings, world, "checkout-latency", app="checkout")
    assert result["alert_id"] is None and result["ai_analysis"] is None and result["host"] == "node-2"
    assert result["impacted"] == ["latency_p95"]
    for signal in result["signals"]:
        assert "app=" not in signal["query"]


async def test_a_host_and_a_window_without_an_app_judge_the_host(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    burst = world.incident("node-1-cpu")
    result = await impact_during(settings, world, "node-1-cpu", host="node-1")
    assert (result["alert_id"], result["app"], result["host"]) == (None, None, "node-1")
    assert result["status"] == "ok" and set(result["impacted"]) == HOST_SIGNALS
    assert {s["signal"] for s in result["signals"]} == HOST_SIGNALS
    assert any(m.startswith("app signals: no application profile") for m in result["missing"])
    cpu = by_signal(result)["cpu_busy"]
    assert cpu["peak"] == pytest.approx(100 * burst.peak, abs=5)  # a 30 s rate, not a 15 s step
    assert host_matcher("node-1") in cpu["query"] and "app=" not in cpu["query"]


async def test_without_arguments_the_last_incident_is_taken(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with await open_store(settings.database_url, settings.data_dir) as store:
        (latest,) = (await store.alerts.recent(limit=1)).items
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "incident_impact")
    assert result["alert_id"] == latest.id and result["verdict"] == "impacted"


async def test_a_signal_without_data_is_missing_never_zero(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    staging = ProfileIn(
        name="abc-staging", service_mappings={"metrics": {"app": "abc-app", "env": "staging"}}
    )
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, staging)
    result = await impact_during(settings, world, "abc-app-5xx-burst", app="abc-staging")
    latency = by_signal(result)["latency_p95"]  # the staging twin exports no latency histogram
    assert (latency["status"], latency["peak"], latency["impacted"]) == ("missing", None, None)
    assert "host signals: no host known" in " ".join(result["missing"])
    assert result["verdict"] == "not impacted", result["signals"]


async def test_bad_targets_are_refused_with_a_reason(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    burst = world.incident("abc-app-5xx-burst")
    window = {"start": burst.start.isoformat(), "end": burst.end.isoformat()}
    async with connected(settings, now=world.end) as (client, _):
        hostile = await call_error(client, "incident_impact", host='node-1"} or vector(1)', **window)
        unknown = await call_error(client, "incident_impact", alert_id=999_999)
        backwards = await call_error(
            client, "incident_impact", host="node-1", start=burst.end.isoformat(), end=burst.start.isoformat()
        )
        app = await call_error(client, "incident_impact", app="abc-apq", **window)
    assert "invalid host" in hostile
    assert "alert 999999 not found" in unknown
    assert "start" in backwards and "end" in backwards
    assert "abc-app" in app


async def test_prometheus_down_is_partial_and_names_the_failures(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    down = f"http://127.0.0.1:{free_port()}"
    settings = await seeded_settings(tmp_path, down, world.end, prometheus_timeout_seconds=2)
    async with connected(settings, now=world.end) as (client, _):
        with anyio.fail_after(60):
            result = await call(client, "incident_impact", alert_id=await alert_id(settings, "HighErrorRate"))
    assert result["status"] == "partial" and result["verdict"] == "no data"
    assert all(s["status"] == "failed" for s in result["signals"])
    assert result["ai_analysis"] and result["chat_questions"]
