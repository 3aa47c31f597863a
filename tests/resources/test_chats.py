"""Chat-session resources read by a real MCP client (in memory) from a store in tmp_path."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiops_mcp.demo.seed import seed_demo
from aiops_mcp.resources.chats import SESSIONS_PER_PAGE
from aiops_mcp.store import ProfileIn, open_store
from tests.resources.test_alerts import client_and_store, read, read_error, seed
from tests.security.test_http_auth import secured, session, token
from tests.serving import serving

pytestmark = pytest.mark.anyio
END = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


async def test_a_session_lists_its_messages_in_order_in_pages(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        [alert_id] = await seed(store, 1)
        chat = await store.chats.create_session(app="xyz-app", title="errors at noon", alert_id=alert_id)
        for i in range(150):
            await store.chats.add_message(chat.id, "user" if i % 2 == 0 else "assistant", f"message {i}")
        await store.chats.add_message(
            chat.id,
            "assistant",
            "y" * 10_000,
            tool_calls=[{"name": "prometheus_query", "arguments": {"q": "up"}}],
        )
        first = await read(client, f"aiops://chats/{chat.id}")
        second = await read(client, first["next"])
    assert (first["title"], first["app"], first["alert"]) == (
        "errors at noon",
        "xyz-app",
        f"aiops://alerts/{alert_id}",
    )
    assert first["messages_total"] == 151
    assert [m["content"] for m in first["messages"][:3]] == ["message 0", "message 1", "message 2"]
    assert len(first["messages"]) == 100 and first["next"] == f"aiops://chats/{chat.id}?cursor=100"
    assert [m["content"] for m in second["messages"][:2]] == ["message 100", "message 101"]
    assert second["next"] is None
    last = second["messages"][-1]
    assert last["tool_calls"] == [{"name": "prometheus_query", "arguments": {"q": "up"}}]
    assert "… [+6000 chars]" in last["content"]


async def test_sessions_about_an_alert_are_listed_oldest_first(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        first_alert, other_alert = await seed(store, 2)
        older = await store.chats.create_session(title="first look", alert_id=first_alert)
        newer = await store.chats.create_session(title="second look", alert_id=first_alert)
        await store.chats.create_session(title="unrelated", alert_id=other_alert)
        listed = await read(client, f"aiops://alerts/{first_alert}/chats")
    assert [s["id"] for s in listed["sessions"]] == [older.id, newer.id]
    assert [s["uri"] for s in listed["sessions"]] == [
        f"aiops://chats/{older.id}",
        f"aiops://chats/{newer.id}",
    ]
    assert listed["sessions_total"] == 2 and listed["more"] is False


async def test_unknown_sessions_and_bad_cursors_are_named(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        chat = await store.chats.create_session(title="t")
        missing = await read_error(client, "aiops://chats/42")
        bad_cursor = await read_error(client, f"aiops://chats/{chat.id}?cursor=-1")
        no_alert = await read_error(client, "aiops://alerts/7/chats")
        beyond = [await read_error(client, f"aiops://chats/{ref}") for ref in ("9" * 30, "%C2%B2")]
        superscript_cursor = await read_error(client, f"aiops://chats/{chat.id}?cursor=%C2%B2")
    assert all("not found" in error for error in beyond), beyond
    assert "cursor" in superscript_cursor
    assert "chat session '42' not found" in missing and "aiops://alerts/{alert_id}/chats" in missing
    assert "cursor" in bad_cursor
    assert "alert '7' not found" in no_alert


async def test_every_session_is_listed_newest_first_in_bounded_pages(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        await store.profiles.save(ProfileIn.model_validate({"name": "abc-app", "aliases": ["abc"]}))
        [alert_id] = await seed(store, 1)
        made = []
        for i in range(SESSIONS_PER_PAGE + 10):
            app = "abc-app" if i % 3 == 0 else None  # a page's chats may name no app
            made.append(
                await store.chats.create_session(
                    app=app, title=f"chat {i}", alert_id=alert_id if i == 7 else None
                )
            )
        first = await read(client, "aiops://chats")
        second = await read(client, first["next"])
        by_alias = await read(client, "aiops://chats?app=abc")
        bad = await read_error(client, "aiops://chats?cursor=x")
    newest_first = [s.id for s in reversed(made)]
    assert [s["id"] for s in first["sessions"]] == newest_first[:SESSIONS_PER_PAGE]
    assert first["more"] is True and first["next"] == f"aiops://chats?cursor={SESSIONS_PER_PAGE}"
    assert [s["id"] for s in second["sessions"]] == newest_first[SESSIONS_PER_PAGE:]
    assert (second["more"], second["next"], second["offset"]) == (False, None, SESSIONS_PER_PAGE)
    seventh = next(s for s in first["sessions"] + second["sessions"] if s["title"] == "chat 7")
    assert (
        seventh["alert"] == f"aiops://alerts/{alert_id}" and seventh["uri"] == f"aiops://chats/{made[7].id}"
    )
    assert by_alias["filters"] == {"app": "abc-app"}
    assert [s["id"] for s in by_alias["sessions"]] == [s.id for s in reversed(made) if s.app == "abc-app"]
    assert "cursor" in bad


async def test_a_confined_token_lists_only_the_sessions_it_may_see(tmp_path: Path) -> None:
    settings = secured(tmp_path, None)
    async with await open_store(settings.database_url, settings.data_dir) as store:
        summary = await seed_demo(store, END)
        checkout = await store.chats.create_session(app="checkout", title="checkout slow")
        await store.chats.create_session(app="abc-app", title="abc errors")
        await store.chats.create_session(title="no app")
    payments = await token(settings, "payments", "read", "label:namespace=payments")
    everything = await token(settings, "everything", "read")
    async with serving(settings) as base:
        async with session(base, payments) as client:
            confined = await read(client, "aiops://chats")
        async with session(base, everything) as client:
            unconfined = await read(client, "aiops://chats")
    assert [s["id"] for s in confined["sessions"]] == [checkout.id]
    assert len(unconfined["sessions"]) == 4 and summary.chat_session_id in [
        s["id"] for s in unconfined["sessions"]
    ]
