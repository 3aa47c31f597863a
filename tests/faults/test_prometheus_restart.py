"""A real Prometheus stopped mid-session and started again on the same port and data.

A dedicated Prometheus (not the session's shared one) holds a small generated world. While it is
down, a query answered before comes back stale-flagged, others fail clearly and, once the
circuit opens, at once; after the restart the answers are fresh again.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from aiops_mcp.demo.backends import RunningPrometheus, free_port, start_prometheus
from aiops_mcp.demo.world import World, build_world
from aiops_mcp.settings import Settings
from tests.backends.plugin import require_binaries
from tests.faults.test_prometheus_faults import breaker_of, instant, structured
from tests.tools.conftest import connected, text_of

pytestmark = pytest.mark.anyio
HANG_GUARD = 120.0
"""Far above any bound (a restart included): reaching it means something hangs."""


@dataclass(frozen=True)
class OwnPrometheus:
    world: World
    server: RunningPrometheus


@pytest.fixture
def own_prometheus(tmp_path: Path) -> Iterator[OwnPrometheus]:
    """Two days at one sample a minute, on a port of its own that a restart keeps."""
    require_binaries("Prometheus", ("prometheus",), ("promtool",))
    world = build_world(datetime.now(UTC).replace(second=0, microsecond=0), hours=48, interval=60)
    server = start_prometheus(world, tmp_path / "prometheus", port=free_port())
    try:
        yield OwnPrometheus(world, server)
    finally:
        server.stop()


async def test_an_outage_answers_stale_then_fails_fast_and_a_restart_answers_fresh(
    own_prometheus: OwnPrometheus,
) -> None:
    world, server = own_prometheus.world, own_prometheus.server
    at = world.end.isoformat()
    instances = len(world.select("up"))
    settings = Settings(prometheus_url=server.url, prometheus_timeout_seconds=5, query_cache_ttl_seconds=0)
    async with connected(settings) as (client, runtime):
        config = runtime.datasources.config("prometheus")
        runtime.datasources.add(config.model_copy(update={"breaker_cooldown_seconds": 2.0}))
        before = structured(await instant(client, "count(up)", at))

        await anyio.to_thread.run_sync(server.stop)
        with anyio.fail_after(HANG_GUARD):
            during = await instant(client, "count(up)", at)  # the first failure
            uncached = [await instant(client, f"count(up) + {n}", at) for n in range(config.breaker_failures)]
            during_open = structured(await instant(client, "count(up)", at))
        state_while_down = breaker_of(runtime)

        await anyio.to_thread.run_sync(server.start)
        with anyio.fail_after(HANG_GUARD):
            while breaker_of(runtime) != "half_open":  # the cool-down is over  # noqa: ASYNC110
                await anyio.sleep(0.1)
            after = structured(await instant(client, "count(up)", at))
        state_after = breaker_of(runtime)

    assert before["series"][0]["points"][0][1] == instances
    stale = structured(during)
    assert stale["series"] == before["series"]
    assert stale["provenance"]["stale_since"] is not None
    assert "cannot connect" in stale["warnings"][0] and "STALE:" in text_of(during)
    refused, opened = uncached[:-1], uncached[-1]
    assert all(r.is_error and "cannot connect" in text_of(r) for r in refused)
    assert opened.is_error and "circuit open since" in text_of(opened)
    assert "circuit open since" in during_open["warnings"][0]
    assert state_while_down == "open"
    assert after["series"][0]["points"][0][1] == instances
    assert after["provenance"]["stale_since"] is None and not after["warnings"]
    assert state_after == "closed"
