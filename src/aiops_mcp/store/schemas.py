"""Validated input and public output shapes of the store (pydantic).

Input models (`ProfileIn`, `AlertIn`) reject bad data before it reaches the database, and their
errors name the field (``slos.availability``), so a caller (REST, a tool, the CLI) can pass
them on unchanged. Output views (`DatasourcePublic`) carry nothing secret.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aiops_mcp.datasources.config import DatasourceType
from aiops_mcp.store.errors import InvalidInput
from aiops_mcp.store.types import as_utc

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class ServiceMappings(BaseModel):
    """The label matchers that select this application's series (metrics) and streams (logs).

    E.g. ``{"metrics": {"app": "abc-app"}, "logs": {"app": "abc-app"}}``, or
    ``{"metrics": {"service": "abc", "namespace": "prod"}, ...}``.
    """

    model_config = ConfigDict(extra="forbid")

    metrics: dict[str, str] = Field(default_factory=dict, description="Prometheus label -> value.")
    logs: dict[str, str] = Field(default_factory=dict, description="Loki stream label -> value.")

    @field_validator("metrics", "logs")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        for name, value in labels.items():
            if not LABEL_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)")
            if not value:
                raise ValueError(f"label {name!r} has an empty value")
        return labels


class SLOs(BaseModel):
    """Service level objectives; every field optional, unknown ones refused (typos are errors)."""

    model_config = ConfigDict(extra="forbid")

    availability: float | None = Field(default=None, gt=0, le=100, description="Target, percent (99.9).")
    error_rate: float | None = Field(default=None, ge=0, le=100, description="Maximum, percent of requests.")
    p95_latency_ms: float | None = Field(default=None, gt=0, description="Maximum p95 latency, ms.")
    p99_latency_ms: float | None = Field(default=None, gt=0, description="Maximum p99 latency, ms.")


class ProfileIn(BaseModel):
    """An application profile as given by a user; see `validate_profile`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")
    description: str | None = None
    architecture_info: str | dict[str, Any] | None = Field(
        default=None, description="Free text or a JSON object describing components and dependencies."
    )
    service_mappings: ServiceMappings = Field(default_factory=ServiceMappings)
    prometheus_datasource: str | None = Field(default=None, max_length=100)
    loki_datasource: str | None = Field(default=None, max_length=100)
    default_metrics: list[str] = Field(default_factory=list, description="PromQL or metric names.")
    slos: SLOs = Field(default_factory=SLOs)
    aliases: list[str] = Field(default_factory=list, description="Other names people use for the app.")

    @field_validator("default_metrics", "aliases")
    @classmethod
    def _no_blank_items(cls, items: list[str]) -> list[str]:
        stripped = [item.strip() for item in items]
        if any(not item for item in stripped):
            raise ValueError("items must not be blank")
        return list(dict.fromkeys(stripped))


def validate_profile(data: Mapping[str, Any]) -> ProfileIn:
    """``data`` as a `ProfileIn`; `InvalidInput` naming each failing field otherwise."""
    try:
        return ProfileIn.model_validate(data)
    except ValidationError as error:
        raise InvalidInput.from_validation("application profile", error) from None


class DatasourcePublic(BaseModel):
    """A stored datasource as users and models may see it: no credential, no header value."""

    id: int
    name: str
    type: DatasourceType
    url: str
    auth: Literal["bearer", "basic", "none"]
    header_names: list[str]
    tenant: str | None
    verify_tls: bool
    timeout_seconds: float
    is_default: bool
    is_enabled: bool
    created_at: datetime
    updated_at: datetime


ZERO_TIME_YEAR = 1  # Alertmanager's "0001-01-01T00:00:00Z" means "not set".


class AlertIn(BaseModel):
    """One alert as Alertmanager's webhook (version 4) sends it; camelCase keys are accepted.

    A firing alert has no end yet: Alertmanager's ``endsAt`` for it is only a resend deadline,
    so it is dropped; the zero time also means "not set".
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    fingerprint: str = Field(min_length=1, max_length=64)
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")

    @field_validator("starts_at")
    @classmethod
    def _start_utc(cls, value: datetime) -> datetime:
        if value.year == ZERO_TIME_YEAR:
            raise ValueError("startsAt is not set")
        return as_utc(value)

    @field_validator("ends_at")
    @classmethod
    def _end_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None or value.year == ZERO_TIME_YEAR else as_utc(value)

    @field_validator("generator_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _firing_has_no_end(self) -> "AlertIn":
        if self.status == "firing":
            self.ends_at = None
        return self


class AlertFilter(BaseModel):
    """Filters for alert queries; every field optional. The window applies to ``starts_at``."""

    status: Literal["firing", "resolved"] | None = None
    app: str | None = None
    severity: str | None = None
    alertname: str | None = None
    instance: str | None = None
    since: AwareDatetime | None = Field(default=None, description="starts_at >= since")
    until: AwareDatetime | None = Field(default=None, description="starts_at < until")


class UpsertResult(BaseModel):
    """What `upsert_alerts` did, by alert id."""

    created: list[int] = Field(default_factory=list)
    updated: list[int] = Field(default_factory=list)
    ignored: list[int] = Field(
        default_factory=list, description="Stale 'firing' deliveries for alerts already resolved."
    )
