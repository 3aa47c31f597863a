"""How to reach one backend: address, credentials, tenancy, TLS and limits."""

from typing import Literal, Self
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, model_validator

DatasourceType = Literal["prometheus", "loki", "alertmanager"]


class DatasourceConfig(BaseModel):
    """One configured backend. Secrets are `SecretStr`: they never render in repr, logs or JSON."""

    name: str = Field(description="Name the tools use to pick this datasource, e.g. 'prod'.")
    type: DatasourceType
    url: str = Field(description="Base URL, e.g. http://prometheus:9090 (no /api/v1).")
    bearer_token: SecretStr | None = None
    basic_user: str | None = None
    basic_password: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Extra request headers.")
    tenant: str | None = Field(default=None, description="Sent as X-Scope-OrgID (Loki, Mimir, Cortex).")
    verify_tls: bool = True
    ca_file: str | None = None
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Bound on one request: queueing, every retry and backoff."
    )
    max_retries: int = Field(default=2, ge=0, le=10)
    cache_ttl_seconds: float = Field(default=300.0, ge=0)
    stale_max_age_seconds: float = Field(
        default=3600.0, ge=0, description="Serve a cached answer this old, marked stale, while unavailable."
    )
    breaker_failures: int = Field(
        default=5, ge=0, description="Consecutive failed requests that open the circuit (0: never)."
    )
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0, description="How long an open circuit rests.")
    max_concurrency: int = Field(default=8, ge=1)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _credentials_out_of_the_url(self) -> Self:
        """`http://user:pw@host` becomes basic auth, so the URL itself never carries a secret."""
        parts = urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self
        if parts.username and self.basic_user is None:
            self.basic_user = unquote(parts.username)
        if parts.password and self.basic_password is None:
            self.basic_password = SecretStr(unquote(parts.password))
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        self.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return self

    def public_view(self) -> dict[str, object]:
        """What may be shown to a user or a model: everything but credentials and header values."""
        return {
            "name": self.name,
            "type": self.type,
            "url": self.url,
            "auth": "bearer" if self.bearer_token else "basic" if self.basic_user else "none",
            "tenant": self.tenant,
            "headers": sorted(self.headers),
        }
