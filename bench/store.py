"""Store benchmark: webhook ingest throughput and alert-resource read latency, SQLite against PostgreSQL.

For each backend, in one run: the real HTTP app served by uvicorn on loopback ingests 10,000
distinct alerts through ``POST /alertmanager/webhook`` in Alertmanager-like payloads of 100
(sequentially), then receives the same 10,000 again (idempotent updates); the store must then
hold exactly 10,000 rows. With those rows stored, a real MCP client over streamable HTTP reads
the recent-alerts page, a filtered page and one alert, `READS` times each.

The server and the client share one process and event loop (as in the tests' `serving`), so
latencies include the client's own work. The PostgreSQL cluster runs with ``fsync=off``; SQLite
uses WAL with ``synchronous=NORMAL``: neither waits for the disk on commit.
"""

import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from pydantic import SecretStr

from aiops_mcp.demo.backends import start_postgres
from aiops_mcp.settings import Settings
from aiops_mcp.store import AlertFilter, Store, open_store
from bench.core import percentiles, timed
from bench.record import quiet_logs, save
from tests.serving import serving

ALERTS = 10_000
BATCH = 100
READS = 100
TOKEN = "bench-webhook-token"
APPS = [f"app-{n:02}" for n in range(20)]
ALERTNAMES = ["HighErrorRate", "HighLatency", "PodCrashLooping", "DiskFull", "MemoryPressure", "TargetDown"]
SEVERITIES = ["critical", "warning", "info"]
FILTER_APP = APPS[7]
BACKEND_SECONDS = 300  # one backend's whole run; the bench fails rather than hangs
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEVER = datetime(1, 1, 1, tzinfo=UTC)


class BenchError(RuntimeError):
    """The bench measured something other than what it claims (wrong row count, failed request)."""


def alert(i: int) -> dict[str, Any]:
    """Alert ``i`` as Alertmanager sends it: distinct fingerprint and start, one in seven resolved."""
    app = APPS[i % len(APPS)]
    starts = T0 - timedelta(minutes=i)
    ends = starts + timedelta(minutes=5) if i % 7 == 3 else None
    labels = {
        "alertname": ALERTNAMES[i % len(ALERTNAMES)],
        "app": app,
        "severity": SEVERITIES[i % len(SEVERITIES)],
        "instance": f"{app}-{i % 5}.prod:8080",
        "job": app,
        "namespace": "prod",
    }
    return {
        "status": "resolved" if ends else "firing",
        "labels": labels,
        "annotations": {
            "summary": f"{labels['alertname']} on {labels['instance']}",
            "description": f"{labels['alertname']} has been active on {app} for more than 5 minutes.",
        },
        "startsAt": starts.isoformat(),
        "endsAt": (ends or NEVER).isoformat(),
        "generatorURL": f"http://prometheus.example/graph?g0.expr=alert{i}",
        "fingerprint": f"{i:016x}",
    }


def bodies() -> list[bytes]:
    """The 10,000 alerts as version-4 webhook bodies of `BATCH` alerts, encoded up front."""
    payloads = []
    for start in range(0, ALERTS, BATCH):
        alerts = [alert(i) for i in range(start, start + BATCH)]
        payload = {
            "version": "4",
            "groupKey": f'{{}}:{{batch="{start // BATCH}"}}',
            "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
            "receiver": "aiops",
            "groupLabels": {"batch": str(start // BATCH)},
            "commonLabels": {"namespace": "prod"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example",
            "alerts": alerts,
        }
        payloads.append(json.dumps(payload).encode())
    return payloads


async def ingest(http: httpx.AsyncClient, payloads: list[bytes], expect: str) -> dict[str, Any]:
    """POST every body in turn; alerts/s over the whole pass and per-POST latency."""
    counts = {"created": 0, "updated": 0, "ignored": 0}
    posts = []
    started = time.perf_counter()
    for body in payloads:
        sent = time.perf_counter()
        answer = await http.post("/alertmanager/webhook", content=body)
        posts.append(time.perf_counter() - sent)
        if answer.status_code != 200:
            raise BenchError(f"webhook answered {answer.status_code}: {answer.text[:300]}")
        for name, value in answer.json().items():
            counts[name] += value
    elapsed = time.perf_counter() - started
    if counts[expect] != ALERTS or sum(counts.values()) != ALERTS:
        raise BenchError(f"expected {ALERTS} {expect}, the webhook reported {counts}")
    p50, p95 = percentiles(posts)
    return {"seconds": elapsed, "alerts_per_s": ALERTS / elapsed, "post_p50_ms": p50, "post_p95_ms": p95}


def page(result: Any) -> Any:
    """The JSON document of a resource read."""
    [content] = result.contents
    return json.loads(content.text)


def summarise(samples: list[float]) -> dict[str, float]:
    p50, p95 = percentiles(samples)
    return {"p50_ms": p50, "p95_ms": p95}


async def reads(base: str, alert_id: int) -> dict[str, Any]:
    """The three resource reads through a real MCP client over streamable HTTP (its cache off)."""
    recent_uri = "aiops://alerts"
    filtered_uri = f"aiops://alerts?status=firing&app={FILTER_APP}"
    one_uri = f"aiops://alerts/{alert_id}"
    async with Client(f"{base}/mcp", cache=None) as client:
        recent = page(await client.read_resource(recent_uri))
        filtered = page(await client.read_resource(filtered_uri))
        one = page(await client.read_resource(one_uri))
        if len(recent["alerts"]) != 50 or not recent["more"]:
            raise BenchError(f"{recent_uri} did not answer a full page")
        if len(filtered["alerts"]) != 50 or {(a["status"], a["app"]) for a in filtered["alerts"]} != {
            ("firing", FILTER_APP)
        }:
            raise BenchError(f"{filtered_uri} did not answer a full, filtered page")
        if one["id"] != alert_id or len(one["similar_alerts"]) != 5:
            raise BenchError(f"{one_uri} answered {one.get('id')} with {len(one['similar_alerts'])} similar")
        return {
            "recent": summarise(await timed(lambda: client.read_resource(recent_uri), READS)),
            "filtered": summarise(await timed(lambda: client.read_resource(filtered_uri), READS)),
            "one": summarise(await timed(lambda: client.read_resource(one_uri), READS)),
            "no_store": summarise(await timed(client.list_resource_templates, READS)),
            "uris": {"recent": recent_uri, "filtered": filtered_uri, "one": one_uri},
        }


async def store_only(store: Store, alert_id: int) -> dict[str, Any]:
    """The same three reads' queries straight on the repositories, in process: the database's share."""

    async def one() -> None:
        await store.alerts.get(alert_id)
        await store.chats.sessions_for_alert(alert_id)
        await store.alerts.similar(alert_id, limit=5)

    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "recent": lambda: store.alerts.recent(limit=50),
        "filtered": lambda: store.alerts.recent(AlertFilter(status="firing", app=FILTER_APP), limit=50),
        "one": one,
    }
    return {name: summarise(await timed(call, READS)) for name, call in calls.items()}


async def measure(backend: str, settings: Settings) -> dict[str, Any]:
    """Ingest, re-deliver, check the row count, then time the reads, on one backend."""
    payloads = bodies()
    with anyio.fail_after(BACKEND_SECONDS):
        async with serving(settings) as base:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
                new = await ingest(http, payloads, "created")
                again = await ingest(http, payloads, "updated")
            store = await open_store(settings.database_url, settings.data_dir)
            try:
                stored = await store.alerts.count()
                if stored != ALERTS:
                    raise BenchError(f"{backend}: the store holds {stored} alerts, expected {ALERTS}")
                # Mid-history: alert 5,001 of 10,000, with older similar alerts to find.
                middle = AlertFilter(until=T0 - timedelta(minutes=ALERTS // 2))
                [chosen] = (await store.alerts.recent(middle, limit=1)).items
                alert_id = chosen.id
                mcp = await reads(base, alert_id)
                direct = await store_only(store, alert_id)
            finally:
                await store.aclose()
    return {
        "backend": backend,
        "stored": stored,
        "ingest": new,
        "redelivery": again,
        "mcp": mcp,
        "store": direct,
    }


async def sqlite_row() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aiops-bench-sqlite-") as tmp:
        settings = Settings(
            aiops_mcp_data_dir=Path(tmp),
            alertmanager_webhook_token=SecretStr(TOKEN),
            aiops_mcp_log_level="WARNING",
        )
        return await measure("SQLite", settings)


async def postgres_row() -> dict[str, Any]:
    # Not TemporaryDirectory's 0700 default alone: as root the server runs as 'postgres', which
    # start_postgres hands this directory to; mkdtemp under the system temp dir is reachable.
    pg_dir = tempfile.mkdtemp(prefix="aiops-bench-pg-")
    try:
        server = await anyio.to_thread.run_sync(start_postgres, pg_dir)
        try:
            url = server.create_database("bench_store")
            with tempfile.TemporaryDirectory(prefix="aiops-bench-key-") as tmp:
                settings = Settings(
                    database_url=url,
                    aiops_mcp_data_dir=Path(tmp),  # only the secret key lives here
                    alertmanager_webhook_token=SecretStr(TOKEN),
                    aiops_mcp_log_level="WARNING",
                )
                return await measure("PostgreSQL", settings)
        finally:
            server.stop()
    finally:
        shutil.rmtree(pg_dir, ignore_errors=True)


def ratio(pg: float, lite: float) -> str:
    return f"{pg / lite:.2f}×" if lite else "n/a"


def render(rows: list[dict[str, Any]]) -> str:
    reads_header = " | ".join(
        f"{label} p50 / p95 ms" for label in ("recent page", "filtered page", "one alert")
    )
    lines = [
        f"{ALERTS:,} alerts via POST /alertmanager/webhook in payloads of {BATCH}, sent sequentially; "
        f"then {READS} reads of each resource through an MCP client over streamable HTTP.",
        "",
        f"| backend | ingest new alerts/s | re-delivery alerts/s | {reads_header} |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [f"{row['ingest']['alerts_per_s']:.0f}", f"{row['redelivery']['alerts_per_s']:.0f}"]
        cells += [
            f"{row['mcp'][k]['p50_ms']:.2f} / {row['mcp'][k]['p95_ms']:.2f}"
            for k in ("recent", "filtered", "one")
        ]
        lines.append(f"| {row['backend']} | {' | '.join(cells)} |")
    by_name = {row["backend"]: row for row in rows}
    if {"SQLite", "PostgreSQL"} <= by_name.keys():
        lite, pg = by_name["SQLite"], by_name["PostgreSQL"]
        cells = [ratio(pg[k]["alerts_per_s"], lite[k]["alerts_per_s"]) for k in ("ingest", "redelivery")]
        cells += [
            f"{ratio(pg['mcp'][k]['p50_ms'], lite['mcp'][k]['p50_ms'])} / "
            f"{ratio(pg['mcp'][k]['p95_ms'], lite['mcp'][k]['p95_ms'])}"
            for k in ("recent", "filtered", "one")
        ]
        lines.append(f"| PostgreSQL/SQLite | {' | '.join(cells)} |")
        lines += ["", "Ratios: above 1× is PostgreSQL faster for alerts/s, slower for latency."]
    lines += [
        "",
        "Where the time goes (p50 ms): one POST of 100 alerts; an MCP request that touches no store "
        "(resources/templates/list); the same reads' queries on the repositories, in process.",
        "",
        "| backend | POST new | POST re-delivery | MCP templates/list | "
        "store: recent | store: filtered | store: one alert |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            f"{row['ingest']['post_p50_ms']:.1f}",
            f"{row['redelivery']['post_p50_ms']:.1f}",
            f"{row['mcp']['no_store']['p50_ms']:.2f}",
            *(f"{row['store'][k]['p50_ms']:.2f}" for k in ("recent", "filtered", "one")),
        ]
        lines.append(f"| {row['backend']} | {' | '.join(cells)} |")
    return "\n".join(lines)


async def main() -> None:
    quiet_logs()
    rows = [await sqlite_row(), await postgres_row()]
    save("store", render(rows), {"alerts": ALERTS, "batch": BATCH, "reads": READS, "rows": rows})


def run() -> None:
    anyio.run(main)
