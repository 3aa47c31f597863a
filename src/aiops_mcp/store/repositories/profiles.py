"""Application profiles: what identifies an app in metrics and logs, its datasources and SLOs.

Input is validated as `ProfileIn` (see `aiops_mcp.store.schemas.validate_profile` for raw
mappings), so the rows always hold well-formed JSON.
"""

import difflib
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops_mcp.store.errors import NotFound
from aiops_mcp.store.models import ApplicationProfile
from aiops_mcp.store.schemas import ProfileIn
from aiops_mcp.store.types import utcnow

KNOWN_SHOWN = 15


def closest_first(wanted: str, known: Iterable[str]) -> list[str]:
    """``known`` with the closest matches of ``wanted`` first, then the rest in order."""
    names = list(dict.fromkeys(known))
    close = difflib.get_close_matches(wanted, names, n=len(names) or 1, cutoff=0.3)
    return close + [name for name in names if name not in close]


class ProfileRepository:
    """Create, replace, find and delete application profiles."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def save(self, profile: ProfileIn) -> ApplicationProfile:
        """Store ``profile`` under its name (insert or replace)."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ApplicationProfile).where(ApplicationProfile.name == profile.name)
            )
            if row is None:
                row = ApplicationProfile(name=profile.name)
                session.add(row)
            row.description = profile.description
            row.architecture_info = profile.architecture_info
            row.service_mappings = profile.service_mappings.model_dump()
            row.prometheus_datasource = profile.prometheus_datasource
            row.loki_datasource = profile.loki_datasource
            row.default_metrics = list(profile.default_metrics)
            row.slos = profile.slos.model_dump(exclude_none=True)
            row.aliases = list(profile.aliases)
            row.updated_at = utcnow()
            await session.flush()
            return row

    async def get(self, name: str) -> ApplicationProfile | None:
        """The profile called ``name`` (exact match)."""
        async with self._sessions() as session:
            return await session.scalar(select(ApplicationProfile).where(ApplicationProfile.name == name))

    async def find(self, name_or_alias: str) -> ApplicationProfile | None:
        """The profile whose name or one of whose aliases is ``name_or_alias`` (case-insensitive).

        Aliases live in a JSON list, so they are matched here rather than in SQL: profiles are few.
        """
        wanted = name_or_alias.strip().casefold()
        async with self._sessions() as session:
            exact = await session.scalar(
                select(ApplicationProfile).where(func.lower(ApplicationProfile.name) == wanted)
            )
            if exact is not None:
                return exact
            rows = (await session.scalars(select(ApplicationProfile).order_by(ApplicationProfile.name))).all()
        return next((row for row in rows if wanted in {alias.casefold() for alias in row.aliases}), None)

    async def require(self, name_or_alias: str) -> ApplicationProfile:
        """Like `find`, but a miss raises `NotFound` listing the known applications, closest first."""
        profile = await self.find(name_or_alias)
        if profile is not None:
            return profile
        names = closest_first(name_or_alias, [p.name for p in await self.list_all()])
        known = ", ".join(names[:KNOWN_SHOWN]) or "none (add one with `aiops-mcp app add`)"
        raise NotFound(f"no application {name_or_alias!r}; known applications (closest first): {known}")

    async def list_all(self) -> list[ApplicationProfile]:
        """Every profile, by name."""
        async with self._sessions() as session:
            return list(
                (await session.scalars(select(ApplicationProfile).order_by(ApplicationProfile.name))).all()
            )

    async def delete(self, name: str) -> bool:
        """Delete the profile called ``name``; whether it existed."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ApplicationProfile).where(ApplicationProfile.name == name))
            return bool(getattr(result, "rowcount", 0))
