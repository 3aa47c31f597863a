"""`McpHost`: one connection to an MCP server (in process, stdio subprocess, or streamable HTTP with a
bearer token), what it offers (tools, resources, templates, prompts), and calls that never raise for
a tool's own error. A connection that is gone raises `HostDisconnected`."""

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from aiops_mcp.client_demo.events import ToolFinished

Target = MCPServer[Any] | StdioServerParameters | str
"""An in-process server object, a command to spawn (stdio), or a streamable HTTP URL."""

CALL_TIMEOUT_SECONDS = 120.0
_CONNECT_TIMEOUT_SECONDS = 30.0
_PAGE_CAP = 50
_T = TypeVar("_T")
# What a transport raises (or the SDK reports) once the other side is gone.
_GONE = (
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    httpx2.TransportError,
    ConnectionError,
)


class HostDisconnected(RuntimeError):
    """The connection to the MCP server is lost (or was never made); the message says which server."""


def describe(target: Target) -> str:
    """A short, secret-free name for a target, for messages."""
    if isinstance(target, str):
        return target
    if isinstance(target, StdioServerParameters):
        return " ".join([target.command, *target.args])
    return f"in-process server {target.name!r}"


def _is_gone(exc: BaseException) -> bool:
    if isinstance(exc, HostDisconnected):
        return True
    if isinstance(exc, MCPError):
        return exc.code == types.CONNECTION_CLOSED
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_gone(e) for e in exc.exceptions)
    return isinstance(exc, _GONE)


def _lost_in(group: BaseExceptionGroup, where: str) -> HostDisconnected | None:
    """The HostDisconnected a group of errors amounts to, or None when it holds no lost connection
    (or holds an interrupt, which must go on as it is)."""
    gone, rest = group.split(lambda e: not isinstance(e, BaseExceptionGroup) and _is_gone(e))
    if gone is None or (rest is not None and rest.split((KeyboardInterrupt, SystemExit))[0] is not None):
        return None
    first: BaseException = gone
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    if isinstance(first, HostDisconnected):
        return HostDisconnected(str(first))
    return HostDisconnected(f"lost the connection to MCP server at {where}: {_reason(first)}")


def _text_of(blocks: list[types.ContentBlock]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource) and isinstance(
            block.resource, types.TextResourceContents
        ):
            parts.append(block.resource.text)
        else:
            parts.append(f"[{block.type} content]")
    return "\n".join(parts)


class McpHost:
    """The host side of one MCP connection. Create it with `McpHost.open(target)`."""

    def __init__(self, client: Client, where: str, *, call_timeout: float = CALL_TIMEOUT_SECONDS) -> None:
        self._client = client
        self.where = where
        self.call_timeout = call_timeout
        self.tools: list[types.Tool] = []
        self.resources: list[types.Resource] = []
        self.resource_templates: list[types.ResourceTemplate] = []
        self.prompts: list[types.Prompt] = []

    @classmethod
    @asynccontextmanager
    async def open(
        cls, target: Target, *, token: str | None = None, call_timeout: float = CALL_TIMEOUT_SECONDS
    ) -> AsyncIterator["McpHost"]:
        """Connect, discover what the server offers, and close on exit. `token` is sent as
        `Authorization: Bearer <token>` (streamable HTTP only)."""
        where = describe(target)
        try:
            async with AsyncExitStack() as stack:
                try:
                    # No cancel scope around entering the client (its task groups outlive it):
                    # requests time out through read_timeout_seconds instead.
                    server = await _transport(stack, target, token)
                    client = await stack.enter_async_context(
                        Client(server, read_timeout_seconds=call_timeout)
                    )
                    host = cls(client, where, call_timeout=call_timeout)
                    await host.discover()
                except HostDisconnected:
                    raise
                except Exception as exc:
                    reason = _reason(exc)
                    raise HostDisconnected(f"cannot connect to MCP server at {where}: {reason}") from exc
                yield host
        except BaseExceptionGroup as group:
            # The SDK's task groups wrap a lost connection (a call that saw it, or the transport's
            # own task failing and cancelling this block): say it as one HostDisconnected.
            lost = _lost_in(group, where)
            if lost is None:
                raise
            raise lost from group

    @property
    def server_name(self) -> str:
        """The server's name (or where it is, when it did not say)."""
        info = self._client.server_info
        return info.name if info else self.where

    @property
    def instructions(self) -> str | None:
        """The server's instructions for models (how to use its tools)."""
        return self._client.instructions

    async def discover(self) -> None:
        """(Re)list tools, resources, resource templates and prompts."""
        client = self._client
        self.tools = await self._listed(lambda c: client.list_tools(cursor=c), "tools")
        self.resources = await self._listed(lambda c: client.list_resources(cursor=c), "resources")
        self.resource_templates = await self._listed(
            lambda c: client.list_resource_templates(cursor=c), "resource_templates"
        )
        self.prompts = await self._listed(lambda c: client.list_prompts(cursor=c), "prompts")

    async def _listed(self, fetch: Callable[[str | None], Awaitable[Any]], field: str) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(_PAGE_CAP):
            try:
                page = await self._guarded(fetch(cursor))
            except MCPError:
                return items  # the server does not offer this kind of thing
            items += getattr(page, field)
            cursor = page.next_cursor
            if not cursor:
                break
        return items

    async def _guarded(self, pending: Awaitable[_T]) -> _T:
        try:
            return await pending
        except Exception as exc:
            if _is_gone(exc):
                raise HostDisconnected(f"lost the connection to MCP server at {self.where}") from exc
            raise

    async def call_tool(
        self, name: str, arguments: dict[str, Any], *, call_id: str | None = None
    ) -> ToolFinished:
        """Run a tool. Its errors (and a timeout) come back as `is_error=True`; only a lost connection
        raises (`HostDisconnected`)."""
        call_id = call_id or f"call_{uuid.uuid4().hex[:12]}"
        started = time.monotonic()

        def finished(is_error: bool, text: str, structured: dict[str, Any] | None = None) -> ToolFinished:
            seconds = round(time.monotonic() - started, 3)
            return ToolFinished(call_id, name, arguments, is_error, text, structured, seconds)

        try:
            with anyio.fail_after(self.call_timeout):
                result = await self._guarded(self._client.call_tool(name, arguments))
        except HostDisconnected:
            raise
        except TimeoutError:
            return finished(True, f"{name} did not answer within {self.call_timeout:g} s")
        except Exception as exc:
            return finished(True, f"{name} failed: {_reason(exc)}")
        return finished(result.is_error, _text_of(result.content), result.structured_content)

    async def read_resource(self, uri: str) -> str:
        """A resource's text (binary parts are named, not decoded). Raises `MCPError` for an unknown
        URI and `HostDisconnected` for a lost connection."""
        with anyio.fail_after(self.call_timeout):
            result = await self._guarded(self._client.read_resource(uri))
        return "\n".join(
            c.text if isinstance(c, types.TextResourceContents) else f"[binary {c.mime_type or 'content'}]"
            for c in result.contents
        )

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> list[dict[str, str]]:
        """A prompt's messages as chat messages (`{"role": ..., "content": ...}`)."""
        with anyio.fail_after(self.call_timeout):
            result = await self._guarded(self._client.get_prompt(name, arguments))
        return [{"role": m.role, "content": _text_of([m.content])} for m in result.messages]

    def tool_specs_for_llm(self) -> list[dict[str, Any]]:
        """The tools in OpenAI function-calling format (what LiteLLM takes as `tools=`)."""
        return [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description or tool.title or tool.name,
                    "parameters": tool.input_schema or {"type": "object", "properties": {}},
                },
            }
            for tool in self.tools
        ]


async def _transport(
    stack: AsyncExitStack, target: Target, token: str | None
) -> MCPServer[Any] | StdioServerParameters | Any:
    """What `Client` takes: the target itself, or for a URL with a token, a transport whose HTTP
    client sends the bearer header."""
    if not isinstance(target, str) or token is None:
        return target
    timeout = httpx2.Timeout(_CONNECT_TIMEOUT_SECONDS, read=300.0)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    await stack.enter_async_context(http)
    return streamable_http_client(target, http_client=http)


def _reason(exc: BaseException) -> str:
    """The innermost useful message of an exception (groups flattened), clipped."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
