"""Side by side, in one run, on one Prometheus: our server, the peer `prometheus-mcp-server` (raw
Prometheus JSON) and Prometheus' own HTTP API (the limit).

    python -m bench compare [--quick]

Measured: start-up to the first tools/list over stdio; the size of tools/list; six tasks (p50 and
p95 over interleaved calls, answer sizes, and a check that every answer carries the same numbers);
scale to 10,000 series with server memory; 1 to 100 concurrent sessions over streamable HTTP.
Our query cache is off throughout and the peer's metric-list cache is bypassed, so every call
reaches Prometheus; our rate limits are off for the load (the peer has none). `--quick` is a
smoke run (few calls, short load) whose figures are not saved.
"""

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from aiops_mcp.demo.world import build_world
from aiops_mcp.server.app import build_server
from aiops_mcp.settings import Settings
from bench import peer, scale
from bench.core import STARTS, percentiles, startup_seconds, stdio_params, tokens
from bench.load import mib, mix_calls, ours_http, run_load
from bench.load import render as render_load
from bench.measure import Side, measure_task
from bench.record import quiet_logs, save
from bench.tasks import standard_tasks

CALLS = 30
SCALE_CALLS = 3
LEVELS = (1, 10, 50, 100)
LEVEL_SECONDS = 10.0


@dataclass(frozen=True)
class Knobs:
    """How much to measure."""

    calls: int = CALLS
    scale_calls: int = SCALE_CALLS
    starts: int = STARTS
    levels: tuple[int, ...] = LEVELS
    level_seconds: float = LEVEL_SECONDS


QUICK = Knobs(calls=5, scale_calls=1, starts=2, levels=(1, 10), level_seconds=2.0)


def progress(what: str, since: float) -> None:
    """A line on stderr as each part starts: a full run takes minutes."""
    print(f"[{time.monotonic() - since:5.0f} s] {what}", file=sys.stderr, flush=True)


def stdio(params: StdioServerParameters, errlog: TextIO) -> Client:
    """A stdio client whose server's stderr goes to `errlog` (the peer logs every call)."""
    return Client(stdio_client(params, errlog=errlog))


async def tool_definitions(client: Client, prefix: str = "") -> dict[str, Any]:
    """tools/list in bytes: all of it, and the part a host hands its model (name, description, input)."""
    tools = [t for t in (await client.list_tools()).tools if t.name.startswith(prefix)]
    full = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    seen = [{"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in tools]
    return {"tools": len(tools), "bytes": _json_bytes(full), "model_bytes": _json_bytes(seen)}


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


async def startup(url: str, scratch: Path, log: TextIO, n: int) -> dict[str, list[float]]:
    """Both servers spawned `n` times each, alternately, after one untimed start each (cold caches)."""
    ours, theirs = stdio_params(url, scratch / "stdio-data"), peer.stdio_params(url, scratch)
    samples: dict[str, list[float]] = {"ours": [], "peer": []}
    for round_ in range(n + 1):
        for name, params in (("ours", ours), ("peer", theirs)):
            taken = await startup_seconds(lambda p=params: stdio(p, log), 1)  # type: ignore[misc]
            if round_:
                samples[name] += taken
    return samples


async def task_rows(url: str, scratch: Path, log: TextIO, end: float, calls: int) -> tuple[list[Any], dict]:
    """The six tasks on ours in memory, ours over stdio and the peer over stdio; and tools/list sizes."""
    settings = Settings(
        prometheus_url=url, query_cache_ttl_seconds=0, aiops_mcp_data_dir=scratch / "memory-data"
    )
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, trust_env=False, timeout=120))
        memory = await stack.enter_async_context(Client(build_server(settings)))
        ours = await stack.enter_async_context(stdio(stdio_params(url, scratch / "stdio-data"), log))
        theirs = await stack.enter_async_context(stdio(peer.stdio_params(url, scratch), log))
        definitions = {
            "ours": await tool_definitions(ours),
            "ours, Prometheus tools": await tool_definitions(ours, "prometheus_"),
            "peer": await tool_definitions(theirs),
        }
        sides = [
            Side("ours, in memory", memory),
            Side("ours, stdio", ours),
            Side("peer, stdio", theirs, peer=True),
        ]
        rows = [await measure_task(task, http, sides, calls) for task in standard_tasks(end)]
    return rows, definitions


async def scale_rows(url: str, scratch: Path, end: float, calls: int, quick: bool) -> dict[str, Any]:
    """100 to 10,000 series on fresh HTTP servers (memory from /proc), then the over-cap query."""
    with ours_http(url, scratch) as ours_server, peer.http_server(url, scratch) as peer_server:
        baseline = {"ours, HTTP": ours_server.memory(), "peer, HTTP": peer_server.memory()}
        async with (
            httpx.AsyncClient(base_url=url, trust_env=False, timeout=300) as http,
            Client(ours_server.url) as ours,
            Client(peer_server.url) as theirs,
        ):
            sides = [
                Side("ours, HTTP", ours, server=ours_server),
                Side("peer, HTTP", theirs, peer=True, server=peer_server),
            ]
            tasks = scale.scale_tasks(end)
            if quick:  # the 10,000-series range and the over-cap query take most of a minute
                tasks = [t for t in tasks if "10,000 series, 6 h" not in t.name]
            rows = [await measure_task(task, http, sides, calls) for task in tasks]
            over = None if quick else await over_cap(ours, scale.over_cap(end))
            if over is not None:
                over["rss_peak_mib"] = mib(ours_server.memory().get("peak", 0))
            top, count = scale.top_k(end)
            fallback = [await measure_task(task, http, sides, calls) for task in (top, count)]
    return {
        "baseline_rss_mib": {name: mib(m.get("rss", 0)) for name, m in baseline.items()},
        "levels": rows,
        "over_cap": over,
        "top_k_fallback": fallback,
    }


async def over_cap(client: Client, task: Any) -> dict[str, Any]:
    """Our answer to a query whose raw answer passes the response cap: an error, or what came."""
    started = time.perf_counter()
    result = await client.call_tool(*task.ours)
    seconds = time.perf_counter() - started
    text = " ".join(getattr(block, "text", "") for block in result.content)
    return {
        "task": task.name,
        "query": task.ours[1],
        "is_error": result.is_error,
        "seconds": seconds,
        "text": text[:400],
    }


async def concurrency_rows(
    url: str, scratch: Path, end: float, levels: Sequence[int], seconds: float
) -> list:
    """Each level of concurrent sessions on each server, over streamable HTTP, on fresh processes."""
    rows = []
    for name, launch, side in (("ours", ours_http, "ours"), ("peer", peer.http_server, "peer")):
        with launch(url, scratch) as server:
            for sessions in levels:
                row = await run_load(server.url, mix_calls(end, side), sessions, seconds, server=server)
                rows.append({"server": name, **row})
    return rows


# --- the report ------------------------------------------------------------------------------


def size_text(n_bytes: int) -> str:
    return f"{n_bytes:,} (~{tokens(n_bytes):,} tok)"


def ms(figures: dict[str, Any]) -> str:
    return f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f}"


def render_tasks(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| task | direct HTTP | ours, in memory | ours, stdio | peer, stdio "
        "| our overhead p50 (memory / stdio) | peer ÷ ours p50 (stdio) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = r["direct"]["p50_ms"]
        memory, ours, theirs = r["ours, in memory"], r["ours, stdio"], r["peer, stdio"]
        lines.append(
            f"| {r['task']} | {ms(r['direct'])} | {ms(memory)} | {ms(ours)} | {ms(theirs)} | "
            f"{memory['p50_ms'] - base:+.1f} / {ours['p50_ms'] - base:+.1f} | "
            f"{theirs['p50_ms'] / ours['p50_ms']:.2f}× |"
        )
    lines += [
        "",
        "| task | Prometheus JSON | ours: text | ours: structured | peer: text "
        "| peer ÷ ours (text / structured) | same numbers |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours, theirs = r["ours, stdio"], r["peer, stdio"]
        lines.append(
            f"| {r['task']} | {size_text(r['direct']['bytes'])} | {size_text(ours['text_bytes'])} | "
            f"{size_text(ours['structured_bytes'])} | {size_text(theirs['text_bytes'])} | "
            f"{theirs['text_bytes'] / ours['text_bytes']:.1f}× / "
            f"{theirs['text_bytes'] / ours['structured_bytes']:.1f}× | ✓ {_checked(r['check'])} |"
        )
    return lines


def _checked(check: dict[str, int]) -> str:
    if "names" in check:
        return f"{check['names']} names"
    return f"{check['series']:,} series, {check['checked']} shown and checked"


def render_scale(result: dict[str, Any]) -> list[str]:
    base = result["baseline_rss_mib"]
    lines = [
        f"Fresh HTTP servers, resident memory at start: ours {base['ours, HTTP']} MiB, "
        f"peer {base['peer, HTTP']} MiB; growth is the peak since then.",
        "",
        "| query | Prometheus JSON | direct / ours / peer p50 ms | ours: text / structured | peer: text | "
        "memory growth ours / peer MiB | same numbers |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in [*result["levels"], *result["top_k_fallback"]]:
        ours, theirs = r["ours, HTTP"], r["peer, HTTP"]
        growth = ours["rss_peak_mib"] - base["ours, HTTP"], theirs["rss_peak_mib"] - base["peer, HTTP"]
        lines.append(
            f"| {r['task']} | {size_text(r['direct']['bytes'])} | {r['direct']['p50_ms']:.0f} / "
            f"{ours['p50_ms']:.0f} / {theirs['p50_ms']:.0f} | "
            f"{ours['text_bytes']:,} / {ours['structured_bytes']:,} | {size_text(theirs['text_bytes'])} | "
            f"{growth[0]:.0f} / {growth[1]:.0f} | "
            f"✓ {_checked(r['check'])} |"
        )
    over = result["over_cap"]
    if over is None:
        return lines
    outcome = "error" if over["is_error"] else "answered"
    lines += [
        "",
        f"{over['task']} (raw answer past the 64 MiB cap): ours {outcome} in {over['seconds']:.1f} s, "
        f"peak memory {over['rss_peak_mib']} MiB: “{over['text'][:240]}”. The peer was not run on it: "
        "it would put the whole raw answer (about 140 MB) into the model's context.",
    ]
    return lines


def render_startup(samples: dict[str, list[float]], definitions: dict[str, Any]) -> list[str]:
    lines = [
        "| | start-up to first tools/list p50 / max | tools | tools/list | given to the model |",
        "|---|---|---|---|---|",
    ]
    for name, key in (
        ("ours", "ours"),
        ("ours, Prometheus tools only", "ours, Prometheus tools"),
        ("peer", "peer"),
    ):
        d = definitions[key]
        start = samples.get(key)
        started = f"{percentiles(start)[0]:.0f} / {max(start) * 1000:.0f} ms" if start else "-"
        lines.append(
            f"| {name} | {started} | {d['tools']} | {size_text(d['bytes'])} | {size_text(d['model_bytes'])} |"
        )
    return lines


def targets(report: dict[str, Any]) -> list[str]:
    """Each target of the comparison: met or missed, and by how much."""
    rows = {r["task"]: r for r in report["tasks"]}
    first = rows["instant query, every `up` series"]
    base = first["direct"]["p50_ms"]
    overhead_memory = first["ours, in memory"]["p50_ms"] - base
    overhead_stdio = first["ours, stdio"]["p50_ms"] - base
    many = rows["24 h range, 31 series"]
    theirs, ours = many["peer, stdio"]["text_bytes"], many["ours, stdio"]
    worst = max(report["tasks"], key=lambda r: r["ours, stdio"]["p50_ms"] / r["peer, stdio"]["p50_ms"])
    worst_ratio = worst["ours, stdio"]["p50_ms"] / worst["peer, stdio"]["p50_ms"]
    start_ms = percentiles(report["startup_seconds"]["ours"])[0]
    hundred = [
        r
        for r in report["concurrency"]
        if r["server"] == "ours" and r["sessions"] == max(r2["sessions"] for r2 in report["concurrency"])
    ]
    checks = [
        (
            "tool-call overhead in memory, p50 (instant `up`)",
            overhead_memory < 2,
            f"{overhead_memory:.2f} ms (target < 2 ms)",
        ),
        (
            "tool-call overhead over stdio, p50 (instant `up`)",
            overhead_stdio < 5,
            f"{overhead_stdio:.2f} ms (target < 5 ms)",
        ),
        (
            "31-series range: ours at most a tenth of the peer's",
            theirs >= 10 * ours["structured_bytes"],
            f"peer ÷ ours {theirs / ours['structured_bytes']:.0f}× (structured), "
            f"{theirs / ours['text_bytes']:.0f}× (text); "
            f"stats of the {many['check']['checked']} series shown equal the exact values",
        ),
        (
            "latency no worse than the peer's (stdio p50)",
            worst_ratio <= 1,
            f"worst: {worst['task']}, ours ÷ peer {worst_ratio:.2f}×",
        ),
        ("start-up under 1 s to the first tools/list", start_ms < 1000, f"p50 {start_ms:.0f} ms"),
        (
            f"{hundred[0]['sessions']} concurrent sessions without errors",
            not hundred[0]["errors"],
            f"{hundred[0]['errors']} errors in {hundred[0]['calls']} calls",
        ),
    ]
    return ["| target | met | measured |", "|---|---|---|"] + [
        f"| {name} | {'yes' if ok else '**no**'} | {text} |" for name, ok, text in checks
    ]


def render(report: dict[str, Any]) -> str:
    versions = report["peer_versions"]
    peer_line = ", ".join(f"{k} {v}" for k, v in versions.items())
    lines = [
        f"Ours (aiops-mcp) against the peer ({peer_line}) and Prometheus' HTTP API, one run, one Prometheus.",
        "Latencies are p50 / p95 in ms; sizes in bytes (~tokens at 4 bytes a token).",
        "",
        *render_startup(report["startup_seconds"], report["tool_definitions"]),
        "",
        f"Tasks ({report['calls']} interleaved calls per path):",
        "",
        *render_tasks(report["tasks"]),
        "",
        "Scale (streamable HTTP):",
        "",
        *render_scale(report["scale"]),
        "",
        render_load(report["concurrency"], f"concurrency, {report['level_seconds']:g} s a level"),
        "",
        *targets(report),
    ]
    return "\n".join(lines)


async def main(quick: bool, log: TextIO) -> None:
    quiet_logs()
    knobs = QUICK if quick else Knobs()
    begun = time.monotonic()
    progress("Prometheus with the world and 10,000 shard series; the peer's venv", begun)
    peer.ensure_installed()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    world = build_world(end)
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp:
        scratch = Path(tmp)
        prometheus = scale.prepare_prometheus(world, scratch / "prometheus")
        try:
            url, at = prometheus.url, world.end.timestamp()
            progress("start-up", begun)
            started = await startup(url, scratch, log, knobs.starts)
            progress("tasks", begun)
            tasks, definitions = await task_rows(url, scratch, log, at, knobs.calls)
            progress("scale", begun)
            scaled = await scale_rows(url, scratch, at, knobs.scale_calls, quick)
            progress("concurrency", begun)
            concurrency = await concurrency_rows(url, scratch, at, knobs.levels, knobs.level_seconds)
        finally:
            prometheus.stop()
    report = {
        "quick": quick,
        "calls": knobs.calls,
        "level_seconds": knobs.level_seconds,
        "peer_versions": peer.versions(),
        "startup_seconds": started,
        "tool_definitions": definitions,
        "tasks": tasks,
        "scale": scaled,
        "concurrency": concurrency,
    }
    table = render(report)
    if quick:
        print(table + "\n\n(quick smoke run: not saved)")
    else:
        save("compare", table, report)


def run(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="few calls and a short load; not saved")
    quick = parser.parse_args(list(argv)).quick
    with tempfile.TemporaryFile("w+") as log:  # the stdio servers' stderr, shown if the run fails
        try:
            anyio.run(main, quick, log)
        except BaseException:
            log.seek(0)
            print(log.read()[-3000:], file=sys.stderr)
            raise
