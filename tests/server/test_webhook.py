"""POST /alertmanager/webhook on a real uvicorn, fed by a real Alertmanager and by direct posts."""

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from aiops_mcp.demo.backends import RunningAlertmanager, alertmanager_config
from aiops_mcp.server.webhook import MAX_BODY_BYTES
from aiops_mcp.settings import Settings
from aiops_mcp.store import AlertFilter, Store, open_store
from tests.backends.plugin import require_binaries
from tests.serving import serving

pytestmark = pytest.mark.anyio
TOKEN = "webhook-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@asynccontextmanager
async def webhook(
    tmp_path: Path, token: str | None = TOKEN
) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    """An HTTP client on the served app and the store it writes (the same SQLite file)."""
    settings = Settings(aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token=token)
    async with serving(settings) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        store = await open_store(None, tmp_path)
        try:
            yield http, store
        finally:
            await store.aclose()


def alert(
    fingerprint: str, starts: datetime = T0, *, ends: datetime | None = None, **labels: str
) -> dict[str, Any]:
    return {
        "status": "resolved" if ends else "firing",
        "labels": {"alertname": "HighErrorRate", "app": "abc-app", "severity": "critical", **labels},
        "annotations": {"summary": f"errors on {fingerprint}"},
        "startsAt": starts.isoformat(),
        "endsAt": (ends or datetime(1, 1, 1, tzinfo=UTC)).isoformat(),
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "status": "firing",
        "receiver": "aiops",
        "alerts": list(alerts),
        **overrides,
    }


async def test_alerts_from_a_real_alertmanager_land_once_and_resolve(tmp_path: Path) -> None:
    require_binaries("Alertmanager", ("prometheus-alertmanager", "alertmanager"))
    async with webhook(tmp_path / "store") as (http, store):
        config = alertmanager_config(f"{str(http.base_url).rstrip('/')}/alertmanager/webhook")
        config["receivers"][0]["webhook_configs"][0]["http_config"] = {
            "authorization": {"type": "Bearer", "credentials": TOKEN}
        }
        data_dir = tmp_path / "alertmanager"
        data_dir.mkdir()
        server = RunningAlertmanager(data_dir, None, 60.0)
        server.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        await anyio.to_thread.run_sync(server.start)
        try:
            starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
            posted = {
                "labels": {"alertname": "DiskFull", "app": "abc-app", "severity": "warning"},
                "annotations": {"summary": "disk almost full"},
                "startsAt": starts.isoformat(),
                "endsAt": (starts + timedelta(hours=1)).isoformat(),
            }
            async with httpx.AsyncClient(base_url=server.url) as am:
                assert (await am.post("/api/v2/alerts", json=[posted])).status_code == 200
                [firing] = await wait_for_alerts(store, lambda rows: len(rows) == 1)
                assert (firing.status, firing.alertname, firing.app) == ("firing", "DiskFull", "abc-app")
                assert firing.starts_at == starts and firing.ends_at is None

                ended = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
                resolved = {**posted, "endsAt": ended.isoformat()}
                assert (await am.post("/api/v2/alerts", json=[resolved])).status_code == 200
                [row] = await wait_for_alerts(store, lambda rows: rows[0].status == "resolved")
        finally:
            await anyio.to_thread.run_sync(server.stop)
    assert (row.id, row.fingerprint, row.ends_at) == (firing.id, firing.fingerprint, ended)


async def wait_for_alerts(store: Store, done: Callable[[list[Any]], bool]) -> list[Any]:
    """The stored alerts once ``done(rows)`` holds (Alertmanager delivers within ~10 ms to 1 s)."""
    with anyio.fail_after(30):
        while True:
            rows = (await store.alerts.recent(limit=500)).items
            if rows and done(rows):
                return rows
            await anyio.sleep(0.05)


async def test_redelivery_updates_and_never_duplicates(tmp_path: Path) -> None:
    async with webhook(tmp_path) as (http, store):
        first = await http.post(
            "/alertmanager/webhook", json=payload(alert("aa01"), alert("aa02")), headers=AUTH
        )
        again = await http.post(
            "/alertmanager/webhook", json=payload(alert("aa01"), alert("aa02")), headers=AUTH
        )
        ended = T0 + timedelta(minutes=7)
        resolved = await http.post(
            "/alertmanager/webhook", json=payload(alert("aa01", ends=ended), status="resolved"), headers=AUTH
        )
        late = await http.post("/alertmanager/webhook", json=payload(alert("aa01")), headers=AUTH)
        rows = {row.fingerprint: row for row in (await store.alerts.recent()).items}
    assert first.json() == {"created": 2, "updated": 0, "ignored": 0}
    assert again.json() == {"created": 0, "updated": 2, "ignored": 0}
    assert resolved.json() == {"created": 0, "updated": 1, "ignored": 0}
    assert late.json() == {"created": 0, "updated": 0, "ignored": 1}
    assert sorted(rows) == ["aa01", "aa02"]
    assert (rows["aa01"].status, rows["aa01"].ends_at) == ("resolved", ended)
    assert (rows["aa02"].status, rows["aa02"].ends_at) == ("firing", None)


async def test_a_burst_of_a_thousand_alerts_loses_none(tmp_path: Path) -> None:
    alerts = [alert(f"{i:04x}", T0 + timedelta(seconds=i), instance=f"host-{i}") for i in range(1000)]
    async with webhook(tmp_path) as (http, store):
        halves = [payload(*alerts[:500]), payload(*alerts[500:]), payload(*alerts)]
        answers: list[httpx.Response] = []

        async def post(body: dict[str, Any]) -> None:
            answers.append(await http.post("/alertmanager/webhook", json=body, headers=AUTH))

        async with anyio.create_task_group() as tasks:
            for body in halves:
                tasks.start_soon(post, body)
        total = await store.alerts.count()
        fingerprints = {row.fingerprint for row in (await store.alerts.recent(limit=500)).items}
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert sum(a.json()["created"] for a in answers) == 1000
    assert total == 1000
    assert len(fingerprints) == 500  # a page of distinct rows


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[]", 422, "body"),
        (payload(alert("x1"), version="3"), 422, "version"),
        (payload(alert("x1"), receiver=None), 422, "receiver"),
        ({k: v for k, v in payload(alert("x1")).items() if k != "alerts"}, 422, "alerts"),
        (
            payload(alert("x1"), {k: v for k, v in alert("x2").items() if k != "fingerprint"}),
            422,
            "alerts.1.fingerprint",
        ),
        (payload({**alert("x1"), "startsAt": "yesterday"}), 422, "alerts.0.startsAt"),
        (payload({**alert("x1"), "labels": ["app"]}), 422, "alerts.0.labels"),
        (payload({**alert("x1"), "status": "pending"}), 422, "alerts.0.status"),
    ],
)
async def test_a_malformed_body_is_refused_naming_the_problem_and_stores_nothing(
    tmp_path: Path, body: Any, status: int, named: str
) -> None:
    async with webhook(tmp_path) as (http, store):
        if isinstance(body, bytes):
            answer = await http.post("/alertmanager/webhook", content=body, headers=AUTH)
        else:
            answer = await http.post("/alertmanager/webhook", json=body, headers=AUTH)
        rows = await store.alerts.count(AlertFilter())
    assert answer.status_code == status, answer.text
    assert named in answer.json()["error"]
    assert rows == 0


async def test_a_body_over_the_cap_is_refused(tmp_path: Path) -> None:
    huge = b'{"version":"4","pad":"' + b"x" * MAX_BODY_BYTES + b'"}'
    async with webhook(tmp_path) as (http, store):
        answer = await http.post("/alertmanager/webhook", content=huge, headers=AUTH)
        rows = await store.alerts.count()
    assert answer.status_code == 413
    assert rows == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}])
async def test_a_missing_or_wrong_token_is_refused(tmp_path: Path, headers: dict[str, str]) -> None:
    async with webhook(tmp_path) as (http, store):
        answer = await http.post("/alertmanager/webhook", json=payload(alert("x1")), headers=headers)
        rows = await store.alerts.count()
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert rows == 0


async def test_without_a_configured_token_the_webhook_is_closed(tmp_path: Path) -> None:
    async with webhook(tmp_path, token=None) as (http, store):
        answer = await http.post("/alertmanager/webhook", json=payload(alert("x1")), headers=AUTH)
        rows = await store.alerts.count()
    assert answer.status_code == 503
    assert "ALERTMANAGER_WEBHOOK_TOKEN" in answer.json()["error"]
    assert rows == 0


async def test_an_unavailable_store_answers_503_so_alertmanager_retries(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    settings = Settings(aiops_mcp_data_dir=not_a_dir / "data", alertmanager_webhook_token=TOKEN)
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as http:
        answer = await http.post("/alertmanager/webhook", json=payload(alert("x1")), headers=AUTH)
    assert answer.status_code == 503
    assert answer.json()["error"].startswith("store unavailable: ")
    assert answer.headers["retry-after"]
    assert os.listdir(tmp_path) == ["file"]


async def test_an_admin_scoped_token_may_deliver_and_a_read_token_may_not(tmp_path: Path) -> None:
    async with webhook(tmp_path, token=None) as (http, store):
        _, admin = await store.tokens.create("alertmanager", ["admin"])
        _, reader = await store.tokens.create("reader", ["read"])
        refused = await http.post(
            "/alertmanager/webhook", json=payload(alert("x1")), headers={"Authorization": f"Bearer {reader}"}
        )
        stored = await http.post(
            "/alertmanager/webhook", json=payload(alert("x1")), headers={"Authorization": f"Bearer {admin}"}
        )
        rows = await store.alerts.count()
    assert refused.status_code == 403 and "lacks the 'admin' scope" in refused.json()["error"]
    assert stored.status_code == 200 and stored.json()["created"] == 1
    assert rows == 1
