"""Faults between the MCP server and a real Prometheus, injected by a loopback proxy.

Each fault must end as a stale-flagged answer (for a query answered before) or as a clear tool
error (for one that was not), within the datasource timeout: never a hang, never a crash. Once
the fault clears, the next call is answered fresh.
"""

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult

from aiops_mcp.runtime import Runtime
from aiops_mcp.settings import Settings
from tests.faults.proxy import Fault, FaultProxy
from tests.tools.conftest import connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
TIMEOUT = 2.0
HANG_GUARD = 60.0
"""Far above any bound: reaching it means something hangs (a correctness check, not a speed one)."""

# The fault, and a word the tool error for an uncached query must contain.
FAULTS: dict[str, tuple[Fault, str]] = {
    "slow-past-timeout": (Fault.delay(TIMEOUT * 3), f"within {TIMEOUT:g}s"),
    "reset-after-headers": (Fault.reset_after_headers(), "failed"),
    "reset-mid-body": (Fault.reset_mid_body(), "failed"),
    "corrupt-body": (Fault.corrupt(), "expected JSON"),
    "truncated-json": (Fault.truncate(), "expected JSON"),
    "503": (Fault.answer(503), "answered HTTP 503 after 3 attempts: injected fault"),
    "500": (Fault.answer(500), "answered HTTP 500 after 3 attempts: injected fault"),
    "blackhole": (Fault.blackhole(), f"no answer from http://127.0.0.1:{{port}} within {TIMEOUT:g}s"),
    "drip": (Fault.drip(0.2), f"within {TIMEOUT:g}s"),
}


def settings(url: str) -> Settings:
    # A zero TTL: every call asks the backend, and earlier answers are kept only as stand-ins.
    return Settings(prometheus_url=url, prometheus_timeout_seconds=TIMEOUT, query_cache_ttl_seconds=0)


async def instant(client: Client, query: str, at: str) -> CallToolResult:
    return await client.call_tool("prometheus_query", {"query": query, "time": at})


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def breaker_of(runtime: Runtime) -> str:
    return runtime.datasources.breaker_states()["prometheus"].state


@pytest.mark.parametrize("name", list(FAULTS))
async def test_each_fault_is_a_stale_answer_or_a_clear_error_and_then_clears(prometheus, name: str) -> None:
    fault, expected = FAULTS[name]
    at = prometheus.world.end.isoformat()
    async with FaultProxy(prometheus.url) as proxy, connected(settings(proxy.url)) as (client, runtime):
        fresh = structured(await instant(client, "up", at))
        proxy.fault = fault
        with anyio.fail_after(HANG_GUARD):
            served = await instant(client, "up", at)
            failed = await instant(client, "count(up)", at)
        proxy.fault = Fault.none()
        again = structured(await instant(client, "count(up)", at))
        state = breaker_of(runtime)
    stale = structured(served)
    assert stale["series"] == fresh["series"]
    assert stale["provenance"]["stale_since"] is not None and fresh["provenance"]["stale_since"] is None
    assert any(
        line.startswith("STALE: served from cache fetched at ") for line in text_of(served).splitlines()
    )
    assert failed.is_error
    message = text_of(failed)
    assert "prometheus" in message and expected.format(port=proxy.port) in message
    assert again["series"][0]["points"][0][1] == len(prometheus.world.select("up"))
    assert again["provenance"]["stale_since"] is None and not again["warnings"]
    assert state == "closed"


async def test_a_slow_answer_within_the_timeout_is_fresh(prometheus) -> None:
    at = prometheus.world.end.isoformat()
    async with FaultProxy(prometheus.url) as proxy, connected(settings(proxy.url)) as (client, _):
        proxy.fault = Fault.delay(TIMEOUT / 4)
        with anyio.fail_after(HANG_GUARD):
            result = structured(await instant(client, "count(up)", at))
    assert result["series"][0]["points"][0][1] == len(prometheus.world.select("up"))
    assert result["provenance"]["stale_since"] is None


async def test_repeated_failures_open_the_circuit_and_a_probe_closes_it(prometheus) -> None:
    at = prometheus.world.end.isoformat()
    async with FaultProxy(prometheus.url) as proxy, connected(settings(proxy.url)) as (client, runtime):
        config = runtime.datasources.config("prometheus")
        runtime.datasources.add(config.model_copy(update={"breaker_cooldown_seconds": 1.0}))
        structured(await instant(client, "up", at))
        proxy.fault = Fault.answer(502)
        with anyio.fail_after(HANG_GUARD):
            failures = [await instant(client, f"count(up) + {n}", at) for n in range(config.breaker_failures)]
            asked = proxy.requests
            refused = await instant(client, "count(up) * 2", at)
            stale = structured(await instant(client, "up", at))
        assert proxy.requests == asked, "an open circuit does not touch the backend"
        assert breaker_of(runtime) == "open"
        proxy.fault = Fault.none()
        with anyio.fail_after(HANG_GUARD):
            while breaker_of(runtime) != "half_open":  # the cool-down is over  # noqa: ASYNC110
                await anyio.sleep(0.1)
            probe = structured(await instant(client, "count(up)", at))
        state = breaker_of(runtime)
    assert all(f.is_error and "HTTP 502" in text_of(f) for f in failures)
    assert refused.is_error
    assert "circuit open since" in text_of(refused) and "last error:" in text_of(refused)
    assert "circuit open since" in stale["warnings"][0]
    assert probe["series"][0]["points"][0][1] == len(prometheus.world.select("up"))
    assert state == "closed"


async def test_an_answer_tool_served_from_a_stale_cache_says_so(prometheus, tmp_path) -> None:
    world = prometheus.world
    async with FaultProxy(prometheus.url) as proxy:
        base = await seeded_settings(tmp_path, proxy.url, world.end)
        quick = base.model_copy(update={"prometheus_timeout_seconds": TIMEOUT, "query_cache_ttl_seconds": 0})
        async with connected(quick, now=world.end) as (client, _):
            fresh = await client.call_tool("app_health", {"app": "abc-app", "time_range": "yesterday"})
            proxy.fault = Fault.answer(503)
            with anyio.fail_after(HANG_GUARD):
                served = await client.call_tool("app_health", {"app": "abc-app", "time_range": "yesterday"})
    assert structured(fresh).get("stale_since") is None and "STALE:" not in text_of(fresh)
    result = structured(served)
    assert result["verdict"] == structured(fresh)["verdict"]
    assert result["stale_since"] is not None
    assert "STALE: served from cache fetched at" in text_of(served)
    assert "datasource prometheus is unavailable" in text_of(served)
