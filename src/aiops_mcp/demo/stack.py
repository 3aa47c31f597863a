"""The demo stack on loopback: a Prometheus holding the generated world, an Alertmanager that
delivers to our webhook, and a store seeded with the matching profiles, alerts and chat.

`demo_stack(data_dir)` starts the backends (from the system's packages) and yields the settings
a server needs to use them; everything it started stops when the block ends. Loki joins when
``LOKI_URL`` is set (docker-compose brings one); otherwise logs are simply not configured.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
from pydantic import SecretStr

from aiops_mcp.demo.backends import (
    RunningAlertmanager,
    RunningPrometheus,
    start_alertmanager,
    start_prometheus,
)
from aiops_mcp.demo.seed import SeedSummary, seed_demo
from aiops_mcp.demo.world import World, build_world
from aiops_mcp.settings import Settings


@dataclass
class DemoStack:
    """What the demo started, and the settings that point a server at it."""

    world: World
    prometheus: RunningPrometheus
    alertmanager: RunningAlertmanager | None
    settings: Settings
    seeded: SeedSummary


@contextmanager
def demo_stack(data_dir: Path, settings: Settings, mcp_port: int) -> Iterator[DemoStack]:
    """Start Prometheus with the world ending now, Alertmanager delivering to the webhook of the
    server that will listen on `mcp_port`, and seed the store in `data_dir`. Synchronous: call it
    outside an event loop (it runs the seeding in one of its own)."""
    world = build_world(datetime.now(UTC).replace(second=0, microsecond=0))
    token = secrets.token_urlsafe(24)
    prometheus = start_prometheus(world, data_dir / "prometheus")
    alertmanager = None
    try:
        webhook = f"http://127.0.0.1:{mcp_port}/alertmanager/webhook"
        alertmanager = start_alertmanager(data_dir / "alertmanager", webhook, token=token)
        demo_settings = settings.model_copy(
            update={
                "prometheus_url": prometheus.url,
                "database_url": settings.database_url or f"sqlite+aiosqlite:///{data_dir / 'demo.db'}",
                "data_dir": data_dir,
                "alertmanager_webhook_token": SecretStr(token),
            }
        )
        seeded = anyio.run(_seed, demo_settings, world)
        yield DemoStack(world, prometheus, alertmanager, demo_settings, seeded)
    finally:
        if alertmanager is not None:
            alertmanager.stop()
        prometheus.stop()


async def _seed(settings: Settings, world: World) -> SeedSummary:
    from aiops_mcp.store import open_store

    async with await open_store(settings.database_url, settings.data_dir) as store:
        return await seed_demo(store, world.end)
