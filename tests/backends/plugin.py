"""Pytest fixtures that run real backends on 127.0.0.1: Prometheus, Alertmanager, PostgreSQL.

- ``world`` (session): the demo `World`, ending now floored to the minute (UTC). Instant
  queries must pass ``time=world.end`` (Prometheus only looks 5 minutes back).
- ``prometheus`` (session): Prometheus backfilled with ``world``; ``.url``, ``.world``, ``.server``.
- ``alertmanager`` (function): a fresh Alertmanager whose webhook is a `WebhookReceiver`
  (``.url``, ``.webhook``, ``.server``).
- ``postgres`` (session): a throwaway PostgreSQL cluster (`RunningPostgres`: ``.url``, ``.dsn``,
  ``.create_database(name)``); ``postgres_url`` (function): a fresh, empty database's URL.

A missing binary skips the test with the reason, except when ``CI=true``: then it fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiops_mcp.demo.backends import (
    RunningAlertmanager,
    RunningPostgres,
    RunningPrometheus,
    WebhookReceiver,
    find_binary,
    start_alertmanager,
    start_postgres,
    start_prometheus,
)
from aiops_mcp.demo.world import World, build_world


@dataclass(frozen=True)
class PrometheusBackend:
    """The session's Prometheus and the world it holds."""

    world: World
    server: RunningPrometheus

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``)."""
        return self.server.url


@dataclass(frozen=True)
class AlertmanagerBackend:
    """An Alertmanager and the loopback webhook it delivers to."""

    server: RunningAlertmanager
    webhook: WebhookReceiver

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``)."""
        return self.server.url


def require_binaries(what: str, *groups: tuple[str, ...]) -> None:
    """Skip (or fail when ``CI=true``) unless each group has one binary that exists."""
    missing = [" or ".join(group) for group in groups if not any(find_binary(name) for name in group)]
    if missing:
        reason = f"{what} needs {', '.join(missing)}, not found (see scripts/install-system-packages)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def world() -> World:
    """The demo world, ending now (UTC, floored to the minute)."""
    return build_world(datetime.now(UTC).replace(second=0, microsecond=0))


@pytest.fixture(scope="session")
def prometheus(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusBackend]:
    """A Prometheus on loopback holding ``world``'s history, for the whole session."""
    require_binaries("Prometheus", ("prometheus",), ("promtool",))
    server = start_prometheus(world, tmp_path_factory.mktemp("prometheus"))
    try:
        yield PrometheusBackend(world, server)
    finally:
        server.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerBackend]:
    """A fresh Alertmanager on loopback that delivers every alert at once to a webhook receiver."""
    require_binaries("Alertmanager", ("prometheus-alertmanager", "alertmanager"))
    with WebhookReceiver() as webhook:
        server = start_alertmanager(tmp_path / "alertmanager", webhook.url)
        try:
            yield AlertmanagerBackend(server, webhook)
        finally:
            server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[RunningPostgres]:
    """A throwaway PostgreSQL cluster on loopback for the whole session."""
    require_binaries("PostgreSQL", ("initdb",), ("pg_ctl",), ("createdb",))
    # Not tmp_path: as root the server runs as 'postgres', which cannot enter pytest's 0700 dirs.
    data_dir = tempfile.mkdtemp(prefix="aiops-pg-")
    try:
        server = start_postgres(data_dir)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: RunningPostgres) -> str:
    """The SQLAlchemy (asyncpg) URL of a new, empty database."""
    return postgres.create_database(f"test_{uuid.uuid4().hex[:16]}")
