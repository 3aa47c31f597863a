"""Who the current request is for, and what it did below the tools, as context variables.

The MCP middleware (`security.middleware`) and the REST routes set both for each request; the
runtime reads the principal to hand out confined datasource clients, and those clients write
the queries they sent and the values they redacted into the ledger, which the audit log and
the result's redaction note read back. Tasks started inside a request inherit both.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from aiops_mcp.security.scopes import LOCAL, Principal

MAX_LEDGER_QUERIES = 20
"""Most queries one request's audit entry lists (the rest are counted)."""


@dataclass
class Ledger:
    """What one request sent to the datasources and how many values it redacted."""

    queries: list[str] = field(default_factory=list)
    queries_omitted: int = 0
    redactions: int = 0
    confined: dict[str, str] = field(default_factory=dict)
    """Queries as asked -> as sent, for those the caller's scope rewrote."""

    def sent(self, datasource: str, query: str) -> None:
        if len(self.queries) < MAX_LEDGER_QUERIES:
            self.queries.append(f"{datasource}: {query}")
        else:
            self.queries_omitted += 1


_principal: ContextVar[Principal | None] = ContextVar("aiops_principal", default=None)
_ledger: ContextVar[Ledger | None] = ContextVar("aiops_ledger", default=None)


def current_principal() -> Principal:
    """The caller of the current request; the trusted local user outside any request."""
    return _principal.get() or LOCAL


def current_ledger() -> Ledger | None:
    return _ledger.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Ledger]:
    """Run the block as `principal`, with a fresh ledger of what it does."""
    ledger = Ledger()
    tokens = _principal.set(principal), _ledger.set(ledger)
    try:
        yield ledger
    finally:
        _principal.reset(tokens[0])
        _ledger.reset(tokens[1])
