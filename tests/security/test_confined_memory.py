"""The engine's memory for a label-confined token: only the apps, alerts and chats of its scope,
over streamable HTTP with a real MCP client, on the demo seed (one checkout alert in payments,
the rest about abc-app and node-1, which carry no namespace)."""

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from aiops_mcp.demo.seed import seed_demo
from aiops_mcp.store import open_store
from tests.security.test_http_auth import secured, session, token
from tests.serving import serving

pytestmark = pytest.mark.anyio


async def read(client: Any, uri: str) -> Any:
    return json.loads((await client.read_resource(uri)).contents[0].text)


async def test_a_payments_token_sees_only_payments_apps_alerts_and_chats(tmp_path: Path, prometheus) -> None:
    settings = secured(tmp_path, prometheus.url)
    async with await open_store(settings.database_url, settings.data_dir) as store:
        summary = await seed_demo(store, prometheus.world.end)
        every_alert = (await store.alerts.recent(limit=500)).items
    payments = await token(settings, "payments", "read", "label:namespace=payments")
    checkout_alerts = [a for a in every_alert if a.labels.get("namespace") == "payments"]
    other = next(a for a in every_alert if a.labels.get("namespace") != "payments")
    assert checkout_alerts and other
    async with serving(settings) as base, session(base, payments) as client:
        apps = await read(client, "aiops://apps")
        alerts = await read(client, "aiops://alerts")
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource(f"aiops://alerts/{other.id}")
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource("aiops://apps/abc-app")
        health = await client.call_tool("app_health", {"app": "abc-app"})
        with pytest.raises(MCPError, match="not found"):  # the demo chat is about abc-app's alert
            await client.read_resource(f"aiops://chats/{summary.chat_session_id}")
        mine = await read(client, f"aiops://alerts/{checkout_alerts[0].id}")
    assert [a["name"] for a in apps["apps"]] == ["checkout"]
    assert sorted(a["id"] for a in alerts["alerts"]) == sorted(a.id for a in checkout_alerts)
    assert health.is_error and "no application 'abc-app'" in health.content[0].text
    assert "checkout" in health.content[0].text and "abc-app," not in health.content[0].text
    assert mine["alertname"] == "HighLatency"
