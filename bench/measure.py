"""Timing one task on several MCP clients and on Prometheus directly, interleaved, with answer sizes.

Calls are interleaved (one call per path per round, the order rotating every round), so a burst
of load from elsewhere on a shared machine slows every path alike instead of one block of calls.
"""

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from mcp import Client
from mcp_types import CallToolResult

from bench.core import percentiles, tokens
from bench.load import ServerProcess, mib
from bench.tasks import Task, result_data, same_numbers


@dataclass
class Side:
    """One way of asking a server: a connected client, whether it is the peer, and its process if known."""

    name: str
    client: Client
    peer: bool = False
    server: ServerProcess | None = None

    async def ask(self, task: Task) -> CallToolResult:
        name, args = task.peer if self.peer else task.ours
        return await self.client.call_tool(name, args)


async def interleaved(calls: Mapping[str, Callable[[], Awaitable[Any]]], n: int) -> dict[str, list[float]]:
    """Seconds per call for each of `calls` over `n` rounds (warm them up first)."""
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(n):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            started = time.perf_counter()
            await calls[name]()
            samples[name].append(time.perf_counter() - started)
    return samples


def direct_call(http: httpx.AsyncClient, task: Task) -> Callable[[], Awaitable[httpx.Response]]:
    """The task as one request to Prometheus (POST form for queries, as our client sends them)."""
    if task.method == "POST":
        return lambda: http.post(task.path, data=task.params)
    return lambda: http.get(task.path, params=task.params)


def answer_size(result: CallToolResult) -> dict[str, int]:
    """Bytes of the text content (what most hosts show the model) and of the structured content."""
    text = sum(len(block.text.encode()) for block in result.content if block.type == "text")
    structured = len(json.dumps(result.structured_content, separators=(",", ":")).encode())
    return {"text_bytes": text, "structured_bytes": structured}


def latency(samples: list[float]) -> dict[str, float]:
    p50, p95 = percentiles(samples)
    return {"p50_ms": p50, "p95_ms": p95, "calls": len(samples)}


async def measure_task(task: Task, http: httpx.AsyncClient, sides: Sequence[Side], n: int) -> dict[str, Any]:
    """Check the answers agree (which warms every path up), then time `n` interleaved rounds."""
    reply = await direct_call(http, task)()
    reply.raise_for_status()
    data = reply.json()["data"]
    answers = {side.name: await side.ask(task) for side in sides}
    peer = next((result_data(answers[s.name]) for s in sides if s.peer), None)
    checks = [same_numbers(task, data, result_data(answers[s.name]), peer) for s in sides if not s.peer]
    calls: dict[str, Callable[[], Awaitable[Any]]] = {"direct": direct_call(http, task)}
    calls |= {side.name: _asker(side, task) for side in sides}
    samples = await interleaved(calls, n)
    row: dict[str, Any] = {
        "task": task.name,
        "check": checks[0],
        "direct": {
            **latency(samples["direct"]),
            "bytes": len(reply.content),
            "tokens": tokens(len(reply.content)),
        },
    }
    for side in sides:
        figures = {**latency(samples[side.name]), **answer_size(answers[side.name])}
        if side.server is not None:
            figures["rss_peak_mib"] = mib(side.server.memory().get("peak", 0))
        row[side.name] = figures
    return row


def _asker(side: Side, task: Task) -> Callable[[], Awaitable[CallToolResult]]:
    return lambda: side.ask(task)
