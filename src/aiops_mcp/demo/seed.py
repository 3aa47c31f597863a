"""Fill a store with the demo world's engine data: profiles, alerts with analyses, one chat.

`seed_demo(store, world_end)` writes what the AIOps engine would hold for the world that
`aiops_mcp.demo.world.build_world(world_end)` generates: the ``abc-app`` and ``checkout``
profiles (labels exactly as the world's series carry them), one resolved alert per incident,
placed on the incident's window (yesterday, UTC), each with an AI analysis, and a chat session
about the abc-app 5xx alert.

Deterministic and idempotent: alert fingerprints derive from the incident names, profiles are
rewritten only when they differ, the chat is created once. Running it twice changes nothing.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiops_mcp.store import AlertFilter, AlertIn, ProfileIn, Store
from aiops_mcp.store.models import ApplicationProfile
from aiops_mcp.store.repositories.chats import Role

DEMO_SLOS = {"availability": 99.9, "error_rate": 1.0, "p95_latency_ms": 500.0}
CHAT_TITLE = "Why did abc-app return 5xx yesterday afternoon?"

PROFILES: list[dict[str, Any]] = [
    {
        "name": "abc-app",
        "description": "Customer-facing web API of the ABC product (prod; a staging twin exists).",
        "architecture_info": {
            "components": ["abc-1:8080", "abc-2:8080"],
            "host": "node-1",
            "runtime": "HTTP API behind a load balancer, two instances",
            "environments": {"prod": 'env="prod"', "staging": 'env="staging" (abc-staging-1:8080 on node-2)'},
        },
        "service_mappings": {
            "metrics": {"app": "abc-app", "env": "prod", "job": "abc-app"},
            "logs": {"app": "abc-app", "env": "prod"},
        },
        "default_metrics": [
            "up",
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "process_resident_memory_bytes",
        ],
        "slos": DEMO_SLOS,
        "aliases": ["abc", "abc app"],
    },
    {
        "name": "checkout",
        "description": "Payment checkout service in the payments namespace.",
        "architecture_info": {
            "components": ["checkout-1:8080"],
            "host": "node-2",
            "runtime": "HTTP service, one instance",
        },
        "service_mappings": {
            "metrics": {"service": "checkout", "namespace": "payments", "env": "prod", "job": "checkout"},
            "logs": {"service": "checkout", "namespace": "payments"},
        },
        "default_metrics": ["up", "http_requests_total", "http_request_duration_seconds_bucket"],
        "slos": DEMO_SLOS,
        "aliases": ["checkout service", "payments"],
    },
]


@dataclass(frozen=True)
class DemoAlert:
    """One incident's alert: when (minutes after yesterday 00:00 UTC), what, and its analysis."""

    incident: str
    start_minute: int
    minutes: int
    labels: dict[str, str]
    summary: str
    analysis: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"aiops-demo:{self.incident}".encode()).hexdigest()[:16]


ABC = {"app": "abc-app", "env": "prod", "job": "abc-app"}
NODE1 = {"instance": "node-1:9100", "job": "node", "node": "node-1"}
CHECKOUT = {"service": "checkout", "namespace": "payments", "env": "prod", "job": "checkout"}

ALERTS = [
    DemoAlert(
        "abc-app-5xx-burst",
        14 * 60 + 30,
        15,
        {"alertname": "HighErrorRate", "severity": "critical", **ABC},
        "abc-app 5xx ratio above 1 %",
        "From 14:30 to 14:45 UTC about 5 % of abc-app's requests failed with HTTP 5xx (normally "
        "~0.2 %), on both instances. At the same time p95 latency rose to ~0.96 s and the host "
        "node-1 saturated (CPU ~97 % busy, available memory below 10 %): host resource exhaustion "
        "is the likely cause. The error_rate SLO (1 %) was breached for 15 minutes.",
    ),
    DemoAlert(
        "abc-app-latency",
        14 * 60 + 30,
        15,
        {"alertname": "HighLatency", "severity": "warning", **ABC},
        "abc-app p95 latency above 500 ms",
        "abc-app's p95 latency rose from ~0.22 s to ~0.96 s between 14:30 and 14:45 UTC, during the "
        "5xx burst and node-1's CPU and memory saturation. The p95_latency_ms SLO (500) was breached.",
    ),
    DemoAlert(
        "node-1-cpu",
        14 * 60 + 30,
        15,
        {"alertname": "NodeHighCPU", "severity": "warning", **NODE1},
        "node-1 CPU busy above 90 %",
        "node-1 (hosting abc-1 and abc-2) ran at ~97 % CPU from 14:30 to 14:45 UTC; abc-app's errors "
        "and latency rose in the same window.",
    ),
    DemoAlert(
        "node-1-memory",
        14 * 60 + 30,
        15,
        {"alertname": "NodeLowMemory", "severity": "warning", **NODE1},
        "node-1 available memory below 15 %",
        "node-1's available memory fell to ~9 % of total from 14:30 to 14:45 UTC, with the CPU "
        "saturation and abc-app's 5xx burst.",
    ),
    DemoAlert(
        "abc-2-down",
        3 * 60 + 10,
        6,
        {"alertname": "InstanceDown", "severity": "critical", **ABC, "instance": "abc-2:8080"},
        "abc-2:8080 is down",
        "abc-2:8080 stopped answering scrapes (up=0) from 03:10 to 03:16 UTC and its container "
        "restarted 3 times; abc-1 kept serving, so availability dropped only for abc-2's share.",
    ),
    DemoAlert(
        "checkout-latency",
        9 * 60,
        20,
        {"alertname": "HighLatency", "severity": "warning", **CHECKOUT},
        "checkout p95 latency above 500 ms",
        "checkout's p95 latency breached 500 ms from 09:00 to 09:20 UTC while its error ratio stayed "
        "normal (~0.2 %): a slow dependency rather than failures.",
    ),
]

CHAT: list[tuple[Role, str]] = [
    ("user", "Why did abc-app return 5xx errors yesterday around 14:30?"),
    (
        "assistant",
        "Between 14:30 and 14:45 UTC about 5 % of abc-app's requests failed (HTTP 500/503) on both "
        "abc-1 and abc-2, while node-1's CPU was ~97 % busy and available memory under 10 %.",
    ),
    ("user", "Was the server impacted, and did latency go up too?"),
    (
        "assistant",
        "Yes: node-1 saturated in the same window, and abc-app's p95 latency rose from ~0.22 s "
        "to ~0.96 s. Both recovered by 14:45.",
    ),
]


@dataclass
class SeedSummary:
    """What `seed_demo` did; ``alert_ids`` maps incident names to alert ids (stable across runs)."""

    profiles_written: list[str] = field(default_factory=list)
    profiles_unchanged: list[str] = field(default_factory=list)
    alerts_created: int = 0
    alerts_updated: int = 0
    alert_ids: dict[str, int] = field(default_factory=dict)
    chat_session_id: int | None = None
    chat_created: bool = False


def incident_day(world_end: datetime) -> datetime:
    """00:00 UTC of the day before ``world_end``'s day: where the world puts its incidents."""
    end = world_end.astimezone(UTC)
    return datetime.combine((end - timedelta(days=1)).date(), time(0), UTC)


def demo_alerts(world_end: datetime) -> list[tuple[DemoAlert, AlertIn]]:
    """Each demo alert with its webhook form, placed on the world's incident windows."""
    day0 = incident_day(world_end)
    out = []
    for alert in ALERTS:
        start = day0 + timedelta(minutes=alert.start_minute)
        payload = {
            "fingerprint": alert.fingerprint,
            "status": "resolved",
            "labels": alert.labels,
            "annotations": {"summary": alert.summary, "incident": alert.incident},
            "startsAt": start,
            "endsAt": start + timedelta(minutes=alert.minutes),
        }
        out.append((alert, AlertIn.model_validate(payload)))
    return out


async def seed_demo(store: Store, world_end: datetime) -> SeedSummary:
    """Write the demo data for the world ending at ``world_end`` (aware); idempotent."""
    summary = SeedSummary()
    for data in PROFILES:
        profile = ProfileIn.model_validate(data)
        if _same(await store.profiles.get(profile.name), profile):
            summary.profiles_unchanged.append(profile.name)
        else:
            await store.profiles.save(profile)
            summary.profiles_written.append(profile.name)

    pairs = demo_alerts(world_end)
    result = await store.alerts.upsert_alerts(alert_in for _, alert_in in pairs)
    summary.alerts_created, summary.alerts_updated = len(result.created), len(result.updated)
    ids = {(row_fp, row_at): row_id for row_id, row_fp, row_at in await _ids(store, pairs)}
    for demo, alert_in in pairs:
        alert_id = ids[(alert_in.fingerprint, alert_in.starts_at)]
        summary.alert_ids[demo.incident] = alert_id
        row = await store.alerts.get(alert_id)
        if row is not None and row.ai_analysis != demo.analysis:
            await store.alerts.set_analysis(alert_id, demo.analysis)

    burst = summary.alert_ids["abc-app-5xx-burst"]
    existing = [s for s in await store.chats.sessions_for_alert(burst) if s.title == CHAT_TITLE]
    if existing:
        summary.chat_session_id = existing[0].id
    else:
        session = await store.chats.create_session(app="abc-app", title=CHAT_TITLE, alert_id=burst)
        for role, content in CHAT:
            await store.chats.add_message(session.id, role, content)
        summary.chat_session_id, summary.chat_created = session.id, True
    return summary


async def _ids(store: Store, pairs: list[tuple[DemoAlert, AlertIn]]) -> list[tuple[int, str, datetime]]:
    """(id, fingerprint, starts_at) of the demo alerts, looked up by alertname (few rows)."""
    found = []
    wanted = {(a.fingerprint, a.starts_at) for _, a in pairs}
    for name in sorted({a.labels["alertname"] for _, a in pairs}):
        page = await store.alerts.recent(AlertFilter(alertname=name), limit=500)
        found += [
            (r.id, r.fingerprint, r.starts_at) for r in page.items if (r.fingerprint, r.starts_at) in wanted
        ]
    return found


def _same(row: ApplicationProfile | None, profile: ProfileIn) -> bool:
    """Whether the stored ``row`` already holds exactly ``profile``."""
    if row is None:
        return False
    stored = {
        "name": row.name,
        "description": row.description,
        "architecture_info": row.architecture_info,
        "service_mappings": row.service_mappings,
        "prometheus_datasource": row.prometheus_datasource,
        "loki_datasource": row.loki_datasource,
        "default_metrics": row.default_metrics,
        "slos": row.slos,
        "aliases": row.aliases,
    }
    return ProfileIn.model_validate(stored) == profile
