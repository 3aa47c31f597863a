"""Profile and datasource resources; no secret ever appears in any resource output."""

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.store import ProfileIn
from tests.resources.test_alerts import client_and_store, read, read_error, seed

pytestmark = pytest.mark.anyio
SECRETS = ("planted-api-key-1234", "planted-basic-pass-5678", "planted-header-value-9012", "env-bearer-3456")


async def test_profiles_are_listed_and_read_by_name_or_alias(tmp_path: Path) -> None:
    async with client_and_store(tmp_path) as (client, store, _):
        await store.profiles.save(
            ProfileIn(
                name="abc-app",
                aliases=["abc"],
                description="Checkout service",
                service_mappings={"metrics": {"app": "abc-app"}, "logs": {"app": "abc-app"}},
                slos={"availability": 99.9},
            )
        )
        await store.profiles.save(ProfileIn(name="xyz-app"))
        listed = await read(client, "aiops://apps")
        by_alias = await read(client, "aiops://apps/ABC")
        missing = await read_error(client, "aiops://apps/nope")
    assert [a["name"] for a in listed["apps"]] == ["abc-app", "xyz-app"]
    assert listed["apps"][0]["uri"] == "aiops://apps/abc-app" and listed["next"] is None
    assert by_alias["name"] == "abc-app"
    assert by_alias["service_mappings"]["logs"] == {"app": "abc-app"}
    assert by_alias["slos"] == {"availability": 99.9}
    assert by_alias["alerts"] == "aiops://apps/abc-app/alerts"
    assert "app 'nope' not found" in missing and "aiops://apps" in missing


async def test_datasources_list_environment_and_stored_ones_without_any_secret(tmp_path: Path) -> None:
    async with client_and_store(
        tmp_path, prometheus_url="http://127.0.0.1:9", prometheus_bearer_token=SECRETS[3]
    ) as (client, store, _):
        await store.datasources.save(
            DatasourceConfig(
                name="loki-prod",
                type="loki",
                url="http://127.0.0.1:3100",
                bearer_token=SecretStr(SECRETS[0]),
                headers={"X-Scope-Token": SecretStr(SECRETS[2])},
            )
        )
        await store.datasources.save(
            DatasourceConfig(
                name="prom-basic",
                type="prometheus",
                url="http://127.0.0.1:9091",
                basic_user="reader",
                basic_password=SecretStr(SECRETS[1]),
            )
        )
        await store.profiles.save(ProfileIn(name="abc-app", loki_datasource="loki-prod"))
        ids = await seed(store, 2)
        chat = await store.chats.create_session(title="t", alert_id=ids[0])
        sources = await read(client, "aiops://datasources")
        lokis = await read(client, "aiops://datasources?type=loki")
        outputs = [json.dumps(sources)]
        for uri in (
            "aiops://alerts",
            f"aiops://alerts/{ids[0]}",
            f"aiops://alerts/{ids[0]}/chats",
            f"aiops://chats/{chat.id}",
            "aiops://apps",
            "aiops://apps/abc-app",
            "aiops://apps/abc-app/alerts",
        ):
            outputs.append((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
    by_name = {d["name"]: d for d in sources["datasources"]}
    assert sorted(by_name) == ["loki-prod", "prom-basic", "prometheus"]
    assert (by_name["prometheus"]["source"], by_name["prometheus"]["auth"]) == ("environment", "bearer")
    assert (by_name["loki-prod"]["source"], by_name["loki-prod"]["auth"]) == ("store", "bearer")
    assert by_name["loki-prod"]["headers"] == ["X-Scope-Token"]
    assert by_name["prom-basic"]["auth"] == "basic"
    assert [d["name"] for d in lokis["datasources"]] == ["loki-prod"]
    assert sources["store"] == "ok"
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
