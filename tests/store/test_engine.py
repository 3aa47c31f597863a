"""Opening the store: the embedded default, SQLite pragmas, aware UTC times, clear failures."""

import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from aiops_mcp.demo.backends import RunningPostgres
from aiops_mcp.store import AlertFilter, Store, StoreUnavailable, display_url, open_store
from aiops_mcp.store.secrets import KEY_FILE
from tests.store.factories import alert

pytestmark = pytest.mark.anyio

PLUS_TWO = timezone(timedelta(hours=2))


async def test_without_a_url_the_store_is_an_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "aiops-mcp"
    async with await open_store(None, data_dir, environ={}) as store:
        assert store.url == f"sqlite+aiosqlite:///{data_dir / 'aiops-mcp.db'}"
        await store.alerts.upsert_alerts([alert()])
    assert (data_dir / "aiops-mcp.db").is_file()
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600
    async with await open_store(None, data_dir, environ={}) as reopened:
        assert await reopened.alerts.count() == 1


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    async with await open_store(None, tmp_path, environ={}) as store, store.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 30_000


async def test_datetimes_come_back_aware_in_utc(store: Store) -> None:
    start = datetime(2025, 3, 1, 14, 0, 0, 250_000, tzinfo=PLUS_TWO)
    (alert_id,) = (await store.alerts.upsert_alerts([alert(starts_at=start)])).created
    stored = await store.alerts.get(alert_id)
    assert stored is not None
    times = [stored.starts_at, stored.received_at, stored.updated_at]
    session = await store.chats.create_session(alert_id=alert_id)
    message = await store.chats.add_message(session.id, "user", "hi")
    token, _ = await store.tokens.create("t")
    entry = await store.audit.record(
        actor="local", action="tool", target="t", status="ok", duration_ms=1, at=start
    )
    reloaded = [
        (await store.chats.messages(session.id))[0].created_at,
        (await store.tokens.list_all())[0].created_at,
        (await store.audit.recent())[0].at,
    ]
    for value in [*times, message.created_at, token.created_at, entry.at, *reloaded]:
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value
    assert stored.starts_at == start and stored.starts_at.hour == 12
    assert reloaded[2] == start
    found = await store.alerts.recent(AlertFilter(since=start, until=start + timedelta(seconds=1)))
    assert [a.id for a in found.items] == [alert_id], "filters compare instants, whatever the offset"


async def test_a_naive_datetime_is_refused_not_guessed(store: Store) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        await store.audit.record(
            actor="local", action="tool", target="t", status="ok", duration_ms=1, at=datetime(2025, 1, 1)
        )


async def test_an_unreachable_postgresql_is_one_clear_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://aiops:Sup3rSecretPw@127.0.0.1:1/aiops"
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(url, tmp_path, environ={})
    message = str(caught.value)
    assert message.startswith(
        "cannot reach the database at postgresql+asyncpg://aiops:***@127.0.0.1:1/aiops: "
    )
    assert "Sup3rSecretPw" not in message and "\n" not in message
    assert caught.value.__suppress_context__


async def test_a_missing_postgresql_database_is_reported_with_the_server_reason(
    postgres: RunningPostgres, tmp_path: Path
) -> None:
    parts = make_url(postgres.url).set(password="Sup3rSecretPw", database="no_such_db")
    url = parts.render_as_string(hide_password=False)
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(url, tmp_path, environ={})
    message = str(caught.value)
    assert "no_such_db" in message and "Sup3rSecretPw" not in message and "\n" not in message


async def test_an_unopenable_sqlite_file_is_one_clear_error(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'store.db'}"
    with pytest.raises(
        StoreUnavailable, match=r"cannot reach the database at sqlite\+aiosqlite:///.*: unable"
    ):
        await open_store(url, tmp_path, environ={})


async def test_an_invalid_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="invalid database URL"):
        await open_store("nosuchdb+driver://x:pw@host/db", tmp_path, environ={})


async def test_a_plain_postgresql_url_gets_the_async_driver(postgres_url: str, tmp_path: Path) -> None:
    plain = postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    async with await open_store(plain, tmp_path, environ={}) as store:
        assert store.url.startswith("postgresql+asyncpg://")
        assert store.engine.dialect.name == "postgresql"


def test_display_url_hides_the_password() -> None:
    assert display_url("postgresql+asyncpg://u:p%40ss@db:5432/x") == "postgresql+asyncpg://u:***@db:5432/x"
    assert display_url("sqlite+aiosqlite:///a.db") == "sqlite+aiosqlite:///a.db"
