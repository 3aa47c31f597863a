"""The REST API over real components: a store in tmp_path, the real Prometheus, the Loki double."""

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette

from aiops_mcp.demo.backends import free_port
from aiops_mcp.demo.seed import seed_demo
from aiops_mcp.server.app import build_runtime
from aiops_mcp.server.rest import ENDPOINTS, rest_routes
from aiops_mcp.settings import Settings
from tests.doubles.loki import LogRecord, LokiDouble

pytestmark = pytest.mark.anyio
TOKEN = "admin-" + "x" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROFILE_METRICS = [
    "up",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "process_resident_memory_bytes",
]
EXAMPLE = Path(__file__).parents[2] / "examples" / "abc-app.yaml"

Api = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api(tmp_path: Path) -> Api:
    """Open a client on the REST routes of a runtime built from settings (admin token set by default)."""

    @asynccontextmanager
    async def open_api(token: str | None = TOKEN, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        defaults = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"}
        config = Settings(aiops_mcp_data_dir=tmp_path, aiops_mcp_admin_token=token, **(defaults | settings))
        runtime = build_runtime(config)
        app = Starlette(routes=rest_routes(runtime))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", headers=AUTH
            ) as client:
                client.runtime = runtime  # type: ignore[attr-defined]
                yield client
        finally:
            await runtime.aclose()

    return open_api


async def test_api_is_closed_without_an_admin_token(api: Api) -> None:
    async with api(token=None) as client:
        answer = await client.get("/api/applications")
    assert answer.status_code == 401 and "AIOPS_MCP_ADMIN_TOKEN" in answer.json()["error"]
    assert "token create NAME --scope admin" in answer.json()["error"]


async def test_stored_tokens_need_the_admin_scope_and_their_calls_are_audited(api: Api) -> None:
    async with api(token=None) as client:
        store = await client.runtime.store()  # type: ignore[attr-defined]
        _, admin = await store.tokens.create("ops", ["admin"])
        _, reader = await store.tokens.create("reader", ["read"])
        listed = await client.get("/api/applications", headers={"Authorization": f"Bearer {admin}"})
        refused = await client.get("/api/applications", headers={"Authorization": f"Bearer {reader}"})
        await client.runtime.access.auditor.flush()  # type: ignore[attr-defined]
        entries = await store.audit.recent(actor="ops")
    assert listed.status_code == 200 and listed.json() == []
    assert refused.status_code == 403 and "token 'reader' lacks the 'admin' scope" in refused.json()["error"]
    assert [(e.action, e.target, e.status) for e in entries] == [("rest", "GET /api/applications", "200")]


async def test_wrong_or_missing_token_is_refused(api: Api) -> None:
    async with api() as client:
        wrong = await client.get("/api/grafana/datasources", headers={"Authorization": "Bearer nope"})
        missing = await client.get("/api/openapi.json", headers={"Authorization": ""})
    assert wrong.status_code == missing.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer" and TOKEN not in wrong.text


async def test_datasources_are_managed_without_ever_showing_secrets(api: Api) -> None:
    body = {
        "name": "prod",
        "type": "prometheus",
        "url": "http://127.0.0.1:9/",
        "bearer_token": "tok-SECRET-1",
        "headers": {"X-Api-Key": "hdr-SECRET-2"},
    }
    async with api() as client:
        created = await client.post("/api/grafana/datasources", json=body)
        assert created.status_code == 201, created.text
        ident = created.json()["id"]
        listed = await client.get("/api/grafana/datasources")
        by_id = await client.get(f"/api/grafana/datasources/{ident}")
        duplicate = await client.post("/api/grafana/datasources", json=body)
        updated = await client.put("/api/grafana/datasources/prod", json={"url": "http://127.0.0.1:10"})
        store = await client.runtime.store()  # type: ignore[attr-defined]
        config = await store.datasources.get_config("prod")
        deleted = await client.delete("/api/grafana/datasources/prod")
        gone = await client.get(f"/api/grafana/datasources/{ident}")
    for answer in (created, listed, by_id, duplicate, updated):
        assert "SECRET" not in answer.text
    assert created.json()["auth"] == "bearer" and created.json()["header_names"] == ["X-Api-Key"]
    assert [d["name"] for d in listed.json()] == ["prod"] and by_id.json()["name"] == "prod"
    assert duplicate.status_code == 409 and "'prod' already exists" in duplicate.json()["error"]
    assert updated.json()["url"] == "http://127.0.0.1:10"
    assert config is not None and config.bearer_token is not None
    assert config.bearer_token.get_secret_value() == "tok-SECRET-1"  # kept: not given in the PUT
    assert deleted.status_code == 204
    assert gone.status_code == 404 and "no stored datasource" in gone.json()["error"]


async def test_invalid_bodies_answer_422_naming_each_field(api: Api) -> None:
    async with api() as client:
        bad = await client.post(
            "/api/grafana/datasources", json={"name": "x", "type": "graphite", "bearer_token": "SECRET"}
        )
        not_json = await client.post("/api/applications", content=b"{nope")
        profile = await client.post("/api/applications", json={"name": "a", "slos": {"availability": 120}})
    assert bad.status_code == 422 and set(bad.json()["fields"]) == {"type", "url"}
    assert "SECRET" not in bad.text
    assert not_json.status_code == 400
    assert profile.status_code == 422 and "slos.availability" in profile.json()["fields"]


async def test_applications_are_managed_by_id_name_or_alias(api: Api) -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    async with api() as client:
        created = await client.post("/api/applications", json=example)
        assert created.status_code == 201, created.text
        duplicate = await client.post("/api/applications", json=example)
        by_alias = await client.get("/api/applications/abc")
        by_id = await client.get(f"/api/applications/{created.json()['id']}")
        replaced = await client.put("/api/applications/abc-app", json={**example, "aliases": []})
        listed = await client.get("/api/applications")
        deleted = await client.delete("/api/applications/abc-app")
        missing = await client.get("/api/applications/abc-app")
    assert duplicate.status_code == 409
    assert by_alias.json()["slos"]["availability"] == 99.9 and by_id.json()["name"] == "abc-app"
    assert replaced.json()["aliases"] == [] and len(listed.json()) == 1
    assert deleted.status_code == 204
    assert missing.status_code == 404 and "'abc-app'" in missing.json()["error"]


async def test_openapi_documents_every_route(api: Api) -> None:
    async with api() as client:
        document = (await client.get("/api/openapi.json")).json()
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert documented == {(e.method, e.path) for e in ENDPOINTS} | {("GET", "/api/openapi.json")}
    assert "DatasourceIn" in document["components"]["schemas"]
    json.dumps(document)


async def test_prometheus_query_answers_like_the_tool(api: Api, prometheus) -> None:
    world = prometheus.world
    window = {"start": world.yesterday_at(14).isoformat(), "end": world.yesterday_at(15).isoformat()}
    query = 'sum by (instance) (rate(http_requests_total{app="abc-app",env="prod"}[5m]))'
    async with api(prometheus_url=prometheus.url) as client:
        answer = await client.post("/api/grafana/query/prometheus", json={"query": query, **window})
        bad = await client.post("/api/grafana/query/prometheus", json={"query": "rate(up[5m]"})
        unknown = await client.post(
            "/api/grafana/query/prometheus", json={"query": "up", "datasource": "nope"}
        )
    result = answer.json()
    assert answer.status_code == 200, answer.text
    assert result["status"] == "ok" and result["series_total"] == 2
    assert result["provenance"]["datasource"] == "prometheus" and "abc-app" in result["provenance"]["query"]
    assert len(result["series"][0]["points"]) <= 30
    assert bad.status_code == 400 and bad.json()["error"]
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]


async def test_unreachable_prometheus_answers_503(api: Api) -> None:
    async with api(prometheus_url=f"http://127.0.0.1:{free_port()}") as client:
        answer = await client.post("/api/grafana/query/prometheus", json={"query": "up"})
    assert answer.status_code == 503 and "unavailable" in answer.json()["error"]


async def test_app_metrics_evaluate_default_metrics_with_the_apps_labels(api: Api, prometheus) -> None:
    world = prometheus.world
    async with api(prometheus_url=prometheus.url) as client:
        await seed_demo(await client.runtime.store(), world.end)  # type: ignore[attr-defined]
        params = {"start": world.yesterday_at(14).isoformat(), "end": world.yesterday_at(15).isoformat()}
        answer = await client.get("/api/grafana/metrics/abc-app", params=params)
        missing = await client.get("/api/grafana/metrics/nope")
    body = answer.json()
    assert answer.status_code == 200, answer.text
    assert body["status"] == "ok" and [m["metric"] for m in body["metrics"]] == PROFILE_METRICS
    latency = next(m for m in body["metrics"] if m["metric"] == "http_request_duration_seconds_bucket")
    assert latency["query"].startswith("histogram_quantile(0.95")
    assert latency["result"]["series"][0]["stats"]["max"] > 0.5  # the 14:30 latency incident
    assert missing.status_code == 404


def _log_records(end_ns: int) -> list[LogRecord]:
    labels = {"app": "abc-app", "env": "prod"}
    return [
        LogRecord(
            end_ns - (60 - i) * 10**9, labels | {"level": "error" if i % 3 == 0 else "info"}, f"line {i}"
        )
        for i in range(60)
    ]


async def test_loki_queries_and_app_logs_are_bounded(api: Api) -> None:
    now_ns = time.time_ns()
    with LokiDouble(_log_records(now_ns)) as loki:
        async with api(loki_url=loki.url) as client:
            await seed_demo(await client.runtime.store(), client.runtime.now())  # type: ignore[attr-defined]
            logs = await client.post(
                "/api/grafana/query/loki", json={"query": '{app="abc-app"} |= "line"', "limit": 5}
            )
            metric = await client.post(
                "/api/grafana/query/loki", json={"query": 'sum(count_over_time({app="abc-app"}[1m]))'}
            )
            app_logs = await client.get("/api/grafana/logs/abc", params={"limit": "3", "contains": "line 5"})
            bad = await client.post("/api/grafana/query/loki", json={"query": '{app="abc-app"'})
    assert logs.status_code == 200, logs.text
    assert logs.json()["status"] == "truncated" and len(logs.json()["lines"]) == 5
    assert logs.json()["total_matching"] == 60
    assert metric.json()["provenance"]["datasource_type"] == "loki" and metric.json()["series_total"] == 1
    assert app_logs.status_code == 200, app_logs.text
    lines = [line["line"] for line in app_logs.json()["lines"]]
    assert len(lines) == 3 and all(line.startswith("line 5") for line in lines)
    assert bad.status_code == 400


async def test_store_that_cannot_open_answers_503(api: Api) -> None:
    async with api(database_url="postgresql+asyncpg://u:pw@127.0.0.1:1/db") as client:
        answer = await client.get("/api/applications")
    assert answer.status_code == 503 and "pw" not in answer.text
