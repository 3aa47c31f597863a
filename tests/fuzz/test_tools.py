"""Every tool, with arguments drawn from its own input schema, through a real MCP client.

The server runs on the session's real Prometheus, the Loki double holding the world's logs
(Grafana Loki cannot run here; the double answers in the shapes recorded from a real Loki 3.4.2)
and a SQLite store seeded with the demo data. Tools are listed at test time, so a new tool is
fuzzed without a change here.

Each call must end, well within a generous guard, either as a tool error with a message the
caller can act on (not the SDK's generic text for a crash, and no crash logged) or as a result
whose structured content fits the tool's output schema and whose text fits MAX_RESULT_BYTES.
After every example, known answers are unchanged and still equal the ground truth computed
from the generated data: nothing the campaign sent corrupted the state.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from mcp import Client
from mcp_types import CallToolResult, Tool

from aiops_mcp.demo.logs import NS, LogLine, count_levels
from aiops_mcp.demo.world import World
from tests.backends.plugin import PrometheusBackend
from tests.doubles.loki import LokiDouble
from tests.fuzz.checks import HANG_GUARD, CrashLog, assert_clear_error, unlimited
from tests.fuzz.strategies import arguments, fuzz, plausible_for
from tests.tools.conftest import connected, seeded_settings, text_of

PROD = {"app": "abc-app", "env": "prod"}


@dataclass
class Campaign:
    """A connected client, the tools it lists, and what the known-good calls answered first."""

    portal: BlockingPortal
    client: Client
    tools: list[Tool]
    budget: int
    baseline: dict[str, Any]
    world: World

    def __post_init__(self) -> None:
        self.validators = {
            t.name: Draft202012Validator(t.output_schema) for t in self.tools if t.output_schema is not None
        }


async def known_answers(client: Client, world: World) -> dict[str, Any]:
    """Answers that depend only on the data: the `up` series at the world's end, the abc-app log
    lines of its last hour (both with the exact query that ran), and the application catalogue."""
    up = await client.call_tool("prometheus_query", {"query": "count(up)", "time": world.end.isoformat()})
    start = world.end - timedelta(hours=1)
    logs = await client.call_tool(
        "loki_query_logs",
        {"query": '{app="abc-app", env="prod"}', "start": start.isoformat(), "end": world.end.isoformat()},
    )
    apps = await client.read_resource("aiops://apps")
    assert up.structured_content is not None and not up.is_error, text_of(up)
    assert logs.structured_content is not None and not logs.is_error, text_of(logs)
    return {
        "up": [s["stats"]["last"] for s in up.structured_content["series"]],
        "up_query": up.structured_content["provenance"]["query"],
        "log_lines": logs.structured_content["total_matching"],
        "log_query": logs.structured_content["provenance"]["query"],
        "apps": [getattr(content, "text", None) for content in apps.contents],
    }


def ground_truth(world: World, lines: list[LogLine]) -> dict[str, Any]:
    """The known answers computed from the generated data."""
    start, end = world.end - timedelta(hours=1), world.end
    return {
        "up": [float(len(world.value_at("up", world.end)))],
        "log_lines": sum(count_levels(lines, PROD, ns(start), ns(end)).values()),
    }


def ns(moment: datetime) -> int:
    return round(moment.timestamp() * NS)


@pytest.fixture
def campaign(
    portal: BlockingPortal, prometheus: PrometheusBackend, loki: LokiDouble, tmp_path: Path
) -> Iterator[Campaign]:
    world = prometheus.world
    seeded = portal.call(partial(seeded_settings, tmp_path, prometheus.url, world.end, loki_url=loki.url))
    settings = unlimited(seeded)
    with portal.wrap_async_context_manager(connected(settings, now=world.end)) as (client, _):
        tools = portal.call(client.list_tools).tools
        baseline = portal.call(known_answers, client, world)
        yield Campaign(portal, client, tools, settings.max_result_bytes, baseline, world)


async def guarded_call(client: Client, tool: str, args: dict[str, Any]) -> CallToolResult:
    with anyio.fail_after(HANG_GUARD):
        return await client.call_tool(tool, args)


def checked_call(campaign: Campaign, tool: Tool, args: dict[str, Any], crashes: CrashLog) -> None:
    """Call `tool` and check the campaign's properties on what comes back."""
    before = len(crashes.crashes)
    result = campaign.portal.call(guarded_call, campaign.client, tool.name, args)
    described = f"{tool.name}({args!r:.2000})"
    assert len(crashes.crashes) == before, f"{described} crashed:\n{crashes.crashes[-1]}"
    text = text_of(result)
    if result.is_error:
        assert_clear_error(tool.name, text, described)
        return
    assert result.structured_content is not None, described
    if (validator := campaign.validators.get(tool.name)) is not None:
        errors = list(validator.iter_errors(result.structured_content))
        assert not errors, f"{described}: {errors[0].message}"
    main = result.content[0]
    assert main.type == "text" and len(main.text.encode()) <= campaign.budget, (
        f"{described}: text of {len(text.encode())} bytes over the budget of {campaign.budget}"
    )


def test_every_tool_survives_schema_driven_and_hostile_arguments(
    campaign: Campaign, crash_log: CrashLog, lines: list[LogLine]
) -> None:
    assert {t.name for t in campaign.tools} >= {"prometheus_query", "loki_query_logs", "app_health"}
    truth = ground_truth(campaign.world, lines)
    assert {key: campaign.baseline[key] for key in truth} == truth

    # Draws happen in this thread (a Hypothesis draw may stop an example with a BaseException,
    # which must not reach the event loop); every call runs in the portal's loop.
    @fuzz(70)
    @given(data=st.data())
    def every_tool_once(data: st.DataObject) -> None:
        for tool in campaign.tools:
            args = data.draw(arguments(tool.input_schema, plausible_for(tool.name)), label=tool.name)
            checked_call(campaign, tool, args, crash_log)
        assert campaign.portal.call(known_answers, campaign.client, campaign.world) == campaign.baseline

    every_tool_once()


@pytest.mark.parametrize("tool", ["incident_impact", "investigation_context"])
def test_an_alert_id_beyond_64_bits_is_not_found(campaign: Campaign, crash_log: CrashLog, tool: str) -> None:
    result = campaign.portal.call(guarded_call, campaign.client, tool, {"alert_id": 2**63})
    assert result.is_error and not crash_log.crashes, crash_log.crashes
    assert "not found" in text_of(result)
