"""investigation_context through a real MCP client: real Prometheus with the generated world, the
seeded demo store, and for logs the Loki double loaded with the world's generated log history
(Grafana Loki cannot run here; the double answers in the shapes recorded from a real Loki 3.4.2).
Expected values come from the world's ground truth, the generated log lines and the seed data."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from aiops_mcp.analysis.budget import Part, estimate_tokens, json_tokens, line_tokens
from aiops_mcp.analysis.context import PART_NAMES, Section
from aiops_mcp.demo.backends import free_port
from aiops_mcp.demo.logs import NS, LogLine, level_of
from aiops_mcp.demo.seed import ALERTS, CHAT, demo_alerts
from aiops_mcp.demo.world import World
from aiops_mcp.settings import Settings
from aiops_mcp.store import ProfileIn, open_store
from aiops_mcp.store.repositories.alerts import derive_app
from aiops_mcp.tools.context import shaped
from tests.doubles.loki import LokiDouble
from tests.tools.conftest import call_error, connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
PROD = {"app": "abc-app", "env": "prod"}
HOUR = timedelta(hours=1)
ALERT_URI = re.compile(r"aiops://alerts/(\d+)")


async def alert_ids(settings: Settings, world: World) -> dict[str, int]:
    """Incident name -> the id `seed_demo` gave its alert."""
    async with await open_store(settings.database_url, settings.data_dir) as store:
        page = await store.alerts.recent(limit=100)
    by_fingerprint = {alert.fingerprint: alert.id for alert in page.items}
    return {demo.incident: by_fingerprint[demo.fingerprint] for demo, _ in demo_alerts(world.end)}


def parts_of(result: dict[str, Any], text: str) -> dict[str, dict[str, Any]]:
    """Each kept part's structured entry, with its `text` (the lines under its heading) from the text."""
    heads = [f"## {p['name']} (source: {p['source']})\n" for p in result["parts"]]
    at = [text.index(head) for head in heads]
    out = {}
    for i, part in enumerate(result["parts"]):
        body_end = at[i + 1] - 1 if i + 1 < len(at) else len(text)
        out[part["name"]] = part | {"text": text[at[i] + len(heads[i]) : body_end]}
    return out


def figure(text: str, name: str) -> float:
    match = re.search(rf"^{name}: ([0-9.e+-]+) ", text, re.MULTILINE)
    assert match, f"{name} not in {text}"
    return float(match.group(1))


async def context(client: Any, **arguments: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A context that must succeed: its structured result and its parts (with their text)."""
    raw = await client.call_tool("investigation_context", arguments)
    assert raw.structured_content is not None and not raw.is_error, text_of(raw)
    check_budget(raw.structured_content, text_of(raw), arguments.get("token_budget", 4000))
    return raw.structured_content, parts_of(raw.structured_content, text_of(raw))


def check_budget(result: dict[str, Any], text: str, budget: int) -> None:
    """The budget covers what is sent: the text and the structured content (which has no text)."""
    status_line = text.split("\n", 1)[0]
    lines = line_tokens(status_line) + sum(p["tokens"] for p in result["parts"])
    assert result["token_budget"] == budget
    assert estimate_tokens(text) <= lines
    assert lines + json_tokens(result) <= result["tokens_used"] <= budget
    assert all("text" not in part for part in result["parts"])
    assert len(parts_of(result, text)) == len(result["parts"])


async def test_the_5xx_burst_context_is_grounded_in_store_metrics_and_logs(
    prometheus, loki: LokiDouble, lines: list[LogLine], tmp_path: Path
) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, loki_url=loki.url)
    ids = await alert_ids(settings, world)
    burst_id = ids["abc-app-5xx-burst"]
    async with connected(settings, now=world.end) as (client, _):
        raw = await client.call_tool("investigation_context", {"alert_id": burst_id})
    result, text = raw.structured_content, text_of(raw)
    assert result is not None and not raw.is_error, text
    assert result["status"] == "ok" and result["alert_id"] == burst_id and result["app"] == "abc-app"
    assert [p["name"] for p in result["parts"]] == list(PART_NAMES)
    assert result["omitted"] == [] and result["missing"] == []
    check_budget(result, text, 4000)
    parts = parts_of(result, text)
    burst = next(a for a in ALERTS if a.incident == "abc-app-5xx-burst")
    assert parts["alert"]["source"] == f"aiops://alerts/{burst_id}"
    assert f"ai_analysis: {burst.analysis}" in parts["alert"]["text"]
    assert "HighErrorRate [critical] resolved" in parts["alert"]["text"] and burst.summary in text
    assert parts["profile"]["source"] == "aiops://apps/abc-app" and "SLOs: availability 99.9" in text

    # Related: exactly the demo alerts of abc-app that started within 1 h of the burst's start.
    (_, burst_in) = next(pair for pair in demo_alerts(world.end) if pair[0] is burst)
    related = {
        ids[demo.incident]
        for demo, alert in demo_alerts(world.end)
        if derive_app(alert.labels) == "abc-app"
        and abs(alert.starts_at - burst_in.starts_at) < HOUR
        and demo is not burst
    }
    assert related == {ids["abc-app-latency"]}
    assert {int(i) for i in ALERT_URI.findall(parts["related_alerts"]["text"])} == related

    # Metrics: instant queries at the alert's end over 1 h, 24 h and 7 d, against the ground truth.
    end = burst_in.ends_at
    assert end is not None
    metrics = parts["metrics"]["text"]
    assert len(metrics.splitlines()) == 9 and metrics.count("; query: ") == 9
    assert figure(metrics, "error_ratio 1h") == pytest.approx(
        100 * world.expected_error_ratio("abc-app", end - HOUR, end), rel=2e-3
    )
    assert figure(metrics, "availability 24h") == pytest.approx(
        100 * world.expected_uptime("abc-app", end - 24 * HOUR, end), rel=2e-3
    )
    assert figure(metrics, "p95_latency 1h") == pytest.approx(
        1000 * world.expected_quantile(0.95, "abc-app", end - HOUR, end), rel=2e-3
    )
    assert 'up{app="abc-app",env="prod",job="abc-app"}[7d]' in metrics

    # Error logs: the 10 newest error lines of abc-app prod in [start - 15 min, end).
    lo, hi = round((burst_in.starts_at - timedelta(minutes=15)).timestamp() * NS), round(end.timestamp() * NS)
    expected = sorted(
        (
            e
            for e in lines
            if lo <= e.ts_ns < hi and e.labels.items() >= PROD.items() and level_of(e.line) == "error"
        ),
        key=lambda e: -e.ts_ns,
    )
    shown = parts["error_logs"]["text"].splitlines()
    assert len(shown) == 10 and all("database timeout" in line for line in shown)
    newest = {e.line for e in expected if e.ts_ns >= expected[9].ts_ns}
    assert all(line.split(" ", 2)[2] in newest for line in shown)
    assert parts["error_logs"]["source"].startswith(
        '{app="abc-app", env="prod"} | detected_level=~"error|critical"'
    )

    assert "no earlier alert" in parts["similar_incidents"]["text"]  # no other HighErrorRate before it
    chat = parts["chat_history"]["text"]
    for role, content in CHAT:
        assert (f"asked: {content}" in chat) == (role == "user")


async def test_smaller_budgets_drop_the_lowest_priority_parts_first(
    prometheus, loki: LokiDouble, tmp_path: Path
) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, loki_url=loki.url)
    burst_id = (await alert_ids(settings, world))["abc-app-5xx-burst"]
    results = {}
    async with connected(settings, now=world.end) as (client, _):
        for budget in (500, 1000, 2000, 4000):
            results[budget], _ = await context(client, alert_id=burst_id, token_budget=budget)
    for result in results.values():
        kept = [p["name"] for p in result["parts"]]
        assert kept + result["omitted"] == list(PART_NAMES)  # a prefix kept, the rest omitted
        assert all(not p["truncated"] for p in result["parts"][:-1])  # only the last one cut
        assert result["status"] == (
            "truncated" if result["omitted"] or result["parts"][-1]["truncated"] else "ok"
        )
    whole = [[p["name"] for p in r["parts"] if not p["truncated"]] for r in results.values()]
    assert [len(names) for names in whole] == sorted(len(names) for names in whole)  # grows with the budget
    assert whole[-1] == list(PART_NAMES) and results[4000]["status"] == "ok"
    assert results[500]["omitted"] and results[500]["parts"][0]["name"] == "alert"


async def test_log_lines_are_clipped_to_the_line_limit(prometheus, loki: LokiDouble, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(
        tmp_path, prometheus.url, world.end, loki_url=loki.url, max_line_chars=40
    )
    burst_id = (await alert_ids(settings, world))["abc-app-5xx-burst"]
    async with connected(settings, now=world.end) as (client, _):
        _, parts = await context(client, alert_id=burst_id)
    for line in parts["error_logs"]["text"].splitlines():
        logged = line.split(" ", 2)[2]
        assert logged.startswith('level=error msg="database timeout after') and "… [+" in logged
        assert len(logged.split("…")[0]) == 40


async def test_a_similar_incident_brings_its_analysis_and_its_chats(
    prometheus, loki: LokiDouble, tmp_path: Path
) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, loki_url=loki.url)
    ids = await alert_ids(settings, world)
    async with await open_store(settings.database_url, settings.data_dir) as store:
        session = await store.chats.create_session(
            app="checkout", title="checkout slow", alert_id=ids["checkout-latency"]
        )
        await store.chats.add_message(session.id, "user", "Which dependency slowed checkout down?")
        await store.chats.add_message(session.id, "assistant", "The payment gateway.")
    async with connected(settings, now=world.end) as (client, _):
        _, parts = await context(client, alert_id=ids["abc-app-latency"])
    similar = parts["similar_incidents"]["text"]
    checkout = next(a for a in ALERTS if a.incident == "checkout-latency")
    assert f"aiops://alerts/{ids['checkout-latency']} HighLatency [warning]" in similar
    assert checkout.analysis[:200] in similar
    chat = parts["chat_history"]["text"]
    assert (
        f"aiops://chats/{session.id} 'checkout slow' (about aiops://alerts/{ids['checkout-latency']})" in chat
    )
    assert "asked: Which dependency slowed checkout down?" in chat and "payment gateway." not in chat


async def test_an_app_gives_its_newest_alert_or_a_context_without_one(
    prometheus, loki: LokiDouble, tmp_path: Path
) -> None:
    world = prometheus.world
    quiet = ProfileIn(
        name="billing", service_mappings={"metrics": {"app": "billing"}, "logs": {"app": "billing"}}
    )
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, quiet, loki_url=loki.url)
    ids = await alert_ids(settings, world)
    async with connected(settings, now=world.end) as (client, _):
        checkout, checkout_parts = await context(client, app="checkout service")
        billing, billing_parts = await context(client, app="billing")
    assert checkout["alert_id"] == ids["checkout-latency"] and checkout["app"] == "checkout"
    metrics = checkout_parts["metrics"]["text"]
    assert 'service="checkout"' in metrics and "app=" not in metrics

    assert billing["alert_id"] is None and billing["status"] == "ok"
    assert [p["name"] for p in billing["parts"]] == ["profile", "metrics", "error_logs", "chat_history"]
    assert billing["missing"] == [
        "alert: billing has no stored alert",
        "related_alerts: no alert",
        "similar_incidents: no alert",
    ]
    assert "availability 1h: no data" in billing_parts["metrics"]["text"]


async def test_an_alert_without_an_app_has_no_profile_and_says_so(
    prometheus, loki: LokiDouble, tmp_path: Path
) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end, loki_url=loki.url)
    ids = await alert_ids(settings, world)
    async with connected(settings, now=world.end) as (client, _):
        result, parts = await context(client, alert_id=ids["node-1-cpu"])
    no_app = f"alert {ids['node-1-cpu']} has no app label"
    assert result["status"] == "ok" and result["app"] is None
    assert result["missing"] == [
        f"profile: {no_app}",
        f"related_alerts: {no_app}",
        "metrics: no application profile",
        "error_logs: no application profile",
    ]
    assert [p["name"] for p in result["parts"]] == ["alert", "similar_incidents", "chat_history"]
    # Same instance (node-1:9100), started no later: the memory alert.
    assert f"aiops://alerts/{ids['node-1-memory']} NodeLowMemory" in parts["similar_incidents"]["text"]


async def test_bad_requests_are_clear_errors(prometheus, tmp_path: Path) -> None:
    world = prometheus.world
    settings = await seeded_settings(tmp_path, prometheus.url, world.end)
    async with connected(settings, now=world.end) as (client, _):
        unknown = await call_error(client, "investigation_context", alert_id=99_999)
        both = await call_error(client, "investigation_context", alert_id=1, app="abc-app")
        neither = await call_error(client, "investigation_context")
        tiny = await call_error(client, "investigation_context", app="abc-app", token_budget=100)
        app = await call_error(client, "investigation_context", app="abc-ap")
    assert "alert 99999 not found" in unknown and "aiops://alerts" in unknown
    assert "exactly one of alert_id" in both and "exactly one of alert_id" in neither
    assert "token_budget" in tiny
    assert "abc-ap" in app and "abc-app" in app


async def test_prometheus_down_and_no_loki_leave_a_partial_context(tmp_path: Path, world: World) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    settings = await seeded_settings(tmp_path, down, world.end, prometheus_timeout_seconds=2)
    burst_id = (await alert_ids(settings, world))["abc-app-5xx-burst"]
    async with connected(settings, now=world.end) as (client, _):
        with anyio.fail_after(30):
            raw = await client.call_tool("investigation_context", {"alert_id": burst_id})
    result, text = raw.structured_content, text_of(raw)
    assert result is not None and not raw.is_error, text
    assert result["status"] == "partial"
    check_budget(result, text, 4000)
    missing = {reason.split(":")[0]: reason for reason in result["missing"]}
    assert set(missing) == {"metrics", "error_logs"}
    assert "no loki datasource is configured" in missing["error_logs"]
    assert [p["name"] for p in result["parts"]] == [
        "alert",
        "profile",
        "related_alerts",
        "similar_incidents",
        "chat_history",
    ]
    assert text.startswith(f"alert {burst_id} HighErrorRate (abc-app) [partial]; missing metrics: ")


def test_the_budget_holds_the_text_and_the_structured_content_together() -> None:
    sections = [
        Section(
            Part(name, f"## {name} (source: src {name})", tuple(f"{name} line {i} " * 8 for i in range(60))),
            f"src {name}",
        )
        for name in PART_NAMES
    ]
    missing = ["error_logs: the profile maps no log labels (service_mappings.logs)"]
    for budget in (500, 900, 2000, 8000, 32_000):
        result, text = shaped("alert 1 X (x)", sections, missing, False, budget, (1, "x"))
        sent = estimate_tokens(text) + json_tokens(result.model_dump(mode="json"))
        assert sent <= result.tokens_used <= budget, budget
        assert result.parts and result.parts[0].name == "alert"
        assert [p.name for p in result.parts] + result.omitted == list(PART_NAMES)
    assert result.status == "ok" and not result.omitted
