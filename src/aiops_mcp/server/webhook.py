"""`POST /alertmanager/webhook`: Alertmanager's notifications, stored as alerts.

Contract:
- Auth: ``Authorization: Bearer <ALERTMANAGER_WEBHOOK_TOKEN>`` (in Alertmanager:
  ``webhook_configs[].http_config.authorization.credentials``), or a stored token with the
  ``admin`` scope. Without ALERTMANAGER_WEBHOOK_TOKEN and without an admin token: 503 (the
  endpoint is never open). Missing or wrong token: 401; a token without the admin scope: 403.
- Body: the version "4" payload (``version``, ``groupKey``, ``status``, ``receiver``,
  ``alerts[]``), at most `MAX_BODY_BYTES` (413 beyond). Not JSON or invalid: 400 / 422 naming
  each failing field (``alerts.0.startsAt``; a resolved alert that ends before it starts is
  invalid too); nothing is stored.
- Effect: one transaction upserts every alert by (fingerprint, startsAt): redeliveries update,
  never duplicate; a resolved alert gets its ``ends_at`` and status. Subscribers of
  ``aiops://alerts`` (and of each changed alert and app) are notified.
- Answer: ``{"created": n, "updated": n, "ignored": n}``; 503 when the store is unavailable,
  so Alertmanager retries.
"""

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from aiops_mcp.resources.alerts import RECENT_ALERTS, alert_uri, app_alerts_uri
from aiops_mcp.resources.common import store_failure
from aiops_mcp.resources.notify import ResourceNotifier
from aiops_mcp.runtime import Runtime
from aiops_mcp.security.tokens import bearer_principal

if TYPE_CHECKING:
    from aiops_mcp.store import AlertIn, Store

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 5 * 1024 * 1024
PATH = "/alertmanager/webhook"
Labels = dict[str, str]


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (its other keys, e.g. commonLabels, are ignored)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str  # Alertmanager's key
    status: Literal["firing", "resolved"]
    receiver: str
    alerts: list["AlertIn"]


def _payload_model() -> type[WebhookPayload]:
    """`WebhookPayload`, completed on first use: the store (and SQLAlchemy) loads only when needed."""
    if not WebhookPayload.__pydantic_complete__:
        from aiops_mcp.store import AlertIn

        WebhookPayload.model_rebuild(_types_namespace={"AlertIn": AlertIn})
    return WebhookPayload


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _authorized(request: Request, expected: str) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), expected.encode())


async def _refusal(request: Request, rt: Runtime) -> JSONResponse | None:
    """None when the request carries the webhook token or an admin-scoped token; else the answer."""
    token = rt.settings.alertmanager_webhook_token
    configured = token is not None and bool(token.get_secret_value())
    if configured and token is not None and _authorized(request, token.get_secret_value()):
        return None
    principal = await bearer_principal(request.headers.get("authorization", ""), rt.access.tokens)
    if principal is not None:
        return None if principal.admin else _error(403, f"token {principal.name!r} lacks the 'admin' scope")
    if not configured:
        return _error(
            503, "the Alertmanager webhook is disabled: set ALERTMANAGER_WEBHOOK_TOKEN or send an admin token"
        )
    return _error(401, "missing or wrong bearer token")


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it exceeds `MAX_BODY_BYTES` (checked while reading, not only by header)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _field_errors(error: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        fields.setdefault(".".join(str(part) for part in item["loc"]) or "body", item["msg"])
    return fields


def _impossible(payload: WebhookPayload) -> dict[str, str]:
    """The alerts that end before they start (Alertmanager never sends one: it would be stored as
    a negative duration, and every window taken from it would be reversed)."""
    return {
        f"alerts.{index}.endsAt": "a resolved alert cannot end before its startsAt"
        for index, alert in enumerate(payload.alerts)
        if alert.ends_at is not None and alert.ends_at < alert.starts_at
    }


def _invalid(fields: dict[str, str]) -> JSONResponse:
    detail = "; ".join(f"{name}: {message}" for name, message in list(fields.items())[:10])
    return _error(422, f"not an Alertmanager version 4 payload: {detail}", fields=fields)


async def _labels_by_uri(
    store: "Store", payload: WebhookPayload, changed: list[int]
) -> dict[str, list[Labels]]:
    """The labels behind each URI to notify, which decide who hears of it: a changed alert's own;
    for the listing and each app's alerts, those of the payload's alerts."""
    from aiops_mcp.store.repositories.alerts import derive_app

    by_uri: dict[str, list[Labels]] = {RECENT_ALERTS: [alert.labels for alert in payload.alerts]}
    for alert in payload.alerts:
        if app := derive_app(alert.labels):
            by_uri.setdefault(app_alerts_uri(app), []).append(alert.labels)
    for ident in changed:
        row = await store.alerts.get(ident)
        by_uri[alert_uri(ident)] = [row.labels if row is not None else {}]
    return by_uri


def webhook_endpoint(rt: Runtime, notifier: ResourceNotifier) -> Any:
    """The Starlette endpoint storing Alertmanager notifications in ``rt``'s store."""

    async def alertmanager_webhook(request: Request) -> JSONResponse:
        if (refused := await _refusal(request, rt)) is not None:
            return refused
        try:
            body = await _read_body(request)
        except ClientDisconnect:
            return _error(400, "the client disconnected before sending the whole body")
        if body is None:
            return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _error(400, f"body is not JSON: {exc}")
        except RecursionError:
            return _error(400, "body is not an Alertmanager payload: its arrays and objects nest too deeply")
        try:
            payload = _payload_model().model_validate(document)
        except ValidationError as exc:
            return _invalid(_field_errors(exc))
        if impossible := _impossible(payload):
            return _invalid(impossible)
        try:
            store = await rt.store()
            result = await store.alerts.upsert_alerts(payload.alerts)
        except Exception as exc:
            reason = store_failure(exc)
            if reason is None:
                raise
            logger.warning("webhook: store unavailable: %s", reason)
            return JSONResponse(
                {"error": f"store unavailable: {reason}"}, status_code=503, headers={"Retry-After": "5"}
            )
        changed = [*result.created, *result.updated]
        if changed:
            from aiops_mcp.security.confined_store import sees_labels

            try:
                labels = await _labels_by_uri(store, payload, changed)
                await notifier.resources_updated(
                    labels, lambda uri, who: any(sees_labels(who, each) for each in labels[uri])
                )
            except Exception:  # the alerts are stored: a notification failure must not make AM retry
                logger.exception("webhook: notifying subscribers failed")
        return JSONResponse(
            {"created": len(result.created), "updated": len(result.updated), "ignored": len(result.ignored)}
        )

    return alertmanager_webhook
