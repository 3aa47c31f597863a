"""The circuit breaker: alone on a fake clock, and inside BackendClient on a mock transport."""

from typing import Any

import anyio
import httpx
import pytest

from aiops_mcp.datasources.breaker import CircuitBreaker
from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.datasources.errors import CircuitOpen, DatasourceUnavailable, QueryRejected
from aiops_mcp.datasources.registry import DatasourceRegistry
from aiops_mcp.demo.backends import free_port
from tests.datasources.test_http import OK, counting, make_client, text

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(threshold: int = 3, cooldown: float = 30.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker("prod", threshold, cooldown, clock=clock, wall=lambda: 1_767_225_600.0), clock


def test_opens_after_consecutive_failures_and_says_since_when_and_why() -> None:
    cb, clock = breaker(threshold=3)
    for n in range(3):
        assert cb.admit() is False
        cb.failure(f"refused #{n}")
    clock.now += 10
    with pytest.raises(CircuitOpen) as caught:
        cb.admit()
    assert caught.value.message == (
        "circuit open since 2026-01-01T00:00:00Z after 3 consecutive failures, "
        "retrying after 20s; last error: refused #2"
    )
    state = cb.state
    assert (state.state, state.failures, state.opened_at, state.retry_in) == ("open", 3, 1_767_225_600.0, 20)


def test_a_success_resets_the_streak() -> None:
    cb, _ = breaker(threshold=2)
    cb.failure("a")
    cb.success()
    cb.failure("b")
    assert cb.admit() is False
    assert cb.state.state == "closed"


def test_after_the_cooldown_one_probe_goes_and_its_success_closes() -> None:
    cb, clock = breaker(threshold=1, cooldown=30)
    cb.failure("down")
    clock.now += 30
    assert cb.state.state == "half_open"
    assert cb.admit() is True
    with pytest.raises(CircuitOpen, match="a probe request is checking"):
        cb.admit()
    cb.success()
    assert cb.state.state == "closed" and cb.state.failures == 0
    assert cb.admit() is False


def test_a_failed_probe_rests_for_a_new_cooldown() -> None:
    cb, clock = breaker(threshold=1, cooldown=30)
    cb.failure("down")
    clock.now += 31
    probe = cb.admit()
    cb.failure("still down", probe)
    clock.now += 29
    with pytest.raises(CircuitOpen, match="retrying after 1s; last error: still down"):
        cb.admit()


def test_a_late_failure_of_an_earlier_call_does_not_extend_the_cooldown() -> None:
    cb, clock = breaker(threshold=1, cooldown=30)
    cb.failure("down")
    clock.now += 20
    cb.failure("an older call timing out now")
    clock.now += 10
    assert cb.admit() is True


def test_a_cancelled_probe_hands_its_slot_to_the_next_call() -> None:
    cb, clock = breaker(threshold=1)
    cb.failure("down")
    clock.now += 30
    cb.abandon(cb.admit())
    assert cb.admit() is True


def test_threshold_zero_never_opens() -> None:
    cb, _ = breaker(threshold=0)
    for _ in range(100):
        cb.failure("down")
    assert cb.admit() is False
    assert cb.state.state == "closed" and cb.state.failures == 100


# -- inside the client ---------------------------------------------------------------------------


async def test_open_circuit_fails_fast_without_touching_the_backend() -> None:
    handler, seen = counting(httpx.ConnectError("[Errno 111] Connection refused"))
    client, outcomes = make_client(handler, max_retries=1, breaker_failures=2, breaker_cooldown_seconds=60)
    for n in range(2):
        with pytest.raises(DatasourceUnavailable, match="cannot connect"):
            await client.get_json(f"/x/{n}")
    assert len(seen) == 4  # two requests, two attempts each
    refusal = r"circuit open since .* retrying after \d+s; last error: cannot connect"
    with pytest.raises(CircuitOpen, match=refusal):
        await client.get_json("/y")
    assert len(seen) == 4
    assert outcomes == ["error"] * 3
    assert client.breaker.state == "open"


async def test_query_errors_are_the_callers_fault_and_never_open_the_circuit() -> None:
    handler, seen = counting(text(400, "parse error"))
    client, _ = make_client(handler, breaker_failures=2)
    for _ in range(5):
        with pytest.raises(QueryRejected):
            await client.get_json("/x", {"query": "up{"})
    assert len(seen) == 5
    assert client.breaker.state == "closed" and client.breaker.failures == 0


async def test_the_probe_after_the_cooldown_closes_the_circuit_when_the_backend_is_back() -> None:
    answers: list[Any] = [text(503, "down")] * 2
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if answers else httpx.Response(200, json=OK)

    client, _ = make_client(handler, max_retries=0, breaker_failures=2, breaker_cooldown_seconds=0.1)
    for _ in range(2):
        with pytest.raises(DatasourceUnavailable, match="HTTP 503"):
            await client.get_json("/x")
    with pytest.raises(CircuitOpen):
        await client.get_json("/x")
    await anyio.sleep(0.15)
    assert client.breaker.state == "half_open"
    assert await client.get_json("/x") == OK
    assert client.breaker.state == "closed"
    assert len(seen) == 3


async def test_registry_reports_each_datasource_circuit() -> None:
    port = free_port()  # nothing listens there: connections are refused
    url = f"http://127.0.0.1:{port}"
    registry = DatasourceRegistry(
        [
            DatasourceConfig(name="main", type="prometheus", url=url, max_retries=0),
            DatasourceConfig(name="logs", type="loki", url=url),
        ]
    )
    with pytest.raises(DatasourceUnavailable):
        await registry.prometheus("main").buildinfo()
    states = registry.breaker_states()
    await registry.aclose()
    assert {name: (s.state, s.failures) for name, s in states.items()} == {
        "main": ("closed", 1),
        "logs": ("closed", 0),
    }
    assert states["main"].last_error is not None and "cannot connect" in states["main"].last_error
