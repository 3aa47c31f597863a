"""`Access`: the security parts one server shares, built from the settings.

access = Access.from_settings(settings, store=runtime.store)
client = access.confine(shared_prometheus_client, principal)   # what `Runtime` hands out
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from aiops_mcp.datasources.loki import LokiClient
from aiops_mcp.datasources.prometheus import PrometheusClient
from aiops_mcp.security.audit import Auditor
from aiops_mcp.security.policy import AccessDenied, ConfinedLoki, ConfinedPrometheus, Policy
from aiops_mcp.security.ratelimit import RateLimiter
from aiops_mcp.security.redaction import Redactor
from aiops_mcp.security.scopes import Principal
from aiops_mcp.security.tokens import StoreTokenVerifier

if TYPE_CHECKING:
    from aiops_mcp.settings import Settings
    from aiops_mcp.store import Store

C = TypeVar("C", PrometheusClient, LokiClient)


@dataclass
class Access:
    """Redaction, rate limits, the audit trail and the rules for confining datasource clients.

    `auth_required` is set for HTTP servers with authentication on: a request without a verified
    token is then refused rather than treated as the local user.
    """

    redactor: Redactor | None
    auditor: Auditor
    per_token: RateLimiter
    per_session: RateLimiter
    max_log_bytes: int
    tool_timeout_seconds: float
    tokens: StoreTokenVerifier
    auth_required: bool = False

    @classmethod
    def from_settings(cls, settings: "Settings", store: Callable[[], Awaitable["Store"]]) -> "Access":
        redactor = _redactor(settings)
        return cls(
            redactor=redactor,
            auditor=Auditor(store, redactor),
            per_token=RateLimiter(settings.rate_limit_per_token, _burst(settings.rate_limit_per_token)),
            per_session=RateLimiter(settings.rate_limit_per_session, _burst(settings.rate_limit_per_session)),
            max_log_bytes=settings.max_log_query_bytes,
            tool_timeout_seconds=settings.tool_timeout_seconds,
            tokens=StoreTokenVerifier(store, settings.admin_token),
        )

    def confine(self, client: C, principal: Principal) -> C:
        """`client` as `principal` may use it, or `AccessDenied` for a datasource it may not."""
        if not principal.may_use(client.name):
            allowed = ", ".join(sorted(principal.datasources or ()))
            raise AccessDenied(f"this token may not use datasource {client.name!r}; it may use: {allowed}")
        policy = Policy(principal, self.redactor, self.max_log_bytes)
        if isinstance(client, LokiClient):
            return ConfinedLoki(client, policy)
        return ConfinedPrometheus(client, policy)


def _burst(rate: float) -> int:
    """Bursts of two seconds' worth of requests."""
    return max(1, int(2 * rate))


def _redactor(settings: "Settings") -> Redactor | None:
    return (
        Redactor.from_config(settings.redact_patterns, settings.redact_disable) if settings.redact else None
    )
