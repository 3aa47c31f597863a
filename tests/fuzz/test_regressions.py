"""Bad input the fuzz campaign found, each pinned as an example over real HTTP (the served app on
a seeded store, the real Prometheus and the Loki double, which answers in the shapes recorded
from a real Loki 3.4.2). An expected failure names a bug whose fix lies outside these modules."""

from pathlib import Path

import httpx
import pytest

from aiops_mcp.server.rest.common import MAX_BODY_BYTES, MAX_BODY_DEPTH
from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store
from tests.fuzz.checks import Api, env_answers
from tests.serving import serving

pytestmark = pytest.mark.anyio
APPS = "/api/applications"


def nested(depth: int) -> bytes:
    return b'{"name": "deep", "architecture_info": ' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


@pytest.mark.parametrize("depth", [MAX_BODY_DEPTH, 900, 100_000])
async def test_a_body_nested_too_deeply_is_refused_and_stores_nothing(api: Api, depth: int) -> None:
    before = (await api.http.get(APPS)).json()
    answer = await api.http.post(APPS, content=nested(depth))
    after = await api.http.get(APPS)
    assert answer.status_code == 400 and f"deeper than {MAX_BODY_DEPTH} levels" in answer.json()["error"]
    assert after.status_code == 200 and after.json() == before


async def test_a_body_nested_within_the_limit_is_stored_and_answered(api: Api) -> None:
    answer = await api.http.post(APPS, content=nested(MAX_BODY_DEPTH - 2))
    assert answer.status_code == 201, answer.text
    assert (await api.http.get(APPS)).status_code == 200


async def test_a_body_over_the_size_limit_is_refused_unread(api: Api) -> None:
    body = b'{"name": "huge", "description": "' + b"x" * MAX_BODY_BYTES + b'"}'
    answer = await api.http.post(APPS, content=body)
    assert answer.status_code == 413 and str(MAX_BODY_BYTES) in answer.json()["error"]
    assert "huge" not in [app["name"] for app in (await api.http.get(APPS)).json()]


@pytest.mark.parametrize("ref", ["²", "٣", "9" * 5000, "99999999999999999999"])
@pytest.mark.parametrize(
    "route", [APPS, "/api/grafana/datasources", "/api/grafana/logs", "/api/grafana/metrics"]
)
async def test_a_reference_of_digits_that_are_no_id_is_not_found(api: Api, route: str, ref: str) -> None:
    await api.http.post(
        "/api/grafana/datasources", json={"name": "local", "type": "prometheus", "url": "http://127.0.0.1:9"}
    )
    answer = await api.http.get(f"{route}/{ref}")
    assert answer.status_code == 404, answer.text
    assert ref[:20] in answer.json()["error"]


async def test_a_method_a_route_does_not_take_is_answered_405_as_json(api: Api) -> None:
    answer = await api.http.patch(APPS, json={})
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD, POST"
    assert "PATCH is not allowed" in answer.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope",
        "/api/applications/a%2Fb",
        "/api/applications/a/b/c",
        "/api/grafana/datasources/%0A0",
        "/api/no%0Aroute",
    ],
)
async def test_a_path_that_is_no_route_or_names_nothing_is_answered_404_as_json(api: Api, path: str) -> None:
    answer = await api.http.get(path)
    assert answer.status_code == 404 and answer.json()["error"]


@pytest.mark.parametrize(
    ("body", "taken"),
    [
        ({"name": "ABC-APP"}, "'ABC-APP' already leads to the application 'abc-app'"),
        ({"name": "abc"}, "'abc' already leads to the application 'abc-app'"),
        (
            {"name": "new-app", "aliases": ["Checkout"]},
            "'Checkout' already leads to the application 'checkout'",
        ),
        ({"name": "new-app", "aliases": ["ABC APP"]}, "'ABC APP' already leads to the application 'abc-app'"),
    ],
)
async def test_a_name_or_alias_that_already_leads_to_another_app_is_refused(
    api: Api, body: dict[str, object], taken: str
) -> None:
    before = (await api.http.get(APPS)).json()
    answer = await api.http.post(APPS, json=body)
    assert answer.status_code == 409 and taken in answer.json()["error"]
    assert (await api.http.get(APPS)).json() == before


async def test_a_replaced_profile_may_not_take_another_apps_alias_but_keeps_its_own(api: Api) -> None:
    taken = await api.http.put(f"{APPS}/checkout", json={"aliases": ["abc"]})
    kept = await api.http.put(f"{APPS}/checkout", json={"aliases": ["payments", "Checkout Service"]})
    assert taken.status_code == 409 and "'abc' already leads to the application 'abc-app'" in taken.text
    assert kept.status_code == 200 and kept.json()["aliases"] == ["payments", "Checkout Service"]


@pytest.mark.parametrize("name", ["prometheus", "loki"])
async def test_a_stored_datasource_may_not_take_the_name_of_one_from_the_environment(
    api: Api, name: str
) -> None:
    body = {"name": name, "type": "prometheus", "url": "http://127.0.0.1:9"}
    answer = await api.http.post("/api/grafana/datasources", json=body)
    assert answer.status_code == 409 and "configured by the environment" in answer.json()["error"]
    assert (await api.http.get("/api/grafana/datasources")).json() == []
    assert await env_answers(api.http) == api.baseline


@pytest.mark.parametrize("change", ["delete", "disable"])
async def test_a_deleted_or_disabled_datasource_is_no_longer_queried(api: Api, change: str) -> None:
    body = {"name": "local", "type": "prometheus", "url": "http://127.0.0.1:9"}
    assert (await api.http.post("/api/grafana/datasources", json=body)).status_code == 201
    if change == "delete":
        assert (await api.http.delete("/api/grafana/datasources/local")).status_code == 204
    else:
        assert (
            await api.http.put("/api/grafana/datasources/local", json={"is_enabled": False})
        ).status_code == 200
    answer = await api.http.post("/api/grafana/query/prometheus", json={"query": "up", "datasource": "local"})
    assert answer.status_code == 404, answer.text


async def test_a_webhook_body_nested_beyond_the_parser_is_a_clear_400(tmp_path: Path) -> None:
    settings = Settings(aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token="hook-token")
    async with serving(settings) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/alertmanager/webhook",
            content=b"[" * 100_000 + b"]" * 100_000,
            headers={"Authorization": "Bearer hook-token"},
        )
    assert answer.status_code == 400 and "nest too deeply" in answer.json()["error"]


async def test_a_resolved_alert_that_ends_before_it_starts_is_refused_and_stores_nothing(
    tmp_path: Path,
) -> None:
    alert = {
        "status": "resolved",
        "labels": {"alertname": "HighErrorRate"},
        "startsAt": "2026-03-01T12:00:00Z",
        "endsAt": "2026-03-01T11:55:00Z",
        "fingerprint": "fp-1",
    }
    body = {"version": "4", "groupKey": "{}", "status": "resolved", "receiver": "aiops", "alerts": [alert]}
    settings = Settings(aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token="hook-token")
    async with serving(settings) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/alertmanager/webhook", json=body, headers={"Authorization": "Bearer hook-token"}
        )
    assert answer.status_code == 422
    assert answer.json()["fields"] == {"alerts.0.endsAt": "a resolved alert cannot end before its startsAt"}
    async with await open_store(None, tmp_path) as store:
        assert await store.alerts.count() == 0
