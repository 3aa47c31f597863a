"""Loki tools through a real MCP client.

Grafana Loki cannot run on this machine, so these tests use the Loki double in tests/doubles,
which answers in the exact shapes recorded from a real Loki 3.4.2, loaded with the dataset
those recordings were made from. Expected figures are computed from that dataset here.
"""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import anyio
import pytest

from aiops_mcp.settings import Settings
from tests.doubles.loki import LogRecord, LokiDouble, load_recorded_dataset
from tests.tools.conftest import call, call_error, connected, text_of

pytestmark = pytest.mark.anyio
START, END = "2026-11-23T23:00:00Z", "2026-11-24T05:00:00Z"
START_NS, END_NS = 1795474800 * 10**9, 1795496400 * 10**9
DATASET = load_recorded_dataset()


@pytest.fixture(scope="module")
def loki() -> Iterator[LokiDouble]:
    with LokiDouble(DATASET) as double:
        yield double


def matching(app: str, text: str = "") -> list[LogRecord]:
    return [r for r in DATASET if r.labels["app"] == app and text in r.line and START_NS <= r.ts_ns < END_NS]


async def read_all_pages(client, uri: str | None) -> list[dict]:
    lines = []
    while uri:
        page = json.loads((await client.read_resource(uri)).contents[0].text)
        lines += page["lines"]
        uri = page["next"]
    return lines


async def test_log_search_gives_newest_lines_first_and_exact_counts_by_level(loki: LokiDouble) -> None:
    expected = matching("inventory", "timeout")
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        result = await call(
            client, "loki_query_logs", query='{app="inventory"} |= "timeout"', start=START, end=END
        )
    assert result["status"] == "ok" and not result["more_lines"]
    assert [line["line"] for line in result["lines"]] == [
        r.line for r in sorted(expected, key=lambda r: -r.ts_ns)
    ]
    by_level = Counter(r.labels["level"] for r in expected)
    assert {c["level"]: c["count"] for c in result["level_counts"]} == dict(by_level)
    assert result["total_matching"] == len(expected)
    assert result["common_labels"]["app"] == "inventory"
    assert result["provenance"] == {
        "datasource": "loki",
        "datasource_type": "loki",
        "query": '{app="inventory"} |= "timeout"',
        "start": START,
        "end": END,
        "time": None,
        "step_seconds": None,
        "stale_since": None,
    }


async def test_lines_beyond_the_limit_are_paged_without_gaps_or_repeats(loki: LokiDouble) -> None:
    expected = matching("inventory")
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        first = await call(
            client, "loki_query_logs", query='{app="inventory"}', start=START, end=END, limit=20
        )
        rest = await read_all_pages(client, first["more"])
    assert first["status"] == "truncated" and first["more_lines"] and len(first["lines"]) == 20
    assert first["total_matching"] == len(expected) == 300
    paged = [line["time_ns"] for line in rest]
    assert len(paged) == len(set(paged)) == len(expected) - 20
    assert paged == sorted(paged, reverse=True)
    assert set(map(int, paged)) | {r.ts_ns for r in expected[-20:]} == {r.ts_ns for r in expected}


async def test_lines_sharing_one_nanosecond_are_neither_repeated_nor_skipped() -> None:
    same = START_NS + 10**9
    records = [LogRecord(same, {"app": "burst"}, f"line {i}") for i in range(7)]
    records += [LogRecord(same + i + 1, {"app": "burst"}, f"later {i}") for i in range(3)]
    with LokiDouble(records) as double:
        async with connected(Settings(loki_url=double.url)) as (client, _):
            first = await call(
                client, "loki_query_logs", query='{app="burst"}', start=START, end=END, limit=5
            )
            rest = await read_all_pages(client, first["more"])
    seen = [line["line"] for line in first["lines"]] + [line["line"] for line in rest]
    assert sorted(seen) == sorted(r.line for r in records)


async def test_a_quiet_window_is_empty_not_an_error(loki: LokiDouble) -> None:
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        result = await call(
            client,
            "loki_query_logs",
            query='{app="inventory"}',
            start="2026-11-23T10:00:00Z",
            end="2026-11-23T11:00:00Z",
        )
    assert result["status"] == "empty" and result["lines"] == [] and result["total_matching"] is None


async def test_a_count_that_loki_cannot_compute_makes_the_result_partial(loki: LokiDouble) -> None:
    # Loki fails `sum by (level) (count_over_time(... | json ...))` over non-JSON lines, as recorded.
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        result = await call(
            client, "loki_query_logs", query='{app="shop-frontend"} | json', start=START, end=END, limit=5
        )
    assert result["status"] == "partial"
    assert result["lines"] and result["level_counts"] == []
    assert "counts by level unavailable" in result["warnings"][0]


async def test_metric_query_counts_per_hour_match_the_dataset(loki: LokiDouble) -> None:
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        result = await call(
            client,
            "loki_query_metrics",
            query='sum by (level) (count_over_time({app="inventory"}[1h]))',
            start=START,
            end=END,
            step="1h",
        )
    assert result["series_total"] == 3
    for series in result["series"]:
        level = series["labels"]["level"]
        per_hour = Counter(
            -(-(r.ts_ns - START_NS) // (3600 * 10**9))
            for r in matching("inventory")
            if r.labels["level"] == level
        )
        assert series["stats"]["max"] == max(per_hour.values())
        assert series["stats"]["samples"] == len(per_hour)


async def test_labels_values_and_volume(loki: LokiDouble) -> None:
    async with connected(Settings(loki_url=loki.url), now=datetime(2026, 11, 24, 5, tzinfo=UTC)) as (
        client,
        _,
    ):
        names = await call(client, "loki_list_labels", time_range="last 6h")
        apps = await call(
            client, "loki_list_labels", label="app", selector='{env="prod"}', time_range="last 6h"
        )
    assert {"app", "env", "level"} <= set(names["names"])
    assert apps["names"] == ["inventory", "shop-frontend"]
    for app in apps["names"]:
        line_bytes = sum(len(r.line.encode()) for r in DATASET if r.labels["app"] == app)
        assert apps["details"][app] == f"{line_bytes} bytes"


async def test_malformed_logql_is_refused_with_lokis_words(loki: LokiDouble) -> None:
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        message = await call_error(client, "loki_query_logs", query='{app="x"} |= "unterminated')
        empty = await call_error(client, "loki_query_logs", query='{app=~".*"}')
    assert "literal not terminated" in message
    assert "at least one regexp or equality matcher" in empty
    assert not any("unterminated" in str(r.params) for r in loki.requests), "nothing invalid was sent"


async def test_log_and_metric_queries_go_to_their_own_tools(loki: LokiDouble) -> None:
    async with connected(Settings(loki_url=loki.url)) as (client, _):
        assert "loki_query_metrics" in await call_error(
            client, "loki_query_logs", query='count_over_time({app="inventory"}[5m])'
        )
        assert "loki_query_logs" in await call_error(client, "loki_query_metrics", query='{app="inventory"}')


async def test_a_failing_or_garbled_loki_is_a_clear_error_within_the_timeout(loki: LokiDouble) -> None:
    settings = Settings(loki_url=loki.url, loki_timeout_seconds=1)
    args = {"query": '{app="inventory"}', "start": START, "end": END}
    async with connected(settings) as (client, _):
        loki.fail_next(status=503, body="too busy", count=3)  # the first try and both retries
        with anyio.fail_after(30):
            down = await call_error(client, "loki_query_logs", **args)
        loki.garbage_next()
        garbled = await call_error(client, "loki_query_logs", **args | {"limit": 7})
        loki.delay_seconds = 3
        try:
            with anyio.fail_after(30):
                slow = await call_error(client, "loki_query_logs", **args | {"limit": 8})
        finally:
            loki.delay_seconds = 0
    assert "loki" in down and "too busy" in down and "unavailable" in down
    assert "loki" in garbled and "JSON" in garbled
    assert "loki" in slow and "1" in slow


@pytest.mark.parametrize("fault", ["5xx", "garbage"])
async def test_a_loki_outage_serves_the_last_answer_marked_stale(loki: LokiDouble, fault: str) -> None:
    # A zero TTL: every call fetches afresh, and the last answer is kept only as a stand-in.
    settings = Settings(loki_url=loki.url, query_cache_ttl_seconds=0)
    args = {"query": '{app="inventory"} |= "timeout"', "start": START, "end": END}
    async with connected(settings) as (client, _):
        fresh = await call(client, "loki_query_logs", **args)
        if fault == "5xx":
            loki.fail_next(status=503, body="ingester unhealthy", count=6)  # both queries, every retry
        else:
            loki.garbage_next(count=2)
        try:
            with anyio.fail_after(30):
                served = await client.call_tool("loki_query_logs", args)
        finally:
            loki.app.faults.clear()
        again = await call(client, "loki_query_logs", **args)
    assert not served.is_error, text_of(served)
    stale = served.structured_content
    assert stale["lines"] == fresh["lines"] and stale["level_counts"] == fresh["level_counts"]
    assert stale["provenance"]["stale_since"] is not None
    note = stale["warnings"][0]
    assert note.startswith("STALE: served from cache fetched at " + stale["provenance"]["stale_since"])
    assert ("ingester unhealthy" if fault == "5xx" else "expected JSON") in note
    assert note in text_of(served).splitlines()
    assert again["provenance"]["stale_since"] is None and not again["warnings"]


async def test_tenant_and_credentials_reach_loki_but_never_the_answer(loki: LokiDouble) -> None:
    settings = Settings(loki_url=loki.url, loki_tenant="team-a", loki_bearer_token="s3cret-token")
    async with connected(settings) as (client, _):
        result = await client.call_tool(
            "loki_query_logs", {"query": '{app="inventory"} |= "db"', "start": START, "end": END}
        )
    sent = loki.requests[-1].headers
    assert sent["x-scope-orgid"] == "team-a" and sent["authorization"] == "Bearer s3cret-token"
    assert "s3cret-token" not in json.dumps(result.model_dump(mode="json"))
