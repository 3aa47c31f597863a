"""API tokens for the HTTP transport. Only the SHA-256 of a token is stored.

Tokens are 256 random bits, so a fast unsalted hash is enough (there is nothing to brute
force); the plaintext is returned once, by `create`, and never again.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops_mcp.store.models import ApiToken
from aiops_mcp.store.types import utcnow

TOKEN_PREFIX = "amcp_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """The stored form of ``token``: hex SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepository:
    """Create, verify, list and revoke API tokens."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, name: str, scopes: list[str] | None = None) -> tuple[ApiToken, str]:
        """A new token called ``name``: its row and its plaintext (shown once, never stored)."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            row = ApiToken(name=name, token_hash=hash_token(plaintext), scopes=sorted(set(scopes or [])))
            session.add(row)
            await session.flush()
            return row, plaintext

    async def verify(self, plaintext: str, *, now: datetime | None = None) -> ApiToken | None:
        """The live (not revoked) token matching ``plaintext``, marking it used; None otherwise."""
        now = now or utcnow()
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ApiToken).where(
                    ApiToken.token_hash == hash_token(plaintext), ApiToken.revoked_at.is_(None)
                )
            )
            # Only a coarse last-use time: one write per minute, not one per request.
            if row is not None and (
                row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION
            ):
                row.last_used_at = now
            return row

    async def revoke(self, name: str) -> bool:
        """Revoke the token called ``name``; whether a live one existed."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ApiToken)
                .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0))

    async def list_all(self) -> list[ApiToken]:
        """Every token (revoked ones too), by name; rows carry hashes, never plaintexts."""
        async with self._sessions() as session:
            return list((await session.scalars(select(ApiToken).order_by(ApiToken.name))).all())
