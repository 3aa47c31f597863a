"""API tokens: the plaintext is shown once; only its hash is stored; revoked tokens stop working."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text

from aiops_mcp.store import Store

pytestmark = pytest.mark.anyio


async def test_create_returns_the_plaintext_once_and_stores_only_its_hash(store: Store) -> None:
    row, plaintext = await store.tokens.create("ci", ["read", "admin", "read"])
    assert plaintext.startswith("amcp_") and len(plaintext) > 40
    assert row.scopes == ["admin", "read"]
    async with store.engine.connect() as connection:
        stored = repr((await connection.execute(text("SELECT * FROM api_tokens"))).all())
    assert plaintext not in stored and plaintext.removeprefix("amcp_") not in stored
    assert hashlib.sha256(plaintext.encode()).hexdigest() in stored


async def test_verify_accepts_the_token_and_records_its_use(store: Store) -> None:
    row, plaintext = await store.tokens.create("ci")
    verified = await store.tokens.verify(plaintext)
    assert verified is not None and verified.id == row.id and verified.last_used_at is not None
    assert await store.tokens.verify(plaintext + "x") is None
    assert await store.tokens.verify("") is None


async def test_last_use_is_recorded_at_most_once_a_minute(store: Store) -> None:
    _, plaintext = await store.tokens.create("ci")
    first = await store.tokens.verify(plaintext)
    assert first is not None and first.last_used_at is not None
    soon = await store.tokens.verify(plaintext, now=first.last_used_at + timedelta(seconds=30))
    assert soon is not None and soon.last_used_at == first.last_used_at
    later_time = first.last_used_at + timedelta(minutes=2)
    later = await store.tokens.verify(plaintext, now=later_time)
    assert later is not None and later.last_used_at == later_time


async def test_a_revoked_token_no_longer_verifies(store: Store) -> None:
    _, plaintext = await store.tokens.create("ci")
    _, other = await store.tokens.create("bot")
    assert await store.tokens.revoke("ci") is True
    assert await store.tokens.revoke("ci") is False
    assert await store.tokens.verify(plaintext) is None
    assert await store.tokens.verify(other) is not None
    listed = {t.name: t.revoked_at for t in await store.tokens.list_all()}
    assert listed["ci"] is not None and listed["bot"] is None
