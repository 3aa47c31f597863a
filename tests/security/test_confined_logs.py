"""Log queries for a confined token, and the log-volume limit, on the Loki double (Grafana Loki
cannot run here: the double answers in the shapes recorded from a real Loki 3.4.2).

Ground truth is the world's generated log history (`aiops_mcp.demo.logs`).
"""

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from aiops_mcp.demo.logs import NS, LogLine, count_levels
from aiops_mcp.settings import Settings
from tests.doubles.loki import LokiDouble
from tests.security.test_http_auth import secured, session, token
from tests.serving import serving
from tests.tools.conftest import call_error, connected

pytestmark = pytest.mark.anyio
CHECKOUT = {"service": "checkout", "namespace": "payments"}


async def test_a_payments_token_reads_only_payments_log_streams(
    tmp_path: Path, world, loki: LokiDouble, lines: list[LogLine]
) -> None:
    settings = secured(tmp_path, None, loki_url=loki.url)
    payments = await token(settings, "payments", "read", "label:namespace=payments")
    end = world.end
    start = end - timedelta(hours=6)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    async with serving(settings) as base, session(base, payments) as client:
        found = await client.call_tool(
            "loki_query_logs", {"query": '{env="prod"} |= "level=warn"', "limit": 1000, **window}
        )
        services = await client.call_tool("loki_list_labels", {"label": "service"})
        apps = await client.call_tool("loki_list_labels", {"label": "app"})
    assert not found.is_error, found.content
    result = found.structured_content
    assert result is not None
    expected = count_levels(
        lines, CHECKOUT, int(start.timestamp() * NS), int(end.timestamp() * NS), "level=warn"
    )
    assert result["provenance"]["query"] == '{env="prod", namespace="payments"} |= "level=warn"'
    assert result["total_matching"] == sum(expected.values()) > 0
    assert Counter({c["level"]: c["count"] for c in result["level_counts"]}) == expected
    assert len(result["lines"]) == sum(expected.values())
    assert all((line.get("labels") or result["common_labels"]).get("namespace") == "payments"
               for line in result["lines"])  # fmt: skip
    assert services.structured_content is not None and services.structured_content["names"] == ["checkout"]
    assert apps.structured_content is not None and apps.structured_content["names"] == []
    sent = [r for r in loki.requests if r.path.endswith("/query_range")]
    assert sent and all('namespace="payments"' in dict(r.params)["query"] for r in sent)


async def test_a_log_query_over_the_volume_limit_is_refused_before_it_runs(world, loki: LokiDouble) -> None:
    end = world.end
    settings = Settings(loki_url=loki.url, max_log_query_bytes=10_000)
    before = len([r for r in loki.requests if r.path.endswith("/query_range")])
    async with connected(settings) as (client, _):
        message = await call_error(
            client,
            "loki_query_logs",
            query='{env=~".+"}',
            start=(end - timedelta(hours=24)).isoformat(),
            end=end.isoformat(),
        )
    assert "this log query would read about" in message and "over the 10 KB limit" in message
    assert "narrow the stream selector or the time range" in message
    after = len([r for r in loki.requests if r.path.endswith("/query_range")])
    assert after == before, "nothing ran"


async def test_a_log_query_under_the_limit_runs(world, loki: LokiDouble, lines: list[LogLine]) -> None:
    end = world.end
    start = end - timedelta(minutes=10)
    settings = Settings(loki_url=loki.url, max_log_query_bytes=10_000_000)
    async with connected(settings) as (client, _):
        result = await client.call_tool(
            "loki_query_logs",
            {"query": '{service="checkout"}', "start": start.isoformat(), "end": end.isoformat()},
        )
    assert not result.is_error, result.content
    expected = count_levels(lines, CHECKOUT, int(start.timestamp() * NS), int(end.timestamp() * NS))
    assert result.structured_content is not None
    assert result.structured_content["total_matching"] == sum(expected.values())
