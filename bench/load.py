"""Load: N concurrent MCP sessions over streamable HTTP, each doing a fixed mix of tool calls for a
fixed time, reporting p50/p95 latency, throughput, errors (which must be 0) and server memory.

    python -m bench load [--sessions 50] [--seconds 30] [--url URL] [--token TOKEN] [--quick]

Without `--url` it starts its own Prometheus with the generated world and `aiops-mcp serve --http`
on a free port (query cache off, so every call reaches Prometheus; rate limits off, since all
sessions share one loopback caller), and reads the server's resident memory from /proc.
With `--url` it loads a running server, whose limits then apply (refusals count as errors, and
memory is not read); `--token` (or `AIOPS_MCP_TOKEN`) is sent as `Authorization: Bearer ...`.

The sessions run in this process, so the client's own work shares the machine with the server's.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from aiops_mcp.demo.backends import free_port, start_prometheus
from aiops_mcp.demo.world import build_world
from bench.core import percentiles, same_code
from bench.record import quiet_logs, save
from bench.tasks import Call, standard_tasks

CALL_TIMEOUT = 60.0
MIX = (0, 1, 2, 5)
"""Indexes into `standard_tasks`: instant `up`, error ratio, 24 h of one series, metric names."""


def mix_calls(end: float, side: str = "ours") -> list[Call]:
    """The load mix for `side` ("ours" or "peer"), on the world ending at `end`."""
    tasks = standard_tasks(end)
    return [getattr(tasks[i], side) for i in MIX]


# --- a server process and its memory ---------------------------------------------------------


def memory(pid: int) -> dict[str, int]:
    """Resident memory now (`rss`) and its peak so far (`peak`), in bytes, from /proc (Linux)."""
    fields = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields["rss" if name == "VmRSS" else "peak"] = int(value.split()[0]) * 1024
    return fields


@dataclass
class ServerProcess:
    """An MCP server we started, serving streamable HTTP at `url`."""

    name: str
    url: str
    process: subprocess.Popen[bytes]

    def memory(self) -> dict[str, int]:
        return memory(self.process.pid)


@contextlib.contextmanager
def http_server(
    name: str, argv: Sequence[str], env: dict[str, str], port: int, ready: str, log: Path
) -> Iterator[ServerProcess]:
    """Start `argv` (logging to `log`), wait until `GET ready` answers 200, stop it afterwards."""
    base = f"http://127.0.0.1:{port}"
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), **env}
    with open(log, "ab") as out:
        process = subprocess.Popen(list(argv), env=environ, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(trust_env=False, timeout=2) as http:
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start; see {log}:\n{log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(base + ready).status_code == 200:
                        break
                time.sleep(0.1)
        yield ServerProcess(name, f"{base}/mcp", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ours_http(prometheus_url: str, scratch: Path) -> contextlib.AbstractContextManager[ServerProcess]:
    """`aiops-mcp serve --http` on a free port, query cache and rate limits off, its store in `scratch`."""
    port = free_port()
    env = {
        "PROMETHEUS_URL": prometheus_url,
        "QUERY_CACHE_TTL_SECONDS": "0",
        "AIOPS_MCP_LOG_LEVEL": "WARNING",
        "AIOPS_MCP_DATA_DIR": str(scratch / "ours-data"),
        # Capacity is measured, not policy: every loopback session shares one caller's request budget.
        "RATE_LIMIT_PER_TOKEN": "0",
        "RATE_LIMIT_PER_SESSION": "0",
        **same_code(),
    }
    argv = [sys.executable, "-m", "aiops_mcp", "serve", "--http", "--port", str(port)]
    return http_server("aiops-mcp", argv, env, port, "/healthz", scratch / "ours-http.log")


# --- sessions --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the sessions saw: connect times, one latency per successful call, and the failures.

    Every session connects first; the timed window opens when the last one has (`go`), so
    throughput counts calls, not handshakes.
    """

    sessions: int
    seconds: float
    go: anyio.Event = field(default_factory=anyio.Event)
    until: float = 0.0
    arrivals: int = 0
    connects: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def fail(self, reason: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or reason[:300]

    def arrived(self, seconds: float | None) -> None:
        """A session connected (after `seconds`) or failed to (None); the last one opens the window."""
        if seconds is not None:
            self.connects.append(seconds)
        self.arrivals += 1
        if self.arrivals == self.sessions:
            self.until = time.monotonic() + self.seconds
            self.go.set()


def connect(url: str, token: str | None) -> Client:
    """A streamable-HTTP client, with a bearer token on every request when one is given."""
    if token is None:
        return Client(url)
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=300)
    )
    return Client(streamable_http_client(url, http_client=http))


async def session(url: str, token: str | None, mix: Sequence[Call], offset: int, tally: Tally) -> None:
    """One session: connect, wait for the others, then the mix in order from `offset`, over and over."""
    started = time.perf_counter()
    try:
        async with connect(url, token) as client:
            tally.arrived(time.perf_counter() - started)
            await tally.go.wait()
            i = offset
            while time.monotonic() < tally.until:
                name, args = mix[i % len(mix)]
                i += 1
                started = time.perf_counter()
                try:
                    with anyio.fail_after(CALL_TIMEOUT):
                        result = await client.call_tool(name, args)
                except Exception as exc:
                    tally.fail(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                if result.is_error:
                    tally.fail(f"{name}: {getattr(result.content[0], 'text', '')}")
                else:
                    tally.latencies.append(time.perf_counter() - started)
    except Exception as exc:  # the session itself failed (connect, handshake)
        tally.fail(f"session: {type(exc).__name__}: {exc}")
        if not tally.go.is_set():
            tally.arrived(None)


async def run_load(
    url: str,
    mix: Sequence[Call],
    sessions: int,
    seconds: float,
    *,
    token: str | None = None,
    server: ServerProcess | None = None,
) -> dict[str, Any]:
    """`sessions` concurrent sessions for `seconds`; the figures, and the server's memory when known."""
    tally = Tally(sessions, seconds)
    before = server.memory() if server else {}
    peak_rss = before.get("rss", 0)
    async with anyio.create_task_group() as tasks:
        for n in range(sessions):
            tasks.start_soon(session, url, token, mix, n, tally)
        await tally.go.wait()
        started = time.monotonic()
        while server and time.monotonic() < tally.until:
            peak_rss = max(peak_rss, server.memory().get("rss", 0))
            await anyio.sleep(0.2)
    elapsed = time.monotonic() - started
    p50, p95 = percentiles(tally.latencies) if tally.latencies else (float("nan"), float("nan"))
    row: dict[str, Any] = {
        "sessions": sessions,
        "seconds": round(elapsed, 1),
        "connect_p95_ms": percentiles(tally.connects)[1] if tally.connects else float("nan"),
        "calls": len(tally.latencies),
        "errors": tally.errors,
        "first_error": tally.first_error,
        "throughput_per_s": len(tally.latencies) / elapsed,
        "p50_ms": p50,
        "p95_ms": p95,
    }
    if server:
        after = server.memory()
        row |= {
            "rss_before_mib": mib(before.get("rss", 0)),
            "rss_peak_mib": mib(max(peak_rss, after.get("rss", 0))),
        }
    return row


def mib(n_bytes: int) -> float:
    return round(n_bytes / 2**20, 1)


def render(rows: Sequence[dict[str, Any]], title: str) -> str:
    lines = [
        f"| {title} | sessions | connect p95 ms | calls | calls/s | p50 ms | p95 ms | errors "
        "| server RSS MiB, start → peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        memory_text = f"{r['rss_before_mib']} → {r['rss_peak_mib']}" if "rss_peak_mib" in r else "-"
        lines.append(
            f"| {r['server']} | {r['sessions']} | {r['connect_p95_ms']:.0f} | {r['calls']} | "
            f"{r['throughput_per_s']:.1f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['errors']} | {memory_text} |"
        )
    errors = [
        f"first error ({r['server']}, {r['sessions']} sessions): {r['first_error']}"
        for r in rows
        if r["errors"]
    ]
    return "\n".join([*lines, *([""] if errors else []), *errors])


async def main(args: argparse.Namespace) -> None:
    quiet_logs()
    if args.url:
        mix = mix_calls(datetime.now(UTC).timestamp())
        row = await run_load(args.url, mix, args.sessions, args.seconds, token=args.token)
        rows = [{"server": args.url, **row}]
    else:
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        world = build_world(end, hours=49)
        with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp:
            prometheus = start_prometheus(world, Path(tmp))
            try:
                with ours_http(prometheus.url, Path(tmp)) as server:
                    mix = mix_calls(world.end.timestamp())
                    row = await run_load(
                        server.url, mix, args.sessions, args.seconds, token=args.token, server=server
                    )
            finally:
                prometheus.stop()
        rows = [{"server": "aiops-mcp", **row}]
    table = render(rows, f"load: mix of {len(MIX)} tool calls, {args.seconds:g} s")
    if args.quick or args.url:
        print(table)  # smoke runs and foreign servers do not replace the recorded figures
    else:
        save("load", table, {"mix": [name for name, _ in mix], "rows": rows})
    if any(r["errors"] for r in rows):
        sys.exit("load: some calls failed (see the first error above)")


def run(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions (default 50)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to load (default 30)")
    parser.add_argument("--url", help="a running server's MCP endpoint (default: start one)")
    parser.add_argument("--token", default=os.environ.get("AIOPS_MCP_TOKEN"), help="bearer token")
    parser.add_argument(
        "--quick", action="store_true", help="a 5-second smoke run with 10 sessions, not saved"
    )
    args = parser.parse_args(list(argv))
    if args.quick:
        args.sessions, args.seconds = min(args.sessions, 10), min(args.seconds, 5.0)
    anyio.run(main, args)
