"""Alert resources read by a real MCP client (in memory) from a store in tmp_path."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceTemplateReference

from aiops_mcp.runtime import Runtime
from aiops_mcp.settings import Settings
from aiops_mcp.store import AlertIn, ProfileIn, Store
from tests.tools.conftest import connected

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@asynccontextmanager
async def client_and_store(tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[Client, Store, Runtime]]:
    async with connected(Settings(aiops_mcp_data_dir=tmp_path, **settings)) as (client, rt):
        yield client, await rt.store(), rt


async def read(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert content.mime_type == "application/json"
    return json.loads(content.text)  # type: ignore[union-attr]


async def read_error(client: Client, uri: str) -> str:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return str(caught.value)


def alert_in(fingerprint: str, minutes: int, *, status: str = "firing", **labels: str) -> AlertIn:
    starts = T0 + timedelta(minutes=minutes)
    return AlertIn.model_validate(
        {
            "fingerprint": fingerprint,
            "status": status,
            "labels": {"alertname": "HighErrorRate", "severity": "critical", **labels},
            "annotations": {"summary": f"summary of {fingerprint}", "runbook": "x" * 10_000},
            "startsAt": starts.isoformat(),
            "endsAt": (starts + timedelta(minutes=5)).isoformat(),
        }
    )


async def seed(store: Store, count: int = 3) -> list[int]:
    batch = [
        alert_in(
            f"f{i:03}",
            i,
            app="abc-app" if i % 2 else "xyz-app",
            status="resolved" if i % 3 == 0 else "firing",
        )
        for i in range(count)
    ]
    result = await store.alerts.upsert_alerts(batch)
    return result.created


async def test_recent_alerts_are_newest_first_and_filterable(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        await seed(store, 6)
        everything = await read(client, "aiops://alerts")
        firing_abc = await read(client, "aiops://alerts?status=firing&app=abc-app")
    assert [a["alertname"] for a in everything["alerts"]] == ["HighErrorRate"] * 6
    assert everything["alerts"][0]["starts_at"] == "2026-03-01T12:05:00Z"
    assert everything["more"] is False and everything["next"] is None
    assert {(a["status"], a["app"]) for a in firing_abc["alerts"]} == {("firing", "abc-app")}
    assert [a["summary"] for a in firing_abc["alerts"]] == ["summary of f005", "summary of f001"]
    assert firing_abc["filters"] == {"status": "firing", "app": "abc-app"}
    assert firing_abc["alerts"][0]["uri"] == f"aiops://alerts/{firing_abc['alerts'][0]['id']}"


async def test_recent_alerts_are_paged_with_a_next_uri(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        ids = await seed(store, 120)
        seen: list[int] = []
        uri: str | None = "aiops://alerts?severity=critical"
        pages = 0
        while uri:
            page = await read(client, uri)
            seen.extend(a["id"] for a in page["alerts"])
            uri, pages = page["next"], pages + 1
            assert page["more"] is (uri is not None)
            assert uri is None or "severity=critical" in uri
    assert pages == 3
    assert sorted(seen) == sorted(ids)


async def test_one_alert_carries_its_analysis_chats_and_similar_alerts(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        first, second = await seed(store, 2)
        await store.alerts.set_analysis(second, "Caused by the 12:00 deploy.")
        chat = await store.chats.create_session(app="xyz-app", title="why errors?", alert_id=second)
        alert = await read(client, f"aiops://alerts/{second}")
        chats = await read(client, f"aiops://alerts/{second}/chats")
    assert alert["ai_analysis"] == "Caused by the 12:00 deploy."
    assert alert["chat_sessions"] == [
        {
            "id": chat.id,
            "uri": f"aiops://chats/{chat.id}",
            "title": "why errors?",
            "created_at": alert["chat_sessions"][0]["created_at"],
        }
    ]
    assert [s["id"] for s in alert["similar_alerts"]] == [first]
    assert alert["labels"]["app"] == "abc-app"
    assert len(alert["annotations"]["runbook"]) < 4_100 and "… [+" in alert["annotations"]["runbook"]
    assert alert["app_alerts"] == "aiops://apps/abc-app/alerts"
    assert [s["uri"] for s in chats["sessions"]] == [f"aiops://chats/{chat.id}"]


async def test_alerts_of_an_app_by_profile_alias_or_label(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        await seed(store, 4)
        await store.profiles.save(ProfileIn(name="abc-app", aliases=["abc"]))
        by_alias = await read(client, "aiops://apps/abc/alerts")
        by_label = await read(client, "aiops://apps/xyz-app/alerts?status=resolved")
    assert by_alias["app"] == "abc-app" and by_alias["profile"] == "aiops://apps/abc-app"
    assert [a["app"] for a in by_alias["alerts"]] == ["abc-app", "abc-app"]
    assert by_label["profile"] is None
    assert [(a["app"], a["status"]) for a in by_label["alerts"]] == [("xyz-app", "resolved")]


async def test_unknown_alerts_and_apps_are_named_with_where_to_find_valid_ones(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        await seed(store, 1)
        missing_alert = await read_error(client, "aiops://alerts/999")
        not_an_id = await read_error(client, "aiops://alerts/abc")
        missing_app = await read_error(client, "aiops://apps/nope/alerts")
        bad_status = await read_error(client, "aiops://alerts?status=pending")
        bad_cursor = await read_error(client, "aiops://alerts?cursor=zzz")
        beyond = [await read_error(client, f"aiops://alerts/{ref}") for ref in ("9" * 30, "%C2%B2", "0")]
    assert all("not found" in error for error in beyond), beyond
    assert "alert '999' not found" in missing_alert and "aiops://alerts" in missing_alert
    assert "alert 'abc' not found" in not_an_id
    assert "app 'nope' not found" in missing_app and "aiops://apps" in missing_app
    assert "firing or resolved" in bad_status
    assert "cursor" in bad_cursor


async def test_templates_complete_app_names_and_alert_ids(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        ids = await seed(store, 3)
        for name in ("abc-app", "abd-app", "xyz-app"):
            await store.profiles.save(ProfileIn(name=name))
        apps = await client.complete(
            ResourceTemplateReference(uri="aiops://apps/{app}/alerts{?status,cursor}"),
            {"name": "app", "value": "ab"},
        )
        alert_ids = await client.complete(
            ResourceTemplateReference(uri="aiops://alerts/{alert_id}"), {"name": "alert_id", "value": ""}
        )
        status = await client.complete(
            ResourceTemplateReference(uri="aiops://alerts{?status,app,severity,cursor}"),
            {"name": "status", "value": "f"},
        )
    assert apps.completion.values == ["abc-app", "abd-app"]
    assert sorted(alert_ids.completion.values) == sorted(str(i) for i in ids)
    assert status.completion.values == ["firing"]


async def test_a_store_lost_while_running_is_reported_and_tools_keep_working(
    tmp_path: Path, prometheus
) -> None:
    data = tmp_path / "data"
    async with client_and_store(data, prometheus_url=prometheus.url) as (client, store, _):
        await seed(store, 1)
        assert (await read(client, "aiops://alerts"))["alerts"]
        await store.aclose()  # drop pooled connections; the next one must open the (moved) file
        data.rename(tmp_path / "moved")
        lost = await read_error(client, "aiops://alerts")
        one = await read_error(client, "aiops://alerts/1")
        sources = await read(client, "aiops://datasources")
        result = await client.call_tool(
            "prometheus_query", {"query": "up", "time": prometheus.world.end.isoformat()}
        )
    assert lost.startswith("store unavailable: ") and "unable to open database file" in lost
    assert one.startswith("store unavailable: ")
    assert sources["store"].startswith("store unavailable: ")
    assert [d["name"] for d in sources["datasources"]] == ["prometheus"]
    assert not result.is_error


async def test_recent_alerts_filter_by_instance_and_by_when_they_started(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, rt):
        rt.now = lambda: T0 + timedelta(days=1, hours=6)  # "yesterday" is T0's day
        await store.alerts.upsert_alerts(
            [
                alert_in("early", 0, instance="node-1:9100"),
                alert_in("late", 60 * 10, instance="node-2:9100"),
                alert_in("today", 60 * 25, instance="node-1:9100"),
            ]
        )
        yesterday = await read(client, "aiops://alerts?time_range=yesterday")
        node1 = await read(client, "aiops://alerts?instance=node-1:9100")
        both = await read(client, "aiops://alerts?instance=node-1:9100&time_range=yesterday")
        refused = await read_error(client, "aiops://alerts?time_range=when%20it%20rained")
    summaries = {a["id"]: a for a in yesterday["alerts"]}
    assert sorted(a["instance"] for a in summaries.values()) == ["node-1:9100", "node-2:9100"]
    assert {a["starts_at"] for a in node1["alerts"]} == {"2026-03-01T12:00:00Z", "2026-03-02T13:00:00Z"}
    assert [a["starts_at"] for a in both["alerts"]] == ["2026-03-01T12:00:00Z"]
    assert both["filters"] == {"instance": "node-1:9100", "time_range": "yesterday"}
    assert "when it rained" in refused
