"""What the server knows about: application profiles and datasources, and argument completions.

    aiops://apps{?cursor}           application profiles by name, 100 a page
    aiops://apps/{app}              one profile (by name or alias): mappings, datasources, SLOs
    aiops://datasources{?type}      every datasource (environment and stored), never a credential

`completer(runtime)` completes the `app` and `alert_id` arguments of every resource template
(and `status`), from profiles and recent alerts.
"""

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from aiops_mcp.resources.common import clip, iso, offset_of, reading, store_failure, to_json
from aiops_mcp.runtime import Runtime, runtime
from aiops_mcp.security.context import current_principal

PROFILES_PER_PAGE = 100
MAX_COMPLETIONS = 100
DESCRIPTION_CHARS = 300


def app_uri(name: str) -> str:
    return f"aiops://apps/{quote(name, safe='')}"


async def list_apps(ctx: Context, cursor: str | None = None) -> str:
    """Application profiles by name, as JSON."""
    offset = offset_of(cursor)
    async with reading(ctx) as store:
        profiles = await store.profiles.list_all()
    page = profiles[offset : offset + PROFILES_PER_PAGE]
    following = offset + PROFILES_PER_PAGE
    return to_json(
        {
            "apps_total": len(profiles),
            "apps": [
                {
                    "name": p.name,
                    "uri": app_uri(p.name),
                    "aliases": p.aliases,
                    "description": clip(p.description, DESCRIPTION_CHARS),
                    "alerts": f"{app_uri(p.name)}/alerts",
                }
                for p in page
            ],
            "next": f"aiops://apps?cursor={following}" if following < len(profiles) else None,
        }
    )


async def one_app(app: str, ctx: Context) -> str:
    """One application profile in full, as JSON."""
    async with reading(ctx) as store:
        profile = await store.profiles.find(app)
    if profile is None:
        raise ResourceNotFoundError(
            f"app {app!r} not found: no profile has that name or alias; read aiops://apps"
        )
    architecture = profile.architecture_info
    return to_json(
        {
            "name": profile.name,
            "aliases": profile.aliases,
            "description": clip(profile.description),
            "architecture_info": clip(architecture) if isinstance(architecture, str) else architecture,
            "service_mappings": profile.service_mappings,
            "prometheus_datasource": profile.prometheus_datasource,
            "loki_datasource": profile.loki_datasource,
            "default_metrics": profile.default_metrics,
            "slos": profile.slos,
            "updated_at": iso(profile.updated_at),
            "alerts": f"{app_uri(profile.name)}/alerts",
        }
    )


async def list_datasources(ctx: Context, type: str | None = None) -> str:
    """Every datasource the server can query, without credentials, as JSON."""
    rt = runtime(ctx)
    if type not in (None, "", "prometheus", "loki"):
        raise ResourceError(f"type must be prometheus or loki, got {type!r}")
    caller = current_principal()
    found: list[dict[str, Any]] = [
        {**config.public_view(), "source": "environment"}
        for config in rt.settings.env_datasources()
        if caller.may_use(config.name)
    ]
    store_status = "ok"
    try:
        async with reading(ctx) as store:
            stored = await store.datasources.list_public()
    except ResourceError as exc:
        store_status, stored = str(exc), []
    for public in stored:
        view = public.model_dump(mode="json")
        view["headers"] = view.pop("header_names")
        found.append({**view, "source": "store"})
    return to_json(
        {
            "datasources": [d for d in found if not type or d["type"] == type],
            "store": store_status,
        }
    )


def register(server: MCPServer) -> None:
    server.resource(
        "aiops://apps{?cursor}",
        name="apps",
        title="Application profiles",
        description=(
            "The application profiles, by name, 100 a page, as JSON: name, aliases, description, and "
            "URIs of the profile and its alerts. Read it to learn which apps exist and what they are "
            "called before querying an app's metrics, logs or alerts."
        ),
        mime_type="application/json",
    )(list_apps)
    server.resource(
        "aiops://apps/{app}",
        name="app",
        title="One application profile",
        description=(
            "One application profile (by name or alias) as JSON: the labels that select its metrics "
            "and logs (service_mappings), its datasources, default metrics, SLOs and architecture. "
            "Read it before building PromQL/LogQL for an app or judging whether it was healthy."
        ),
        mime_type="application/json",
    )(one_app)
    server.resource(
        "aiops://datasources{?type}",
        name="datasources",
        title="Datasources",
        description=(
            "Every Prometheus and Loki datasource the tools can query, as JSON: name, type, url, auth "
            "kind, header names, tenant, and where it is configured (environment or store). Never "
            "contains a credential. Optional type filter (prometheus|loki)."
        ),
        mime_type="application/json",
    )(list_datasources)


CompletionHandler = Callable[
    [PromptReference | ResourceTemplateReference, CompletionArgument, CompletionContext | None],
    Awaitable[Completion | None],
]


def completer(rt: Runtime) -> CompletionHandler:
    """A `completion/complete` handler for resource-template arguments, reading ``rt``'s store."""

    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if not isinstance(ref, ResourceTemplateReference) or not ref.uri.startswith("aiops://"):
            return None
        prefix = argument.value.casefold()
        if argument.name == "status":
            return _completion([s for s in ("firing", "resolved") if s.startswith(prefix)])
        if argument.name not in ("app", "alert_id"):
            return None
        try:
            store = await rt.store()
            if argument.name == "app":
                names = [p.name for p in await store.profiles.list_all()]
            else:
                names = [str(alert.id) for alert in (await store.alerts.recent(limit=500)).items]
        except Exception as exc:
            if store_failure(exc) is None:
                raise
            return _completion([])  # no store, nothing to suggest
        return _completion([n for n in names if n.casefold().startswith(prefix)])

    return complete


def _completion(values: list[str]) -> Completion:
    return Completion(
        values=values[:MAX_COMPLETIONS], total=len(values), has_more=len(values) > MAX_COMPLETIONS
    )
