"""The initial schema: datasources, application profiles, alerts, chats, audit log, API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    """A timestamp with time zone (the models read it through `UTCDateTime`)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alertname", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=64), nullable=True),
        sa.Column("instance", sa.String(length=255), nullable=True),
        sa.Column("job", sa.String(length=255), nullable=True),
        sa.Column("app", sa.String(length=255), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        timestamp("starts_at"),
        timestamp("ends_at", nullable=True),
        sa.Column("generator_url", sa.Text(), nullable=True),
        sa.Column("ai_analysis", sa.Text(), nullable=True),
        timestamp("received_at"),
        timestamp("updated_at"),
        sa.CheckConstraint("status IN ('firing', 'resolved')", name=op.f("ck_alerts_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("fingerprint", "starts_at", name=op.f("uq_alerts_fingerprint_starts_at")),
    )
    op.create_index(op.f("ix_alerts_alertname"), "alerts", ["alertname"])
    op.create_index(op.f("ix_alerts_app"), "alerts", ["app"])
    op.create_index(op.f("ix_alerts_instance"), "alerts", ["instance"])
    op.create_index(op.f("ix_alerts_starts_at_id"), "alerts", ["starts_at", "id"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        timestamp("created_at"),
        timestamp("revoked_at", nullable=True),
        timestamp("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )

    op.create_table(
        "application_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("architecture_info", sa.JSON(), nullable=True),
        sa.Column("service_mappings", sa.JSON(), nullable=False),
        sa.Column("prometheus_datasource", sa.String(length=100), nullable=True),
        sa.Column("loki_datasource", sa.String(length=100), nullable=True),
        sa.Column("default_metrics", sa.JSON(), nullable=False),
        sa.Column("slos", sa.JSON(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_application_profiles_name")),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        timestamp("at"),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("result_bytes", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "action IN ('tool', 'resource', 'prompt', 'rest')", name=op.f("ck_audit_log_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])

    op.create_table(
        "datasources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("basic_user", sa.String(length=255), nullable=True),
        sa.Column("basic_password_encrypted", sa.Text(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("config_json", sa.JSON(), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.CheckConstraint(
            "type IN ('prometheus', 'loki', 'alertmanager')", name=op.f("ck_datasources_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasources")),
        sa.UniqueConstraint("name", name=op.f("uq_datasources_name")),
    )

    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("app", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_chat_sessions_alert_id_alerts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
    )
    op.create_index(op.f("ix_chat_sessions_alert_id"), "chat_sessions", ["alert_id"])
    op.create_index(op.f("ix_chat_sessions_app"), "chat_sessions", ["app"])

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tool_calls", sa.JSON(), nullable=True),
        timestamp("created_at"),
        sa.CheckConstraint(
            "role IN ('user', 'assistant', 'tool', 'system')", name=op.f("ck_chat_messages_role")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_messages_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index(
        op.f("ix_chat_messages_session_id_created_at_id"), "chat_messages", ["session_id", "created_at", "id"]
    )


def downgrade() -> None:
    """Drop every table of the store (children first)."""
    for table in (
        "chat_messages",
        "chat_sessions",
        "datasources",
        "audit_log",
        "application_profiles",
        "api_tokens",
        "alerts",
    ):
        op.drop_table(table)
