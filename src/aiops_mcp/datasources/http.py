"""The transport shared by the backend clients.

`BackendClient` owns one pooled `httpx.AsyncClient` per datasource and turns each logical
request into a bounded one:

* one deadline, `timeout_seconds`, for the whole request: waiting for a connection slot, every
  attempt and every backoff; a backend that never answers or drips bytes cannot hold a call open
  longer (`max_duration`);
* retries with exponential backoff and jitter on connection errors, resets, 5xx and 429
  (honouring a short `Retry-After`) while the deadline leaves time, never on other 4xx;
* a circuit breaker (`breaker`): after `breaker_failures` requests in a row got no answer,
  calls fail at once with `CircuitOpen` for `breaker_cooldown_seconds`, then one probe goes;
* at most `max_concurrency` requests in flight;
* a TTL cache of parsed successes, keyed on method, path and normalised parameters, with
  concurrent identical requests sharing one fetch (single-flight);
* stale answers: a cached success is kept up to `stale_max_age_seconds`; when a fresh fetch fails
  because the backend is unavailable (or answered garbage), that answer is served instead and a
  `StaleAnswer` is recorded for the caller (see `stale`);
* a cap on the response size, enforced while streaming;
* failures mapped to the typed errors in `errors`, with credentials redacted from every message.

Results may be served from the shared cache: callers must treat them as read-only.
"""

import base64
import contextlib
import email.utils
import gc
import json
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Any, Literal, Self, TypeVar

import anyio
import httpx
from cachetools import TTLCache

from aiops_mcp.datasources.breaker import BreakerState, CircuitBreaker
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
from aiops_mcp.datasources.stale import StaleAnswer, record_stale

T = TypeVar("T")
E = TypeVar("E", bound=DatasourceError)
Params = Mapping[str, str | Sequence[str]]
"""Query or form parameters; a sequence value is a repeated parameter (`match[]`)."""
Observe = Callable[[str, str, float], None]
"""Hook called once per logical request with (datasource type, outcome, seconds)."""
Outcome = Literal["ok", "error", "cache_hit", "stale"]
Method = Literal["GET", "POST"]
CacheKey = tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...], tuple[tuple[str, str], ...]]

logger = logging.getLogger(__name__)

_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_ERROR_BODY_LIMIT = 64 * 1024
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)
_STALE_SERVES = (DatasourceUnavailable, InvalidResponse)
"""Failures a stale answer stands in for: the backend's fault, not the query's."""


@dataclass(slots=True, frozen=True)
class Reply:
    """A fully read response: what the parsers of the clients work from."""

    method: str
    path: str
    status: int
    content_type: str
    body: bytes
    retry_after: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(slots=True, frozen=True)
class Readiness:
    """Answer of a readiness endpoint: 200 means ready; the text says what is still starting."""

    ready: bool
    message: str


@dataclass(slots=True, frozen=True)
class _Cached:
    """A parsed success in the cache, with when it was fetched (monotonic for age, unix for display)."""

    value: Any
    size: int
    fetched: float
    fetched_at: float


@dataclass(slots=True)
class _Flight:
    """One in-flight fetch that identical concurrent requests wait for."""

    done: anyio.Event = field(default_factory=anyio.Event)
    value: Any = None
    has_value: bool = False
    error: DatasourceError | None = None


class BackendClient:
    """Async HTTP access to one configured backend; subclasses add the API methods.

    `url` is the base URL without credentials or query string: safe to show in messages.
    """

    backoff_base = 0.25
    """First retry delay in seconds; doubles per attempt, with jitter."""
    backoff_max = 4.0
    """Cap on one backoff delay."""
    retry_after_max = 10.0
    """A longer `Retry-After` is not waited for: the call fails at once and says so."""
    cache_max_bytes = 64 * 1024 * 1024
    """Cache budget (fresh and stale answers), measured as the raw size of the cached bodies."""

    def __init__(
        self,
        config: DatasourceConfig,
        *,
        observe: Observe | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._observe = observe
        url = httpx.URL(config.url)
        self.url = str(url.copy_with(userinfo=b"", query=None, fragment=None))
        self._secrets = _secrets_of(config, url)
        self._limiter = anyio.CapacityLimiter(config.max_concurrency)
        self._breaker = CircuitBreaker(config.name, config.breaker_failures, config.breaker_cooldown_seconds)
        # One store for fresh and stale answers: an entry is fresh for `cache_ttl_seconds`, then
        # kept as a stand-in until `stale_max_age_seconds`.
        keep = max(config.cache_ttl_seconds, config.stale_max_age_seconds)
        self._cache: TTLCache[CacheKey, _Cached] | None = None
        if keep > 0:
            self._cache = TTLCache(maxsize=self.cache_max_bytes, ttl=keep, getsizeof=lambda item: item.size)
        self._inflight: dict[CacheKey, _Flight] = {}
        self._client = httpx.AsyncClient(
            base_url=self.url,
            auth=_auth(config, url),
            headers=_headers(config),
            timeout=httpx.Timeout(config.timeout_seconds),
            verify=self._verify(),
            transport=transport,
        )

    @property
    def name(self) -> str:
        """The configured datasource name."""
        return self.config.name

    @property
    def max_duration(self) -> float:
        """Upper bound in seconds for one call: queueing, retries and backoff included."""
        return self.config.timeout_seconds

    @property
    def breaker(self) -> BreakerState:
        """The circuit breaker's state, for health checks."""
        return self._breaker.state

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def get_json(
        self, path: str, params: Params | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """GET `path` and return the decoded JSON body, for endpoints without a typed method."""
        return await self.request(path, params, headers=headers, parse=self.decode_json)

    async def request(
        self,
        path: str,
        params: Params | None = None,
        *,
        parse: Callable[[Reply], T],
        method: Method = "GET",
        headers: Mapping[str, str] | None = None,
        cache: bool = True,
        accept: Collection[int] = (),
    ) -> T:
        """One logical request: cache, single-flight, retries; `parse` turns the reply into the result.

        POST sends `params` as a form body. Statuses in `accept` are answers, not errors (not
        retried, not cached). `cache=False` forces a fresh fetch, whose result refreshes the
        cache, and never gets a stale answer. Shape errors raised by `parse` become
        `InvalidResponse` and are never cached.
        """
        key = _cache_key(method, path, params, headers)
        started = time.monotonic()

        async def fetch() -> tuple[T, int]:
            reply = await self._through_breaker(partial(self._send, method, path, params, headers, accept))
            try:
                result = parse(reply)
            except DatasourceError:
                raise
            except _SHAPE_ERRORS as exc:
                raise self._error(
                    InvalidResponse, f"unexpected response shape from {method} {path}: {exc!r}"
                ) from exc
            cacheable = 200 <= reply.status < 300
            return result, len(reply.body) if cacheable else -1

        try:
            value, outcome = await self._shared(key, fetch, use_cache=cache)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            stale = self._stale(key, exc) if cache else None
            if stale is None:
                self._report("error", started)
                raise
            value, outcome = stale.value, "stale"
        self._report(outcome, started)
        return value

    def decode_json(self, reply: Reply) -> Any:
        """The JSON body of a reply, or `InvalidResponse` naming what came instead."""
        try:
            return _loads(reply.body)
        except ValueError as exc:
            kind = reply.content_type or "no content type"
            snippet = reply.text[:200].strip() or "an empty body"
            raise self._error(
                InvalidResponse, f"expected JSON from {reply.method} {reply.path}, got {kind}: {snippet}"
            ) from exc

    def invalid(self, reply: Reply, what: str) -> InvalidResponse:
        """An `InvalidResponse` for a body that parsed but is not what the API documents."""
        return self._error(InvalidResponse, f"{reply.method} {reply.path}: {what}")

    async def _readiness(self, path: str) -> Readiness:
        """GET a readiness endpoint: 200 is ready, 503 is starting (neither retried nor cached)."""
        return await self.request(
            path,
            parse=lambda reply: Readiness(reply.status == 200, reply.text.strip()),
            cache=False,
            accept=(503,),
        )

    # -- cache and single-flight ---------------------------------------------------------------

    async def _shared(
        self, key: CacheKey, fetch: Callable[[], Awaitable[tuple[T, int]]], *, use_cache: bool
    ) -> tuple[T, Outcome]:
        """Serve from the cache, join an identical in-flight fetch, or lead a new one."""
        while use_cache and self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit.fetched < self.config.cache_ttl_seconds:
                return hit.value, "cache_hit"
            flight = self._inflight.get(key)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise _clone(flight.error)
            if flight.has_value:
                return flight.value, "cache_hit"
            # The leader was cancelled: loop and lead a fetch of our own.
        flight = _Flight()
        self._inflight.setdefault(key, flight)
        try:
            value, size = await fetch()
            flight.value, flight.has_value = value, True
            self._remember(key, value, size)
            return value, "ok"
        except DatasourceError as exc:
            flight.error = exc
            raise
        finally:
            if self._inflight.get(key) is flight:
                del self._inflight[key]
            flight.done.set()

    def _remember(self, key: CacheKey, value: Any, size: int) -> None:
        if self._cache is None or size < 0:
            return
        entry = _Cached(value, max(size, 1), time.monotonic(), time.time())
        with contextlib.suppress(ValueError):  # larger than the whole cache budget: not kept
            self._cache[key] = entry

    def _stale(self, key: CacheKey, error: Exception) -> _Cached | None:
        """The cached answer standing in for a fetch that failed with `error`, recorded as stale."""
        if self._cache is None or not isinstance(error, _STALE_SERVES):
            return None
        entry = self._cache.get(key)
        if entry is None or time.monotonic() - entry.fetched > self.config.stale_max_age_seconds:
            return None
        age = time.time() - entry.fetched_at
        logger.info("%s: serving a cached answer from %.0fs ago: %s", self.name, age, error)
        record_stale(StaleAnswer(self.name, entry.fetched_at, error.message))
        return entry

    # -- sending with retries ------------------------------------------------------------------

    async def _through_breaker(self, send: Callable[[], Awaitable[Reply]]) -> Reply:
        """`send()` if the circuit breaker admits it: an answer closes it, no answer counts against it."""
        probe = self._breaker.admit()
        try:
            reply = await send()
        except DatasourceUnavailable as exc:
            self._breaker.failure(exc.message, probe)
            raise
        except DatasourceError:
            self._breaker.success()  # an answer, if not the one wanted (4xx, too large)
            raise
        except BaseException:
            self._breaker.abandon(probe)
            raise
        self._breaker.success()
        return reply

    async def _send(
        self,
        method: Method,
        path: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        accept: Collection[int],
    ) -> Reply:
        """Send with retries until the deadline; a 2xx (or accepted) reply, or a typed error."""
        deadline = anyio.current_time() + self.config.timeout_seconds
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                reply = await self._attempt(method, path, params, headers, deadline)
            except (*_RETRYABLE_TRANSPORT, TimeoutError) as exc:
                delay = self._backoff(attempt)
                if attempt == attempts or anyio.current_time() + delay >= deadline:
                    raise self._transport_error(exc, attempt) from exc
                reason = type(exc).__name__
            else:
                if 200 <= reply.status < 300 or reply.status in accept:
                    return reply
                if not _retryable_status(reply.status) or attempt == attempts:
                    raise self._status_error(reply, attempt)
                wait = _retry_after_seconds(reply.retry_after)
                delay = max(wait or 0.0, self._backoff(attempt))
                if wait is not None and wait > self.retry_after_max:
                    raise self._status_error(reply, attempt, f"asked to retry after {wait:.0f}s")
                if anyio.current_time() + delay >= deadline:
                    note = f"no time left to retry within {self.config.timeout_seconds:g}s"
                    raise self._status_error(reply, attempt, note)
                reason = f"HTTP {reply.status}"
            logger.info(
                "%s: retrying %s %s in %.2fs after %s (attempt %d of %d)",
                self.name, method, path, delay, reason, attempt, attempts,
            )  # fmt: skip
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: Method,
        path: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        deadline: float,
    ) -> Reply:
        """One HTTP exchange within the concurrency limit, cut off at the request's deadline."""
        query, form = (None, _listify(params)) if method == "POST" else (_listify(params), None)
        request = self._client.build_request(method, path, params=query, data=form, headers=headers)
        admitted = False
        try:
            with anyio.fail_at(deadline):
                async with self._limiter:
                    admitted = True
                    response = await self._client.send(request, stream=True)
                    try:
                        body = await self._read(response, method, path)
                    finally:
                        await response.aclose()
        except TimeoutError:
            if admitted:
                raise
            slots, timeout = self.config.max_concurrency, self.config.timeout_seconds
            message = f"all {slots} connection slots to {self.url} stayed busy for {timeout:g}s"
            raise self._error(DatasourceTimeout, message) from None
        return Reply(
            method=method,
            path=path,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            body=body,
            retry_after=response.headers.get("retry-after"),
        )

    async def _read(self, response: httpx.Response, method: str, path: str) -> bytes:
        """Read the body, failing as soon as a success body passes the size cap.

        Error bodies are only needed for their message: they are cut short instead.
        """
        cap = self.config.max_response_bytes
        success = response.is_success
        declared = response.headers.get("content-length", "")
        if success and declared.isdigit() and int(declared) > cap:
            raise self._too_large(method, path)
        limit = cap if success else _ERROR_BODY_LIMIT
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    if success:
                        raise self._too_large(method, path)
                    chunks.append(chunk[: len(chunk) - (size - limit)])
                    break
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            encoding = response.headers.get("content-encoding", "none")
            message = f"the body of {method} {path} does not decode as Content-Encoding {encoding}: {exc}"
            raise self._error(InvalidResponse, message) from exc
        return b"".join(chunks)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, so that many clients do not retry in step."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    # -- errors --------------------------------------------------------------------------------

    def _error(self, kind: type[E], message: str, status: int | None = None) -> E:
        """Build an error of `kind` with every credential removed from the message."""
        return kind(self.name, self._redact(message), status=status)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _transport_error(self, exc: Exception, attempts: int) -> DatasourceError:
        after = f" (after {attempts} attempts)" if attempts > 1 else ""
        timeout = self.config.timeout_seconds
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectTimeout):
            return self._error(DatasourceTimeout, f"cannot connect to {self.url} within {timeout:g}s{after}")
        if isinstance(exc, httpx.ConnectError):
            return self._error(DatasourceUnavailable, f"cannot connect to {self.url}: {detail}{after}")
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return self._error(DatasourceTimeout, f"no answer from {self.url} within {timeout:g}s{after}")
        return self._error(DatasourceUnavailable, f"connection to {self.url} failed: {detail}{after}")

    def _status_error(self, reply: Reply, attempts: int, note: str = "") -> DatasourceError:
        """Map a non-success status to its typed error, carrying the backend's own message."""
        status = reply.status
        detail = _backend_message(reply) or _status_text(reply)
        if status in (401, 403):
            message = f"HTTP {status}: {detail}; check the datasource credentials"
            return self._error(AuthenticationFailed, message, status)
        if 400 <= status < 500 and status != 429:
            if status == 404:
                detail += f" ({reply.method} {reply.path}: check the datasource URL and type)"
            return self._error(QueryRejected, detail, status)
        if status == 429 or status >= 500:
            after = f" after {attempts} attempts" if attempts > 1 else ""
            note = f" ({note})" if note else ""
            message = f"{self.url} answered HTTP {status}{after}{note}: {detail}"
            return self._error(DatasourceUnavailable, message, status)
        message = f"unexpected HTTP {status} for {reply.method} {reply.path}: {detail}"
        return self._error(InvalidResponse, message, status)

    def _too_large(self, method: str, path: str) -> ResponseTooLarge:
        cap = self.config.max_response_bytes
        message = (
            f"the answer to {method} {path} exceeded the {cap:,}-byte cap; "
            "narrow the query (shorter range, larger step, fewer series or a lower limit)"
        )
        return self._error(ResponseTooLarge, message)

    def _verify(self) -> ssl.SSLContext | bool:
        if not self.config.verify_tls:
            return False
        if not self.config.ca_file:
            return True
        try:
            return ssl.create_default_context(cafile=self.config.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise DatasourceUnavailable(
                self.name, f"cannot load CA file {self.config.ca_file}: {exc}"
            ) from exc

    def _report(self, outcome: Outcome, started: float) -> None:
        if self._observe is None:
            return
        try:
            self._observe(self.config.type, outcome, time.monotonic() - started)
        except Exception:  # a metrics hook must never break a query
            logger.exception("observe hook failed")


LARGE_BODY = 1024 * 1024
"""Above this, JSON is parsed with the garbage collector paused."""


def _loads(body: bytes) -> Any:
    """`json.loads`, pausing the cyclic garbage collector for large bodies: a big answer creates
    millions of lists and floats, and collections triggered midway cost 5-7x the parse itself
    (a 15 MB Prometheus answer: about 2 s instead of 0.3 s). JSON values hold no cycles."""
    if len(body) < LARGE_BODY or not gc.isenabled():
        return json.loads(body)
    gc.disable()
    try:
        return json.loads(body)
    finally:
        gc.enable()


def normalise_query(text: str) -> str:
    """Collapse runs of whitespace outside string literals and strip the ends.

    Used for cache keys only: whitespace inside quotes ("a  b", `a  b`) can change a LogQL or
    PromQL query's meaning, so it is kept.
    """
    out: list[str] = []
    quote = ""
    escaped = pending_space = False
    for char in text:
        if quote:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = ""
        elif char.isspace():
            pending_space = bool(out)
        else:
            if pending_space:
                out.append(" ")
                pending_space = False
            if char in "\"'`":
                quote = char
            out.append(char)
    return "".join(out)


def _cache_key(method: str, path: str, params: Params | None, headers: Mapping[str, str] | None) -> CacheKey:
    items = []
    for name, value in (params or {}).items():
        values = (value,) if isinstance(value, str) else tuple(value)
        items.append((name, tuple(normalise_query(v) for v in values)))
    return method, path, tuple(sorted(items)), tuple(sorted((headers or {}).items()))


def _listify(params: Params | None) -> dict[str, str | list[str]] | None:
    if not params:
        return None
    return {k: v if isinstance(v, str) else list(v) for k, v in params.items()}


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP date), if any."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _backend_message(reply: Reply) -> str:
    """The backend's error text: Prometheus' JSON `error` (with its type), else the plain body."""
    text = reply.text.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return text
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            kind = doc.get("errorType")
            return f"{kind}: {doc['error']}" if kind else doc["error"]
    return text


def _status_text(reply: Reply) -> str:
    try:
        phrase = HTTPStatus(reply.status).phrase
    except ValueError:
        phrase = "Unknown Status"
    return f"HTTP {reply.status} {phrase} (empty body) for {reply.method} {reply.path}"


def _clone(error: DatasourceError) -> DatasourceError:
    """A fresh copy for a waiter of a shared fetch, so tracebacks do not pile up on one object."""
    return type(error)(error.datasource, error.message, status=error.status)


def _auth(config: DatasourceConfig, url: httpx.URL) -> httpx.BasicAuth | None:
    credentials = _basic_credentials(config, url)
    return httpx.BasicAuth(*credentials) if credentials else None


def _basic_credentials(config: DatasourceConfig, url: httpx.URL) -> tuple[str, str] | None:
    """Basic-auth user and password, from the config or else from the URL; none with a bearer token."""
    if config.bearer_token is not None:
        return None  # sent as a default header
    if config.basic_user is not None:
        password = config.basic_password.get_secret_value() if config.basic_password else ""
        return config.basic_user, password
    if url.username:
        return url.username, url.password
    return None


def _headers(config: DatasourceConfig) -> dict[str, str]:
    headers = {name: value.get_secret_value() for name, value in config.headers.items()}
    if config.tenant:
        headers["X-Scope-OrgID"] = config.tenant
    if config.bearer_token is not None:
        headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    return headers


def _secrets_of(config: DatasourceConfig, url: httpx.URL) -> list[str]:
    """Every credential string that must never appear in a message, longest first."""
    secrets = [value.get_secret_value() for value in config.headers.values()]
    if config.bearer_token is not None:
        secrets.append(config.bearer_token.get_secret_value())
    if config.basic_password is not None:
        secrets.append(config.basic_password.get_secret_value())
    if url.password:
        secrets.append(url.password)
    credentials = _basic_credentials(config, url)
    if credentials is not None:  # the encoded `Basic ...` value could be echoed back too
        secrets.append(base64.b64encode(":".join(credentials).encode()).decode())
    # Very short strings would redact ordinary words; such secrets are not worth protecting.
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
