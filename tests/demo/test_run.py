"""`aiops-mcp demo run` as a user starts it: a subprocess with a real Prometheus, Alertmanager,
store, MCP server and chat page, all on loopback; then Ctrl-C stops everything."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.backends.plugin import require_binaries


def sse_events(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.split("\n\n"):
        kind = re.search(r"^event: (\S+)", block, re.M)
        data = re.search(r"^data: (.*)$", block, re.M)
        if kind and data:
            events.append((kind.group(1), json.loads(data.group(1))))
    return events


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_binaries("the demo", ("prometheus",), ("promtool",), ("prometheus-alertmanager", "alertmanager"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "LOKI_", "DATABASE_URL"))}
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "aiops_mcp", "demo", "run", "--mcp-port", "0", "--web-port", "0",
         "--data-dir", str(tmp_path / "data")],
        stdout=log, stderr=subprocess.STDOUT, env=env, text=True,
    )  # fmt: skip
    urls: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 120
        while "chat" not in urls:
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, "the demo did not start in 120 s"
            time.sleep(0.2)
            for line in (tmp_path / "demo.log").read_text().splitlines():
                if line.startswith("Prometheus "):
                    prometheus, alertmanager = re.findall(r"http://[\d.:]+", line)
                    urls |= {"prometheus": prometheus, "alertmanager": alertmanager}
                elif line.startswith("MCP server: "):
                    urls["mcp"] = line.split()[-1]
                elif line.startswith("chat: "):
                    urls["chat"] = line.split()[1]
        yield urls
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
            log.close()
    assert process.returncode == 0, (tmp_path / "demo.log").read_text()


def test_the_demo_answers_flow_2_offline_and_stores_alerts_from_alertmanager(demo: dict[str, str]) -> None:
    assert all(url.startswith("http://127.0.0.1:") for url in demo.values())
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
