"""A planted secret never leaves: not in tool output, tool schemas, resources, REST answers, errors or logs.

The secret is planted everywhere a credential can be configured (environment bearer token and
header, a stored datasource's bearer token, basic password, header value and URL userinfo), then
every surface is exercised, including failures that quote the datasource.
"""

import json
import logging

import httpx
import pytest
from mcp import Client

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.demo.backends import free_port
from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store
from tests.serving import serving

pytestmark = pytest.mark.anyio
SECRET = "planted-7f3c9e-credential"


async def test_a_planted_secret_never_leaves(prometheus, tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dead = f"http://ops:{SECRET}@127.0.0.1:{free_port()}"
    async with await open_store(None, tmp_path) as store:
        vault = DatasourceConfig(
            name="vault", type="prometheus", url=dead, bearer_token=SECRET, basic_user="ops",
            basic_password=SECRET, headers={"X-Api-Key": SECRET}, timeout_seconds=2,
        )  # fmt: skip
        await store.datasources.save(vault)
    settings = Settings(
        prometheus_url=prometheus.url, prometheus_bearer_token=SECRET, prometheus_headers={"X-Key": SECRET},
        aiops_mcp_data_dir=tmp_path, aiops_mcp_admin_token="admin-token", alertmanager_webhook_token="hook",
    )  # fmt: skip
    at = prometheus.world.end.isoformat()
    seen: list[str] = []
    async with serving(settings) as base:
        async with Client(f"{base}/mcp") as client:
            seen.append(json.dumps([t.model_dump(mode="json") for t in (await client.list_tools()).tools]))
            for args in (
                {"query": "up", "time": at},
                {"query": "up", "datasource": "vault"},
                {"query": "up{"},
            ):
                seen.append((await client.call_tool("prometheus_query", args)).model_dump_json())
            for uri in ("aiops://datasources", "aiops://datasources?type=prometheus"):
                seen.append((await client.read_resource(uri)).model_dump_json())
        auth = {"Authorization": "Bearer admin-token"}
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60) as http:
            for path in ("/healthz", "/metrics", "/api/openapi.json", "/api/grafana/datasources"):
                seen.append((await http.get(path)).text)
            seen.append((await http.get("/api/grafana/datasources/vault")).text)
            failed = await http.post(
                "/api/grafana/query/prometheus", json={"query": "up", "datasource": "vault"}
            )
            seen.append(failed.text)
    assert failed.status_code in (502, 503), failed.text
    assert any("vault" in text and "127.0.0.1" in text for text in seen), "the failure was reported"
    seen += [record.getMessage() for record in caplog.records]
    leaks = [
        text[max(0, text.index(SECRET) - 200) : text.index(SECRET) + 60] for text in seen if SECRET in text
    ]
    assert not leaks, leaks
    database = (tmp_path / "aiops-mcp.db").read_bytes()
    assert SECRET.encode() not in database, "stored credentials are encrypted at rest"


def around(text: str, needle: str, width: int = 200) -> str:
    at = text.index(needle)
    return text[max(0, at - width) : at + width]
