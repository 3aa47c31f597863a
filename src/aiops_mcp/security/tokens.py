"""Verifying bearer tokens against the store, for the SDK's bearer authentication.

Tokens are created with `aiops-mcp token create NAME --scope ...` and stored as hashes. A
verification is remembered for `cache_seconds` (hits and misses), so a busy host costs one
database read per token every few seconds; a revoked token stops working within that time.
The admin token from the environment (`AIOPS_MCP_ADMIN_TOKEN`) is accepted too, with every scope.
"""

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from cachetools import TTLCache
from mcp.server.auth.provider import AccessToken
from pydantic import SecretStr

from aiops_mcp.security.scopes import ADMIN, READ, Principal, principal_of

if TYPE_CHECKING:
    from aiops_mcp.store import Store

logger = logging.getLogger(__name__)
ADMIN_TOKEN_NAME = "admin"
"""The principal name of the environment's admin token."""


class StoreTokenVerifier:
    """A `TokenVerifier`: the live stored token with this plaintext, as an `AccessToken`."""

    def __init__(
        self,
        store: Callable[[], Awaitable["Store"]],
        admin_token: SecretStr | None = None,
        *,
        cache_seconds: float = 5.0,
    ) -> None:
        self._store = store
        self._admin = admin_token.get_secret_value().encode() if admin_token else b""
        self._cache: TTLCache[str, AccessToken | None] = TTLCache(maxsize=4096, ttl=cache_seconds)

    async def verify_token(self, token: str) -> AccessToken | None:
        if self._admin and hmac.compare_digest(token.encode(), self._admin):
            return AccessToken(token="", client_id=ADMIN_TOKEN_NAME, scopes=[READ, ADMIN])
        key = hashlib.sha256(token.encode()).hexdigest()  # the cache never holds plaintexts
        if key in self._cache:
            return self._cache[key]
        from aiops_mcp.store import StoreError

        try:
            row = await (await self._store()).tokens.verify(token)
        except StoreError as error:  # refuse, and say why in the log (never the token)
            logger.warning("cannot verify a bearer token, the store is unavailable: %s", error)
            return None
        verified = (
            None if row is None else AccessToken(token=key, client_id=row.name, scopes=list(row.scopes))
        )
        self._cache[key] = verified
        return verified


async def bearer_principal(authorization: str, verifier: StoreTokenVerifier) -> Principal | None:
    """The principal of an `Authorization: Bearer ...` header value; None when absent or unknown."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    token = await verifier.verify_token(credentials.strip())
    return None if token is None else principal_of(token.client_id, token.scopes)
