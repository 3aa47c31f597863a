"""Clients of both protocol generations hear, over streamable HTTP, of alerts the webhook stores."""

import json
import warnings
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import ResourceUpdatedNotification

from aiops_mcp.settings import Settings
from tests.security.test_http_auth import secured, session, token
from tests.server.test_webhook import TOKEN, alert, payload
from tests.serving import serving

pytestmark = pytest.mark.anyio
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def settings(tmp_path: Path) -> Settings:
    return Settings(aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token=TOKEN)


async def post_alert(base: str, fingerprint: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.post("/alertmanager/webhook", json=payload(alert(fingerprint)), headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_2025_client_subscribed_to_recent_alerts_is_notified(tmp_path: Path) -> None:
    send, receive = anyio.create_memory_object_stream[str](100)

    async def on_message(message: object) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            send.send_nowait(message.params.uri)

    async with (
        send,
        receive,
        serving(settings(tmp_path)) as base,
        Client(f"{base}/mcp", mode="legacy", message_handler=on_message) as client,
    ):
        resources = client.server_capabilities.resources
        assert resources is not None and resources.subscribe
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # the 2025 API, on purpose
            await client.subscribe_resource("aiops://alerts")
        assert await post_alert(base, "sub1") == {"created": 1, "updated": 0, "ignored": 0}
        with anyio.fail_after(10):
            uri = await receive.receive()
        page = json.loads((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await client.unsubscribe_resource("aiops://alerts")
    assert uri == "aiops://alerts"
    assert [a["summary"] for a in page["alerts"]] == ["errors on sub1"]


async def test_a_2026_client_listening_to_recent_alerts_is_notified(tmp_path: Path) -> None:
    async with (
        serving(settings(tmp_path)) as base,
        Client(f"{base}/mcp", mode="2026-07-28") as client,
        client.listen(resource_subscriptions=["aiops://alerts"]) as subscription,
    ):
        assert await post_alert(base, "sub2") == {"created": 1, "updated": 0, "ignored": 0}
        with anyio.fail_after(10):
            event = await anext(subscription)
        page = json.loads((await client.read_resource("aiops://alerts")).contents[0].text)  # type: ignore[union-attr]
    assert event == ResourceUpdated(uri="aiops://alerts")
    assert [a["summary"] for a in page["alerts"]] == ["errors on sub2"]


async def test_subscribers_of_one_alert_hear_when_it_resolves(tmp_path: Path) -> None:
    async with (
        serving(settings(tmp_path)) as base,
        Client(f"{base}/mcp", mode="2026-07-28") as client,
    ):
        await post_alert(base, "sub3")
        [row] = json.loads((await client.read_resource("aiops://alerts")).contents[0].text)["alerts"]  # type: ignore[union-attr]
        async with client.listen(resource_subscriptions=[row["uri"]]) as subscription:
            resolved = {**alert("sub3"), "status": "resolved", "endsAt": "2026-03-01T12:30:00+00:00"}
            async with httpx.AsyncClient(base_url=base) as http:
                answer = await http.post("/alertmanager/webhook", json=payload(resolved), headers=AUTH)
            assert answer.json()["updated"] == 1
            with anyio.fail_after(10):
                event = await anext(subscription)
        after = json.loads((await client.read_resource(row["uri"])).contents[0].text)  # type: ignore[union-attr]
    assert event == ResourceUpdated(uri=row["uri"])
    assert (after["status"], after["ends_at"]) == ("resolved", "2026-03-01T12:30:00Z")


async def test_a_confined_token_hears_only_of_alerts_within_its_labels(tmp_path: Path) -> None:
    configured = secured(tmp_path, None, alertmanager_webhook_token=TOKEN)
    everything = await token(configured, "oncall", "read")
    confined = await token(configured, "abc-team", "read", "label:app=abc-app")
    watched = ["aiops://alerts", "aiops://alerts/1", "aiops://alerts/2", "aiops://apps/xyz-app/alerts"]
    heard: dict[str, list[str]] = {"oncall": [], "abc-team": []}
    async with (
        serving(configured) as base,
        session(base, everything, mode="2026-07-28") as wide,
        session(base, confined, mode="2026-07-28") as narrow,
        wide.listen(resource_subscriptions=watched) as wide_events,
        narrow.listen(resource_subscriptions=watched) as narrow_events,
    ):
        await post_alert_for(base, "other-team", app="xyz-app")  # becomes alert 1
        await post_alert_for(base, "ours", app="abc-app")  # becomes alert 2
        for name, events in (("oncall", wide_events), ("abc-team", narrow_events)):
            with anyio.move_on_after(3):
                async for event in events:
                    assert isinstance(event, ResourceUpdated)
                    heard[name].append(event.uri)
    # The client folds repeated updates of one URI into one (they are level triggers): sets.
    assert set(heard["oncall"]) == set(watched)
    assert set(heard["abc-team"]) == {"aiops://alerts", "aiops://alerts/2"}


async def post_alert_for(base: str, fingerprint: str, *, app: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        body = payload(alert(fingerprint, app=app))
        answer = await http.post("/alertmanager/webhook", json=body, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["created"] == 1, answer.text
