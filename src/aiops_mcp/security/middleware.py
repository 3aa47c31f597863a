"""The gate every MCP request passes: who is calling, may they, how often, how long, audited.

For `tools/call`, `resources/read` and `prompts/get` (the requests that read data):
1. the principal comes from the verified bearer token (HTTP), or is the local user (stdio,
   in memory); with authentication on, a request without a token is refused;
2. the caller's and the session's token buckets must hold a token;
3. the request runs as that principal (`security.context`), a tool within its deadline;
4. a tool result cites its queries as sent, says how many values were redacted on the way, and
   that a part came from a stale cache (when the tool did not say so itself);
5. one audit entry records who, what (arguments and the queries sent), when, how long, how it
   went and how big the answer was.
Everything else (initialize, listings, completions, pings) passes straight through.
"""

import json
import logging
import time
from typing import Any

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_REQUEST, CallToolResult, TextContent
from pydantic import BaseModel

from aiops_mcp.datasources.stale import StaleAnswers, collect_stale
from aiops_mcp.security.access import Access
from aiops_mcp.security.context import Ledger, acting_as
from aiops_mcp.security.ratelimit import RateLimited
from aiops_mcp.security.scopes import LOCAL, Principal, principal_of
from aiops_mcp.tools.contract import STALE, stale_marks

logger = logging.getLogger(__name__)

GATED = {"tools/call": "tool", "resources/read": "resource", "prompts/get": "prompt"}
AS_CALLER = {"completion/complete", "resources/subscribe", "subscriptions/listen"}
"""Run as the caller, unaudited: completions name apps and alerts, and a subscription keeps
its caller so that it only hears of what that caller may read."""


def request_principal(access: Access) -> Principal:
    """The caller of the current HTTP request from its verified token, else the local user."""
    token = get_access_token()
    if token is not None:
        return principal_of(token.client_id, token.scopes)
    if access.auth_required:
        raise MCPError(code=INVALID_REQUEST, message="authentication required: send a bearer token")
    return LOCAL


class AccessMiddleware:
    """`ServerMiddleware` applying `Access` to every data request (see the module docstring)."""

    def __init__(self, access: Access) -> None:
        self.access = access

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        action = GATED.get(ctx.method)
        if ctx.method in AS_CALLER:
            with acting_as(request_principal(self.access)):
                return await call_next(ctx)
        if action is None or ctx.request_id is None:
            return await call_next(ctx)
        params = dict(ctx.params or {})
        target = str(params.get("name") or params.get("uri") or "")
        principal = request_principal(self.access)
        if not principal.read:
            raise MCPError(code=INVALID_REQUEST, message="this token lacks the 'read' scope")
        started = time.perf_counter()
        status, result, ledger = "error", None, Ledger()
        try:
            if principal is not LOCAL:  # the local user has no token; its sessions are limited one by one
                self.access.per_token.take(f"token:{principal.name}", f"token {principal.name!r}")
            if (session := _session_key(ctx)) is not None:
                self.access.per_session.take(session, "this session")
            with acting_as(principal) as ledger, collect_stale() as stale:
                result = await self._run(action, ctx, call_next)
            status = "error" if _is_error(result) else "ok"
            return _with_notes(_as_sent(result, ledger.confined), ledger, stale)
        except RateLimited as limited:
            status = "rate_limited"
            if action == "tool":
                result = _tool_error(str(limited))
                return result
            raise MCPError(code=INVALID_REQUEST, message=str(limited)) from None
        finally:
            arguments = params.get("arguments") if action != "resource" else None
            self.access.auditor.add(
                actor=principal.name,
                action=action,
                target=target,
                arguments=_audited(arguments, ledger),
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                result_bytes=_size(result),
            )

    async def _run(
        self, action: str, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if action != "tool":
            return await call_next(ctx)
        deadline = self.access.tool_timeout_seconds
        with anyio.move_on_after(deadline) as scope:
            return await call_next(ctx)
        if scope.cancelled_caught:
            return _tool_error(f"the tool did not finish within {deadline:g}s; try a shorter time range")
        raise AssertionError("unreachable")  # pragma: no cover


def _session_key(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The MCP session a request belongs to: the HTTP session id (the stateless protocol has
    none: only the per-token limit applies), or the one connection of stdio and in-memory use."""
    request = ctx.request
    if request is None:
        return "local"
    session_id = request.headers.get("mcp-session-id")
    return f"session:{session_id}" if session_id else None


def _tool_error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _is_error(result: HandlerResult) -> bool:
    if isinstance(result, CallToolResult):
        return result.is_error
    return isinstance(result, dict) and bool(result.get("isError"))


def _as_sent(result: HandlerResult, confined: dict[str, str]) -> HandlerResult:
    """The result citing each query as it was sent: with the caller's labels where its scope
    added them (provenance must name what ran). Strings equal to an asked query are replaced,
    and the asked queries inside texts, longest first."""
    if not confined or not isinstance(result, dict):
        return result
    order = sorted(confined, key=len, reverse=True)

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            if value in confined:
                return confined[value]
            for asked in order:
                value = value.replace(asked, confined[asked])
            return value
        if isinstance(value, list):
            return [swap(item) for item in value]
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        return value

    return {key: swap(value) for key, value in result.items() if key != "_meta"} | (
        {"_meta": result["_meta"]} if "_meta" in result else {}
    )


def _with_notes(result: HandlerResult, ledger: Ledger, stale: StaleAnswers) -> HandlerResult:
    """A tool result that says how many values were redacted (`redactions`), and that a part was
    served from a stale cache (`stale_since`, a "STALE:" line) when the tool did not say so itself."""
    if not isinstance(result, dict) or result.get("isError") or not isinstance(result.get("content"), list):
        return result
    lines: list[str] = []
    fields: dict[str, Any] = {}
    if ledger.redactions:
        count = ledger.redactions
        lines.append(f"{count} value{'s' if count != 1 else ''} redacted (secrets or personal data)")
        fields["redactions"] = count
    if stale and STALE not in json.dumps(result["content"]):
        since, notes = stale_marks(stale)
        lines += notes
        fields["stale_since"] = since
    if not lines:
        return result
    out = {**result, "content": [*result["content"], *({"type": "text", "text": line} for line in lines)]}
    structured = result.get("structuredContent")
    if isinstance(structured, dict):
        out["structuredContent"] = {
            **structured,
            **{k: v for k, v in fields.items() if not structured.get(k)},
        }
    return out


def _audited(arguments: Any, ledger: Ledger) -> dict[str, Any]:
    out: dict[str, Any] = dict(arguments) if isinstance(arguments, dict) else {}
    if ledger.queries:
        out["queries_sent"] = ledger.queries + (
            [f"... {ledger.queries_omitted} more"] if ledger.queries_omitted else []
        )
    if ledger.redactions:
        out["redactions"] = ledger.redactions
    return out


def _size(result: HandlerResult) -> int:
    if isinstance(result, BaseModel):
        return len(result.model_dump_json(by_alias=True, exclude_none=True))
    if isinstance(result, dict):
        return len(json.dumps(result, default=str))
    return 0
