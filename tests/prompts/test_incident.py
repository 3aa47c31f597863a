"""Incident prompts as a host gets them: profile and alert context plus concrete tool calls."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from aiops_mcp.demo.seed import SeedSummary, seed_demo
from aiops_mcp.prompts.incident import register
from aiops_mcp.server.app import build_server
from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def seeded(tmp_path: Path) -> SeedSummary:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", aiops_mcp_data_dir=tmp_path
    )
    async with await open_store(settings.database_url, settings.data_dir) as store:
        return await seed_demo(store, datetime.now(UTC).replace(second=0, microsecond=0))


@pytest.fixture
async def client(tmp_path: Path, seeded: SeedSummary) -> AsyncIterator[Client]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", aiops_mcp_data_dir=tmp_path
    )
    server = build_server(settings)
    register(server)
    async with Client(server) as connected:
        yield connected


async def prompt_text(client: Client, name: str, **arguments: str) -> str:
    result = await client.get_prompt(name, arguments)
    return "\n".join(m.content.text for m in result.messages if m.content.type == "text")


async def test_prompts_are_listed_with_their_arguments(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"investigate_alert", "app_health_report", "incident_impact", "explain_app"}
    assert [a.name for a in prompts["app_health_report"].arguments or []] == ["app", "period"]


async def test_investigate_alert_embeds_context_and_concrete_queries(
    client: Client, seeded: SeedSummary
) -> None:
    text = await prompt_text(client, "investigate_alert", alert_id=str(seeded.alert_ids["abc-app-5xx-burst"]))
    assert "HighErrorRate" in text and "14:30:00Z" in text
    assert "about 5 % of abc-app's requests failed" in text  # the earlier AI analysis
    assert "Why did abc-app return 5xx errors" in text  # a question from the chat
    assert '"error_rate": 1.0' in text and "Application profile: abc-app" in text
    assert 'status=~\\"5..\\"' in text and 'app=\\"abc-app\\"' in text  # PromQL from the mappings
    assert "prometheus_query_range(" in text and "loki_query_logs(" in text


async def test_investigate_alert_accepts_an_alertname(client: Client) -> None:
    text = await prompt_text(client, "investigate_alert", alert_id="InstanceDown")
    assert "abc-2:8080" in text and "03:10:00Z" in text


async def test_unknown_alert_lists_known_alerts_closest_first(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.get_prompt("investigate_alert", {"alert_id": "HighErorRate"})
    message = str(raised.value)
    assert "no alert 'HighErorRate'" in message
    assert message.index("HighErrorRate") < message.index("InstanceDown")


async def test_app_health_report_lists_slos_alerts_and_calls(client: Client) -> None:
    text = await prompt_text(client, "app_health_report", app="abc", period="yesterday")
    assert "Was abc-app healthy yesterday" in text
    assert "HighErrorRate" in text and "InstanceDown" in text and "HighLatency" in text
    assert '"time_range": "yesterday"' in text and "loki_query_metrics(" in text


async def test_unknown_app_lists_known_apps_closest_first(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.get_prompt("explain_app", {"app": "chekout"})
    assert "known applications (closest first): checkout, abc-app" in str(raised.value)


async def test_incident_impact_lists_overlapping_alerts_and_a_baseline(
    client: Client, seeded: SeedSummary
) -> None:
    text = await prompt_text(client, "incident_impact", alert_id=str(seeded.alert_ids["abc-app-5xx-burst"]))
    assert "NodeHighCPU" in text and "NodeLowMemory" in text and "InstanceDown" not in text
    assert "Baseline (the hour before)" in text and "13:15:00Z" in text


async def test_explain_app_names_discovery_calls(client: Client) -> None:
    text = await prompt_text(client, "explain_app", app="checkout")
    assert 'namespace=\\"payments\\"' in text and "prometheus_list_labels(" in text
    assert "loki_list_labels(" in text and "p95_latency" in text
