"""Builders of store inputs shared by the store tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_mcp.store import AlertIn

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def alert(
    fingerprint: str = "fp-1",
    *,
    status: str = "firing",
    starts_at: datetime = T0,
    ends_at: datetime | None = None,
    **labels: str,
) -> AlertIn:
    """An alert as Alertmanager's webhook would send it (camelCase keys, zero endsAt when firing)."""
    body: dict[str, Any] = {
        "fingerprint": fingerprint,
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "critical", **labels},
        "annotations": {"summary": f"{fingerprint} is {status}"},
        "startsAt": starts_at.isoformat(),
        "endsAt": (ends_at or datetime(1, 1, 1, tzinfo=UTC)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }
    return AlertIn.model_validate(body)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
