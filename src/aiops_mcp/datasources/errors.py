"""Typed errors raised by the datasource clients.

    DatasourceError                 anything that went wrong talking to a backend
    ├── DatasourceUnavailable       could not connect, or the backend kept failing (5xx/429) after retries
    │   ├── DatasourceTimeout       no answer within the configured timeout
    │   └── CircuitOpen             not sent: the backend kept failing; calls fail fast a while (`breaker`)
    ├── QueryRejected               the backend refused the request (4xx): bad query, bad range, limits
    │   └── AuthenticationFailed    401/403: credentials missing or wrong
    ├── ResponseTooLarge            the body exceeded the configured size cap
    └── InvalidResponse             the body was not what the API documents (garbage, truncated JSON)

Every error names the datasource and carries the backend's own message, capped at ~1 KiB, so a
tool can pass it to the model as an actionable error. Messages never contain credentials.
"""

MAX_UPSTREAM_MESSAGE = 1024


def cap_message(text: str, limit: int = MAX_UPSTREAM_MESSAGE) -> str:
    """Trim an upstream message to `limit` characters, saying that it was cut."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


class DatasourceError(Exception):
    """Base class: `datasource` is the configured name, `message` the explanation."""

    def __init__(self, datasource: str, message: str, *, status: int | None = None) -> None:
        self.datasource = datasource
        self.message = cap_message(message)
        self.status = status
        super().__init__(f"{datasource}: {self.message}")


class DatasourceUnavailable(DatasourceError):
    """The backend could not be reached or kept failing after retries."""


class DatasourceTimeout(DatasourceUnavailable):
    """The backend did not answer within the timeout."""


class CircuitOpen(DatasourceUnavailable):
    """The call was not sent: the datasource's circuit breaker is open after repeated failures."""


class QueryRejected(DatasourceError):
    """The backend refused the request as invalid (HTTP 4xx)."""


class AuthenticationFailed(QueryRejected):
    """The backend refused the credentials (HTTP 401/403)."""


class ResponseTooLarge(DatasourceError):
    """The response body exceeded the configured cap."""


class InvalidResponse(DatasourceError):
    """The response did not parse or did not have the documented shape."""
