"""Settings from the environment (the product plan's names) and CLI flags.

Read once, in the CLI entry point; everything else receives a `Settings` object, so tests build
their own with their own backends.
"""

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from aiops_mcp.datasources.config import DatasourceConfig, DatasourceType


def default_data_dir() -> Path:
    """The per-user data directory (XDG on Linux): the embedded store and generated keys live here."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aiops-mcp"


# Header values may be credentials; NoDecode lets `Name=value,...` text reach the validator.
Headers = Annotated[dict[str, SecretStr], NoDecode]


class Settings(BaseSettings):
    """Every knob; each is read from the environment variable of the same name in upper case."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Backends configured by environment (more can be stored in the database).
    prometheus_url: str | None = Field(default=None, description="Prometheus base URL.")
    prometheus_name: str = "prometheus"
    prometheus_bearer_token: SecretStr | None = None
    prometheus_username: str | None = None
    prometheus_password: SecretStr | None = None
    prometheus_headers: Headers = Field(default_factory=dict)
    prometheus_tenant: str | None = None
    prometheus_tls_verify: bool = True
    prometheus_ca_file: str | None = None
    prometheus_timeout_seconds: float = Field(default=30.0, gt=0)
    prometheus_scrape_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Scrape interval: the answer tools' finest step and half their rate window.",
    )

    loki_url: str | None = Field(default=None, description="Loki base URL.")
    loki_name: str = "loki"
    loki_bearer_token: SecretStr | None = None
    loki_username: str | None = None
    loki_password: SecretStr | None = None
    loki_headers: Headers = Field(default_factory=dict)
    loki_tenant: str | None = None
    loki_tls_verify: bool = True
    loki_ca_file: str | None = None
    loki_timeout_seconds: float = Field(default=30.0, gt=0)

    # Query limits (product plan names).
    max_query_range_hours: float = Field(default=168, gt=0)
    max_query_results: int = Field(default=10_000, ge=1)
    query_cache_ttl_seconds: float = Field(default=300, ge=0)
    query_stale_max_age_seconds: float = Field(
        default=3600,
        ge=0,
        description="While a datasource is down, serve cached answers this old, marked stale.",
    )
    datasource_breaker_failures: int = Field(
        default=5, ge=1, description="Failed requests in a row that open a datasource's circuit."
    )
    datasource_breaker_cooldown_seconds: float = Field(
        default=30, gt=0, description="How long an open circuit rests before one probe."
    )

    # Result budgets: what one tool answer may carry.
    max_series: int = Field(default=20, ge=1, description="Series returned per result, largest first.")
    max_points: int = Field(default=30, ge=2, description="Points per series returned (stats use all).")
    query_max_points: int = Field(default=1_000, ge=10, le=11_000, description="Points fetched per series.")
    max_log_lines: int = Field(default=50, ge=1, le=5_000, description="Default log lines per result.")
    max_line_chars: int = Field(default=500, ge=40, description="Log lines longer than this are cut.")
    max_result_bytes: int = Field(default=24_000, ge=2_000, description="Budget of one tool result's text.")

    # Security: authentication on HTTP, rate and cost limits, redaction, deadlines.
    auth: Literal["auto", "on", "off"] = Field(
        default="auto",
        alias="aiops_mcp_auth",
        description="Bearer tokens on streamable HTTP: auto (on unless bound to loopback), on, off.",
    )
    public_url: str | None = Field(
        default=None,
        alias="aiops_mcp_public_url",
        description="The URL hosts reach the server at (e.g. https://aiops.example.com): its host "
        "and origin are the only ones accepted besides loopback (DNS-rebinding protection).",
    )
    rate_limit_per_token: float = Field(default=100, ge=0, description="Requests/s per token (0: off).")
    rate_limit_per_session: float = Field(default=20, ge=0, description="Requests/s per session (0: off).")
    tool_timeout_seconds: float = Field(
        default=65, gt=0, description="Deadline of one tool call (above two datasource timeouts)."
    )
    max_log_query_bytes: int = Field(
        default=10_000_000_000,
        ge=0,
        description="Largest log volume (Loki's index estimate) one query may read (0: no limit).",
    )
    redact: bool = Field(
        default=True,
        alias="aiops_mcp_redact",
        description="Redact secrets and personal data in logs and labels.",
    )
    redact_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        alias="aiops_mcp_redact_patterns",
        description="Extra regular expressions to redact (comma-separated or JSON).",
    )
    redact_disable: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        alias="aiops_mcp_redact_disable",
        description="Names of default redaction patterns to turn off.",
    )

    alertmanager_webhook_token: SecretStr | None = Field(
        default=None, description="Bearer token Alertmanager must send to POST /alertmanager/webhook."
    )
    admin_token: SecretStr | None = Field(
        default=None, alias="aiops_mcp_admin_token", description="Bearer token for the management REST API."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store; SQLite in data_dir when unset."
    )
    data_dir: Path = Field(default_factory=default_data_dir, alias="aiops_mcp_data_dir")
    log_level: str = Field(default="INFO", alias="aiops_mcp_log_level")
    llm_model: str | None = Field(
        default=None,
        alias="aiops_mcp_llm_model",
        description="LiteLLM model string for translating questions when the host cannot sample; "
        "the provider's key comes from its usual environment variable.",
    )

    @field_validator("prometheus_headers", "loki_headers", mode="before")
    @classmethod
    def _headers_from_text(cls, value: object) -> object:
        """Accept a JSON object or `Name=value,Other=value` text for header variables."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if text.startswith("{"):
            return json.loads(text)
        pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
        return {name.strip(): val.strip() for name, val in pairs}

    @field_validator("redact_patterns", "redact_disable", mode="before")
    @classmethod
    def _list_from_text(cls, value: object) -> object:
        """Accept a JSON list, or comma-separated text (patterns with commas need JSON)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]

    def env_datasources(self) -> list[DatasourceConfig]:
        """The datasources configured by environment variables, in a stable order."""
        found: list[DatasourceConfig] = []
        for kind in ("prometheus", "loki"):
            config = self._datasource(kind)
            if config is not None:
                found.append(config)
        return found

    def _datasource(self, kind: DatasourceType) -> DatasourceConfig | None:
        url = getattr(self, f"{kind}_url")
        if not url:
            return None
        return DatasourceConfig(
            name=getattr(self, f"{kind}_name"),
            type=kind,
            url=url.rstrip("/"),
            bearer_token=getattr(self, f"{kind}_bearer_token"),
            basic_user=getattr(self, f"{kind}_username"),
            basic_password=getattr(self, f"{kind}_password"),
            headers=getattr(self, f"{kind}_headers"),
            tenant=getattr(self, f"{kind}_tenant"),
            verify_tls=getattr(self, f"{kind}_tls_verify"),
            ca_file=getattr(self, f"{kind}_ca_file"),
            timeout_seconds=getattr(self, f"{kind}_timeout_seconds"),
            cache_ttl_seconds=self.query_cache_ttl_seconds,
            stale_max_age_seconds=self.query_stale_max_age_seconds,
            breaker_failures=self.datasource_breaker_failures,
            breaker_cooldown_seconds=self.datasource_breaker_cooldown_seconds,
        )
