"""The fuzz campaign's backends: the session's real Prometheus and the Loki double holding the
world's logs (Grafana Loki cannot run here; the double answers in the shapes recorded from a real
Loki 3.4.2), each also behind a proxy that records the requests exactly as they were sent; the
HTTP app served over them; the SDK's crash log."""

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.backends.plugin import PrometheusBackend
from tests.doubles.loki import LokiDouble
from tests.fuzz.checks import TOKEN, Api, CrashLog, env_answers, unlimited
from tests.fuzz.recording import RecordingProxy
from tests.serving import serving
from tests.tools import conftest as tool_fixtures
from tests.tools.conftest import seeded_settings

lines, loki = tool_fixtures.lines, tool_fixtures.loki  # the tool tests' fixtures


@pytest.fixture
async def recorded_prometheus(prometheus: PrometheusBackend) -> AsyncIterator[RecordingProxy]:
    """The session's Prometheus behind a proxy that records every request it forwards."""
    async with RecordingProxy(prometheus.url) as proxy:
        yield proxy


@pytest.fixture
async def recorded_loki(loki: LokiDouble) -> AsyncIterator[RecordingProxy]:
    """The Loki double behind a proxy that records every request it forwards."""
    async with RecordingProxy(loki.url) as proxy:
        yield proxy


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    """An event loop in a thread, for synchronous property tests that drive async code: Hypothesis
    draws (`st.data()`) may stop a test with a BaseException, which must not reach the loop."""
    with start_blocking_portal("asyncio") as running:
        yield running


@pytest.fixture
def crash_log() -> Iterator[CrashLog]:
    handler = CrashLog()
    logger = logging.getLogger("mcp.server.mcpserver")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
async def api(prometheus: PrometheusBackend, loki: LokiDouble, tmp_path: Path) -> AsyncIterator[Api]:
    """The HTTP app (admin token set) on a seeded store, the real Prometheus and the Loki double."""
    world = prometheus.world
    seeded = await seeded_settings(
        tmp_path, prometheus.url, world.end, loki_url=loki.url, aiops_mcp_admin_token=TOKEN
    )
    async with (
        serving(unlimited(seeded)) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=90) as http,
    ):
        yield Api(http, await env_answers(http))
