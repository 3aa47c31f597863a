"""The engine's schema as SQLAlchemy 2 typed models (the product plan's tables).

Only repositories query these. Conventions:
- every timestamp is `UTCDateTime` (aware UTC in and out, on SQLite too), and is converted to
  UTC when assigned (a naive value is refused right there);
- enumerations are short strings guarded by CHECK constraints, so both dialects agree and a
  new value needs a migration, not a type change;
- JSON columns hold plain JSON (`sqlalchemy.JSON`): JSON on PostgreSQL, text on SQLite;
- constraint names come from `NAMING_CONVENTION`, so migrations can name what they alter.

The migration in ``migrations/versions`` must create exactly this schema: a test compares them.
"""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from aiops_mcp.store.types import UTCDateTime, as_utc, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DATASOURCE_TYPES = ("prometheus", "loki", "alertmanager")
ALERT_STATUSES = ("firing", "resolved")
CHAT_ROLES = ("user", "assistant", "tool", "system")
AUDIT_ACTIONS = ("tool", "resource", "prompt", "rest")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """CHECK that ``column`` holds one of ``values`` (named ``ck_<table>_<column>``)."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


@event.listens_for(Base, "mapper_configured", propagate=True)
def _utc_on_assignment(mapper: Mapper[Any], cls: type[Any]) -> None:
    """Convert datetimes to UTC when assigned, so rows read back without a reload are UTC too."""
    for attribute in mapper.column_attrs:
        if any(isinstance(column.type, UTCDateTime) for column in attribute.columns):
            event.listen(getattr(cls, attribute.key), "set", _as_utc_or_none, retval=True)


def _as_utc_or_none(_target: Any, value: datetime | None, _old: Any, _initiator: Any) -> datetime | None:
    return None if value is None else as_utc(value)


class Timestamped:
    """`created_at` / `updated_at`, set by the store (aware UTC)."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Datasource(Timestamped, Base):
    """A backend stored in the database. Secrets are Fernet tokens, never plaintext.

    ``config_json`` holds ``headers`` (name -> Fernet token: header values may be credentials),
    ``tenant``, ``verify_tls``, ``ca_file`` and ``timeout_seconds``.
    """

    __tablename__ = "datasources"
    __table_args__ = (_one_of("type", DATASOURCE_TYPES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2048))
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    basic_user: Mapped[str | None] = mapped_column(String(255))
    basic_password_encrypted: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config_json: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ApplicationProfile(Timestamped, Base):
    """What the engine knows about one application: its labels, datasources, metrics and SLOs.

    Datasources are linked by name (not id) because datasources configured by environment
    variables have no row.
    """

    __tablename__ = "application_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    architecture_info: Mapped[Any] = mapped_column(JSON, nullable=True)
    service_mappings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prometheus_datasource: Mapped[str | None] = mapped_column(String(100))
    loki_datasource: Mapped[str | None] = mapped_column(String(100))
    default_metrics: Mapped[list[Any]] = mapped_column(default=list)
    slos: Mapped[dict[str, Any]] = mapped_column(default=dict)
    aliases: Mapped[list[Any]] = mapped_column(default=list)


class Alert(Base):
    """One alert occurrence: Alertmanager's fingerprint plus its start identify it."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("fingerprint", "starts_at"),
        _one_of("status", ALERT_STATUSES),
        Index(None, "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    alertname: Mapped[str] = mapped_column(String(255), index=True)
    severity: Mapped[str | None] = mapped_column(String(64))
    instance: Mapped[str | None] = mapped_column(String(255), index=True)
    job: Mapped[str | None] = mapped_column(String(255))
    app: Mapped[str | None] = mapped_column(String(255), index=True)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    generator_url: Mapped[str | None] = mapped_column(Text)
    ai_analysis: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChatSession(Base):
    """A conversation, optionally about one alert."""

    __tablename__ = "chat_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    app: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatMessage(Base):
    """One message of a session; order is (created_at, id)."""

    __tablename__ = "chat_messages"
    __table_args__ = (_one_of("role", CHAT_ROLES), Index(None, "session_id", "created_at", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    tool_calls: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Who called what, how it went and how big the answer was. Arguments are redacted."""

    __tablename__ = "audit_log"
    __table_args__ = (_one_of("action", AUDIT_ACTIONS),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32))
    duration_ms: Mapped[float] = mapped_column(Float)
    result_bytes: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    """A bearer token for the HTTP transport. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
