"""Answers benchmark: `app_health`'s wall time with its PromQL queries in parallel (six for abc-app:
up, the error ratio's whole-window figure and series, p95's whole-window figure and series, p99's
figure), against the same queries one after another, and with a warm query cache, against the same
real Prometheus.

The bench starts one Prometheus on loopback with the generated world (`build_world`, 168 h so that
"last 7d" is all data), seeds a SQLite store with the demo profiles, pins the server's clock to the
world's end, and asks ``app_health(app="abc-app", time_range=...)`` for "yesterday" and "last 7d".
For each range, `RUNS` rounds each time four paths (the order rotating from round to round, after
one untimed warm-up of each):

- **tool, cold**: the tool through an in-memory MCP client, the query cache off
  (``query_cache_ttl_seconds=0``: the client keeps no cache and shares no in-flight fetch);
- **parallel, cold**: the tool's queries (its own `health_queries`, step and range functions)
  run with its `gather` on the same uncached client, then its `health_result`; no MCP, no profile
  lookup;
- **sequential, cold**: the same queries awaited one after another, then the same `health_result`:
  the only difference from the row above is concurrency;
- **tool, warm**: the tool on a second server whose cache is on (the default TTL), asked the
  same question again: every answer comes from the cache.

Before timing, the direct paths' results must equal the tool's structured result, and their
queries the tool's provenance; after timing, the telemetry counters must show every cold request
sent to Prometheus and every warm one served from the cache. "Where the time goes" times each
query alone: the HTTP exchange (Prometheus' evaluation and the transfer) and our parse of the body.

Prometheus and this process share the machine's CPUs, so each path's CPU use is read from /proc
(Linux) around every call, outside the timed span: this process, Prometheus, and the rest of the
machine (other processes: the output warns when they were busy, which inflates the times).
"""

import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anyio
import httpx
from mcp import Client

from aiops_mcp.datasources.models import QueryData
from aiops_mcp.datasources.prometheus import PrometheusClient, format_seconds, parse_query_data
from aiops_mcp.demo.backends import start_prometheus
from aiops_mcp.demo.seed import seed_demo
from aiops_mcp.demo.world import build_world
from aiops_mcp.query.step import align_range, format_duration
from aiops_mcp.runtime import Runtime
from aiops_mcp.server.app import build_runtime, build_server
from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store
from aiops_mcp.tools.answering import AppSelectors, find_profile, gather, profile_labels, resolution
from aiops_mcp.tools.arguments import parse_window
from aiops_mcp.tools.health import MAX_POINTS, HealthResult, health_queries, health_result, slo_targets
from bench.core import percentiles
from bench.record import quiet_logs, save

APP = "abc-app"
RANGES = ("yesterday", "last 7d")
RUNS = 40
BREAKDOWN_RUNS = 10
WORLD_HOURS = 168
BUSY_MACHINE = 0.1
"""CPUs kept busy by other processes during the timed calls above which the output warns."""
WARM_TTL_SECONDS = 300.0  # the default, set here so that the environment cannot change it
PATHS = ("tool, cold", "parallel, cold", "sequential, cold", "tool, warm")
LABELS = {
    "tool, cold": "app_health via MCP, cache off",
    "parallel, cold": "its queries with gather + health_result, no cache",
    "sequential, cold": "its queries one after another + health_result, no cache",
    "tool, warm": "app_health via MCP, warm cache",
}


class BenchError(RuntimeError):
    """The bench measured something other than what it claims (different work, cache not as said)."""


@dataclass
class Plan:
    """What the tool sends for one question: name -> (PromQL, is_range), the aligned range, step."""

    profile: str
    targets: dict[str, float | None]
    queries: dict[str, tuple[str, bool]]
    lo: float
    hi: float
    step: float


async def plan(rt: Runtime, time_range: str) -> Plan:
    """The tool's queries, built with its own functions (profile, window, step, rate window)."""
    profile = await find_profile(rt, APP)
    window = parse_window(rt, time_range, None, None, default="yesterday")
    step, rate_window = resolution(rt, window.seconds, MAX_POINTS)
    lo, hi = align_range(window.start_ts, window.end_ts, step)
    selectors = AppSelectors.of(profile_labels(profile, "metrics"), list(profile.default_metrics or []))
    targets = slo_targets(profile.slos or {})
    queries = health_queries(selectors, rate_window, format_duration(hi - lo), targets)
    return Plan(profile.name, targets, queries, lo, hi, step)


def fetchers(client: PrometheusClient, p: Plan) -> dict[str, Callable[[], Awaitable[QueryData]]]:
    def fetch(query: str, is_range: bool) -> Callable[[], Awaitable[QueryData]]:
        return lambda: (
            client.query_range(query, p.lo, p.hi, p.step) if is_range else client.query(query, p.hi)
        )

    return {name: fetch(query, is_range) for name, (query, is_range) in p.queries.items()}


def result_of(p: Plan, data: dict[str, QueryData | None], reference: HealthResult) -> HealthResult:
    return health_result(p.profile, (p.lo, p.hi), data, p.targets, reference.queries, {})


async def parallel(client: PrometheusClient, p: Plan, reference: HealthResult) -> HealthResult:
    fetched = await gather(fetchers(client, p))
    return result_of(p, {name: fetched.get(name) for name in p.queries}, reference)


async def sequential(client: PrometheusClient, p: Plan, reference: HealthResult) -> HealthResult:
    data: dict[str, QueryData | None] = {}
    for name, call in fetchers(client, p).items():
        data[name] = await call()
    return result_of(p, data, reference)


async def ask(client: Client, time_range: str) -> HealthResult:
    result = await client.call_tool("app_health", {"app": APP, "time_range": time_range})
    if result.is_error or result.structured_content is None:
        raise BenchError(f"app_health failed: {result.content}")
    return HealthResult.model_validate(result.structured_content)


def check_same_work(p: Plan, tool: HealthResult, direct: list[HealthResult]) -> None:
    """The direct paths send the tool's queries and reach the tool's answer."""
    sent = {name: query for name, (query, _) in p.queries.items()}
    if {name: q.query for name, q in tool.queries.items()} != sent:
        raise BenchError(f"the tool sent other queries than health_queries builds: {tool.queries}")
    if tool.queries["up"].step_seconds != p.step:
        raise BenchError(f"the tool's step is {tool.queries['up'].step_seconds}, the plan's {p.step}")
    if tool.missing or tool.status not in ("ok", "truncated"):
        raise BenchError(f"the tool's answer is {tool.status} (missing {tool.missing})")
    for result in direct:
        if result != tool:
            raise BenchError("a direct path's result differs from the tool's structured result")


def requests(rt: Runtime) -> dict[str, float]:
    """Prometheus requests the runtime's clients reported so far, by outcome."""
    get = rt.telemetry.registry.get_sample_value
    return {
        status: get("aiops_grafana_queries_total", {"datasource_type": "prometheus", "status": status}) or 0.0
        for status in ("ok", "cache_hit", "error")
    }


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in after}


@dataclass(frozen=True)
class CPU:
    """CPU seconds used so far: by this process, by Prometheus, by the whole machine (all CPUs)."""

    ours: float
    prometheus: float
    machine: float

    def __sub__(self, other: "CPU") -> "CPU":
        return CPU(self.ours - other.ours, self.prometheus - other.prometheus, self.machine - other.machine)

    def __add__(self, other: "CPU") -> "CPU":
        return CPU(self.ours + other.ours, self.prometheus + other.prometheus, self.machine + other.machine)


def cpu_now(prometheus_pid: int) -> CPU:
    """Read from /proc (Linux): Prometheus' utime + stime, the machine's non-idle time."""
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{prometheus_pid}/stat").read_text().rsplit(")", 1)[1].split()
    with open("/proc/stat") as machine:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, machine.readline().split()[1:8])
    return CPU(
        ours=time.process_time(),
        prometheus=(int(stat[11]) + int(stat[12])) / ticks,
        machine=(user + nice + system + irq + softirq) / ticks,
    )


async def measure_range(
    time_range: str, cold: tuple[Client, Runtime], warm: tuple[Client, Runtime], prometheus_pid: int
) -> dict[str, Any]:
    """Time the four paths for one range, interleaved, and check the work and the cache."""
    (cold_client, cold_rt), (warm_client, warm_rt) = cold, warm
    prometheus = await cold_rt.prometheus()
    p = await plan(cold_rt, time_range)
    reference = await ask(cold_client, time_range)
    await ask(warm_client, time_range)  # fills the warm cache
    check_same_work(
        p, reference, [await parallel(prometheus, p, reference), await sequential(prometheus, p, reference)]
    )
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "tool, cold": lambda: ask(cold_client, time_range),
        "parallel, cold": lambda: parallel(prometheus, p, reference),
        "sequential, cold": lambda: sequential(prometheus, p, reference),
        "tool, warm": lambda: ask(warm_client, time_range),
    }
    samples: dict[str, list[float]] = {name: [] for name in PATHS}
    used = dict.fromkeys(PATHS, CPU(0, 0, 0))
    cold_before, warm_before = requests(cold_rt), requests(warm_rt)
    for round_ in range(RUNS):
        for name in PATHS[round_ % 4 :] + PATHS[: round_ % 4]:
            before = cpu_now(prometheus_pid)
            started = time.perf_counter()
            await calls[name]()
            samples[name].append(time.perf_counter() - started)
            used[name] += cpu_now(prometheus_pid) - before
    cold_sent, warm_sent = delta(requests(cold_rt), cold_before), delta(requests(warm_rt), warm_before)
    queries = len(p.queries)
    if cold_sent != {"ok": 3 * RUNS * queries, "cache_hit": 0, "error": 0}:
        raise BenchError(f"cold paths: expected {3 * RUNS * queries} requests sent, counted {cold_sent}")
    if warm_sent != {"ok": 0, "cache_hit": RUNS * queries, "error": 0}:
        raise BenchError(f"warm path: expected {RUNS * queries} cache hits, counted {warm_sent}")
    rows = {}
    for name in PATHS:
        p50, p95 = percentiles(samples[name])
        mean, cpu = sum(samples[name]) / RUNS, used[name]
        rows[name] = {
            "p50_ms": p50,
            "p95_ms": p95,
            "mean_ms": mean * 1000,
            "cpu_ms_ours": cpu.ours / RUNS * 1000,
            "cpu_ms_prometheus": cpu.prometheus / RUNS * 1000,
            # /proc/stat counts in 10 ms ticks: on a quiet machine the difference dips below zero.
            "cpu_ms_others": max(0.0, cpu.machine - cpu.ours - cpu.prometheus) / RUNS * 1000,
            "cpus_busy": (cpu.ours + cpu.prometheus) / RUNS / mean,
        }
    return {
        "time_range": time_range,
        "step_seconds": p.step,
        "verdict": reference.verdict,
        "paths": rows,
        "ratios": {
            "sequential_over_parallel": ratios(rows["sequential, cold"], rows["parallel, cold"]),
            "sequential_over_tool_cold": ratios(rows["sequential, cold"], rows["tool, cold"]),
            "cold_over_warm": ratios(rows["tool, cold"], rows["tool, warm"]),
        },
        "requests": {"cold": cold_sent, "warm": warm_sent},
        "breakdown": await breakdown(prometheus.url, p, reference),
    }


def ratios(slow: dict[str, float], fast: dict[str, float]) -> dict[str, float]:
    return {"p50": slow["p50_ms"] / fast["p50_ms"], "p95": slow["p95_ms"] / fast["p95_ms"]}


async def breakdown(url: str, p: Plan, reference: HealthResult) -> dict[str, Any]:
    """Each query alone, `BREAKDOWN_RUNS` times: the HTTP exchange, then our parse of its body."""
    per_query: dict[str, Any] = {}
    data: dict[str, QueryData | None] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for name, (query, is_range) in p.queries.items():
            if is_range:
                path = "/api/v1/query_range"
                form = {
                    "start": format_seconds(p.lo),
                    "end": format_seconds(p.hi),
                    "step": format_seconds(p.step),
                }
            else:
                path, form = "/api/v1/query", {"time": format_seconds(p.hi)}
            http_s, parse_s = [], []
            for _ in range(BREAKDOWN_RUNS + 1):  # the first is a warm-up
                started = time.perf_counter()
                reply = await http.post(path, data={"query": query, **form})
                sent = time.perf_counter()
                parsed = parse_query_data(json.loads(reply.content)["data"])
                http_s.append(sent - started)
                parse_s.append(time.perf_counter() - sent)
            data[name] = parsed
            per_query[name] = {
                "series": len(parsed.series),
                "points": sum(len(s.timestamps) for s in parsed.series),
                "bytes": len(reply.content),
                "http_p50_ms": percentiles(http_s[1:])[0],
                "parse_p50_ms": percentiles(parse_s[1:])[0],
            }
    evaluate_s = []
    for _ in range(BREAKDOWN_RUNS):
        started = time.perf_counter()
        result_of(p, data, reference)
        evaluate_s.append(time.perf_counter() - started)
    return {"queries": per_query, "evaluate_p50_ms": percentiles(evaluate_s)[0]}


async def max_concurrency_flag(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        flags = (await http.get("/api/v1/status/flags")).json()["data"]
    return str(flags.get("query.max-concurrency", "?"))


def render(rows: list[dict[str, Any]], notes: dict[str, Any]) -> str:
    lines = [
        f'app_health(app="{APP}") against one real Prometheus on loopback, {RUNS} interleaved rounds '
        "per range; cold = query cache off, warm = the same question again within the cache's TTL.",
        "",
        "CPU ms per call (means): this process (client and server), Prometheus, and other processes "
        "on the machine meanwhile; CPUs busy = (ours + Prometheus) / mean wall time.",
        "",
        "| time range | path | p50 ms | p95 ms | CPU ours | CPU Prometheus | CPU others | CPUs busy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        label = f"{row['time_range']} (step {row['step_seconds']:g}s)"
        for name in PATHS:
            m = row["paths"][name]
            lines.append(
                f"| {label} | {LABELS[name]} | {m['p50_ms']:.1f} | {m['p95_ms']:.1f} | "
                f"{m['cpu_ms_ours']:.0f} | {m['cpu_ms_prometheus']:.0f} | {m['cpu_ms_others']:.0f} | "
                f"{m['cpus_busy']:.2f} |"
            )
    lines += [
        "",
        "| time range | sequential / parallel (p50, p95) | sequential / app_health cold (p50, p95) "
        "| cold / warm (p50, p95) |",
        "|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            f"{row['ratios'][k]['p50']:.2f}×, {row['ratios'][k]['p95']:.2f}×"
            for k in ("sequential_over_parallel", "sequential_over_tool_cold", "cold_over_warm")
        ]
        lines.append(f"| {row['time_range']} | {' | '.join(cells)} |")
    lines += [
        "",
        "Where the time goes: each query alone (p50 ms), the HTTP exchange (Prometheus' evaluation "
        "and the transfer) and our parse of the body (JSON and floats, in this process).",
        "",
        "| time range | query | series | points | bytes | HTTP | parse |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        per = row["breakdown"]["queries"]
        for name, q in per.items():
            lines.append(
                f"| {row['time_range']} | {name} | {q['series']} | {q['points']} | {q['bytes']} | "
                f"{q['http_p50_ms']:.1f} | {q['parse_p50_ms']:.1f} |"
            )
        http_ms = [q["http_p50_ms"] for q in per.values()]
        parse_ms = sum(q["parse_p50_ms"] for q in per.values())
        lines.append(
            f"| {row['time_range']} | sum (max) | | | | {sum(http_ms):.1f} ({max(http_ms):.1f}) | "
            f"{parse_ms:.1f} |"
        )
        lines.append(
            f"| {row['time_range']} | health_result() | | | | | {row['breakdown']['evaluate_p50_ms']:.1f} |"
        )
    lines += [
        "",
        f"Machine: {notes['cpus']} CPUs, shared by Prometheus (query.max-concurrency "
        f"{notes['prometheus_max_concurrency']}) and this process (one event loop; the client lets "
        f"{notes['client_max_concurrency']} requests in flight, the tool sends {notes['queries']}).",
    ]
    others = max(m["cpu_ms_others"] / m["mean_ms"] for row in rows for m in row["paths"].values())
    if others > BUSY_MACHINE:
        lines.append(
            f"Warning: other processes kept up to {others:.2f} CPUs busy during one path's calls: "
            "the machine was not quiet, these times are inflated."
        )
    return "\n".join(lines)


def settings(prometheus_url: str, tmp: Path, cache_ttl: float) -> Settings:
    """One server's settings: the bench's Prometheus, the seeded SQLite store, the cache's TTL."""
    return Settings(
        prometheus_url=prometheus_url,
        database_url=f"sqlite+aiosqlite:///{tmp / 'store.db'}",
        aiops_mcp_data_dir=tmp,
        aiops_mcp_log_level="WARNING",
        query_cache_ttl_seconds=cache_ttl,
    )


async def main() -> None:
    quiet_logs()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    world = build_world(end, hours=WORLD_HOURS)
    with TemporaryDirectory(prefix="aiops-bench-") as tmp:
        prometheus = start_prometheus(world, Path(tmp) / "prometheus")
        try:
            cold_settings = settings(prometheus.url, Path(tmp), cache_ttl=0)
            warm_settings = settings(prometheus.url, Path(tmp), cache_ttl=WARM_TTL_SECONDS)
            async with await open_store(cold_settings.database_url, cold_settings.data_dir) as store:
                await seed_demo(store, world.end)
            cold_rt, warm_rt = build_runtime(cold_settings), build_runtime(warm_settings)
            cold_rt.now = warm_rt.now = lambda: world.end
            try:
                async with (
                    Client(build_server(cold_settings, runtime=cold_rt)) as cold_client,
                    Client(build_server(warm_settings, runtime=warm_rt)) as warm_client,
                ):
                    pid = prometheus.process.pid if prometheus.process else 0
                    rows = [
                        await measure_range(r, (cold_client, cold_rt), (warm_client, warm_rt), pid)
                        for r in RANGES
                    ]
                notes = {
                    "cpus": os.cpu_count(),
                    "queries": len(rows[0]["breakdown"]["queries"]),
                    "prometheus_max_concurrency": await max_concurrency_flag(prometheus.url),
                    "client_max_concurrency": (await cold_rt.prometheus()).config.max_concurrency,
                    "cold_cache_ttl_seconds": cold_settings.query_cache_ttl_seconds,
                    "warm_cache_ttl_seconds": warm_settings.query_cache_ttl_seconds,
                }
            finally:
                await cold_rt.aclose()
                await warm_rt.aclose()
        finally:
            prometheus.stop()
    save(
        "answers",
        render(rows, notes),
        {"app": APP, "runs": RUNS, "world_hours": WORLD_HOURS, "notes": notes, "rows": rows},
    )


def run() -> None:
    anyio.run(main)
