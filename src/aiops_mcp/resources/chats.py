"""Chat sessions of the AIOps chat, as resources a model reads by URI.

aiops://chats{?app,cursor}              every session, newest first, 50 a page (optionally one app's)
aiops://chats/{session_id}{?cursor}     one session and its messages in order, 100 a page
aiops://alerts/{alert_id}/chats         the sessions about one alert, oldest first
"""

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from aiops_mcp.resources.alerts import require_alert
from aiops_mcp.resources.common import clip, iso, offset_of, reading, to_json

if TYPE_CHECKING:
    from aiops_mcp.store.models import ChatSession

CHATS = "aiops://chats"
MESSAGES_PER_PAGE = 100
SESSIONS_PER_PAGE = 50
SESSIONS_LIMIT = 100
TOOL_CALLS_CHARS = 2_000


def _tool_calls(calls: list[Any] | None) -> Any:
    """The tool calls of a message, or a note when they are too long to repeat."""
    if not calls:
        return None
    text = json.dumps(calls, default=str)
    return calls if len(text) <= TOOL_CALLS_CHARS else {"cut": f"{len(calls)} tool calls, {len(text)} chars"}


def _session_summary(session: "ChatSession") -> dict[str, Any]:
    return {
        "id": session.id,
        "uri": f"aiops://chats/{session.id}",
        "title": session.title,
        "app": session.app,
        "alert": f"aiops://alerts/{session.alert_id}" if session.alert_id is not None else None,
        "created_at": iso(session.created_at),
    }


async def recent_chats(ctx: Context, app: str | None = None, cursor: str | None = None) -> str:
    """Every chat session, newest first, optionally one app's, as JSON."""
    offset = offset_of(cursor)
    async with reading(ctx) as store:
        name = app
        if app:
            profile = await store.profiles.find(app)
            name = profile.name if profile is not None else app
        # A token confined to some labels gets the sessions it may see: its pages hold fewer,
        # and `next` still follows.
        page = await store.chats.recent_sessions(app=name, offset=offset, limit=SESSIONS_PER_PAGE + 1)
        shown = page[:SESSIONS_PER_PAGE]
    more = len(page) > SESSIONS_PER_PAGE
    following = {"app": name, "cursor": str(offset + SESSIONS_PER_PAGE)}
    return to_json(
        {
            "filters": {"app": name} if name else {},
            "offset": offset,
            "sessions": [_session_summary(s) for s in shown],
            "more": more,
            "next": f"{CHATS}?{urlencode({k: v for k, v in following.items() if v}, quote_via=quote)}"
            if more
            else None,
        }
    )


async def chat_session(session_id: str, ctx: Context, cursor: str | None = None) -> str:
    """One chat session and a page of its messages, as JSON."""
    from aiops_mcp.store.types import stored_id

    offset = offset_of(cursor)
    async with reading(ctx) as store:
        ident = stored_id(session_id)
        session = await store.chats.get_session(ident) if ident else None
        if session is None:
            raise ResourceNotFoundError(
                f"chat session {session_id!r} not found; session ids are listed by aiops://chats, "
                "aiops://alerts/{alert_id}/chats and in the `chat_sessions` of aiops://alerts/{alert_id}"
            )
        messages = await store.chats.messages(session.id)
    page = messages[offset : offset + MESSAGES_PER_PAGE]
    following = offset + MESSAGES_PER_PAGE
    return to_json(
        {
            "id": session.id,
            "title": session.title,
            "app": session.app,
            "alert": f"aiops://alerts/{session.alert_id}" if session.alert_id is not None else None,
            "created_at": iso(session.created_at),
            "messages_total": len(messages),
            "offset": offset,
            "messages": [
                {
                    "role": m.role,
                    "content": clip(m.content),
                    "tool_calls": _tool_calls(m.tool_calls),
                    "created_at": iso(m.created_at),
                }
                for m in page
            ],
            "next": f"aiops://chats/{session.id}?cursor={following}" if following < len(messages) else None,
        }
    )


async def alert_chats(alert_id: str, ctx: Context) -> str:
    """The chat sessions about one alert, as JSON."""
    async with reading(ctx) as store:
        alert = await require_alert(store, alert_id)
        sessions = await store.chats.sessions_for_alert(alert.id)
    return to_json(
        {
            "alert": f"aiops://alerts/{alert.id}",
            "sessions_total": len(sessions),
            "sessions": [_session_summary(s) for s in sessions[:SESSIONS_LIMIT]],
            "more": len(sessions) > SESSIONS_LIMIT,
        }
    )


def register(server: MCPServer) -> None:
    server.resource(
        "aiops://chats{?app,cursor}",
        name="recent_chats",
        title="Chat sessions",
        description=(
            "The AIOps chat sessions, newest first, 50 a page, as JSON: id, uri, title, app, alert "
            "(URI), created_at; `next` is the URI of the following page (null on the last). Optional "
            "filter: app (a name or alias). Read it to find earlier conversations, then aiops://chats/{id}."
        ),
        mime_type="application/json",
    )(recent_chats)
    server.resource(
        "aiops://chats/{session_id}{?cursor}",
        name="chat_session",
        title="One chat session",
        description=(
            "One AIOps chat session as JSON: title, app, the alert it is about (URI), and its messages "
            "in the order they were said (role, content, tool_calls), 100 a page with `next` for the "
            "following page. Read it to learn what was already found or tried for an incident."
        ),
        mime_type="application/json",
    )(chat_session)
    server.resource(
        "aiops://alerts/{alert_id}/chats",
        name="alert_chats",
        title="Chat sessions about an alert",
        description=(
            "The chat sessions about one alert, oldest first, as JSON (id, uri, title, app, created_at; "
            "at most 100). Read it to find earlier investigations of an alert, then aiops://chats/{id}."
        ),
        mime_type="application/json",
    )(alert_chats)
