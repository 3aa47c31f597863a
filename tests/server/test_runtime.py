"""The runtime opens the store only when needed, and stored datasources serve tools by name."""

import pytest

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.demo.backends import free_port
from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store
from tests.tools.conftest import call, call_error, connected

pytestmark = pytest.mark.anyio


async def test_a_stored_datasource_serves_tools_by_name(prometheus, tmp_path) -> None:
    async with await open_store(None, tmp_path) as store:
        staging = DatasourceConfig(name="staging", type="prometheus", url=prometheus.url)
        await store.datasources.save(staging, is_default=False, is_enabled=True)
    settings = Settings(aiops_mcp_data_dir=tmp_path)
    async with connected(settings) as (client, _):
        result = await call(
            client,
            "prometheus_query",
            query="count(up)",
            time=prometheus.world.end.isoformat(),
            datasource="staging",
        )
    assert result["provenance"]["datasource"] == "staging"
    assert result["series"][0]["points"][0][1] == len(prometheus.world.select("up"))


async def test_tools_keep_working_when_the_database_is_unreachable(prometheus, tmp_path) -> None:
    dead = f"postgresql+asyncpg://nobody:pw@127.0.0.1:{free_port()}/nothing"
    settings = Settings(prometheus_url=prometheus.url, database_url=dead, aiops_mcp_data_dir=tmp_path)
    async with connected(settings) as (client, runtime):
        ok = await call(client, "prometheus_query", query="up", time=prometheus.world.end.isoformat())
        unknown = await call_error(client, "prometheus_query", query="up", datasource="staging")
    assert ok["series_total"] == len(prometheus.world.select("up"))
    assert "no prometheus datasource named 'staging'" in unknown
    assert runtime._store is None
