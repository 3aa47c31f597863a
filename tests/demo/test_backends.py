"""Real backends on loopback: the backfilled Prometheus answers with the world's ground truth."""

import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from aiops_mcp.demo.backends import (
    BackendError,
    RunningPostgres,
    alertmanager_config,
    free_port,
    start_postgres,
    start_prometheus,
)
from aiops_mcp.demo.world import World

pytestmark = pytest.mark.backend

ABC = {"app": "abc-app", "env": "prod"}
ABC_SELECTOR = 'app="abc-app",env="prod"'


def query(url: str, expr: str, at: datetime) -> list[tuple[dict[str, str], float]]:
    """An instant query's result as (labels, value) pairs."""
    with httpx.Client(timeout=60, trust_env=False) as client:
        response = client.get(f"{url}/api/v1/query", params={"query": expr, "time": at.timestamp()})
    body = response.json()
    assert response.status_code == 200, body
    return [(item["metric"], float(item["value"][1])) for item in body["data"]["result"]]


def scalar(url: str, expr: str, at: datetime) -> float:
    """The value of a query expected to return exactly one series."""
    [(_, value)] = query(url, expr, at)
    return value


def by_instance(result: list[tuple[dict[str, str], float]]) -> dict[str, float]:
    return {labels["instance"]: value for labels, value in result}


def test_up_at_world_end_has_one_series_per_instance(prometheus: Any) -> None:
    world: World = prometheus.world
    result = query(prometheus.url, "up", world.end)
    assert len(result) == len(world.value_at("up", world.end)) == 4
    assert {value for _, value in result} == {1.0}
    assert query(prometheus.url, "up", world.end + timedelta(minutes=6)) == []


def test_over_time_queries_equal_the_ground_truth(prometheus: Any) -> None:
    world: World = prometheus.world
    memory = world.incident("node-1-memory")
    node = {"instance": "node-1:9100"}
    expr = 'min_over_time(node_memory_MemAvailable_bytes{instance="node-1:9100"}[15m])'
    [(_, expected)] = world.over_time("min", "node_memory_MemAvailable_bytes", memory.start, memory.end, node)
    assert scalar(prometheus.url, expr, memory.end) == expected
    expr = f"max_over_time(process_resident_memory_bytes{{{ABC_SELECTOR}}}[15m])"
    truth = world.over_time("max", "process_resident_memory_bytes", memory.start, memory.end, ABC)
    assert by_instance(query(prometheus.url, expr, memory.end)) == {
        labels["instance"]: v for labels, v in truth
    }
    expr = f"avg_over_time(up{{{ABC_SELECTOR}}}[1h])"
    start, end = world.yesterday_at(2, 30), world.yesterday_at(3, 30)
    truth = world.over_time("avg", "up", start, end, ABC)
    answer = by_instance(query(prometheus.url, expr, end))
    assert answer == pytest.approx({labels["instance"]: v for labels, v in truth}, rel=1e-12)
    assert answer["abc-2:8080"] < 1.0


def test_uptime_yesterday_equals_the_ground_truth(prometheus: Any) -> None:
    world: World = prometheus.world
    start, end = world.yesterday_at(0), world.yesterday_at(24)
    expr = f"avg(avg_over_time(up{{{ABC_SELECTOR}}}[1d]))"
    assert scalar(prometheus.url, expr, end) == pytest.approx(
        world.expected_uptime("abc-app", start, end), rel=1e-12
    )


def test_sum_of_increase_equals_the_extrapolated_ground_truth(prometheus: Any) -> None:
    world: World = prometheus.world
    burst = world.incident("abc-app-5xx-burst")
    for offset in (0, 7):  # window ends on a sample, then between samples
        end = burst.end + timedelta(seconds=offset)
        start = end - timedelta(minutes=15)
        answer = scalar(prometheus.url, f"sum(increase(http_requests_total{{{ABC_SELECTOR}}}[15m]))", end)
        expected = world.expected_increase("http_requests_total", start, end, ABC)
        raw = world.expected_increase("http_requests_total", start, end, ABC, extrapolate=False)
        assert answer == pytest.approx(expected, rel=1e-9)
        assert answer == pytest.approx(raw, rel=15 / (900 - 15) + 1e-9)


def test_error_ratio_during_the_burst_equals_the_ground_truth(prometheus: Any) -> None:
    world: World = prometheus.world
    burst = world.incident("abc-app-5xx-burst")
    expr = (
        f'sum(increase(http_requests_total{{{ABC_SELECTOR},status=~"5.."}}[15m]))'
        f" / sum(increase(http_requests_total{{{ABC_SELECTOR}}}[15m]))"
    )
    answer = scalar(prometheus.url, expr, burst.end)
    assert answer == pytest.approx(world.expected_error_ratio("abc-app", burst.start, burst.end), rel=1e-9)
    assert answer == pytest.approx(0.05, abs=0.001)


def test_latency_quantile_equals_the_ground_truth(prometheus: Any) -> None:
    world: World = prometheus.world
    incident = world.incident("checkout-latency")
    expr = (
        "histogram_quantile(0.95, sum by (le) "
        '(increase(http_request_duration_seconds_bucket{service="checkout",namespace="payments"}[20m])))'
    )
    expected = world.expected_quantile(0.95, "checkout", incident.start, incident.end)
    assert scalar(prometheus.url, expr, incident.end) == pytest.approx(expected, rel=1e-9)


def test_incident_queries_run(prometheus: Any) -> None:
    world: World = prometheus.world
    for incident in world.incidents:
        assert query(prometheus.url, incident.query, incident.end), incident.name


def test_restart_keeps_the_backfilled_data(prometheus: Any, tmp_path: Path) -> None:
    world: World = prometheus.world
    source = tmp_path / "slice.om"
    world.write_openmetrics(source, since=world.end.timestamp() - 3600)
    server = start_prometheus(source, tmp_path / "prometheus")
    try:
        before = query(server.url, "sum(http_requests_total)", world.end)
        server.stop()
        assert server.process is None
        server.start()
        assert query(server.url, "sum(http_requests_total)", world.end) == before != []
    finally:
        server.stop()


def test_prometheus_start_fails_clearly_on_a_bad_input(prometheus: Any, tmp_path: Path) -> None:
    source = tmp_path / "bad.om"
    source.write_text("this is not openmetrics\n")
    with pytest.raises(BackendError, match="promtool failed"):
        start_prometheus(source, tmp_path / "prometheus")


def test_alertmanager_delivers_a_posted_alert_to_the_webhook(alertmanager: Any) -> None:
    name = f"DemoAlert{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": name, "app": "abc-app", "severity": "critical"},
        "annotations": {"summary": "5xx ratio above 1 %"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }
    with httpx.Client(timeout=30, trust_env=False) as client:
        assert client.post(f"{alertmanager.url}/api/v2/alerts", json=[alert]).status_code == 200
    [body] = alertmanager.webhook.wait_for(lambda bodies: bool(bodies), timeout=60)
    assert body["version"] == "4"
    assert body["status"] == "firing"
    [delivered] = body["alerts"]
    assert delivered["labels"]["alertname"] == name
    assert delivered["fingerprint"]


def test_alertmanager_config_without_webhook_has_an_empty_receiver() -> None:
    config = alertmanager_config(None)
    assert config["receivers"] == [{"name": "webhook"}]
    assert config["route"]["group_wait"] == "0s"


@pytest.mark.anyio
async def test_postgres_accepts_connections_to_a_new_database(
    postgres: RunningPostgres, postgres_url: str
) -> None:
    assert postgres_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    database = postgres_url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{postgres.port}/{database}")
    try:
        assert await connection.fetchval("SELECT current_database()") == database
    finally:
        await connection.close()


@pytest.mark.anyio
async def test_postgres_stops_and_starts_again(postgres: RunningPostgres) -> None:
    data_dir = tempfile.mkdtemp(prefix="aiops-pg-test-")
    server = start_postgres(data_dir, port=free_port())
    try:
        connection = await asyncpg.connect(server.dsn)
        await connection.close()
        server.stop()
        with pytest.raises(OSError):
            await asyncpg.connect(server.dsn, timeout=10)
        server.start()
        connection = await asyncpg.connect(server.dsn)
        await connection.close()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
