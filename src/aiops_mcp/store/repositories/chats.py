"""Chat sessions (optionally about an alert) and their messages, kept in the order they were said."""

from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops_mcp.store.models import ChatMessage, ChatSession
from aiops_mcp.store.types import is_stored_id

Role = Literal["user", "assistant", "tool", "system"]


class ChatRepository:
    """Create sessions, append messages, read them back in order."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create_session(
        self, *, app: str | None = None, title: str | None = None, alert_id: int | None = None
    ) -> ChatSession:
        """A new session, linked to ``alert_id`` when it is about an alert."""
        async with self._sessions.begin() as session:
            row = ChatSession(app=app, title=title, alert_id=alert_id)
            session.add(row)
            await session.flush()
            return row

    async def get_session(self, session_id: int) -> ChatSession | None:
        """The session with id ``session_id``."""
        if not is_stored_id(session_id):
            return None
        async with self._sessions() as session:
            return await session.get(ChatSession, session_id)

    async def set_subject(self, session_id: int, *, app: str | None, alert_id: int | None) -> bool:
        """Say what a session is about (its app, its alert); whether it exists."""
        async with self._sessions.begin() as session:
            row = await session.get(ChatSession, session_id)
            if row is not None:
                row.app, row.alert_id = app, alert_id
            return row is not None

    async def recent_sessions(
        self, *, app: str | None = None, offset: int = 0, limit: int = 50
    ) -> list[ChatSession]:
        """Sessions newest first, optionally one app's, a page at `offset`."""
        statement = select(ChatSession).order_by(ChatSession.created_at.desc(), ChatSession.id.desc())
        if app:
            statement = statement.where(ChatSession.app == app)
        async with self._sessions() as session:
            rows = await session.scalars(statement.offset(max(0, offset)).limit(max(1, min(limit, 500))))
            return list(rows.all())

    async def add_message(
        self, session_id: int, role: Role, content: str, *, tool_calls: list[Any] | None = None
    ) -> ChatMessage:
        """Append a message to ``session_id`` (a missing session is an IntegrityError: foreign key)."""
        async with self._sessions.begin() as session:
            row = ChatMessage(session_id=session_id, role=role, content=content, tool_calls=tool_calls)
            session.add(row)
            await session.flush()
            return row

    async def messages(self, session_id: int) -> list[ChatMessage]:
        """The messages of ``session_id`` in the order they were added."""
        statement = (
            select(ChatMessage)
            .where(ChatMessage.session_id == session_id)
            .order_by(ChatMessage.created_at, ChatMessage.id)
        )
        async with self._sessions() as session:
            return list((await session.scalars(statement)).all())

    async def sessions_for_alert(self, alert_id: int) -> list[ChatSession]:
        """The sessions about ``alert_id``, oldest first."""
        statement = (
            select(ChatSession)
            .where(ChatSession.alert_id == alert_id)
            .order_by(ChatSession.created_at, ChatSession.id)
        )
        async with self._sessions() as session:
            return list((await session.scalars(statement)).all())

    async def sessions_for_app(self, app: str, *, limit: int = 50) -> list[ChatSession]:
        """The newest sessions about ``app``."""
        statement = (
            select(ChatSession)
            .where(ChatSession.app == app)
            .order_by(ChatSession.created_at.desc(), ChatSession.id.desc())
            .limit(max(1, min(limit, 500)))
        )
        async with self._sessions() as session:
            return list((await session.scalars(statement)).all())
