"""Resource-updated notifications for both protocol generations, publishable from outside MCP.

- 2026-07-28 clients open `subscriptions/listen` streams; the server's `SubscriptionBus` fans
  events out to them. The notifier owns that bus and hands it to `MCPServer(subscriptions=...)`.
- 2025-era clients send `resources/subscribe`; `install` registers that handler (and
  `resources/unsubscribe`) on the low-level server, which also makes the server advertise
  `resources.subscribe`. Subscribed connections are kept per URI and forgotten when their
  connection closes (or a send to them fails).

`resources_updated(uris)` reaches both, from any task on the server's event loop (e.g. the
Alertmanager webhook route, which runs outside every MCP request).
"""

import logging
from collections.abc import Iterable
from typing import Any, Protocol

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated
from mcp_types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

logger = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5.0
FORGET_KEY = "aiops_mcp.subscriptions"


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
        self.bus = InMemorySubscriptionBus()
        self._subscribers: dict[str, set[Subscriber]] = {}

    def install(self, server: MCPServer[Any]) -> None:
        """Serve `resources/subscribe` and `resources/unsubscribe` (2025-era clients) on ``server``."""
        # MCPServer has no public hook for these two methods; the low-level server does.
        lowlevel = server._lowlevel_server
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, self._subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._unsubscribe)

    async def _subscribe(self, ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        subscriber = _subscriber(ctx.session)
        self._subscribers.setdefault(str(params.uri), set()).add(subscriber)
        state = getattr(subscriber, "state", None)
        if isinstance(state, dict) and not state.get(FORGET_KEY):
            state[FORGET_KEY] = True
            subscriber.exit_stack.callback(self._forget, subscriber)  # type: ignore[attr-defined]
        return EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        self._subscribers.get(str(params.uri), set()).discard(_subscriber(ctx.session))
        return EmptyResult()

    def _forget(self, subscriber: Subscriber) -> None:
        for subscribers in self._subscribers.values():
            subscribers.discard(subscriber)

    def subscribers(self, uri: str) -> int:
        """How many 2025-era connections are subscribed to ``uri``."""
        return len(self._subscribers.get(uri, ()))

    async def resources_updated(self, uris: Iterable[str]) -> None:
        """Tell every subscriber of each URI that it changed; a failing session is dropped."""
        for uri in dict.fromkeys(uris):
            await self.bus.publish(ResourceUpdated(uri=uri))
            for subscriber in list(self._subscribers.get(uri, ())):
                try:
                    with anyio.fail_after(SEND_TIMEOUT_SECONDS):
                        await subscriber.send_resource_updated(uri)
                except Exception as exc:  # a gone client must not fail the publisher
                    logger.info("dropping a subscriber of %s: %s", uri, exc)
                    self._forget(subscriber)
