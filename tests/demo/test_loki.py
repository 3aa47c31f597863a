"""Pushing the demo world's logs into Loki, against the Loki double (Grafana Loki cannot run here;
the double's push and flush answer as the recorded Loki 3.4.2 did: 204, or 400 text/plain)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.demo.logs import LogLine, build_logs, count_levels
from aiops_mcp.demo.loki import BATCH_LINES, push_logs
from aiops_mcp.demo.world import World, build_world
from tests.doubles.loki import LokiDouble
from tests.doubles.loki.params import Params

pytestmark = pytest.mark.anyio
END = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
History = tuple[World, list[LogLine]]


@pytest.fixture(scope="module")
def history() -> History:
    """A world with a fixed end (so these tests ignore the clock) and its log lines."""
    world = build_world(END)
    return world, build_logs(world)


def window(world: World) -> tuple[float, float]:
    return world.start.timestamp(), world.end.timestamp()


def config(url: str, **more: object) -> DatasourceConfig:
    return DatasourceConfig.model_validate({"name": "loki", "type": "loki", "url": url, **more})


def before_push(loki: LokiDouble, hook: Callable[[Request], Response | None]) -> None:
    """Call `hook` with every push request; a response it returns is the answer instead."""
    push = loki.app.push

    def hooked(params: Params, request: Request) -> Response:
        return hook(request) or push(params, request)

    loki.app.routes["/loki/api/v1/push"] = (("POST",), hooked)


async def test_the_whole_history_arrives_in_time_ordered_batches_then_a_flush(history: History) -> None:
    world, lines = history
    with LokiDouble(now_ns=lambda: int(END.timestamp()) * 10**9) as loki:
        url = loki.url
        summary = await push_logs(config(url, tenant="demo"), lines, window(world))
        pushes = [r for r in loki.requests if r.path == "/loki/api/v1/push"]
        stored = sorted((e.ts_ns, dict(e.stream)["instance"], e.line) for e in loki.store.entries)
        flushes = [r for r in loki.requests if r.path == "/flush"]
    assert stored == sorted((line.ts_ns, line.labels["instance"], line.line) for line in lines)
    batches = -(-len(lines) // BATCH_LINES)
    assert (summary.lines, summary.batches, summary.refused_batches, summary.flushed) == (
        len(lines),
        batches,
        0,
        True,
    )
    assert summary.streams == len({tuple(sorted(line.labels.items())) for line in lines})
    assert len(pushes) == batches and len(flushes) == 1
    assert {r.headers.get("x-scope-orgid") for r in pushes} == {"demo"}
    assert summary.describe(url) == (
        f"logs: pushed {len(lines):,} lines in {summary.streams} streams to Loki at {url}"
    )


async def test_each_stream_is_pushed_oldest_first(history: History) -> None:
    world, lines = history
    bodies: list[dict[str, list[dict[str, object]]]] = []
    with LokiDouble() as loki:
        before_push(loki, lambda request: bodies.append(json.loads(request.state.body)))
        await push_logs(config(loki.url), lines, window(world))
    newest: dict[str, int] = {}
    for body in bodies:
        for stream in body["streams"]:
            key = json.dumps(stream["stream"], sort_keys=True)
            stamps = [int(value[0]) for value in stream["values"]]  # type: ignore[index, union-attr]
            assert stamps == sorted(stamps) and stamps[0] > newest.get(key, 0)
            newest[key] = stamps[-1]


async def test_a_loki_that_already_holds_the_demo_logs_is_left_alone(history: History) -> None:
    world, lines = history
    with LokiDouble(now_ns=lambda: int(END.timestamp()) * 10**9) as loki:
        await push_logs(config(loki.url), lines, window(world))
        before = len(loki.store.entries)
        again = await push_logs(config(loki.url), lines, window(world))
        after = len(loki.store.entries)
    assert before == after == len(lines)
    assert again.batches == 0 and again.skipped is not None
    held = sum(count_levels(lines, {}, int(window(world)[0]) * 10**9, int(window(world)[1]) * 10**9).values())
    assert f"it already holds {held:,} lines" in again.skipped
    assert again.describe("L").startswith("logs: not pushed to Loki at L: it already holds")


async def test_a_refused_batch_is_counted_with_its_reason_and_the_rest_goes_on(history: History) -> None:
    world, lines = history
    reason = "entry for stream has timestamp too old"
    refused: list[bool] = []

    def refuse_the_first(request: Request) -> Response | None:
        if refused:
            return None
        refused.append(True)
        return Response(reason + "\n", status_code=400, media_type="text/plain; charset=utf-8")

    with LokiDouble() as loki:
        before_push(loki, refuse_the_first)
        summary = await push_logs(
            config(loki.url, bearer_token=SecretStr("s3cret-token")), lines, window(world)
        )
        stored = len(loki.store.entries)
    assert summary.refused_batches == 1 and summary.refused_lines == BATCH_LINES
    assert summary.reasons == [f"HTTP 400: {reason}"]
    assert stored == len(lines) - BATCH_LINES
    assert f"Loki refused 1 of {summary.batches} batches: HTTP 400: {reason}" in summary.describe("L")


async def test_an_unreachable_loki_is_said_not_raised(history: History) -> None:
    world, lines = history
    from aiops_mcp.demo.backends import free_port

    summary = await push_logs(
        config(f"http://127.0.0.1:{free_port()}", timeout_seconds=2, max_retries=0), lines, window(world)
    )
    assert summary.batches == 0 and summary.skipped is not None
    assert summary.skipped.startswith("Loki cannot be read: ")
