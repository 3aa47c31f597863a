"""Stale answers: a cached success stands in for a fetch the backend could not answer, and says so."""

import time
from typing import Any

import anyio
import httpx
import pytest

from aiops_mcp.datasources.errors import (
    CircuitOpen,
    DatasourceUnavailable,
    QueryRejected,
)
from aiops_mcp.datasources.stale import collect_stale
from tests.datasources.test_http import counting, make_client, text

pytestmark = pytest.mark.anyio
FRESH = {"status": "success", "data": ["fresh"]}
TTL = 0.05


def expire() -> Any:
    """Wait until cached answers are no longer fresh."""
    return anyio.sleep(TTL * 2)


async def test_an_unavailable_backend_gets_the_cached_answer_marked_stale() -> None:
    handler, seen = counting(httpx.Response(200, json=FRESH), text(503, "overloaded"))
    client, outcomes = make_client(handler, cache_ttl_seconds=TTL, max_retries=1)
    before = time.time()
    assert await client.get_json("/x") == FRESH
    await expire()
    with collect_stale() as stale:
        assert await client.get_json("/x") == FRESH
    [answer] = stale.answers
    assert answer.datasource == "prod"
    assert before <= answer.fetched_at <= time.time()
    assert "answered HTTP 503 after 2 attempts" in answer.reason and "overloaded" in answer.reason
    assert stale.oldest is answer
    assert len(seen) == 3, "the fresh fetch was tried (with its retry) before falling back"
    assert outcomes == ["ok", "stale"]


async def test_fresh_hits_are_not_stale() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH))
    client, _ = make_client(handler)
    await client.get_json("/x")
    with collect_stale() as stale:
        await client.get_json("/x")
    assert not stale


async def test_query_errors_never_get_a_stale_answer() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), text(400, "bad range"))
    client, _ = make_client(handler, cache_ttl_seconds=TTL)
    await client.get_json("/x")
    await expire()
    with collect_stale() as stale, pytest.raises(QueryRejected, match="bad range"):
        await client.get_json("/x")
    assert not stale


async def test_garbage_from_the_backend_gets_the_stale_answer() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), httpx.Response(200, text='{"status": "succ'))
    client, _ = make_client(handler, cache_ttl_seconds=TTL)
    await client.get_json("/x")
    await expire()
    with collect_stale() as stale:
        assert await client.get_json("/x") == FRESH
    assert "expected JSON" in stale.answers[0].reason


async def test_answers_older_than_the_stale_limit_are_not_served() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), text(503))
    client, _ = make_client(handler, cache_ttl_seconds=TTL, stale_max_age_seconds=TTL * 2, max_retries=0)
    await client.get_json("/x")
    await anyio.sleep(TTL * 3)
    with pytest.raises(DatasourceUnavailable, match="HTTP 503"):
        await client.get_json("/x")


async def test_zero_stale_age_turns_the_fallback_off() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), text(503))
    client, _ = make_client(handler, cache_ttl_seconds=TTL, stale_max_age_seconds=0, max_retries=0)
    await client.get_json("/x")
    await expire()
    with pytest.raises(DatasourceUnavailable):
        await client.get_json("/x")


async def test_uncached_requests_never_get_a_stale_answer() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), text(503))
    client, _ = make_client(handler, max_retries=0)
    await client.get_json("/x")
    with pytest.raises(DatasourceUnavailable):
        await client.request("/x", parse=client.decode_json, cache=False)


async def test_an_open_circuit_serves_stale_answers_without_a_request() -> None:
    handler, seen = counting(
        httpx.Response(200, json=FRESH), httpx.ConnectError("[Errno 111] Connection refused")
    )
    client, _ = make_client(handler, cache_ttl_seconds=TTL, max_retries=0, breaker_failures=1)
    await client.get_json("/cached")
    await expire()
    with pytest.raises(DatasourceUnavailable, match="cannot connect"):
        await client.get_json("/other")
    with collect_stale() as stale:
        assert await client.get_json("/cached") == FRESH
    assert len(seen) == 2
    assert stale.answers[0].reason.startswith("circuit open since")
    with pytest.raises(CircuitOpen):
        await client.get_json("/never-cached")


async def test_answers_served_in_child_tasks_and_nested_blocks_are_collected() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), httpx.Response(200, json=FRESH), text(503))
    client, _ = make_client(handler, cache_ttl_seconds=TTL, max_retries=0, breaker_failures=0)
    await client.get_json("/a")
    await client.get_json("/b")
    await expire()
    with collect_stale() as outer:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(client.get_json, "/a")
        with collect_stale() as inner:
            await client.get_json("/b")
    assert len(inner.answers) == 1
    assert len(outer.answers) == 2


async def test_stale_answers_outside_a_collector_are_still_served() -> None:
    handler, _ = counting(httpx.Response(200, json=FRESH), text(503))
    client, _ = make_client(handler, cache_ttl_seconds=TTL, max_retries=0)
    await client.get_json("/x")
    await expire()
    assert await client.get_json("/x") == FRESH
