"""`aiops-mcp demo run` as a user starts it: a subprocess with a real Prometheus, Alertmanager,
store, MCP server and chat page, all on loopback; then Ctrl-C stops everything. With LOKI_URL the
demo pushes its logs into the Loki double (Grafana Loki cannot run here; the double answers as the
recorded Loki 3.4.2 did). Expected figures come from the world rebuilt from the end it prints."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aiops_mcp.client_demo.answers import number
from aiops_mcp.demo.logs import NS, build_logs, count_levels
from aiops_mcp.demo.world import World, build_world
from tests.backends.plugin import require_binaries
from tests.doubles.loki import LokiDouble

PROD = {"app": "abc-app", "env": "prod"}


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.split("\n\n"):
        kind = re.search(r"^event: (\S+)", block, re.M)
        data = re.search(r"^data: (.*)$", block, re.M)
        if kind and data:
            events.append((kind.group(1), json.loads(data.group(1))))
    return events


@contextmanager
def running_demo(tmp_path: Path, **env: str) -> Iterator[dict[str, str]]:
    """The demo started as `make run` does (any free ports, `env` added); yields what it printed:
    the URLs, the world's end (`world_end`), the store and the logs line."""
    require_binaries("the demo", ("prometheus",), ("promtool",), ("prometheus-alertmanager", "alertmanager"))
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "LOKI_", "DATABASE_URL"))
    }
    log_path = tmp_path / "demo.log"
    log = log_path.open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "aiops_mcp", "demo", "run", "--mcp-port", "0", "--web-port", "0",
         "--data-dir", str(tmp_path / "data")],
        stdout=log, stderr=subprocess.STDOUT, env=clean | env, text=True,
    )  # fmt: skip
    said: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 120
        while "chat" not in said:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the demo did not start in 120 s"
            time.sleep(0.2)
            for line in log_path.read_text().splitlines():
                if line.startswith("Prometheus "):
                    prometheus, alertmanager = re.findall(r"http://[\d.:]+", line)
                    said |= {"prometheus": prometheus, "alertmanager": alertmanager}
                elif line.startswith("world: "):
                    said["world_end"] = line.split()[-1]
                elif line.startswith(("store: ", "logs")):
                    said[line.split()[0].rstrip(":")] = line
                elif line.startswith("MCP server: "):
                    said["mcp"] = line.split()[-1]
                elif line.startswith("chat: "):
                    said["chat"] = line.split()[1]
        yield said
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
            log.close()
    assert process.returncode == 0, log_path.read_text()


def ask(chat_url: str, question: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The answer event and the finished tool calls of one question to the demo's page."""
    with httpx.Client(timeout=60) as client:
        events = sse_events(client.post(f"{chat_url}/api/ask", json={"question": question}).text)
    (answer,) = [data for kind, data in events if kind == "answer"]
    return answer, [data for kind, data in events if kind == "tool_finished"]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, str]]:
    # A DATABASE_URL of the user's is never the demo's store (seeding writes to it).
    users = tmp_path / "users.db"
    with running_demo(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{users}") as said:
        yield said
    assert not users.exists()


def test_the_demo_answers_flow_2_offline_and_stores_alerts_from_alertmanager(demo: dict[str, str]) -> None:
    urls = [demo[name] for name in ("prometheus", "alertmanager", "mcp", "chat")]
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    assert demo["store"].endswith("/data/demo.db") and demo["logs"].startswith("logs are not configured")
    setup = httpx.get(f"{demo['chat']}/api/mode").json()
    assert setup == {"mode": "offline", "notes": ["logs are not configured (LOKI_URL)"]}
    with httpx.Client(timeout=60) as client:
        body = client.post(f"{demo['chat']}/api/ask", json={"question": "Was abc healthy yesterday?"}).text
    events = sse_events(body)
    (answer,) = [data for kind, data in events if kind == "answer"]
    assert "abc-app was unhealthy yesterday" in answer["text"]
    assert "abc-2:8080 down 03:10–03:16 UTC" in answer["text"]
    assert any(data["name"] == "app_health" for kind, data in events if kind == "tool_finished")

    # An alert fired into the demo's Alertmanager reaches the store through the webhook.
    starts = datetime.now(UTC).replace(microsecond=0)
    alert = {
        "labels": {"alertname": "DemoProbe", "app": "abc-app", "severity": "info"},
        "annotations": {"summary": "probe"},
        "startsAt": starts.isoformat(),
        "endsAt": (starts + timedelta(hours=1)).isoformat(),
    }
    assert httpx.post(f"{demo['alertmanager']}/api/v2/alerts", json=[alert]).status_code == 200
    deadline = time.monotonic() + 30
    while True:
        with httpx.Client(timeout=60) as client:
            reply = client.post(f"{demo['chat']}/api/ask", json={"question": "Which alerts are firing?"}).text
        if "DemoProbe" in reply:
            break
        assert time.monotonic() < deadline, reply[-2000:]
        time.sleep(1)


def test_with_loki_the_demo_pushes_its_logs_and_answers_flows_1_and_3(tmp_path: Path) -> None:
    with LokiDouble() as loki, running_demo(tmp_path, LOKI_URL=loki.url) as demo:
        world = build_world(datetime.fromisoformat(demo["world_end"]))
        lines = build_logs(world)
        stored = sorted((e.ts_ns, dict(e.stream)["instance"], e.line) for e in loki.store.entries)
        assert stored == sorted((line.ts_ns, line.labels["instance"], line.line) for line in lines)
        streams = len({tuple(sorted(line.labels.items())) for line in lines})
        assert demo["logs"] == f"logs: pushed {len(lines):,} lines in {streams} streams to Loki at {loki.url}"
        assert httpx.get(f"{demo['chat']}/api/mode").json() == {"mode": "offline", "notes": []}

        answer, calls = ask(demo["chat"], "How many events did abc create in the last 24 hours?")
        (events,) = [c for c in calls if c["name"] == "app_events"]
        start, end = (datetime.fromisoformat(events["structured"][k]) for k in ("start", "end"))
        assert end - start == timedelta(hours=24) and end >= world.end
        expected = count_levels(lines, PROD, int(start.timestamp()) * NS, int(end.timestamp()) * NS)
        total = sum(expected.values())
        first = answer["text"].splitlines()[0]
        assert first.startswith(f"abc-app created {total:,} log events in the last 24 hours (")
        for level, n in expected.items():
            assert f"{level} {n:,} ({number(round(100 * n / total, 2))} %)" in first

        answer, calls = ask(demo["chat"], "Was the server impacted during the last incident?")
        assert [c["name"] for c in calls] == ["translate_query", "incident_impact"]
        first = answer["text"].splitlines()[0]
        assert first.startswith("Yes: impacted during alert #") and "node-1 (CPU busy, memory used" in first
        burst = world.incident("abc-app-5xx-burst")
        assert f"({burst.start:%H:%M}–{burst.end:%H:%M} UTC" in first
        worst = re.search(r"- memory used on node-1: worst ([0-9.]+) %", answer["text"])
        assert worst is not None
        assert float(worst[1]) == pytest.approx(max(memory_used(world, burst.start, burst.end)), rel=1e-3)


def memory_used(world: World, start: datetime, end: datetime) -> list[float]:
    """node-1's 100 * (1 - available / total) at every sample of [start, end]."""
    (available,) = world.select("node_memory_MemAvailable_bytes", {"instance": "node-1:9100"})
    (total,) = world.select("node_memory_MemTotal_bytes", {"instance": "node-1:9100"})
    lo, hi = start.timestamp(), end.timestamp()
    pairs = zip(available.timestamps, available.values, total.values, strict=True)
    return [100 * (1 - a / t) for ts, a, t in pairs if lo <= ts <= hi]
