"""Webhook deliveries in a burst while PostgreSQL is stopped and started again lose no alert.

A dedicated PostgreSQL cluster (the suite's shared one must stay up for other tests) backs the
served app. Senders behave like Alertmanager: they retry a delivery on 5xx and on connection
errors, with backoff, until it is accepted. The burst mixes first deliveries, re-deliveries and
resolutions; at the end every alert is stored exactly once, and each resolved one is resolved.
"""

import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from aiops_mcp.demo.backends import RunningPostgres, free_port, start_alertmanager, start_postgres
from aiops_mcp.settings import Settings
from tests.backends.plugin import require_binaries
from tests.server.test_webhook import AUTH, T0, TOKEN, alert, payload
from tests.serving import serving

pytestmark = pytest.mark.anyio
GROUPS, PER_GROUP = 50, 20
HANG_GUARD = 240.0
"""Far above the time a burst, an outage and the retries take: reaching it means a hang."""


@pytest.fixture
def own_postgres() -> Iterator[RunningPostgres]:
    """A PostgreSQL of its own on a fixed port, so that a restart keeps its address."""
    require_binaries("PostgreSQL", ("initdb",), ("pg_ctl",), ("createdb",))
    data_dir = tempfile.mkdtemp(prefix="aiops-pg-restart-")
    try:
        server = start_postgres(data_dir, port=free_port())
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def deliveries() -> tuple[list[dict[str, Any]], set[tuple[str, str]], set[str]]:
    """The burst (shuffled), every alert's (fingerprint, startsAt), and the fingerprints resolved."""
    groups = [
        [
            alert(f"g{g:02d}a{a:02d}", T0 + timedelta(minutes=g), instance=f"host-{a}")
            for a in range(PER_GROUP)
        ]
        for g in range(GROUPS)
    ]
    bodies = [payload(*group) for group in groups]
    rng = random.Random(11)
    bodies += [payload(*groups[g]) for g in rng.sample(range(GROUPS), 10)]  # re-deliveries
    resolved_groups = rng.sample(range(GROUPS), 10)
    for g in resolved_groups:
        ended = T0 + timedelta(minutes=g, seconds=90)
        ends = [alert(a["fingerprint"], T0 + timedelta(minutes=g), ends=ended) for a in groups[g]]
        bodies.append(payload(*ends, status="resolved"))
    rng.shuffle(bodies)
    keys = {(a["fingerprint"], a["startsAt"]) for group in groups for a in group}
    resolved = {a["fingerprint"] for g in resolved_groups for a in groups[g]}
    return bodies, keys, resolved


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_burst_through_a_postgres_restart_stores_every_alert_exactly_once(
    own_postgres: RunningPostgres, tmp_path: Path, mode: str
) -> None:
    url = own_postgres.create_database("alerts_restart")
    settings = Settings(database_url=url, aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token=TOKEN)
    bodies, keys, resolved = deliveries()
    statuses: Counter[str] = Counter()
    accepted = 0
    outage_over = anyio.Event()

    async def deliver(http: httpx.AsyncClient, body: dict[str, Any], limit: anyio.CapacityLimiter) -> None:
        """Post until accepted, as Alertmanager does: 5xx and connection errors are retried."""
        nonlocal accepted
        delay = 0.05
        async with limit:
            while True:
                try:
                    answer = await http.post("/alertmanager/webhook", json=body, headers=AUTH)
                except httpx.TransportError as exc:
                    statuses[type(exc).__name__] += 1
                else:
                    statuses[str(answer.status_code)] += 1
                    if answer.status_code == 200:
                        accepted += 1
                        return
                    assert answer.status_code >= 500, answer.text  # a 4xx would drop the alerts
                await anyio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 1.0)

    async def outage() -> None:
        """Stop PostgreSQL once the burst is under way, cutting its sessions, then start it again.

        Fast mode shuts down cleanly; immediate mode is a crash (recovery runs at the restart).
        """
        while accepted < 5:  # noqa: ASYNC110
            await anyio.sleep(0.01)
        await anyio.to_thread.run_sync(own_postgres.stop, mode)
        await anyio.sleep(1.0)
        await anyio.to_thread.run_sync(own_postgres.start)
        outage_over.set()

    async with serving(settings) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        with anyio.fail_after(HANG_GUARD):
            await deliver(http, bodies[0], anyio.CapacityLimiter(1))  # the store is opened and migrated
            limit = anyio.CapacityLimiter(8)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(outage)
                for body in bodies[1:]:
                    tasks.start_soon(deliver, http, body, limit)
            await outage_over.wait()

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT fingerprint, starts_at, status, ends_at FROM alerts"))
            ).all()
    finally:
        await engine.dispose()
    stored = Counter((fp, starts.isoformat()) for fp, starts, _, _ in rows)
    assert accepted == len(bodies)
    assert statuses["500"] == 0, statuses
    assert set(stored) == keys and set(stored.values()) == {1}, "every alert once, none lost"
    assert {fp for fp, _, status, ends in rows if status == "resolved" and ends is not None} == resolved
    assert sum(statuses.values()) > len(bodies), f"the outage was seen by some deliveries: {statuses}"


async def test_a_real_alertmanager_redelivers_through_a_postgres_restart(
    own_postgres: RunningPostgres, tmp_path: Path
) -> None:
    require_binaries("Alertmanager", ("prometheus-alertmanager", "alertmanager"))
    url = own_postgres.create_database("alerts_alertmanager")
    settings = Settings(database_url=url, aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token=TOKEN)
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    posted = [
        {
            "labels": {"alertname": f"Check{g}", "app": "abc-app", "instance": f"host-{a}"},
            "annotations": {"summary": f"check {g} failing on host-{a}"},
            "startsAt": starts.isoformat(),
            "endsAt": (starts + timedelta(hours=2)).isoformat(),
        }
        for g in range(4)
        for a in range(10)
    ]
    async with serving(settings) as base:
        webhook = f"{base}/alertmanager/webhook"
        server = await anyio.to_thread.run_sync(
            lambda: start_alertmanager(tmp_path / "alertmanager", webhook, token=TOKEN)
        )
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as am:
                await anyio.to_thread.run_sync(own_postgres.stop, "fast")
                assert (await am.post("/api/v2/alerts", json=posted[:20])).status_code == 200
                await anyio.sleep(2)  # Alertmanager meets 503s meanwhile, and keeps retrying
                await anyio.to_thread.run_sync(own_postgres.start)
                await stored_alerts(url, lambda rows: len(rows) == 20)
                ended = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
                resolutions = [{**p, "endsAt": ended.isoformat()} for p in posted[:10]]
                await anyio.to_thread.run_sync(own_postgres.stop, "immediate")
                assert (await am.post("/api/v2/alerts", json=resolutions + posted[20:])).status_code == 200
                await anyio.sleep(2)
                await anyio.to_thread.run_sync(own_postgres.start)
                rows = await stored_alerts(
                    url, lambda rows: len(rows) == 40 and sum(r[2] == "resolved" for r in rows) == 10
                )
        finally:
            await anyio.to_thread.run_sync(server.stop)
    keys = Counter((name, instance) for name, instance, _ in rows)
    assert set(keys.values()) == {1}
    assert {(name, instance) for name, instance, status in rows if status == "resolved"} == {
        ("Check0", f"host-{a}") for a in range(10)
    }


async def stored_alerts(url: str, done: Callable[[list[Any]], bool]) -> list[Any]:
    """(alertname, instance, status) of every stored alert once ``done(rows)`` holds."""
    engine = create_async_engine(url)
    query = text("SELECT alertname, instance, status FROM alerts")
    try:
        with anyio.fail_after(HANG_GUARD):
            while True:
                try:
                    async with engine.connect() as connection:
                        rows = list((await connection.execute(query)).all())
                except (OSError, SQLAlchemyError):
                    rows = []  # the database is still starting
                if done(rows):
                    return rows
                await anyio.sleep(0.2)
    finally:
        await engine.dispose()
