"""Resource-updated notifications for both protocol generations, publishable from outside MCP.

- 2026-07-28 clients open `subscriptions/listen` streams; the server's `SubscriptionBus` fans
  events out to them. The notifier owns that bus and hands it to `MCPServer(subscriptions=...)`.
- 2025-era clients send `resources/subscribe`; `install` registers that handler (and
  `resources/unsubscribe`) on the low-level server, which also makes the server advertise
  `resources.subscribe`. Subscribed connections are kept per URI and forgotten when their
  connection closes (or a send to them fails).

`resources_updated(uris, audience)` reaches both, from any task on the server's event loop (e.g.
the Alertmanager webhook route, which runs outside every MCP request). Each subscription keeps
the caller that made it; `audience(uri, principal)` says who may hear of a change, so a token
confined to some labels never learns when an alert outside them changes.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import anyio
import anyio.lowlevel
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ResourceUpdated, ServerEvent
from mcp_types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from aiops_mcp.security.context import current_principal
from aiops_mcp.security.scopes import Principal

logger = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5.0
FORGET_KEY = "aiops_mcp.subscriptions"


Audience = Callable[[str, Principal], bool]
"""Whether the principal may hear that the resource at this URI changed."""
Listener = Callable[[ServerEvent], None]


def everyone(_: str, __: Principal) -> bool:
    return True


class ScopedBus:
    """An in-process `SubscriptionBus` that remembers who opened each listen stream (the caller
    of `subscriptions/listen`, subscribing inside its request) and delivers a resource update
    only to those in its audience."""

    def __init__(self) -> None:
        self._listeners: dict[object, tuple[Listener, Principal]] = {}

    async def publish(self, event: ServerEvent, audience: Audience = everyone) -> None:
        uri = event.uri if isinstance(event, ResourceUpdated) else None
        for listener, principal in list(self._listeners.values()):
            if uri is not None and not audience(uri, principal):
                continue
            try:
                listener(event)
            except Exception:  # one bad listener must not starve the others
                logger.exception("subscription listener raised; continuing")
        await anyio.lowlevel.checkpoint()  # lets listen streams drain between events

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        token = object()
        self._listeners[token] = (listener, current_principal())

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe


class Subscriber(Protocol):
    async def send_resource_updated(self, uri: str) -> None: ...


def _subscriber(session: ServerSession) -> Subscriber:
    """The client connection behind a request's session.

    `ctx.session` is a per-request proxy that dies with the request; its `Connection` lives as long
    as the client's session and sends on the standalone stream. SDK 2.3.0 offers no public path
    from a request context to it, hence the private attribute (the proxy is the fallback).
    """
    return getattr(session, "_connection", None) or session


class ResourceNotifier:
    """Who is subscribed to which resource URI, and how to tell them it changed."""

    def __init__(self) -> None:
        self.bus = ScopedBus()
        self._subscribers: dict[str, dict[Subscriber, Principal]] = {}

    def install(self, server: MCPServer[Any]) -> None:
        """Serve `resources/subscribe` and `resources/unsubscribe` (2025-era clients) on ``server``."""
        # MCPServer has no public hook for these two methods; the low-level server does.
        lowlevel = server._lowlevel_server
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, self._subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._unsubscribe)

    async def _subscribe(self, ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        subscriber = _subscriber(ctx.session)
        self._subscribers.setdefault(str(params.uri), {})[subscriber] = current_principal()
        state = getattr(subscriber, "state", None)
        if isinstance(state, dict) and not state.get(FORGET_KEY):
            state[FORGET_KEY] = True
            subscriber.exit_stack.callback(self._forget, subscriber)  # type: ignore[attr-defined]
        return EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        self._subscribers.get(str(params.uri), {}).pop(_subscriber(ctx.session), None)
        return EmptyResult()

    def _forget(self, subscriber: Subscriber) -> None:
        for subscribers in self._subscribers.values():
            subscribers.pop(subscriber, None)

    def subscribers(self, uri: str) -> int:
        """How many 2025-era connections are subscribed to ``uri``."""
        return len(self._subscribers.get(uri, ()))

    async def resources_updated(self, uris: Iterable[str], audience: Audience = everyone) -> None:
        """Tell every subscriber of each URI in its audience that it changed; a failing session
        is dropped."""
        for uri in dict.fromkeys(uris):
            await self.bus.publish(ResourceUpdated(uri=uri), audience)
            for subscriber, principal in list(self._subscribers.get(uri, {}).items()):
                if not audience(uri, principal):
                    continue
                try:
                    with anyio.fail_after(SEND_TIMEOUT_SECONDS):
                        await subscriber.send_resource_updated(uri)
                except Exception as exc:  # a gone client must not fail the publisher
                    logger.info("dropping a subscriber of %s: %s", uri, exc)
                    self._forget(subscriber)
