"""McpHost against the real server: in process, over stdio (a subprocess) and streamable HTTP."""

import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from starlette.types import ASGIApp, Receive, Scope, Send

from aiops_mcp.client_demo.host import HostDisconnected, McpHost
from aiops_mcp.server.http import build_http_app
from aiops_mcp.settings import Settings
from tests.client_demo.hosting import hosted
from tests.client_demo.servers import HttpServer
from tests.serving import serving
from tests.tools.conftest import seeded_settings

pytestmark = pytest.mark.anyio
ANSWER_TOOLS = {"app_health", "app_events", "incident_impact", "investigation_context", "translate_query"}
# A stdio server that exits in the middle of a call: the connection is lost, not a tool error.
DYING_SERVER = """\
import os
from mcp.server.mcpserver import MCPServer

server = MCPServer("dying")

@server.tool()
async def echo(text: str) -> str:
    '''Echo the text.'''
    return text

@server.tool()
async def die() -> str:
    '''Exit the process.'''
    os._exit(3)

server.run("stdio")
"""


async def test_discovers_tools_resources_and_prompts() -> None:
    async with hosted(Settings()) as host:
        tools = {t.name for t in host.tools}
        templates = {t.uri_template for t in host.resource_templates}
        prompts = {p.name for p in host.prompts}
        assert host.server_name == "aiops-mcp"
        assert host.instructions and "app_health" in host.instructions
    assert ANSWER_TOOLS | {"prometheus_query", "loki_query_logs"} <= tools
    assert {
        "aiops://apps{?cursor}",
        "aiops://alerts/{alert_id}",
        "aiops://chats/{session_id}{?cursor}",
    } <= templates
    assert {"investigate_alert", "app_health_report"} <= prompts


async def test_tool_specs_are_openai_functions_from_the_tool_definitions() -> None:
    async with hosted(Settings()) as host:
        specs = {s["function"]["name"]: s for s in host.tool_specs_for_llm()}
        health = next(t for t in host.tools if t.name == "app_health")
    assert set(specs) == {t.name for t in host.tools}
    spec = specs["app_health"]
    assert spec["type"] == "function"
    assert spec["function"]["description"] == health.description
    assert spec["function"]["parameters"] == health.input_schema
    assert "app" in spec["function"]["parameters"]["properties"]


async def test_call_tool_returns_the_structured_result(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with hosted(settings, now=world.end) as host:
        result = await host.call_tool("app_health", {"app": "abc-app"}, call_id="c1")
    assert (result.call_id, result.name, result.arguments) == ("c1", "app_health", {"app": "abc-app"})
    assert not result.is_error and result.structured is not None
    assert result.structured["app"] == "abc-app" and result.structured["verdict"] in {"degraded", "unhealthy"}
    assert "SLO availability" in result.text
    up = result.structured["queries"]["up"]["query"]
    assert result.queries[0] == up and up.startswith("up{")
    assert result.seconds >= 0


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("prometheus_query", {"query": "up{"}, "invalid PromQL"),
        ("no_such_tool", {}, "Unknown tool"),
        ("app_health", {}, "app"),
    ],
)
async def test_a_tool_error_comes_back_as_is_error(
    name: str, arguments: dict[str, Any], message: str
) -> None:
    async with hosted(Settings()) as host:
        result = await host.call_tool(name, arguments)
    assert result.is_error and result.structured is None
    assert message in result.text
    assert result.queries == []


async def test_reads_resources_and_prompts(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with hosted(settings, now=world.end) as host:
        apps = await host.read_resource("aiops://apps")
        messages = await host.get_prompt("investigate_alert", {"alert_id": "1"})
        with pytest.raises(MCPError):
            await host.read_resource("aiops://apps/no-such-app")
    assert '"name":"abc-app"' in apps.replace(" ", "")
    assert messages[0]["role"] == "user" and "Alert #1" in messages[0]["content"]


async def test_stdio_host_spawns_the_server_and_calls_it(prometheus) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "aiops_mcp", "serve"],
        env={"PROMETHEUS_URL": prometheus.url, "AIOPS_MCP_LOG_LEVEL": "WARNING"},
    )
    async with McpHost.open(params) as host:
        assert {t.name for t in host.tools} >= ANSWER_TOOLS
        result = await host.call_tool(
            "prometheus_query", {"query": "up", "time": prometheus.world.end.isoformat()}
        )
    assert not result.is_error
    assert result.structured is not None
    assert result.structured["series_total"] == len(prometheus.world.select("up"))


async def test_a_lost_stdio_connection_raises_host_disconnected(tmp_path: Path) -> None:
    script = tmp_path / "dying.py"
    script.write_text(DYING_SERVER)
    async with McpHost.open(StdioServerParameters(command=sys.executable, args=[str(script)])) as host:
        assert (await host.call_tool("echo", {"text": "hi"})).text == "hi"
        with pytest.raises(HostDisconnected, match=r"lost the connection to MCP server at .*dying\.py"):
            await host.call_tool("die", {})
        with pytest.raises(HostDisconnected):
            await host.call_tool("echo", {"text": "again"})


async def test_a_connection_lost_inside_the_block_comes_out_as_host_disconnected(tmp_path: Path) -> None:
    """Not as the SDK's task groups wrap it (an ExceptionGroup), over stdio and over HTTP, where the
    transport's own task fails and cancels the block."""
    script = tmp_path / "dying.py"
    script.write_text(DYING_SERVER)
    with pytest.raises(HostDisconnected, match=r"lost the connection to MCP server at .*dying\.py"):
        async with McpHost.open(StdioServerParameters(command=sys.executable, args=[str(script)])) as host:
            await host.call_tool("die", {})
    server = HttpServer(tmp_path)
    server.start()
    try:
        lost = rf"lost the connection to MCP server at {server.target}: All connection attempts failed"
        with pytest.raises(HostDisconnected, match=lost):
            async with McpHost.open(server.target) as host:
                assert (await host.call_tool("no_such_tool", {})).is_error  # a tool error: it goes on
                server.kill()
                await host.call_tool("no_such_tool", {})
    finally:
        server.kill()


async def test_an_unreachable_server_raises_host_disconnected(tmp_path: Path) -> None:
    with pytest.raises(HostDisconnected, match="cannot connect to MCP server at /nonexistent/aiops-mcp"):
        async with McpHost.open(StdioServerParameters(command="/nonexistent/aiops-mcp")):
            pass
    with pytest.raises(HostDisconnected, match=r"cannot connect to MCP server at http://127\.0\.0\.1:9/mcp"):
        async with McpHost.open("http://127.0.0.1:9/mcp", token="secret"):
            pass


async def test_http_host_sends_the_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    def recording(settings: Settings) -> ASGIApp:
        app = build_http_app(settings)

        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/mcp"):
                headers = dict(scope["headers"])
                seen.append(headers.get(b"authorization", b"").decode() or None)
            await app(scope, receive, send)

        return record

    monkeypatch.setattr("tests.serving.build_http_app", recording)
    async with serving(Settings()) as base, McpHost.open(f"{base}/mcp", token="s3cret") as host:
        assert "app_health" in {t.name for t in host.tools}
        result = await host.call_tool("translate_query", {"question": "cpu usage of node-1"})
    assert result.name == "translate_query"
    assert seen and set(seen) == {"Bearer s3cret"}
