"""Secrets and personal data in log lines and label values never reach the model, and the result
says how many were redacted. Logs come from the Loki double (Grafana Loki cannot run here: the
double answers in the shapes recorded from a real Loki 3.4.2), holding lines this test writes.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store
from tests.doubles.loki import LogRecord, LokiDouble
from tests.tools.conftest import connected, text_of

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRETS = ("hunter2-x9", "ops@example.com", "ghp_" + "a1B2" * 9)
LINES = [
    'level=error msg="login failed" password=hunter2-x9 user=ops',
    'level=info msg="sent report" to=ops@example.com',
    'level=warn msg="rate limited" token=' + SECRETS[2],
    'level=info msg="GET /api/orders 200" order_id=4111111111111112',  # not a card: fails Luhn
]


def records() -> list[LogRecord]:
    labels = {"app": "shop", "owner": "ops@example.com"}
    start = int((NOW - timedelta(minutes=10)).timestamp()) * 10**9
    return [LogRecord(start + i * 10**9, labels, line) for i, line in enumerate(LINES)]


async def test_log_lines_and_label_values_are_redacted_and_counted(tmp_path: Path) -> None:
    settings = Settings(
        loki_url=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        aiops_mcp_data_dir=tmp_path,
    )
    with LokiDouble(records()) as loki:
        settings = settings.model_copy(update={"loki_url": loki.url})
        async with connected(settings, now=NOW) as (client, runtime):
            result = await client.call_tool(
                "loki_query_logs", {"query": '{app="shop"} |= "="', "time_range": "1h"}
            )
            # The audit entry keeps the arguments, scrubbed like the data:
            await client.call_tool(
                "loki_query_logs", {"query": '{app="shop"} |= "password=hunter2-x9"', "time_range": "1h"}
            )
            await runtime.access.auditor.flush()
    text = text_of(result)
    dumped = json.dumps(result.structured_content)
    for secret in SECRETS:
        assert secret not in text and secret not in dumped
    assert "order_id=4111111111111112" in text, "an order id is not a card number"
    assert "password=[REDACTED:password]" in text and "[REDACTED:email]" in text
    # 3 secrets in lines; the owner label's email on each of the 4 lines
    assert result.structured_content is not None and result.structured_content["redactions"] == 3 + 4
    assert "7 values redacted (secrets or personal data)" in text
    async with await open_store(settings.database_url, settings.data_dir) as store:
        searched, first = await store.audit.recent(actor="local")
    assert first.arguments["redactions"] == 7
    assert searched.arguments["query"] == '{app="shop"} |= "password=[REDACTED:password]"'
    assert "hunter2-x9" not in json.dumps(searched.arguments)


async def test_redaction_can_be_turned_off(tmp_path: Path) -> None:
    with LokiDouble(records()) as loki:
        settings = Settings(loki_url=loki.url, aiops_mcp_redact=False, aiops_mcp_data_dir=tmp_path)
        async with connected(settings, now=NOW) as (client, _):
            result = await client.call_tool("loki_query_logs", {"query": '{app="shop"}', "time_range": "1h"})
    assert "password=hunter2-x9" in text_of(result)
    assert result.structured_content is not None and "redactions" not in result.structured_content
