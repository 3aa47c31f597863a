"""The audit log records calls without ever storing a secret."""

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from aiops_mcp.store import Store
from aiops_mcp.store.repositories.audit import REDACTED, redact

pytestmark = pytest.mark.anyio


def test_redact_hides_credential_keys_at_any_depth_and_secret_values() -> None:
    arguments = {
        "query": "up",
        "password": "p",
        "datasource": {"name": "prod", "api_key": "k", "headers": {"Authorization": "Bearer t"}},
        "items": [{"client_secret": "s"}, SecretStr("v")],
    }
    assert redact(arguments) == {
        "query": "up",
        "password": REDACTED,
        "datasource": {"name": "prod", "api_key": REDACTED, "headers": {"Authorization": REDACTED}},
        "items": [{"client_secret": REDACTED}, REDACTED],
    }


async def test_entries_are_recorded_redacted_and_read_newest_first(store: Store) -> None:
    await store.audit.record(
        actor="local",
        action="tool",
        target="query_metrics",
        arguments={"query": "up"},
        status="ok",
        duration_ms=12.5,
        result_bytes=2048,
    )
    await store.audit.record(
        actor="token:3",
        action="rest",
        target="POST /datasources",
        arguments={"name": "prod", "bearer_token": "glsa_SECRET"},
        status="error",
        duration_ms=3.0,
    )
    entries = await store.audit.recent()
    assert [(e.actor, e.target, e.status) for e in entries] == [
        ("token:3", "POST /datasources", "error"),
        ("local", "query_metrics", "ok"),
    ]
    assert entries[1].arguments == {"query": "up"} and entries[1].result_bytes == 2048
    assert [e.target for e in await store.audit.recent(actor="local")] == ["query_metrics"]
    async with store.engine.connect() as connection:
        stored = repr((await connection.execute(text("SELECT * FROM audit_log"))).all())
    assert "glsa_SECRET" not in stored
