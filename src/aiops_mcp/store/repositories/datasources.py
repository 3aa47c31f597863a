"""Datasources stored in the database, with their credentials encrypted at rest.

Two readers, two shapes: the datasources layer gets `DatasourceConfig` with secrets decrypted
(`get_config`, `enabled_configs`); everything a person or a model sees gets `DatasourcePublic`,
which has no secret and no header value (`get_public`, `list_public`).
"""

from typing import Any, Literal

from pydantic import SecretStr
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.store.models import Datasource
from aiops_mcp.store.schemas import DatasourcePublic
from aiops_mcp.store.secrets import SecretBox
from aiops_mcp.store.types import utcnow


class DatasourceRepository:
    """Create, replace, read and delete stored datasources."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    async def save(
        self, config: DatasourceConfig, *, is_default: bool = False, is_enabled: bool = True
    ) -> DatasourcePublic:
        """Store ``config`` under its name (insert or replace); a new default unsets the old one."""
        values = self._encrypted_columns(config)
        async with self._sessions.begin() as session:
            if is_default:
                await session.execute(
                    update(Datasource)
                    .where(Datasource.type == config.type, Datasource.name != config.name)
                    .values(is_default=False)
                )
            row = await self._row(session, config.name)
            if row is None:
                row = Datasource(name=config.name)
                session.add(row)
            for column, value in values.items():
                setattr(row, column, value)
            row.is_default = is_default
            row.is_enabled = is_enabled
            row.updated_at = utcnow()
            await session.flush()
            return self._public(row)

    async def delete(self, name: str) -> bool:
        """Delete the datasource called ``name``; whether it existed."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(Datasource).where(Datasource.name == name))
            return bool(getattr(result, "rowcount", 0))

    async def get_config(self, name: str) -> DatasourceConfig | None:
        """The runtime config of ``name`` with its secrets decrypted (for the datasources layer only)."""
        async with self._sessions() as session:
            row = await self._row(session, name)
        return None if row is None else self._config(row)

    async def enabled_configs(self) -> list[DatasourceConfig]:
        """Every enabled datasource's runtime config, secrets decrypted, defaults first then by name."""
        statement = (
            select(Datasource)
            .where(Datasource.is_enabled.is_(True))
            .order_by(Datasource.is_default.desc(), Datasource.name)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(statement)).all()
        return [self._config(row) for row in rows]

    async def get_public(self, name: str) -> DatasourcePublic | None:
        """The public view of ``name``: no credentials, header names only."""
        async with self._sessions() as session:
            row = await self._row(session, name)
        return None if row is None else self._public(row)

    async def list_public(self) -> list[DatasourcePublic]:
        """The public view of every stored datasource, by name."""
        async with self._sessions() as session:
            rows = (await session.scalars(select(Datasource).order_by(Datasource.name))).all()
        return [self._public(row) for row in rows]

    @staticmethod
    async def _row(session: AsyncSession, name: str) -> Datasource | None:
        return await session.scalar(select(Datasource).where(Datasource.name == name))

    def _encrypted_columns(self, config: DatasourceConfig) -> dict[str, Any]:
        """The column values of ``config``: every secret (header values too) as a Fernet token."""
        secret = self._box.encrypt
        return {
            "type": config.type,
            "url": config.url,
            "api_key_encrypted": secret(config.bearer_token.get_secret_value())
            if config.bearer_token
            else None,
            "basic_user": config.basic_user,
            "basic_password_encrypted": (
                secret(config.basic_password.get_secret_value()) if config.basic_password else None
            ),
            "config_json": {
                "headers": {name: secret(value.get_secret_value()) for name, value in config.headers.items()},
                "tenant": config.tenant,
                "verify_tls": config.verify_tls,
                "ca_file": config.ca_file,
                "timeout_seconds": config.timeout_seconds,
            },
        }

    def _config(self, row: Datasource) -> DatasourceConfig:
        """``row`` as a runtime config, decrypting its secrets (`SecretKeyError` on a wrong key)."""
        what = f"the credentials of datasource {row.name!r}"
        extra = row.config_json or {}
        return DatasourceConfig(
            name=row.name,
            type=row.type,  # type: ignore[arg-type]  # the CHECK constraint guarantees the literal
            url=row.url,
            bearer_token=self._reveal(row.api_key_encrypted, what),
            basic_user=row.basic_user,
            basic_password=self._reveal(row.basic_password_encrypted, what),
            headers={
                name: SecretStr(self._box.decrypt(token, what))
                for name, token in (extra.get("headers") or {}).items()
            },
            tenant=extra.get("tenant"),
            verify_tls=extra.get("verify_tls", True),
            ca_file=extra.get("ca_file"),
            timeout_seconds=extra.get("timeout_seconds", 30.0),
        )

    def _reveal(self, token: str | None, what: str) -> SecretStr | None:
        return None if token is None else SecretStr(self._box.decrypt(token, what))

    @staticmethod
    def _public(row: Datasource) -> DatasourcePublic:
        extra = row.config_json or {}
        auth: Literal["bearer", "basic", "none"] = (
            "bearer" if row.api_key_encrypted else "basic" if row.basic_user else "none"
        )
        return DatasourcePublic(
            id=row.id,
            name=row.name,
            type=row.type,  # type: ignore[arg-type]
            url=row.url,
            auth=auth,
            header_names=sorted(extra.get("headers") or {}),
            tenant=extra.get("tenant"),
            verify_tls=extra.get("verify_tls", True),
            timeout_seconds=extra.get("timeout_seconds", 30.0),
            is_default=row.is_default,
            is_enabled=row.is_enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
