"""The web page of `aiops-mcp chat --web`: a Starlette app streaming each chat turn as Server-Sent Events.

    chat = ChatSession(host, model)                     # no recorder here: the app records
    app = build_chat_app(chat.ask, chat.mode, StoreRecorder(store))
    await serve_chat_app(app, host="127.0.0.1", port=8765, on_ready=print)

Routes: `GET /` (the page), `GET /static/...`, `GET /api/mode` (mode and set-up notes), and
`POST /api/ask` with `{"question": "..."}`, answered with `text/event-stream`: one `event: <kind>`
and one `data: <json>` per chat event (`token`, `tool_started`, `tool_finished`, `notice`,
`answer`), `error` when the turn raises, and always a last `done`. One turn runs at a time (409
while one is running).
"""

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted
from aiops_mcp.client_demo.host import HostDisconnected
from aiops_mcp.store import Store

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
MAX_QUESTION = 4000
TITLE_CHARS = 80
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_ANY_ADDRESS = {"0.0.0.0", "::", ""}
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

Ask = Callable[[str], AsyncIterator[Event]]
"""Runs one turn for a question (e.g. `ChatSession.ask`): the conversation's history is its own."""
Role = Literal["user", "assistant"]


class ChatRecorder(Protocol):
    """Saves one message: `(role, content, tool_calls)`, the same shape as `session.Recorder`."""

    async def __call__(self, role: Role, content: str, tool_calls: list[dict[str, Any]] | None) -> object: ...


class StoreRecorder:
    """Records a conversation in the store's chats: the session is created on the first message,
    titled with it (clipped); every message after goes to that session. The session takes the app
    and the alert of the first tool calls that name them (`ToolFinished.subject`), so it is listed
    under that app (aiops://chats?app=...) and that alert (aiops://alerts/{id}/chats)."""

    def __init__(self, store: Store, *, app: str | None = None, alert_id: int | None = None) -> None:
        self.store = store
        self.app = app
        self.alert_id = alert_id
        self.session_id: int | None = None
        self._lock = anyio.Lock()

    async def __call__(self, role: Role, content: str, tool_calls: list[dict[str, Any]] | None) -> object:
        async with self._lock:
            if self.session_id is None:
                title = clip(content, TITLE_CHARS)
                row = await self.store.chats.create_session(app=self.app, title=title, alert_id=self.alert_id)
                self.session_id = row.id
            chats = self.store.chats
            message = await chats.add_message(self.session_id, role, content, tool_calls=tool_calls)
            await self._learn_subject(tool_calls or [])
        return message

    async def _learn_subject(self, calls: list[dict[str, Any]]) -> None:
        app = self.app or next((c["app"] for c in calls if c.get("app")), None)
        alert_id = self.alert_id
        if alert_id is None:
            for call in calls:
                # With --url the alert lives in the server's store, which may not be this one.
                if call.get("alert_id") is not None and await self.store.alerts.get(call["alert_id"]):
                    alert_id = call["alert_id"]
                    break
        if (app, alert_id) != (self.app, self.alert_id) and self.session_id is not None:
            await self.store.chats.set_subject(self.session_id, app=app, alert_id=alert_id)
            self.app, self.alert_id = app, alert_id


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def event_payload(event: Event) -> tuple[str, dict[str, Any]]:
    """The SSE event name and JSON body of a chat event."""
    body = asdict(event)
    if isinstance(event, ToolFinished):
        body["queries"] = event.queries
    kinds: dict[type, str] = {
        Token: "token",
        ToolStarted: "tool_started",
        ToolFinished: "tool_finished",
        Notice: "notice",
        Answer: "answer",
    }
    return kinds[type(event)], body


def sse(kind: str, body: dict[str, Any]) -> str:
    """One Server-Sent Event (JSON has no raw newlines, so the data is a single line)."""
    return f"event: {kind}\ndata: {json.dumps(body, ensure_ascii=False, default=str)}\n\n"


async def _turn(ask: Ask, question: str, recorder: ChatRecorder | None) -> AsyncIterator[str]:
    calls: list[ToolFinished] = []
    if not await _record(recorder, "user", question, None):
        yield sse("notice", {"text": "this conversation could not be saved (see the server's log)"})
    events: AsyncIterator[Event] | None = None
    try:
        events = ask(question)
        async for event in events:
            if isinstance(event, ToolFinished):
                calls.append(event)
            yield sse(*event_payload(event))
            if isinstance(event, Answer):
                records = [c.record() for c in calls] or None
                if not await _record(recorder, "assistant", event.text, records):
                    yield sse("notice", {"text": "the answer could not be saved (see the server's log)"})
    except HostDisconnected as exc:  # the message says what was lost and what happens next
        logger.warning("chat turn: %s", exc)
        yield sse("error", {"message": str(exc)})
    except Exception as exc:
        logger.exception("chat turn failed")
        yield sse("error", {"message": f"{type(exc).__name__}: {exc}"})
    finally:
        if (close := getattr(events, "aclose", None)) is not None:
            await close()
    yield sse("done", {})


async def _record(
    recorder: ChatRecorder | None, role: Role, content: str, tool_calls: list[dict[str, Any]] | None
) -> bool:
    if recorder is None:
        return True
    try:
        await recorder(role, content, tool_calls)
    except Exception:
        logger.exception("could not record the %s message", role)
        return False
    return True


class _TurnResponse(StreamingResponse):
    """An SSE stream that calls `done` when it ends, however it ends."""

    def __init__(
        self, content: AsyncIterator[str], done: Callable[[], object], headers: dict[str, str]
    ) -> None:
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self._done = done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._done()


def allowed_hosts(host: str) -> list[str]:
    """The Host headers accepted (DNS-rebinding guard): loopback names and the bound host."""
    if host in _ANY_ADDRESS:
        return ["*"]
    return [*LOCAL_HOSTS, f"[{host}]" if ":" in host else host]


def build_chat_app(
    ask: Ask,
    mode: str,
    recorder: ChatRecorder | None = None,
    *,
    host: str = "127.0.0.1",
    notes: Sequence[str] = (),
) -> Starlette:
    """The chat page over `ask`; `mode` is shown in its header (`offline` or `model:<name>`), with
    `notes` about the set-up (e.g. logs not configured); every question and answer goes to
    `recorder` when given; `host` is the address served on."""
    busy: set[str] = set()  # the question being answered: one turn at a time

    async def page(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    async def get_mode(_: Request) -> JSONResponse:
        return JSONResponse({"mode": mode, "notes": list(notes)})

    async def post_ask(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send JSON: Content-Type application/json"}, status_code=415)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        question = body.get("question") if isinstance(body, dict) else None
        if not isinstance(question, str) or not question.strip():
            return JSONResponse({"error": 'send {"question": "..."}'}, status_code=400)
        if len(question) > MAX_QUESTION:
            return JSONResponse({"error": f"questions are at most {MAX_QUESTION} characters"}, 413)
        if busy:
            return JSONResponse({"error": "a question is already being answered"}, status_code=409)
        busy.add(question)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return _TurnResponse(_turn(ask, question.strip(), recorder), busy.clear, headers=headers)

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/api/mode", get_mode, methods=["GET"]),
        Route("/api/ask", post_ask, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host))]
    return Starlette(routes=routes, middleware=middleware)


def chat_server(app: Starlette, host: str = "127.0.0.1", port: int = 8765) -> uvicorn.Server:
    """A uvicorn server for `app` bound to `host` only (port 0: any free port)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def bound_url(server: uvicorn.Server) -> str:
    """The started server's base URL (the port it really got)."""
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


async def serve_chat_app(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Serve `app` until the server stops (Ctrl-C) or this is cancelled (then it shuts down cleanly);
    `on_ready(url)` once it listens."""
    server = chat_server(app, host, port)
    stopped = anyio.Event()

    async def run() -> None:
        with anyio.CancelScope(shield=True):  # stopped by should_exit, never cut mid-shutdown
            try:
                await server.serve()
            finally:
                stopped.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run)
        try:
            while not (server.started or stopped.is_set()):  # uvicorn has no event  # noqa: ASYNC110
                await anyio.sleep(0.05)
            if server.started and on_ready is not None:
                on_ready(bound_url(server))
            await stopped.wait()
        finally:
            server.should_exit = True
