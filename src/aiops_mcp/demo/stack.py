"""The demo stack on loopback: a Prometheus holding the generated world, an Alertmanager that
delivers to our webhook, and a store seeded with the matching profiles, alerts and chat.

`demo_stack(data_dir)` starts the backends (from the system's packages) and yields the settings
a server needs to use them; everything it started stops when the block ends. The store is the
demo's own SQLite file in `data_dir` (never the user's DATABASE_URL: seeding writes to it) unless
a `database_url` is given. Loki joins when ``LOKI_URL`` is set (docker-compose brings one): the
world's generated log history is pushed into it (`aiops_mcp.demo.loki`); otherwise logs are simply
not configured.
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
from aiops_mcp.demo.logs import build_logs
from aiops_mcp.demo.loki import PushSummary, push_logs
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
    logs: PushSummary | None = None
    """What was pushed to Loki (None without LOKI_URL)."""


@contextmanager
def demo_stack(
    data_dir: Path, settings: Settings, mcp_port: int, *, database_url: str | None = None
) -> Iterator[DemoStack]:
    """Start Prometheus with the world ending now, Alertmanager delivering to the webhook of the
    server that will listen on `mcp_port`, seed the store (`data_dir`'s own, or `database_url`), and
    push the world's logs to the Loki of `settings`, if any. Synchronous: call it outside an event
    loop (it runs the seeding and the push in one of its own)."""
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
                "database_url": database_url or f"sqlite+aiosqlite:///{data_dir / 'demo.db'}",
                "data_dir": data_dir,
                "alertmanager_webhook_token": SecretStr(token),
            }
        )
        seeded = anyio.run(_seed, demo_settings, world)
        logs = anyio.run(_push_logs, demo_settings, world) if demo_settings.loki_url else None
        yield DemoStack(world, prometheus, alertmanager, demo_settings, seeded, logs)
    finally:
        if alertmanager is not None:
            alertmanager.stop()
        prometheus.stop()


async def _seed(settings: Settings, world: World) -> SeedSummary:
    from aiops_mcp.store import open_store

    async with await open_store(settings.database_url, settings.data_dir) as store:
        return await seed_demo(store, world.end)


async def _push_logs(settings: Settings, world: World) -> PushSummary:
    (loki,) = [d for d in settings.env_datasources() if d.type == "loki"]
    window = (world.start.timestamp(), world.end.timestamp())
    return await push_logs(loki, build_logs(world), window)
