"""The demo seed: consistent with the generated world, stable ids, idempotent."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiops_mcp.demo.seed import seed_demo
from aiops_mcp.demo.world import build_world
from aiops_mcp.store import AlertFilter, Store, open_store

pytestmark = pytest.mark.anyio
WORLD_END = datetime(2026, 11, 25, 10, 7, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", tmp_path, environ={})
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_seed_places_one_alert_on_each_incident_window(store: Store) -> None:
    summary = await seed_demo(store, WORLD_END)
    world = build_world(WORLD_END)
    assert set(summary.alert_ids) == {incident.name for incident in world.incidents}
    for incident in world.incidents:
        alert = await store.alerts.get(summary.alert_ids[incident.name])
        assert alert is not None
        assert (alert.starts_at, alert.ends_at) == (incident.start, incident.end)
        assert alert.status == "resolved" and alert.ai_analysis
        for name, value in incident.selector.items():
            assert alert.labels[name] == value


async def test_seed_profiles_select_the_worlds_series(store: Store) -> None:
    await seed_demo(store, WORLD_END)
    world = build_world(WORLD_END)
    for key in ("abc-app", "checkout"):
        profile = await store.profiles.get(key)
        assert profile is not None
        assert profile.service_mappings["metrics"] == world.apps[key].selector | {"env": "prod"}
        assert profile.slos == {"availability": 99.9, "error_rate": 1.0, "p95_latency_ms": 500.0}
    assert await store.alerts.count(AlertFilter(app="abc-app")) == 3
    assert await store.alerts.count(AlertFilter(app="checkout")) == 1


async def test_seed_adds_a_chat_about_the_5xx_alert(store: Store) -> None:
    summary = await seed_demo(store, WORLD_END)
    (session,) = await store.chats.sessions_for_alert(summary.alert_ids["abc-app-5xx-burst"])
    messages = await store.chats.messages(session.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert session.app == "abc-app" and "5xx" in messages[0].content


async def test_seeding_twice_changes_nothing(store: Store) -> None:
    first = await seed_demo(store, WORLD_END)
    rows = [(a.id, a.status, a.ai_analysis, a.updated_at) for a in (await store.alerts.recent()).items]
    profiles = [(p.name, p.updated_at) for p in await store.profiles.list_all()]
    second = await seed_demo(store, WORLD_END)
    assert second.alert_ids == first.alert_ids and second.chat_session_id == first.chat_session_id
    assert (second.alerts_created, second.profiles_written, second.chat_created) == (0, [], False)
    assert first.alerts_created == 6 and first.chat_created
    assert [(p.name, p.updated_at) for p in await store.profiles.list_all()] == profiles
    after = [(a.id, a.status, a.ai_analysis) for a in (await store.alerts.recent()).items]
    assert after == [row[:3] for row in rows]
    assert len(await store.chats.sessions_for_app("abc-app")) == 1
