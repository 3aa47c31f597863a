"""Stored datasources and application profiles: create, list, read, replace, delete.

A `{ref}` in a path is an id (ASCII digits) or a name (profiles: an alias too). Datasource
answers are `DatasourcePublic`: no credential and no header value, ever. A PUT on a datasource
keeps every field it does not give (so secrets need not be sent again); a PUT on an application
replaces the profile. Renaming is not supported: create the new name and delete the old.
A name already taken answers 409: a datasource named like one configured by the environment
(which wins after a restart), and an application name or alias that already leads, case
aside, to another application (which one a question meant would depend on the order of rows).
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.requests import Request
from starlette.responses import Response

from aiops_mcp.datasources.config import DatasourceConfig, DatasourceType
from aiops_mcp.runtime import Runtime
from aiops_mcp.server.rest.common import ApiError, Endpoint, json_answer, read_body
from aiops_mcp.store import DatasourcePublic, ProfileIn, Store, validate_profile
from aiops_mcp.store.models import ApplicationProfile
from aiops_mcp.store.types import stored_id

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class DatasourceIn(BaseModel):
    """A datasource to store. Secrets are write-only: no answer ever contains them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, pattern=NAME, description="Name tools use, e.g. 'prod'.")
    type: DatasourceType
    url: str = Field(min_length=1, max_length=2048, pattern=r"^https?://", description="Base URL.")
    bearer_token: SecretStr | None = None
    basic_user: str | None = None
    basic_password: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Extra headers (values secret).")
    tenant: str | None = Field(default=None, description="X-Scope-OrgID.")
    verify_tls: bool = True
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    is_default: bool = False
    is_enabled: bool = True

    def config(self) -> DatasourceConfig:
        return DatasourceConfig(
            name=self.name,
            type=self.type,
            url=self.url.rstrip("/"),
            bearer_token=self.bearer_token,
            basic_user=self.basic_user,
            basic_password=self.basic_password,
            headers=self.headers,
            tenant=self.tenant,
            verify_tls=self.verify_tls,
            timeout_seconds=self.timeout_seconds,
        )


class ProfileOut(BaseModel):
    """A stored application profile."""

    id: int
    name: str
    description: str | None
    architecture_info: str | dict[str, Any] | None
    service_mappings: dict[str, dict[str, str]]
    prometheus_datasource: str | None
    loki_datasource: str | None
    default_metrics: list[str]
    slos: dict[str, float]
    aliases: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ApplicationProfile) -> "ProfileOut":
        return cls.model_validate(row, from_attributes=True)


async def find_datasource(store: Store, ref: str) -> DatasourcePublic:
    """The stored datasource with this id or name; 404 naming it otherwise."""
    ident = stored_id(ref)
    for item in await store.datasources.list_public():
        if item.name == ref or item.id == ident:
            return item
    raise ApiError(404, f"no stored datasource {ref!r}")


async def find_profile(store: Store, ref: str) -> ApplicationProfile:
    """The profile with this id, name or alias; 404 naming it otherwise."""
    ident = stored_id(ref)
    if ident is not None:
        row = next((p for p in await store.profiles.list_all() if p.id == ident), None)
    else:
        row = await store.profiles.find(ref)
    if row is None:
        raise ApiError(404, f"no application {ref!r}")
    return row


def _not_from_environment(rt: Runtime, name: str) -> None:
    """409 for the name of a datasource configured by the environment."""
    if name in {config.name for config in rt.settings.env_datasources()}:
        raise ApiError(
            409, f"the datasource {name!r} is configured by the environment; store others under other names"
        )


async def _unclaimed(store: Store, profile: ProfileIn) -> None:
    """409 when the profile's name or one of its aliases already leads to another application."""
    for word in (profile.name, *profile.aliases):
        other = await store.profiles.find(word)
        if other is not None and other.name != profile.name:
            raise ApiError(
                409,
                f"{word!r} already leads to the application {other.name!r} "
                "(names and aliases are matched case-insensitively)",
            )


async def create_datasource(request: Request, rt: Runtime) -> Response:
    body = await read_body(request, DatasourceIn)
    _not_from_environment(rt, body.name)
    store = await rt.store()
    if await store.datasources.get_public(body.name) is not None:
        raise ApiError(409, f"a datasource named {body.name!r} already exists")
    saved = await store.datasources.save(
        body.config(), is_default=body.is_default, is_enabled=body.is_enabled
    )
    if body.is_enabled:
        rt.datasources.add(body.config())
    return json_answer(saved, 201)


async def list_datasources(_: Request, rt: Runtime) -> Response:
    return json_answer(await (await rt.store()).datasources.list_public())


async def get_datasource(request: Request, rt: Runtime) -> Response:
    return json_answer(await find_datasource(await rt.store(), request.path_params["ref"]))


async def replace_datasource(request: Request, rt: Runtime) -> Response:
    store = await rt.store()
    current = await find_datasource(store, request.path_params["ref"])
    _not_from_environment(rt, current.name)
    config = await store.datasources.get_config(current.name)
    assert config is not None
    kept = config.model_dump(include=set(DatasourceIn.model_fields)) | {
        "is_default": current.is_default,
        "is_enabled": current.is_enabled,
    }
    body = await read_body(request, DatasourceIn, kept)
    if body.name != current.name:
        raise ApiError(422, "renaming is not supported", {"name": f"must stay {current.name!r}"})
    saved = await store.datasources.save(
        body.config(), is_default=body.is_default, is_enabled=body.is_enabled
    )
    if body.is_enabled:
        rt.datasources.add(body.config())
    else:
        rt.datasources.remove(body.name)
    return json_answer(saved)


async def delete_datasource(request: Request, rt: Runtime) -> Response:
    store = await rt.store()
    current = await find_datasource(store, request.path_params["ref"])
    await store.datasources.delete(current.name)
    rt.datasources.remove(current.name)
    return json_answer(None)


async def _profile_body(request: Request, defaults: dict[str, Any] | None = None) -> ProfileIn:
    body = await read_body(request, _RawBody)
    return validate_profile({**(defaults or {}), **(body.model_extra or {})})


class _RawBody(BaseModel):
    """Any JSON object; `validate_profile` names the failing fields."""

    model_config = ConfigDict(extra="allow")


async def create_application(request: Request, rt: Runtime) -> Response:
    profile = await _profile_body(request)
    store = await rt.store()
    if await store.profiles.get(profile.name) is not None:
        raise ApiError(409, f"an application named {profile.name!r} already exists")
    await _unclaimed(store, profile)
    return json_answer(ProfileOut.of(await store.profiles.save(profile)), 201)


async def list_applications(_: Request, rt: Runtime) -> Response:
    return json_answer([ProfileOut.of(row) for row in await (await rt.store()).profiles.list_all()])


async def get_application(request: Request, rt: Runtime) -> Response:
    return json_answer(ProfileOut.of(await find_profile(await rt.store(), request.path_params["ref"])))


async def replace_application(request: Request, rt: Runtime) -> Response:
    store = await rt.store()
    current = await find_profile(store, request.path_params["ref"])
    profile = await _profile_body(request, {"name": current.name})
    if profile.name != current.name:
        raise ApiError(422, "renaming is not supported", {"name": f"must stay {current.name!r}"})
    await _unclaimed(store, profile)
    return json_answer(ProfileOut.of(await store.profiles.save(profile)))


async def delete_application(request: Request, rt: Runtime) -> Response:
    store = await rt.store()
    current = await find_profile(store, request.path_params["ref"])
    await store.profiles.delete(current.name)
    return json_answer(None)


DS, APPS = "/api/grafana/datasources", "/api/applications"
ENDPOINTS = [
    Endpoint("POST", DS, create_datasource, "Store a datasource", DatasourceIn, DatasourcePublic, status=201),
    Endpoint(
        "GET", DS, list_datasources, "List stored datasources (no secrets)", None, DatasourcePublic, True
    ),
    Endpoint("GET", DS + "/{ref}", get_datasource, "One datasource by id or name", None, DatasourcePublic),
    Endpoint("PUT", DS + "/{ref}", replace_datasource, "Update a datasource", DatasourceIn, DatasourcePublic),
    Endpoint("DELETE", DS + "/{ref}", delete_datasource, "Delete a datasource", status=204),
    Endpoint(
        "POST", APPS, create_application, "Store an application profile", ProfileIn, ProfileOut, status=201
    ),
    Endpoint("GET", APPS, list_applications, "List application profiles", None, ProfileOut, True),
    Endpoint("GET", APPS + "/{ref}", get_application, "One profile by id, name or alias", None, ProfileOut),
    Endpoint("PUT", APPS + "/{ref}", replace_application, "Replace a profile", ProfileIn, ProfileOut),
    Endpoint("DELETE", APPS + "/{ref}", delete_application, "Delete a profile", status=204),
]
