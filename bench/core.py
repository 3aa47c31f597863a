"""Core benchmark: tool-call overhead, stdio start-up, and answer size, against the same real Prometheus.

Everything is measured in one run, so the ratios compare like with like on a shared machine.
The server's query cache is off for latency rows (otherwise we would be timing a dictionary).
"""

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from aiops_mcp.demo.backends import start_prometheus
from aiops_mcp.demo.world import build_world
from aiops_mcp.server.app import build_server
from aiops_mcp.settings import Settings
from bench.record import quiet_logs, save

CALLS = 50
STARTS = 5


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


async def timed(call: Callable[[], Awaitable[Any]], n: int = CALLS) -> list[float]:
    await call()  # warm-up: connections, imports
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def same_code() -> dict[str, str]:
    """The environment that makes a spawned `python -m aiops_mcp` import the code this process runs."""
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": path} if path else {}


def stdio_params(prometheus_url: str, data_dir: Path | None = None) -> StdioServerParameters:
    """Our server over stdio, query cache off; its store and audit log in `data_dir` when given."""
    env = {
        "PROMETHEUS_URL": prometheus_url,
        "QUERY_CACHE_TTL_SECONDS": "0",
        "AIOPS_MCP_LOG_LEVEL": "WARNING",
        **same_code(),
    }
    if data_dir is not None:
        env["AIOPS_MCP_DATA_DIR"] = str(data_dir)
    return StdioServerParameters(command=sys.executable, args=["-m", "aiops_mcp", "serve"], env=env)


async def latency_rows(url: str, at: str) -> list[dict[str, Any]]:
    """An instant query over every `up` series: direct HTTP, in-memory MCP, MCP over stdio."""
    settings = Settings(prometheus_url=url, query_cache_ttl_seconds=0)
    args = {"query": "up", "time": at}
    async with httpx.AsyncClient(base_url=url) as http:
        direct = await timed(lambda: http.post("/api/v1/query", data=args))
    async with Client(build_server(settings)) as client:
        memory = await timed(lambda: client.call_tool("prometheus_query", args))
    async with Client(stdio_params(url)) as client:
        stdio = await timed(lambda: client.call_tool("prometheus_query", args))
    base50, base95 = percentiles(direct)
    rows = [{"path": "direct HTTP to Prometheus", "p50_ms": base50, "p95_ms": base95}]
    for name, samples in (("MCP in memory", memory), ("MCP over stdio", stdio)):
        p50, p95 = percentiles(samples)
        rows.append(
            {
                "path": name,
                "p50_ms": p50,
                "p95_ms": p95,
                "overhead_p50_ms": p50 - base50,
                "ratio_p50": p50 / base50,
            }
        )
    return rows


async def startup_seconds(connect: Callable[[], Client], n: int = STARTS) -> list[float]:
    """Spawn a server (`connect()`: a stdio `Client`) `n` times, timing each to its first tools/list."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        async with connect() as client:
            await client.list_tools()
            samples.append(time.perf_counter() - started)
    return samples


async def size_row(url: str, start: datetime, end: datetime) -> dict[str, Any]:
    """A 24 h range over 20+ series: our answer (text and structured) against Prometheus' raw JSON."""
    query = 'rate({__name__=~"http_requests_total|http_request_duration_seconds_bucket"}[5m])'
    settings = Settings(prometheus_url=url)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "prometheus_query_range", {"query": query, "start": start.isoformat(), "end": end.isoformat()}
        )
    data = result.structured_content or {}
    step = data["provenance"]["step_seconds"]
    async with httpx.AsyncClient(base_url=url) as http:
        raw = await http.post(
            "/api/v1/query_range",
            data={
                "query": query,
                "start": start.timestamp(),
                "end": end.timestamp(),
                "step": step,
            },
        )
    text_bytes = sum(len(block.text.encode()) for block in result.content if block.type == "text")
    structured_bytes = len(json.dumps(data, separators=(",", ":")).encode())
    raw_bytes = len(raw.content)
    return {
        "query": query,
        "series": data["series_total"],
        "step_seconds": step,
        "raw_bytes": raw_bytes,
        "text_bytes": text_bytes,
        "structured_bytes": structured_bytes,
        "text_ratio": raw_bytes / text_bytes,
        "structured_ratio": raw_bytes / structured_bytes,
    }


def tokens(n_bytes: int) -> int:
    """Approximate tokens: about 4 bytes per token for JSON and English."""
    return round(n_bytes / 4)


def render(latency: list[dict[str, Any]], startup: list[float], size: dict[str, Any]) -> str:
    lines = ["| path | p50 ms | p95 ms | overhead p50 ms | ratio p50 |", "|---|---|---|---|---|"]
    for row in latency:
        lines.append(
            f"| {row['path']} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | "
            f"{row.get('overhead_p50_ms', 0):.2f} | {row.get('ratio_p50', 1):.2f}× |"
        )
    s50, _ = percentiles(startup)
    lines += [
        "",
        f"start-up to first tools/list over stdio: p50 {s50:.0f} ms, max {max(startup) * 1000:.0f} ms",
        "",
        "| answer (24 h range, rates of request counters and latency buckets) | bytes | ~tokens | raw/ours |",
        "|---|---|---|---|",
        f"| raw Prometheus JSON ({size['series']} series, step {size['step_seconds']:g}s) | "
        f"{size['raw_bytes']} | {tokens(size['raw_bytes'])} | 1× |",
        f"| our text | {size['text_bytes']} | {tokens(size['text_bytes'])} | {size['text_ratio']:.1f}× |",
        f"| our structured content | {size['structured_bytes']} | {tokens(size['structured_bytes'])} | "
        f"{size['structured_ratio']:.1f}× |",
    ]
    return "\n".join(lines)


async def main() -> None:
    quiet_logs()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    world = build_world(end)
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp:
        prometheus = start_prometheus(world, Path(tmp))
        try:
            latency = await latency_rows(prometheus.url, world.end.isoformat())
            startup = await startup_seconds(lambda: Client(stdio_params(prometheus.url)))
            size = await size_row(prometheus.url, world.end - timedelta(hours=24), world.end)
        finally:
            prometheus.stop()
    save(
        "core", render(latency, startup, size), {"latency": latency, "startup_seconds": startup, "size": size}
    )


def run() -> None:
    anyio.run(main)
