"""Prometheus tools through a real MCP client against a real Prometheus holding the generated world."""

import json
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from aiops_mcp.analysis.series import round_sig
from aiops_mcp.demo.backends import free_port
from aiops_mcp.settings import Settings
from tests.faults.proxy import Fault, FaultProxy
from tests.tools.conftest import call, call_error, connected, text_of

pytestmark = pytest.mark.anyio


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def samples_between(series, start: datetime, end: datetime) -> list[float]:
    lo, hi = start.timestamp(), end.timestamp()
    return [v for t, v in zip(series.timestamps, series.values, strict=True) if lo <= t <= hi]


async def test_range_statistics_are_exact_over_every_sample(prometheus) -> None:
    world = prometheus.world
    start, end = world.yesterday_at(3, 0), world.yesterday_at(3, 30)
    (truth,) = world.select("up", {"instance": "abc-2:8080", "env": "prod"})
    expected = samples_between(truth, start, end)
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        result = await call(
            client,
            "prometheus_query_range",
            query='up{instance="abc-2:8080",env="prod"}',
            start=iso(start),
            end=iso(end),
            step="15s",
        )
    (series,) = result["series"]
    stats = series["stats"]
    assert stats["samples"] == len(expected) == 121
    assert (stats["min"], stats["max"], stats["last"]) == (0.0, 1.0, expected[-1])
    assert stats["mean"] == round_sig(sum(expected) / len(expected))
    assert len(series["points"]) <= 30, "the preview is capped; the statistics are not"
    assert 0.0 in [v for _, v in series["points"]], "the outage survives downsampling"
    assert result["provenance"]["query"] == 'up{instance="abc-2:8080",env="prod"}'
    assert result["provenance"]["start"] == iso(start) and result["provenance"]["step_seconds"] == 15


async def test_gauge_max_and_its_time_match_the_incident(prometheus) -> None:
    world = prometheus.world
    start, end = world.yesterday_at(14, 0), world.yesterday_at(15, 0)
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        result = await call(
            client,
            "prometheus_query_range",
            query="node_memory_MemAvailable_bytes",
            start=iso(start),
            end=iso(end),
            step="15s",
        )
    assert result["series_total"] == len(world.select("node_memory_MemAvailable_bytes"))
    for series in result["series"]:
        labels = {k: v for k, v in series["labels"].items() if k != "__name__"}
        (truth,) = world.select("node_memory_MemAvailable_bytes", labels)
        expected = samples_between(truth, start, end)
        lo, hi = start.timestamp(), end.timestamp()
        times = [t for t in truth.timestamps if lo <= t <= hi]
        assert series["stats"]["max"] == round_sig(max(expected))
        assert series["stats"]["min"] == round_sig(min(expected))
        max_at = datetime.fromtimestamp(times[expected.index(max(expected))], UTC)
        assert series["stats"]["max_at"] == iso(max_at)


async def test_a_series_explosion_is_cut_counted_and_pageable(prometheus) -> None:
    world = prometheus.world
    live = [s for s in world.series() if s.timestamps[-1] >= world.end.timestamp() - 300]
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        result = await client.call_tool(
            "prometheus_query", {"query": '{__name__=~".+"}', "time": iso(world.end)}
        )
        data = result.structured_content
        assert data["status"] == "truncated"
        assert data["series_total"] == len(live)
        assert len(data["series"]) == 20 and data["series_omitted"] == len(live) - 20
        assert len(text_of(result).encode()) <= Settings().max_result_bytes
        seen: list[str] = []
        uri = data["more"]
        while uri:
            page = json.loads((await client.read_resource(uri)).contents[0].text)
            seen += [json.dumps(s["labels"], sort_keys=True) for s in page["series"]]
            uri = page["next"]
    assert len(seen) == len(set(seen)) == len(live)


async def test_text_has_one_line_per_series_and_names_the_query(prometheus) -> None:
    world = prometheus.world
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        result = await client.call_tool(
            "prometheus_query_range",
            {
                "query": 'rate(http_requests_total{app="abc-app",env="prod",status="200"}[5m])',
                "start": iso(world.end - timedelta(hours=24)),
                "end": iso(world.end),
            },
        )
    lines = text_of(result).splitlines()
    assert lines[0].startswith("status=ok")
    assert "rate(http_requests_total" in lines[1]
    assert len(lines) == 2 + result.structured_content["series_total"]


async def test_relative_ranges_use_the_server_clock(prometheus) -> None:
    world = prometheus.world
    async with connected(Settings(prometheus_url=prometheus.url), now=world.end) as (client, _):
        result = await call(client, "prometheus_query_range", query="up", time_range="last 24h")
    assert result["provenance"]["end"] <= iso(world.end)
    assert result["series_total"] == len(world.select("up"))


async def test_malformed_promql_quotes_the_parser(prometheus) -> None:
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        message = await call_error(client, "prometheus_query", query="rate(http_requests_total[5m]")
    assert "invalid PromQL at position 4: unclosed left parenthesis" in message


async def test_a_range_vector_in_a_range_query_says_how_to_fix_it(prometheus) -> None:
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        message = await call_error(client, "prometheus_query_range", query="http_requests_total[5m]")
    assert "rate(" in message


async def test_a_range_over_the_limit_names_the_limit(prometheus) -> None:
    async with connected(Settings(prometheus_url=prometheus.url, max_query_range_hours=48)) as (client, _):
        message = await call_error(client, "prometheus_query_range", query="up", time_range="last 30d")
    assert "48" in message


async def test_a_datasource_that_is_down_is_named_within_the_timeout() -> None:
    settings = Settings(prometheus_url=f"http://127.0.0.1:{free_port()}", prometheus_timeout_seconds=2)
    async with connected(settings) as (client, _):
        with anyio.fail_after(30):
            message = await call_error(client, "prometheus_query", query="up")
    assert "prometheus" in message and "unavailable" in message


async def test_unknown_datasource_lists_the_known_ones(prometheus) -> None:
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        message = await call_error(client, "prometheus_query", query="up", datasource="staging")
    assert "known: prometheus" in message


async def test_find_metrics_searches_names(prometheus) -> None:
    names = {s.name for s in prometheus.world.series() if "http_request" in s.name}
    async with connected(Settings(prometheus_url=prometheus.url)) as (client, _):
        result = await call(client, "prometheus_find_metrics", search="HTTP_request")
    assert set(result["names"]) == names and result["total"] == len(names)


async def test_find_metrics_still_lists_names_when_their_descriptions_fail(prometheus) -> None:
    names = {s.name for s in prometheus.world.series() if "http_request" in s.name}
    async with (
        FaultProxy(prometheus.url) as proxy,
        connected(Settings(prometheus_url=proxy.url)) as (client, _),
    ):
        proxy.fault = Fault.answer(503).on("/api/v1/metadata")
        result = await call(client, "prometheus_find_metrics", search="http_request")
    assert set(result["names"]) == names
    assert result["details"] == {}
    assert result["warnings"][0].startswith("types and help texts unavailable: prometheus:")
    assert "HTTP 503" in result["warnings"][0]


async def test_an_outage_serves_range_and_label_answers_stale_with_their_fetch_time(prometheus) -> None:
    world = prometheus.world
    start, end = world.yesterday_at(14, 0), world.yesterday_at(15, 0)
    args = {
        "query": 'sum by (app) (rate(http_requests_total{env="prod"}[5m]))',
        "start": iso(start),
        "end": iso(end),
    }
    async with FaultProxy(prometheus.url) as proxy:
        settings = Settings(prometheus_url=proxy.url, query_cache_ttl_seconds=0)
        async with connected(settings, now=world.end) as (client, _):
            fresh = await call(client, "prometheus_query_range", **args)
            labels = await call(client, "prometheus_list_labels", label="app")
            fetched = datetime.now(UTC)
            proxy.fault = Fault.answer(503)
            stale_result = await client.call_tool("prometheus_query_range", args)
            stale_labels = await client.call_tool("prometheus_list_labels", {"label": "app"})
    assert fresh["series"] and labels["names"]
    stale = stale_result.structured_content
    assert not stale_result.is_error and stale is not None
    assert stale["series"] == fresh["series"] and stale["provenance"]["query"] == fresh["provenance"]["query"]
    since = datetime.fromisoformat(stale["provenance"]["stale_since"])
    assert since <= fetched
    note = stale["warnings"][0]
    assert note.startswith(f"STALE: served from cache fetched at {stale['provenance']['stale_since']}")
    assert "datasource prometheus is unavailable" in note and "HTTP 503" in note
    assert note in text_of(stale_result).splitlines()
    assert stale_labels.structured_content is not None
    assert stale_labels.structured_content["names"] == labels["names"]
    assert stale_labels.structured_content["stale_since"] is not None
    assert any(line.startswith("STALE: ") for line in text_of(stale_labels).splitlines())


async def test_label_values_respect_the_selector(prometheus) -> None:
    world = prometheus.world
    expected = sorted({s.labels["instance"] for s in world.select("up", {"env": "staging"})})
    async with connected(Settings(prometheus_url=prometheus.url), now=world.end) as (client, _):
        result = await call(
            client,
            "prometheus_list_labels",
            label="instance",
            match='up{env="staging"}',
            time_range="last 1h",
        )
        names = await call(client, "prometheus_list_labels", time_range="last 1h")
    assert result["names"] == expected
    assert {"app", "instance", "job", "service", "namespace"} <= set(names["names"])


async def test_repeated_questions_are_answered_from_cache(prometheus) -> None:
    world = prometheus.world
    args = {"query": "up", "time_range": "last 6h"}
    async with connected(Settings(prometheus_url=prometheus.url), now=world.end) as (client, runtime):
        first = await call(client, "prometheus_query_range", **args)
        second = await call(client, "prometheus_query_range", **args)
        hits = runtime.telemetry.queries.labels("prometheus", "cache_hit")._value.get()
    assert first == second
    assert hits == 1


async def test_series_beyond_max_query_results_are_counted_not_ranked(prometheus) -> None:
    world = prometheus.world
    settings = Settings(prometheus_url=prometheus.url, max_query_results=5)
    async with connected(settings) as (client, _):
        result = await call(client, "prometheus_query", query="node_cpu_seconds_total", time=iso(world.end))
    total = len(world.select("node_cpu_seconds_total"))
    assert result["series_total"] == total > 5
    assert len(result["series"]) == 5 and result["series_omitted"] == total - 5
    assert "MAX_QUERY_RESULTS" in result["warnings"][0]


async def test_find_metrics_on_a_datasource_that_is_down_is_a_clear_error() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with connected(Settings(prometheus_url=dead, prometheus_timeout_seconds=2)) as (client, _):
        message = await call_error(client, "prometheus_find_metrics", search="http")
    assert "datasource unavailable" in message and f"cannot connect to {dead}" in message


async def test_a_range_past_the_response_cap_gives_the_largest_series_exactly_and_counts_all(
    prometheus,
) -> None:
    world = prometheus.world
    start, end = world.end - timedelta(hours=24), world.end
    query = "http_requests_total"
    async with connected(Settings(prometheus_url=prometheus.url, max_series=3)) as (client, runtime):
        shared = runtime.datasources.prometheus()
        full = await shared.query_range(query, start.timestamp(), end.timestamp(), 60)
        shared.config = shared.config.model_copy(update={"max_response_bytes": 300_000})
        result = await call(
            client, "prometheus_query_range", query=query, start=iso(start), end=iso(end), step="60s"
        )
    by_max = sorted(full.series, key=lambda s: max(s.values), reverse=True)[:3]
    assert len(full.series) == len(world.select(query)) > 3
    assert result["status"] == "truncated"
    assert result["series_total"] == len(full.series) and result["series_omitted"] == len(full.series) - 3
    shown = {json.dumps(s["labels"], sort_keys=True): s["stats"] for s in result["series"]}
    for series in by_max:
        stats = shown[json.dumps(series.labels, sort_keys=True)]
        assert (stats["max"], stats["min"], stats["last"]) == tuple(
            round_sig(v) for v in (max(series.values), min(series.values), series.values[-1])
        )
        assert stats["samples"] == len(series.values)
    assert "the 3 largest by their maximum are shown with exact statistics" in " ".join(result["warnings"])
    assert result["provenance"]["query"].startswith("(http_requests_total{}) and topk(3, max_over_time((")
