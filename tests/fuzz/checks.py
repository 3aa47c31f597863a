"""What the fuzz tests share: settings for a campaign, the clear-error check, the crash log, the
REST client with its known answers."""

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from aiops_mcp.settings import Settings

HANG_GUARD = 90.0
"""Seconds: far above the tool deadline; reaching it means a call hangs."""
CRASH_LOG = "raised an unexpected exception"
TOKEN = "admin-" + "x" * 32


def unlimited(settings: Settings) -> Settings:
    """No rate limits: a campaign sends far more calls a second than a model would."""
    return settings.model_copy(update={"rate_limit_per_token": 0, "rate_limit_per_session": 0})


def assert_clear_error(tool: str, text: str, described: str) -> None:
    """A tool error a caller can act on: not empty, no traceback, not the SDK's text for a crash,
    not the tool deadline (a hang in disguise)."""
    generic = f"Error executing tool {tool}"
    assert text.strip(), f"{described}: empty error"
    assert text.strip() != generic and not text.endswith(f": {generic}"), f"{described}: crash text {text!r}"
    assert "Traceback (most recent call last)" not in text, f"{described}: traceback in {text[:2000]}"
    assert "did not finish within" not in text, f"{described}: {text}"


class CrashLog(logging.Handler):
    """Collects the SDK's log records of tools that raised an unexpected exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if CRASH_LOG in record.getMessage():
            self.crashes.append(self.format(record))


@dataclass
class Api:
    """An HTTP client on the served app with the admin token, and the environment's answers."""

    http: httpx.AsyncClient
    baseline: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # Hypothesis shows the fixtures of a failing example
        return f"Api({self.http.base_url})"


async def env_answers(http: httpx.AsyncClient) -> dict[str, Any]:
    """Where the environment's Prometheus and Loki answers come from, and how many `up` series
    the last hour holds."""
    up = await http.post(
        "/api/grafana/query/prometheus", json={"query": "count(up)", "datasource": "prometheus"}
    )
    logs = await http.post(
        "/api/grafana/query/loki", json={"query": '{app="abc-app"}', "datasource": "loki", "limit": 1}
    )
    assert up.status_code == logs.status_code == 200, (up.text, logs.text)
    return {
        "up": up.json()["series_total"],
        "sources": [up.json()["provenance"]["datasource"], logs.json()["provenance"]["datasource"]],
    }
