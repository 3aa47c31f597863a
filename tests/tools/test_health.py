"""app_health through a real MCP client: real Prometheus with the generated world, seeded store.

Expected figures come from the world's ground truth: uptime, the whole day's error ratio and
latency percentiles (`World.expected_*`), and the short-window latency series recomputed from
the world's samples (`tests.analysis.world_signals`) for the share of time over the target."""

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import pytest

from aiops_mcp.analysis.series import round_sig
from aiops_mcp.analysis.slo import DEGRADED_MAX_CONSUMED
from aiops_mcp.demo.backends import free_port
from aiops_mcp.demo.seed import DEMO_SLOS
from aiops_mcp.demo.world import World
from aiops_mcp.query.step import points
from aiops_mcp.store import ProfileIn
from tests.analysis.world_signals import evaluate, latency_ms
from tests.tools.conftest import call, call_error, connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
STEP = timedelta(seconds=15)
# The ratio and p95 are rates over 30 s (two scrapes): a breach shows from the first sample of
# the incident and lasts until the rate window has left it, so the reported end is late by up
# to the rate window (plus one step from the window's end convention).
RATE_WINDOW = timedelta(seconds=30)
ABC = {"app": "abc-app", "env": "prod", "job": "abc-app"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def windows_of(result: dict[str, Any], signal: str) -> list[dict[str, Any]]:
    return [w for w in result["windows"] if w["signal"] == signal]


def slos_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in result["slos"]}


def time_over(world: World, app: str, q: float, threshold_ms: float, start: datetime, end: datetime) -> float:
    """Share of the range query's points (15 s step) where the app's 30 s pQ latency exceeds the
    threshold: evaluated around the app's latency incidents, the only times it can (normal p95 is
    ~0.22 s, p99 under the 1 s bucket)."""
    signal = latency_ms(world.selector_of(app), q)
    over = 0
    for incident in world.incidents:
        if incident.app == app and incident.kind == "latency_p95":
            lo = (incident.start - 10 * STEP).timestamp()
            hi = (incident.end + 10 * STEP).timestamp()
            over += sum(1 for v in evaluate(world, signal, lo, hi, 15) if v > threshold_ms)
    return over / points((end - start).total_seconds(), 15)


def expected_verdict(slos: dict[str, dict[str, Any]]) -> str:
    """The documented rule: all met -> healthy; breaches within 2x budget -> degraded; else unhealthy."""
    breached = [s for s in slos.values() if s["target"] is not None and s["compliant"] is False]
    if not breached:
        return "healthy"
    severe = any(s["budget_consumed"] > DEGRADED_MAX_CONSUMED for s in breached)
    return "unhealthy" if severe else "degraded"


async def test_abc_app_was_unhealthy_yesterday_by_its_availability(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool("app_health", {"app": "abc"})
    result = raw.structured_content
    assert result is not None and not raw.is_error
    assert result["app"] == "abc-app" and result["status"] == "ok"
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    assert (at(result["start"]), at(result["end"])) == (start, end)

    # A 15 s step is the scrape interval: the range query returns every up sample, so exact.
    uptime = 100 * world.expected_uptime("abc-app", start, end)
    assert result["uptime_percent"] == round_sig(uptime)
    assert result["queries"]["up"]["step_seconds"] == 15
    slos = slos_of(result)
    target = DEMO_SLOS["availability"]
    availability = slos["availability"]
    assert (availability["measured"], availability["target"]) == (round_sig(uptime), target)
    assert availability["compliant"] is (uptime >= target)
    assert availability["budget_consumed"] == round_sig((100 - uptime) / (100 - target))

    error_rate = 100 * world.expected_error_ratio("abc-app", start, end)
    assert slos["error_rate"]["measured"] == pytest.approx(round_sig(error_rate), rel=1e-9)
    assert slos["error_rate"]["budget_consumed"] == pytest.approx(
        error_rate / DEMO_SLOS["error_rate"], rel=1e-3
    )
    assert slos["error_rate"]["query"] == result["queries"]["error_rate_total"]["query"]

    # Latency: the whole day's percentile of every request; budget = time over target / 5 %.
    p95 = 1000 * world.expected_quantile(0.95, "abc-app", start, end)
    assert slos["p95_latency_ms"]["measured"] == pytest.approx(round_sig(p95), rel=1e-9)
    assert slos["p95_latency_ms"]["compliant"] is (p95 <= DEMO_SLOS["p95_latency_ms"])
    share = time_over(world, "abc-app", 0.95, DEMO_SLOS["p95_latency_ms"], start, end)
    assert share > 0
    assert slos["p95_latency_ms"]["budget_consumed"] == round_sig(share / 0.05)
    assert slos["p95_latency_ms"]["query"].startswith("histogram_quantile(0.95, sum by (le) (increase(")
    p99 = slos["p99_latency_ms"]  # measured though the profile sets no target for it
    assert p99["measured"] == pytest.approx(
        round_sig(1000 * world.expected_quantile(0.99, "abc-app", start, end))
    )
    assert (p99["target"], p99["compliant"], p99["budget_consumed"]) == (None, None, None)

    verdict = expected_verdict(slos)
    assert result["verdict"] == verdict == "unhealthy"  # 24 of 11,522 up samples down: ~2.08x budget
    assert "availability" in result["reason"]

    incident = world.incident("abc-app-5xx-burst")
    (errors,) = windows_of(result, "error_rate")
    assert abs(at(errors["start"]) - incident.start) <= STEP
    assert timedelta(0) <= at(errors["end"]) - incident.end <= STEP + RATE_WINDOW
    assert errors["peak"] == pytest.approx(100 * incident.peak, rel=0.1)
    (latency,) = windows_of(result, "p95_latency")
    assert abs(at(latency["start"]) - world.incident("abc-app-latency").start) <= STEP

    (down,) = windows_of(result, "down abc-2:8080")
    outage = world.incident("abc-2-down")
    assert abs(at(down["start"]) - outage.start) <= STEP and abs(at(down["end"]) - outage.end) <= STEP
    assert not windows_of(result, "down abc-1:8080")
    text = text_of(raw)
    assert "window error_rate:" in text and "SLO availability:" in text
    assert "SLO p99_latency_ms: measured" in text and "(no target)" in text


async def test_a_p99_target_is_measured_judged_and_windowed(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    strict = ProfileIn(name="abc-p99", service_mappings={"metrics": ABC}, slos={"p99_latency_ms": 900})
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, strict)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_health", app="abc-p99")
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    p99 = slos_of(result)["p99_latency_ms"]
    measured = 1000 * world.expected_quantile(0.99, "abc-app", start, end)
    assert p99["measured"] == pytest.approx(round_sig(measured), rel=1e-9)
    assert p99["target"] == 900 and p99["compliant"] is (measured <= 900)
    share = time_over(world, "abc-app", 0.99, 900, start, end)
    assert share > 0 and p99["budget_consumed"] == round_sig(share / 0.01)
    assert result["queries"]["p99_latency"]["query"].startswith("histogram_quantile(0.99, sum by (le) (rate(")
    (window,) = windows_of(result, "p99_latency")
    assert abs(at(window["start"]) - world.incident("abc-app-latency").start) <= STEP
    assert result["verdict"] == expected_verdict(slos_of(result))
    assert "error_ratio" not in result["queries"]  # no error-rate target: no windows to look for


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


async def test_a_quiet_window_is_empty_and_names_the_window(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    before = world.start - timedelta(days=3)
    after = before + timedelta(hours=1)
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool(
            "app_health", {"app": "abc-app", "start": before.isoformat(), "end": after.isoformat()}
        )
    result = raw.structured_content
    assert result is not None
    assert result["status"] == "empty" and result["verdict"] == "no data"
    assert (at(result["start"]), at(result["end"])) == (before, after)
    assert f"no samples for abc-app from {result['start']} to {result['end']}" in text_of(raw)
    assert all(s["measured"] is None for s in result["slos"])


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
    bare = ProfileIn(name="abc-bare", service_mappings={"metrics": ABC})
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, bare)
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_health", app="abc-bare")
    assert result["verdict"] is None and "no SLOs" in result["reason"]
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    slos = slos_of(result)
    assert list(slos) == ["availability", "error_rate", "p95_latency_ms", "p99_latency_ms"]
    assert slos["availability"]["measured"] == round_sig(100 * world.expected_uptime("abc-app", start, end))
    error_rate = 100 * world.expected_error_ratio("abc-app", start, end)
    assert slos["error_rate"]["measured"] == pytest.approx(round_sig(error_rate), rel=1e-9)
    for name, q in (("p95_latency_ms", 0.95), ("p99_latency_ms", 0.99)):
        expected = 1000 * world.expected_quantile(q, "abc-app", start, end)
        assert slos[name]["measured"] == pytest.approx(round_sig(expected), rel=1e-9)
    assert all(
        (s["target"], s["compliant"], s["budget_consumed"]) == (None, None, None) for s in slos.values()
    )
    assert [w["signal"] for w in result["windows"]] == ["down abc-2:8080"]


@contextmanager
def rejecting(upstream: str, marker: str) -> Iterator[str]:
    """A proxy to a real Prometheus that rejects every query containing `marker` as Prometheus
    rejects a failed evaluation (422, errorType execution), and forwards the rest unchanged."""

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if marker in parse_qs(body.decode()).get("query", [""])[0]:
                status, reply = (
                    422,
                    json.dumps(
                        {
                            "status": "error",
                            "errorType": "execution",
                            "error": "query processing would load too many samples",
                        }
                    ).encode(),
                )
            else:
                forwarded = urllib.request.Request(
                    upstream + self.path, data=body, headers={"Content-Type": self.headers["Content-Type"]}
                )
                with urllib.request.urlopen(forwarded, timeout=30) as answer:
                    status, reply = answer.status, answer.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_: object) -> None:  # quiet: stderr belongs to the test run
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_a_failing_query_leaves_a_partial_answer_naming_it_and_why(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    with rejecting(prometheus.url, "histogram_quantile(0.99") as url:
        settings = await seeded_settings(tmp_path, url, world.end)
        async with connected(settings, now=world.end) as (client, _):
            raw = await client.call_tool("app_health", {"app": "abc-app"})
    result = raw.structured_content
    assert result is not None and not raw.is_error, text_of(raw)
    assert result["status"] == "partial"
    (missing,) = result["missing"]
    assert missing.startswith("p99_latency_total: ") and "too many samples" in missing
    slos = slos_of(result)
    assert slos["p99_latency_ms"]["measured"] is None
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    assert slos["availability"]["measured"] == round_sig(100 * world.expected_uptime("abc-app", start, end))
    assert result["verdict"] == expected_verdict(slos)
    assert f"missing (query failed) {missing}" in text_of(raw)


async def test_the_scrape_interval_setting_sets_the_finest_step(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(
        tmp_path, prometheus.url, world.end, prometheus_scrape_interval_seconds=60
    )
    async with connected(settings, now=world.end) as (client, _):
        result = await call(client, "app_health", app="abc-app")
    assert result["queries"]["up"]["step_seconds"] == 60
    assert "[2m]" in result["queries"]["error_ratio"]["query"]
