"""BackendClient: retries, deadlines, size cap, cache, single-flight, limits, errors and secrets."""

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.datasources.errors import (
    AuthenticationFailed,
    DatasourceError,
    DatasourceTimeout,
    DatasourceUnavailable,
    InvalidResponse,
    QueryRejected,
    ResponseTooLarge,
)
from aiops_mcp.datasources.http import BackendClient, normalise_query

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], Any]
OK = {"status": "success", "data": []}


def make_client(handler: Handler | None = None, **overrides: Any) -> tuple[BackendClient, list[str]]:
    """A client on a MockTransport (or real loopback when handler is None) and its observed outcomes."""
    settings: dict[str, Any] = {"name": "prod", "type": "prometheus", "url": "http://127.0.0.1:9"}
    settings.update(overrides)
    outcomes: list[str] = []
    transport = httpx.MockTransport(handler) if handler else None
    client = BackendClient(
        DatasourceConfig(**settings),
        observe=lambda kind, status, _: outcomes.append(status),
        transport=transport,
    )
    client.backoff_base = 0.01
    return client, outcomes


def counting(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with `responses` in turn (the last one repeats), recording requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def text(status: int, body: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers)


# -- retries -------------------------------------------------------------------------------------


async def test_retries_5xx_then_succeeds() -> None:
    handler, seen = counting(text(503, "busy"), text(502), httpx.Response(200, json=OK))
    client, outcomes = make_client(handler, max_retries=2)
    assert await client.get_json("/api/v1/labels") == OK
    assert len(seen) == 3
    assert outcomes == ["ok"]


async def test_gives_up_after_max_retries_on_5xx() -> None:
    handler, seen = counting(text(500, "internal error: disk full"))
    client, outcomes = make_client(handler, max_retries=2)
    with pytest.raises(DatasourceUnavailable) as caught:
        await client.get_json("/api/v1/labels")
    assert len(seen) == 3
    assert caught.value.status == 500
    assert "after 3 attempts" in caught.value.message
    assert "disk full" in caught.value.message
    assert outcomes == ["error"]


async def test_retries_429_honouring_retry_after() -> None:
    handler, seen = counting(text(429, "slow down", **{"Retry-After": "0.3"}), httpx.Response(200, json=OK))
    client, _ = make_client(handler, max_retries=1)
    started = time.monotonic()
    assert await client.get_json("/x") == OK
    assert time.monotonic() - started >= 0.3
    assert len(seen) == 2


async def test_long_retry_after_fails_at_once() -> None:
    handler, seen = counting(text(429, "rate limited", **{"Retry-After": "120"}))
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(DatasourceUnavailable, match="retry after 120s") as caught:
        await client.get_json("/x")
    assert len(seen) == 1
    assert caught.value.status == 429


async def test_retries_connect_error_then_succeeds() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    handler, seen = counting(refused, refused, httpx.Response(200, json=OK))
    client, _ = make_client(handler, max_retries=2)
    assert await client.get_json("/x") == OK
    assert len(seen) == 3


@pytest.mark.parametrize("status", [400, 404, 405, 422])
async def test_no_retry_on_4xx(status: int) -> None:
    handler, seen = counting(text(status, "parse error at line 1, col 9"), httpx.Response(200, json=OK))
    client, outcomes = make_client(handler, max_retries=3)
    with pytest.raises(QueryRejected) as caught:
        await client.get_json("/x")
    assert len(seen) == 1
    assert caught.value.status == status
    assert "parse error at line 1, col 9" in caught.value.message
    assert outcomes == ["error"]


@pytest.mark.parametrize("status", [401, 403])
async def test_401_403_raise_authentication_failed_without_retry(status: int) -> None:
    handler, seen = counting(text(status, "invalid token"))
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(AuthenticationFailed, match="credentials"):
        await client.get_json("/x")
    assert len(seen) == 1


async def test_empty_error_body_names_the_status() -> None:
    handler, _ = counting(httpx.Response(405))
    client, _ = make_client(handler)
    with pytest.raises(QueryRejected, match="405 Method Not Allowed"):
        await client.get_json("/x")


async def test_refused_connection_says_which_url() -> None:
    with anyio.fail_after(5):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()  # nothing listens on that port now
        client, _ = make_client(url=f"http://127.0.0.1:{port}/prefix", max_retries=1)
        async with client:
            with pytest.raises(
                DatasourceUnavailable, match=f"cannot connect to http://127.0.0.1:{port}/prefix"
            ):
                await client.get_json("/api/v1/labels")


# -- deadlines -----------------------------------------------------------------------------------


async def test_one_deadline_bounds_the_whole_call_when_the_backend_never_answers() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await anyio.sleep(60)
        raise AssertionError("not reached")

    client, outcomes = make_client(handler, timeout_seconds=0.2, max_retries=2)
    assert client.max_duration == 0.2
    with anyio.fail_after(client.max_duration + 5):  # hang guard
        with pytest.raises(DatasourceTimeout, match=r"^prod: no answer from http://127.0.0.1:9 within 0.2s$"):
            await client.get_json("/x")
    assert len(seen) == 1, "the deadline is spent: no retry"
    assert outcomes == ["error"]


async def test_retries_stop_when_the_deadline_leaves_no_time() -> None:
    handler, seen = counting(text(503, "busy"))
    client, _ = make_client(handler, timeout_seconds=1.0, max_retries=10)
    client.backoff_base = 0.4
    with pytest.raises(DatasourceUnavailable, match="no time left to retry within 1s") as caught:
        await client.get_json("/x")
    assert caught.value.status == 503
    assert 1 < len(seen) < 11


@asynccontextmanager
async def loopback_server(serve: Callable[[SocketStream], Any]) -> AsyncIterator[str]:
    """A raw TCP server on 127.0.0.1 running `serve` per connection; yields its base URL."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handle(stream: SocketStream) -> None:
        async with stream:
            # The client hangs up once its deadline passes, as it should.
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
                await serve(stream)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}"
        tg.cancel_scope.cancel()


async def silent(stream: SocketStream) -> None:
    await stream.receive()
    await anyio.sleep(60)


async def drip(stream: SocketStream) -> None:
    """Send headers, then one byte every 50 ms: no single read ever times out."""
    await stream.receive()
    await stream.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    while True:
        await stream.send(b" ")
        await anyio.sleep(0.05)


@pytest.mark.parametrize("serve", [silent, drip], ids=["silent", "drip"])
async def test_slow_loopback_server_cannot_hold_a_call_open(serve: Callable[[SocketStream], Any]) -> None:
    with anyio.fail_after(10):
        async with loopback_server(serve) as url:
            client, _ = make_client(url=url, timeout_seconds=0.3, max_retries=1)
            async with client:
                started = time.monotonic()
                with pytest.raises(DatasourceTimeout, match=r"within 0\.3s"):
                    await client.get_json("/x")
                assert time.monotonic() - started < 1.5


# -- body handling ------------------------------------------------------------------------------


async def test_size_cap_stops_reading_as_soon_as_it_is_passed() -> None:
    produced: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            produced.append(1)
            yield b"x" * 1024

    client, outcomes = make_client(
        lambda request: httpx.Response(200, content=endless()), max_response_bytes=8192
    )
    with pytest.raises(ResponseTooLarge, match="8,192-byte cap"):
        await client.get_json("/x")
    assert len(produced) <= 10
    assert outcomes == ["error"]


async def test_declared_length_over_the_cap_fails_before_reading() -> None:
    handler, seen = counting(httpx.Response(200, content=b"[" + b"1," * 5000 + b"1]"))
    client, _ = make_client(handler, max_response_bytes=2048, max_retries=3)
    with pytest.raises(ResponseTooLarge):
        await client.get_json("/x")
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/html", "<html>login</html>"), ("application/json", '{"status": "succ'), ("application/json", "")],
)
async def test_garbage_json_raises_invalid_response(content_type: str, body: str) -> None:
    handler, _ = counting(httpx.Response(200, content=body.encode(), headers={"Content-Type": content_type}))
    client, outcomes = make_client(handler)
    with pytest.raises(InvalidResponse, match=f"expected JSON from GET /x, got {content_type}"):
        await client.get_json("/x")
    assert outcomes == ["error"]


async def test_a_body_that_does_not_decode_raises_invalid_response() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = httpx.ByteStream(b"not gzip at all")
        return httpx.Response(200, stream=body, headers={"Content-Encoding": "gzip"})

    client, outcomes = make_client(handler, max_retries=2)
    with pytest.raises(InvalidResponse, match="does not decode as Content-Encoding gzip"):
        await client.get_json("/x")
    assert len(seen) == 1
    assert outcomes == ["error"]


async def test_parse_shape_errors_become_invalid_response() -> None:
    handler, _ = counting(httpx.Response(200, json={"data": None}))
    client, _ = make_client(handler)
    with pytest.raises(InvalidResponse, match="unexpected response shape from GET /x"):
        await client.request("/x", parse=lambda reply: client.decode_json(reply)["data"]["result"])


async def test_redirect_is_not_followed() -> None:
    handler, _ = counting(httpx.Response(302, headers={"Location": "http://127.0.0.1:9/login"}))
    client, _ = make_client(handler)
    with pytest.raises(InvalidResponse, match="unexpected HTTP 302"):
        await client.get_json("/x")


# -- cache and single-flight --------------------------------------------------------------------


async def test_cache_hit_makes_no_second_request() -> None:
    handler, seen = counting(httpx.Response(200, json=OK))
    client, outcomes = make_client(handler)
    first = await client.get_json("/api/v1/labels", {"match[]": ["up", 'up{job="a"}'], "start": "1"})
    second = await client.get_json("/api/v1/labels", {"start": "1", "match[]": ["up", 'up{job="a"}']})
    assert first == second == OK
    assert len(seen) == 1
    assert outcomes == ["ok", "cache_hit"]


async def test_cache_key_collapses_whitespace_outside_quotes_only() -> None:
    handler, seen = counting(httpx.Response(200, json=OK))
    client, _ = make_client(handler)
    await client.get_json("/q", {"query": 'sum by (app) (rate({app="a  b"}[5m]))'})
    await client.get_json("/q", {"query": '  sum  by (app)\n (rate({app="a  b"}[5m]))  '})
    assert len(seen) == 1
    await client.get_json("/q", {"query": 'sum by (app) (rate({app="a b"}[5m]))'})
    assert len(seen) == 2


def test_normalise_query_keeps_string_literals() -> None:
    assert normalise_query(' {app="x"}\t|=  "a  b"  |~ `c  d` ') == '{app="x"} |= "a  b" |~ `c  d`'
    assert normalise_query(r'{a="q\"  x"}   |= "y"') == r'{a="q\"  x"} |= "y"'


async def test_errors_are_not_cached() -> None:
    handler, seen = counting(text(400, "bad query"), httpx.Response(200, json=OK))
    client, outcomes = make_client(handler)
    with pytest.raises(QueryRejected):
        await client.get_json("/x")
    assert await client.get_json("/x") == OK
    assert len(seen) == 2
    assert outcomes == ["error", "ok"]


async def test_invalid_bodies_are_not_cached() -> None:
    handler, seen = counting(httpx.Response(200, text="oops"), httpx.Response(200, json=OK))
    client, _ = make_client(handler)
    with pytest.raises(InvalidResponse):
        await client.get_json("/x")
    assert await client.get_json("/x") == OK
    assert len(seen) == 2


async def test_cache_false_fetches_again_and_refreshes() -> None:
    handler, seen = counting(httpx.Response(200, json={"n": 1}), httpx.Response(200, json={"n": 2}))
    client, _ = make_client(handler)
    assert await client.get_json("/x") == {"n": 1}
    assert await client.request("/x", parse=client.decode_json, cache=False) == {"n": 2}
    assert await client.get_json("/x") == {"n": 2}
    assert len(seen) == 2


async def test_zero_ttl_disables_the_cache() -> None:
    handler, seen = counting(httpx.Response(200, json=OK))
    client, _ = make_client(handler, cache_ttl_seconds=0)
    await client.get_json("/x")
    await client.get_json("/x")
    assert len(seen) == 2


async def test_concurrent_identical_requests_share_one_fetch() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await anyio.sleep(0.1)
        return httpx.Response(200, json=OK)

    client, outcomes = make_client(handler)
    results: list[Any] = []

    async def ask() -> None:
        results.append(await client.get_json("/x", {"query": "up"}))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(ask)
    assert results == [OK] * 5
    assert len(seen) == 1
    assert sorted(outcomes) == ["cache_hit"] * 4 + ["ok"]


async def test_concurrent_identical_requests_share_a_failure() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await anyio.sleep(0.1)
        return text(400, "bad query")

    client, _ = make_client(handler)
    errors: list[Exception] = []

    async def ask() -> None:
        try:
            await client.get_json("/x")
        except QueryRejected as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(ask)
    assert len(seen) == 1
    assert [e.message for e in errors] == ["bad query"] * 3  # type: ignore[attr-defined]


async def test_concurrency_is_limited() -> None:
    active = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.05)
        active -= 1
        return httpx.Response(200, json=OK)

    client, _ = make_client(handler, max_concurrency=2)
    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(client.get_json, f"/x/{i}")
    assert peak == 2


# -- request shape and readiness ----------------------------------------------------------------


async def test_requests_carry_auth_tenant_and_extra_headers() -> None:
    handler, seen = counting(httpx.Response(200, json=OK))
    client, _ = make_client(
        handler,
        bearer_token="tok-123456",
        tenant="team-a",
        headers={"X-Extra": "v1"},
        url="http://127.0.0.1:9/prom",
    )
    async with client:
        await client.request("/api/v1/query", {"query": "up"}, method="POST", parse=client.decode_json)
    request = seen[0]
    assert request.url.path == "/prom/api/v1/query"
    assert request.headers["Authorization"] == "Bearer tok-123456"
    assert request.headers["X-Scope-OrgID"] == "team-a"
    assert request.headers["X-Extra"] == "v1"
    assert request.content == b"query=up"


@pytest.mark.parametrize(
    "settings",
    [
        {"basic_user": "admin", "basic_password": "pa55word"},
        {"url": "http://admin:pa55word@127.0.0.1:9"},
    ],
)
async def test_basic_auth_from_config_or_url(settings: dict[str, Any]) -> None:
    handler, seen = counting(httpx.Response(200, json=OK))
    client, _ = make_client(handler, **settings)
    await client.get_json("/x")
    assert seen[0].headers["Authorization"] == "Basic YWRtaW46cGE1NXdvcmQ="
    assert seen[0].url.userinfo == b""
    assert client.url == "http://127.0.0.1:9"


async def test_ready_503_is_an_answer_not_retried() -> None:
    handler, seen = counting(text(503, "Ingester not ready\n"))
    client, _ = make_client(handler, max_retries=3)
    readiness = await client._readiness("/ready")
    assert (readiness.ready, readiness.message) == (False, "Ingester not ready")
    assert len(seen) == 1


async def test_observe_hook_failure_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = counting(httpx.Response(200, json=OK))
    config = DatasourceConfig(name="prod", type="loki", url="http://127.0.0.1:9")

    def broken(kind: str, status: str, seconds: float) -> None:
        raise RuntimeError("metrics down")

    client = BackendClient(config, observe=broken, transport=httpx.MockTransport(handler))
    assert await client.get_json("/x") == OK
    assert "observe hook failed" in caplog.text


async def test_observe_reports_type_and_duration() -> None:
    handler, _ = counting(httpx.Response(200, json=OK))
    calls: list[tuple[str, str, float]] = []
    config = DatasourceConfig(name="prod", type="loki", url="http://127.0.0.1:9")
    client = BackendClient(
        config, observe=lambda *args: calls.append(args), transport=httpx.MockTransport(handler)
    )
    await client.get_json("/x")
    [(kind, status, seconds)] = calls
    assert (kind, status) == ("loki", "ok")
    assert 0 <= seconds < 1


# -- secrets ------------------------------------------------------------------------------------

TOKEN = "tok-Sup3rSecret"
PASSWORD = "pw-Hunter2Secret"
HEADER_SECRET = "hdr-ApiKeySecret"
BASIC_ENCODED = "YWRtaW46cHctSHVudGVyMlNlY3JldA=="  # base64 of admin:pw-Hunter2Secret
SECRETS = (TOKEN, PASSWORD, HEADER_SECRET, BASIC_ENCODED)


def leaky(request: httpx.Request) -> str:
    """A body echoing every credential of the request, as a careless proxy might."""
    headers = request.headers
    return f"denied {request.url} auth={headers.get('Authorization')} key={headers.get('X-Api-Key')}"


def scenarios() -> Iterator[tuple[str, Handler, type[DatasourceError]]]:
    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(60)
        raise AssertionError("not reached")

    def connect_error(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}: {leaky(request)}")

    yield "connect", connect_error, DatasourceUnavailable
    yield "timeout", hang, DatasourceTimeout
    yield "400", lambda r: text(400, leaky(r)), QueryRejected
    yield "401", lambda r: text(401, leaky(r)), AuthenticationFailed
    yield "503", lambda r: text(503, leaky(r)), DatasourceUnavailable
    yield (
        "json-400",
        lambda r: httpx.Response(400, json={"status": "error", "error": leaky(r)}),
        QueryRejected,
    )
    yield "too-large", lambda r: httpx.Response(200, text=leaky(r) * 500), ResponseTooLarge
    yield "invalid", lambda r: httpx.Response(200, text=leaky(r)), InvalidResponse


@pytest.mark.parametrize(("name", "handler", "error"), list(scenarios()), ids=[s[0] for s in scenarios()])
@pytest.mark.parametrize(
    "auth",
    [
        {"bearer_token": TOKEN},
        {"basic_user": "admin", "basic_password": PASSWORD},
        {"url": f"http://admin:{PASSWORD}@127.0.0.1:9"},
    ],
    ids=["bearer", "basic", "userinfo"],
)
async def test_secrets_never_appear_in_error_messages(
    name: str, handler: Handler, error: type[DatasourceError], auth: dict[str, Any]
) -> None:
    client, _ = make_client(
        handler,
        headers={"X-Api-Key": HEADER_SECRET},
        timeout_seconds=0.1,
        max_retries=0,
        max_response_bytes=4096,
        **auth,
    )
    with pytest.raises(error) as caught:
        await client.get_json("/x", {"query": "up"})
    shown = f"{caught.value} {caught.value!r} {caught.value.message}"
    for secret in SECRETS:
        assert secret not in shown


async def test_waiters_fetch_themselves_when_the_leader_is_cancelled() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await anyio.sleep(0.1)
        return httpx.Response(200, json=OK)

    client, _ = make_client(handler)
    results: list[Any] = []

    async def leader() -> None:
        with anyio.move_on_after(0.03):
            await client.get_json("/x")

    async def follower() -> None:
        await anyio.sleep(0.01)
        results.append(await client.get_json("/x"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(leader)
        tg.start_soon(follower)
    assert results == [OK]
    assert len(seen) == 2
