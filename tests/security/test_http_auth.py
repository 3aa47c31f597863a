"""Bearer tokens on streamable HTTP, end to end: a real uvicorn, a real MCP client, a real Prometheus.

Tokens are created in the store the server reads, as `aiops-mcp token create` does.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from sqlalchemy import text

from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store
from tests.serving import serving

pytestmark = pytest.mark.anyio


def secured(tmp_path: Path, prometheus_url: str | None, **more: Any) -> Settings:
    return Settings(
        prometheus_url=prometheus_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        aiops_mcp_data_dir=tmp_path,
        aiops_mcp_auth="on",
        **more,
    )


async def token(settings: Settings, name: str, *scopes: str) -> str:
    async with await open_store(settings.database_url, settings.data_dir) as store:
        _, plaintext = await store.tokens.create(name, list(scopes))
    return plaintext


@asynccontextmanager
async def session(base: str, bearer: str, mode: str = "auto") -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
    async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client:
        yield client


async def query(client: Client, expr: str, at: str) -> dict[str, Any]:
    result = await client.call_tool("prometheus_query", {"query": expr, "time": at})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def labels(result: dict[str, Any]) -> list[dict[str, str]]:
    return [series["labels"] for series in result["series"]]


async def test_mcp_refuses_requests_without_a_valid_token_with_the_read_scope(tmp_path: Path) -> None:
    settings = secured(tmp_path, None)
    admin_only = await token(settings, "webhook-sender", "admin")
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Accept": "application/json, text/event-stream"}
        missing = await http.post("/mcp", json=body, headers=headers)
        wrong = await http.post("/mcp", json=body, headers={**headers, "Authorization": "Bearer amcp_nope"})
        no_read = await http.post(
            "/mcp", json=body, headers={**headers, "Authorization": f"Bearer {admin_only}"}
        )
        health = await http.get("/healthz")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert no_read.status_code == 403 and "insufficient_scope" in no_read.text
    assert health.status_code == 200, "liveness carries no data and stays open"


async def test_a_label_scoped_token_only_ever_sees_its_namespace(tmp_path: Path, prometheus) -> None:
    settings = secured(tmp_path, prometheus.url)
    everything = await token(settings, "sre", "read")
    payments = await token(settings, "payments", "read", "label:namespace=payments")
    at = prometheus.world.end.isoformat()
    async with serving(settings) as base:
        async with session(base, everything) as client:
            truth = await query(client, 'count({namespace="payments"})', at)
            all_up = labels(await query(client, "up", at))
        async with session(base, payments) as client:
            scoped_up = await query(client, "up", at)
            counted = await query(client, 'count({__name__=~".+"})', at)
            widened = await query(client, 'up{namespace="other"} or up', at)
            values = await client.call_tool("prometheus_list_labels", {"label": "namespace"})
            names = await client.call_tool("prometheus_find_metrics", {"search": "node_"})
    assert {s.get("namespace") for s in all_up} == {None, "payments"}, "the world has both"
    assert labels(scoped_up) and all(s["namespace"] == "payments" for s in labels(scoped_up))
    assert scoped_up["provenance"]["query"] == 'up{namespace="payments"}', "the executed query is shown"
    assert counted["series"][0]["stats"]["last"] == truth["series"][0]["stats"]["last"]
    assert all(s["namespace"] == "payments" for s in labels(widened))
    assert values.structured_content is not None and values.structured_content["names"] == ["payments"]
    assert names.structured_content is not None and names.structured_content["names"] == [], (
        "node metrics carry no namespace label: a payments token cannot discover them"
    )


async def test_a_datasource_scoped_token_cannot_use_other_datasources(tmp_path: Path, prometheus) -> None:
    settings = secured(tmp_path, prometheus.url)
    other = await token(settings, "staging-only", "read", "datasource:staging")
    async with serving(settings) as base, session(base, other) as client:
        result = await client.call_tool("prometheus_query", {"query": "up"})
        listing = await client.read_resource("aiops://datasources")
    assert result.is_error
    assert "may not use datasource 'prometheus'; it may use: staging" in result.content[0].text
    assert json.loads(listing.contents[0].text)["datasources"] == []


async def test_a_revoked_token_stops_working(tmp_path: Path) -> None:
    settings = secured(tmp_path, None)
    bearer = await token(settings, "leaving", "read")
    async with serving(settings) as base:
        async with session(base, bearer) as client:
            assert (await client.list_tools()).tools
        async with await open_store(settings.database_url, settings.data_dir) as store:
            assert await store.tokens.revoke("leaving")
        async with httpx.AsyncClient(base_url=base) as http:
            with anyio.fail_after(30):  # verifications are remembered for a few seconds
                while True:
                    answer = await http.post(
                        "/mcp",
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
                    )
                    if answer.status_code == 401:
                        break
                    await anyio.sleep(0.5)


async def test_every_call_is_audited_with_its_executed_query_and_no_secret(
    tmp_path: Path, prometheus
) -> None:
    settings = secured(tmp_path, prometheus.url)
    payments = await token(settings, "payments", "read", "label:namespace=payments")
    admin = await token(settings, "auditor", "read", "admin")
    at = prometheus.world.end.isoformat()
    async with serving(settings) as base:
        async with session(base, payments) as client:
            await query(client, "sum(rate(http_requests_total[5m]))", at)
            refused = await client.call_tool("prometheus_query", {"query": "up{"})
            assert refused.is_error
            with pytest.raises(MCPError, match="admin"):
                await client.read_resource("aiops://audit")
        async with session(base, admin) as client:
            with anyio.fail_after(30):  # entries are written in the background within a second or so
                while True:
                    page = json.loads(
                        (await client.read_resource("aiops://audit?actor=payments")).contents[0].text
                    )
                    if len(page["entries"]) >= 3:
                        break
                    await anyio.sleep(0.3)
    by_target = {}
    for entry in page["entries"]:
        by_target.setdefault((entry["action"], entry["target"], entry["status"]), entry)
    ok = by_target[("tool", "prometheus_query", "ok")]
    assert ok["actor"] == "payments" and ok["duration_ms"] > 0 and ok["result_bytes"] > 0
    assert ok["arguments"]["query"] == "sum(rate(http_requests_total[5m]))"
    assert ok["arguments"]["queries_sent"] == [
        'prometheus: sum(rate(http_requests_total{namespace="payments"}[5m]))'
    ]
    assert ("tool", "prometheus_query", "error") in by_target
    assert ("resource", "aiops://audit", "error") in by_target
    store = await open_store(settings.database_url, settings.data_dir)
    async with store, store.engine.connect() as connection:
        stored = repr((await connection.execute(text("SELECT * FROM audit_log"))).all())
    assert payments not in stored and admin not in stored


async def test_a_session_over_its_rate_limit_is_told_when_to_retry(tmp_path: Path, prometheus) -> None:
    settings = secured(tmp_path, prometheus.url, rate_limit_per_session=0.01)  # one call in 100 s
    bearer = await token(settings, "chatty", "read")
    at = prometheus.world.end.isoformat()
    async with serving(settings) as base:
        async with session(base, bearer, mode="legacy") as client:
            await query(client, "up", at)
            limited = await client.call_tool("prometheus_query", {"query": "up", "time": at})
        async with session(base, bearer, mode="legacy") as client:
            await query(client, "up", at)  # a new session has its own bucket
    assert limited.is_error
    assert "rate limit reached for this session: retry in" in limited.content[0].text


async def test_a_token_over_its_rate_limit_is_refused_in_every_session(tmp_path: Path, prometheus) -> None:
    settings = secured(tmp_path, prometheus.url, rate_limit_per_token=0.01)
    bearer = await token(settings, "chatty", "read")
    at = prometheus.world.end.isoformat()
    async with serving(settings) as base:
        async with session(base, bearer) as client:
            await query(client, "up", at)
        async with session(base, bearer) as client:
            limited = await client.call_tool("prometheus_query", {"query": "up", "time": at})
    assert limited.is_error
    assert "rate limit reached for token 'chatty': retry in" in limited.content[0].text


async def test_the_public_url_is_accepted_and_other_hosts_are_refused(tmp_path: Path) -> None:
    settings = secured(tmp_path, None, aiops_mcp_public_url="https://aiops.example.com")
    bearer = await token(settings, "host", "read")
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json, text/event-stream"}
        public = await http.post("/mcp", json=body, headers={**headers, "Host": "aiops.example.com"})
        foreign = await http.post("/mcp", json=body, headers={**headers, "Host": "evil.example"})
        origin = await http.post("/mcp", json=body, headers={**headers, "Origin": "https://evil.example"})
    assert public.status_code not in (401, 403, 421), public.text
    assert foreign.status_code == 421 and origin.status_code == 403
