"""The server as hosts meet it: over stdio (a subprocess) and streamable HTTP (a real uvicorn)."""

import json
import subprocess
import sys

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from aiops_mcp.demo.backends import free_port
from aiops_mcp.server.app import build_server
from aiops_mcp.settings import Settings
from tests.serving import serving

pytestmark = pytest.mark.anyio
# Hosts put each tool's name, description and input schema in the model's context; the output
# schema is for validating structured results, so it has its own, larger budget.
MODEL_FACING_BUDGET_BYTES = 12_000
TOOLS_LIST_BUDGET_BYTES = 48_000


async def test_tool_definitions_stay_within_their_budget() -> None:
    async with Client(build_server(Settings())) as client:
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    size = len(json.dumps(dumped))
    model_facing = len(
        json.dumps([{k: t[k] for k in ("name", "description", "inputSchema")} for t in dumped])
    )
    assert size < TOOLS_LIST_BUDGET_BYTES, f"tools/list is {size} bytes"
    assert model_facing < MODEL_FACING_BUDGET_BYTES, f"names, descriptions, inputs: {model_facing} bytes"
    assert all(t.annotations and t.annotations.read_only_hint for t in tools)
    assert all(t.output_schema for t in tools)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_http_serves_handshake_and_stateless_clients(prometheus, mode: str) -> None:
    settings = Settings(prometheus_url=prometheus.url)
    async with serving(settings) as base, Client(f"{base}/mcp", mode=mode) as client:
        result = await client.call_tool(
            "prometheus_query", {"query": "count(up)", "time": prometheus.world.end.isoformat()}
        )
        assert not result.is_error, result.content
        assert result.structured_content["series"][0]["points"][0][1] == len(prometheus.world.select("up"))


async def test_health_and_metrics_endpoints_report_queries(prometheus) -> None:
    settings = Settings(prometheus_url=prometheus.url)
    async with serving(settings) as base:
        async with Client(f"{base}/mcp") as client:
            await client.call_tool(
                "prometheus_query", {"query": "up", "time": prometheus.world.end.isoformat()}
            )
            failed = await client.call_tool("prometheus_query", {"query": "up{"})
            assert failed.is_error
        async with httpx.AsyncClient(base_url=base) as http:
            health = (await http.get("/healthz")).json()
            metrics = (await http.get("/metrics")).text
    assert health["status"] == "ok"
    assert [(s["name"], s["type"], s["circuit"]["state"]) for s in health["datasources"]] == [
        ("prometheus", "prometheus", "closed")
    ]
    assert 'aiops_grafana_queries_total{datasource_type="prometheus",status="ok"} 1.0' in metrics
    assert 'aiops_tool_calls_total{status="ok",tool="prometheus_query"} 1.0' in metrics
    assert 'aiops_tool_calls_total{status="error",tool="prometheus_query"} 1.0' in metrics
    assert "aiops_query_translations_total" in metrics
    assert "aiops_context_build_duration_seconds" in metrics


async def test_http_refuses_a_foreign_host_header() -> None:
    async with serving(Settings()) as base, httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/mcp", headers={"Host": "evil.example:80", "Content-Type": "application/json"}, content="{}"
        )
    assert response.status_code == 421


async def test_stdio_server_answers_a_host(prometheus) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "aiops_mcp", "serve"],
        env={"PROMETHEUS_URL": prometheus.url, "AIOPS_MCP_LOG_LEVEL": "WARNING"},
    )
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "prometheus_query_range" in names
        result = await client.call_tool(
            "prometheus_query", {"query": "up", "time": prometheus.world.end.isoformat()}
        )
    assert not result.is_error
    assert result.structured_content["series_total"] == len(prometheus.world.select("up"))


@pytest.mark.parametrize(
    ("modules", "absent"),
    [
        ("aiops_mcp.cli, aiops_mcp.server.app", ("litellm", "sqlalchemy", "openai")),  # stdio
        ("aiops_mcp.cli, aiops_mcp.server.app, aiops_mcp.server.http", ("litellm", "openai")),
    ],
)
def test_start_up_imports_nothing_heavy(modules: str, absent: tuple[str, ...]) -> None:
    code = (
        f"import sys, {modules};"
        "from aiops_mcp.server.app import build_server; from aiops_mcp.settings import Settings;"
        "build_server(Settings());"
        f"print(sorted(m for m in {absent!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


async def test_health_says_degraded_while_a_datasource_circuit_is_open() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings(prometheus_url=dead, datasource_breaker_failures=2)
    async with serving(settings) as base:
        async with Client(f"{base}/mcp") as client:
            for _ in range(2):
                assert (await client.call_tool("prometheus_query", {"query": "up"})).is_error
            refused = await client.call_tool("prometheus_query", {"query": "up"})
        async with httpx.AsyncClient(base_url=base) as http:
            health = (await http.get("/healthz")).json()
    assert "circuit open since" in refused.content[0].text
    assert health["status"] == "degraded"
    (source,) = health["datasources"]
    assert source["circuit"]["state"] == "open" and source["circuit"]["failures"] >= 2
    assert "cannot connect" in source["circuit"]["last_error"]
