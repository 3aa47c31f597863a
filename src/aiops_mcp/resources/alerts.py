"""Alerts received from Alertmanager, as resources a model reads by URI.

    aiops://alerts{?status,app,severity,cursor}     recent alerts, newest first, 50 a page
    aiops://alerts/{alert_id}                        one alert: labels, annotations, AI analysis, chats
    aiops://apps/{app}/alerts{?status,cursor}        one application's alerts, newest first

`aiops://alerts` (no filters) is subscribable: it is updated whenever the webhook stores a new
or changed alert, as are the changed alerts' own URIs and their apps' alert lists.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, urlencode

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.timerange import parse_time_range
from aiops_mcp.resources.common import clip, iso, reading, to_json
from aiops_mcp.runtime import runtime

if TYPE_CHECKING:
    from aiops_mcp.store import Store
    from aiops_mcp.store.models import Alert

RECENT_ALERTS = "aiops://alerts"
PAGE_SIZE = 50
SUMMARY_CHARS = 300
RELATED_LIMIT = 20

Status = Literal["firing", "resolved"]


def checked_status(status: str | None) -> Status | None:
    """The status filter; a URI with another value is refused with the allowed ones."""
    if status and status not in ("firing", "resolved"):
        raise ResourceError(f"status must be firing or resolved, got {status!r}")
    return cast(Status, status) if status else None


def alert_uri(alert_id: int) -> str:
    return f"aiops://alerts/{alert_id}"


def app_alerts_uri(app: str, **query: str | None) -> str:
    return _with_query(f"aiops://apps/{quote(app, safe='')}/alerts", query)


def _with_query(base: str, query: dict[str, str | None]) -> str:
    present = {name: value for name, value in query.items() if value}
    return f"{base}?{urlencode(present, quote_via=quote)}" if present else base


def summary(alert: "Alert") -> dict[str, Any]:
    """The short form used in lists."""
    annotations = alert.annotations or {}
    text = annotations.get("summary") or annotations.get("description")
    return {
        "id": alert.id,
        "uri": alert_uri(alert.id),
        "status": alert.status,
        "alertname": alert.alertname,
        "severity": alert.severity,
        "app": alert.app,
        "instance": alert.instance,
        "starts_at": iso(alert.starts_at),
        "ends_at": iso(alert.ends_at),
        "summary": clip(text, SUMMARY_CHARS),
    }


async def recent_alerts(
    ctx: Context,
    status: str | None = None,
    app: str | None = None,
    severity: str | None = None,
    instance: str | None = None,
    time_range: str | None = None,
    cursor: str | None = None,
) -> str:
    """Recent alerts as JSON, newest first."""
    from aiops_mcp.store import AlertFilter

    wanted = checked_status(status)
    since, until = _window(ctx, time_range)
    filters = AlertFilter(
        status=wanted, app=app, severity=severity, instance=instance or None, since=since, until=until
    )
    async with reading(ctx) as store:
        page = await store.alerts.recent(filters, limit=PAGE_SIZE, cursor=cursor)
    query = {
        "status": status,
        "app": app,
        "severity": severity,
        "instance": instance,
        "time_range": time_range,
    }
    return to_json(
        {
            "filters": {name: value for name, value in query.items() if value},
            "alerts": [summary(alert) for alert in page.items],
            "more": page.next_cursor is not None,
            "next": _with_query(RECENT_ALERTS, {**query, "cursor": page.next_cursor})
            if page.next_cursor
            else None,
        }
    )


def _window(ctx: Context, time_range: str | None) -> tuple[datetime | None, datetime | None]:
    """The start-time window of `time_range` ("yesterday", "last 24h"...), or (None, None)."""
    if not time_range:
        return None, None
    rt = runtime(ctx)
    limit = timedelta(hours=rt.settings.max_query_range_hours)
    try:
        window = parse_time_range(time_range, now=rt.now(), max_range=limit)
    except QueryInputError as error:
        raise ResourceError(str(error)) from None
    return window.start, window.end


async def require_alert(store: "Store", alert_id: str) -> "Alert":
    """The alert with this id; a not-found error that says where valid ids are."""
    from aiops_mcp.store.types import stored_id

    alert = await store.alerts.get(ident) if (ident := stored_id(alert_id)) else None
    if alert is None:
        raise ResourceNotFoundError(
            f"alert {alert_id!r} not found; alert ids are the `id` fields of aiops://alerts"
        )
    return alert


async def one_alert(alert_id: str, ctx: Context) -> str:
    """One alert in full, with its AI analysis, its chat sessions and similar past alerts."""
    async with reading(ctx) as store:
        alert = await require_alert(store, alert_id)
        sessions = await store.chats.sessions_for_alert(alert.id)
        similar = await store.alerts.similar(alert.id, limit=5)
    return to_json(
        {
            **summary(alert),
            "fingerprint": alert.fingerprint,
            "job": alert.job,
            "labels": alert.labels,
            "annotations": {name: clip(value) for name, value in (alert.annotations or {}).items()},
            "generator_url": alert.generator_url,
            "received_at": iso(alert.received_at),
            "updated_at": iso(alert.updated_at),
            "ai_analysis": clip(alert.ai_analysis),
            "chat_sessions": [
                {
                    "id": s.id,
                    "uri": f"aiops://chats/{s.id}",
                    "title": s.title,
                    "created_at": iso(s.created_at),
                }
                for s in sessions[-RELATED_LIMIT:]
            ],
            "chat_sessions_total": len(sessions),
            "similar_alerts": [summary(other) for other in similar],
            "app_alerts": app_alerts_uri(alert.app) if alert.app else None,
        }
    )


async def app_alerts(app: str, ctx: Context, status: str | None = None, cursor: str | None = None) -> str:
    """One application's alerts as JSON, newest first."""
    from aiops_mcp.store import AlertFilter

    wanted = checked_status(status)
    async with reading(ctx) as store:
        profile = await store.profiles.find(app)
        name = profile.name if profile is not None else app
        page = await store.alerts.recent(AlertFilter(app=name, status=wanted), limit=PAGE_SIZE, cursor=cursor)
        if (
            profile is None
            and not page.items
            and cursor is None
            and not await store.alerts.count(AlertFilter(app=app))
        ):
            raise ResourceNotFoundError(
                f"app {app!r} not found: no application profile and no alert has that app; "
                "read aiops://apps for profiles, or the `app` fields of aiops://alerts"
            )
    return to_json(
        {
            "app": name,
            "profile": f"aiops://apps/{quote(name, safe='')}" if profile is not None else None,
            "filters": {"status": status} if status else {},
            "alerts": [summary(alert) for alert in page.items],
            "more": page.next_cursor is not None,
            "next": app_alerts_uri(name, status=status, cursor=page.next_cursor)
            if page.next_cursor
            else None,
        }
    )


def register(server: MCPServer) -> None:
    server.resource(
        "aiops://alerts{?status,app,severity,instance,time_range,cursor}",
        name="recent_alerts",
        title="Recent alerts",
        description=(
            "Alerts received from Alertmanager, newest first, 50 a page, as JSON: id, uri, status, "
            "alertname, severity, app, instance, starts_at, ends_at, summary. Read it to see what fired "
            "or resolved lately. Optional filters: status (firing|resolved), app, severity, instance, "
            "time_range (alerts that started in it: 'yesterday', 'last 24h', ...); `next` is "
            "the URI of the following page (null on the last). Subscribe to aiops://alerts to hear of "
            "new or changed alerts. Read aiops://alerts/{id} for one alert in full."
        ),
        mime_type="application/json",
    )(recent_alerts)
    server.resource(
        "aiops://alerts/{alert_id}",
        name="alert",
        title="One alert",
        description=(
            "One alert in full, as JSON: labels, annotations, times, the AI analysis (ai_analysis), "
            "its chat sessions (URIs aiops://chats/{id}) and up to 5 similar past alerts. Read it before "
            "explaining or investigating an alert; ids come from aiops://alerts."
        ),
        mime_type="application/json",
    )(one_alert)
    server.resource(
        "aiops://apps/{app}/alerts{?status,cursor}",
        name="app_alerts",
        title="Alerts of one application",
        description=(
            "The alerts of one application (profile name, alias, or the alert's app label), newest "
            "first, 50 a page, as JSON with `next` for the following page. Optional status filter "
            "(firing|resolved). Read it for an app's incident history; app names come from aiops://apps."
        ),
        mime_type="application/json",
    )(app_alerts)
