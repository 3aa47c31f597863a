"""Chat sessions and messages: linked to alerts, read back in the order they were written."""

import pytest
from sqlalchemy.exc import IntegrityError

from aiops_mcp.store import Store
from tests.store.factories import alert

pytestmark = pytest.mark.anyio


async def test_messages_come_back_in_the_order_they_were_added(store: Store) -> None:
    session = await store.chats.create_session(app="abc-app", title="Was abc healthy?")
    said = [("system", "You are on call."), ("user", "Was abc healthy yesterday?")]
    said += [("assistant", ""), ("tool", '{"status": "ok"}'), ("assistant", "Yes, 99.97% available.")]
    for role, content in said:
        calls = [{"name": "query_metrics", "arguments": {"query": "up"}}] if not content else None
        await store.chats.add_message(session.id, role, content, tool_calls=calls)  # type: ignore[arg-type]
    messages = await store.chats.messages(session.id)
    assert [(m.role, m.content) for m in messages] == said
    assert messages[2].tool_calls == [{"name": "query_metrics", "arguments": {"query": "up"}}]
    assert messages[0].tool_calls is None
    assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)


async def test_sessions_for_an_alert_and_for_an_app(store: Store) -> None:
    (alert_id,) = (await store.alerts.upsert_alerts([alert(app="abc-app")])).created
    first = await store.chats.create_session(alert_id=alert_id, app="abc-app", title="first")
    second = await store.chats.create_session(alert_id=alert_id, app="abc-app", title="second")
    await store.chats.create_session(app="payments")
    assert [s.id for s in await store.chats.sessions_for_alert(alert_id)] == [first.id, second.id]
    assert [s.title for s in await store.chats.sessions_for_app("abc-app")] == ["second", "first"]
    loaded = await store.chats.get_session(first.id)
    assert loaded is not None and loaded.alert_id == alert_id
    assert await store.chats.sessions_for_alert(alert_id + 1) == []


async def test_a_message_for_a_missing_session_is_refused(store: Store) -> None:
    with pytest.raises(IntegrityError):
        await store.chats.add_message(424242, "user", "hello")


async def test_an_unknown_role_is_refused_by_the_database(store: Store) -> None:
    session = await store.chats.create_session()
    with pytest.raises(IntegrityError):
        await store.chats.add_message(session.id, "robot", "beep")  # type: ignore[arg-type]
