"""Stored datasources: secrets encrypted at rest, decrypted only for the datasources layer."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.store import SecretKeyError, Store, open_store
from aiops_mcp.store.secrets import KEY_ENV

pytestmark = pytest.mark.anyio

TOKEN = "glsa_TOKEN_plaintext_4f1c"
PASSWORD = "pw-PLAINTEXT-93ab"
HEADER = "Bearer HEADER-plaintext-77"
SECRETS = (TOKEN, PASSWORD, HEADER)


def prod(**changes: object) -> DatasourceConfig:
    fields: dict[str, object] = {
        "name": "prod",
        "type": "prometheus",
        "url": "https://prometheus.example:9090",
        "bearer_token": SecretStr(TOKEN),
        "basic_user": "reader",
        "basic_password": SecretStr(PASSWORD),
        "headers": {"X-Upstream-Auth": SecretStr(HEADER)},
        "tenant": "team-a",
        "verify_tls": False,
        "ca_file": "ca.pem",
        "timeout_seconds": 12.5,
    }
    return DatasourceConfig.model_validate(fields | changes)


async def raw_rows(store: Store) -> str:
    """Every column of every datasource row as the database holds it, as one string."""
    async with store.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM datasources"))).all()
    return repr([tuple(row) for row in rows])


async def test_secrets_are_encrypted_at_rest(store: Store) -> None:
    await store.datasources.save(prod())
    stored = await raw_rows(store)
    assert "prod" in stored and "reader" in stored and "X-Upstream-Auth" in stored
    for secret in SECRETS:
        assert secret not in stored


async def test_the_decrypted_config_round_trips(store: Store) -> None:
    await store.datasources.save(prod())
    config = await store.datasources.get_config("prod")
    assert config is not None
    original = prod()
    assert config.bearer_token is not None and config.bearer_token.get_secret_value() == TOKEN
    assert config.basic_password is not None and config.basic_password.get_secret_value() == PASSWORD
    assert {name: value.get_secret_value() for name, value in config.headers.items()} == {
        "X-Upstream-Auth": HEADER
    }
    same = ("name", "type", "url", "basic_user", "tenant", "verify_tls", "ca_file", "timeout_seconds")
    assert {f: getattr(config, f) for f in same} == {f: getattr(original, f) for f in same}


async def test_the_public_view_carries_no_secret(store: Store) -> None:
    await store.datasources.save(prod(), is_default=True)
    view = await store.datasources.get_public("prod")
    assert view is not None
    rendered = view.model_dump_json()
    for secret in (*SECRETS, "reader"):
        assert secret not in rendered
    assert view.auth == "bearer" and view.header_names == ["X-Upstream-Auth"]
    assert view.is_default and view.is_enabled and view.tenant == "team-a"
    assert [v.name for v in await store.datasources.list_public()] == ["prod"]


async def test_saving_again_replaces_and_a_new_default_unsets_the_old(store: Store) -> None:
    await store.datasources.save(prod(), is_default=True)
    await store.datasources.save(prod(name="staging", bearer_token=None, headers={}), is_default=True)
    await store.datasources.save(prod(url="https://new.example"), is_default=False, is_enabled=False)
    views = {v.name: v for v in await store.datasources.list_public()}
    assert views["prod"].url == "https://new.example" and not views["prod"].is_enabled
    assert views["staging"].is_default and not views["prod"].is_default
    assert views["staging"].auth == "basic"
    assert [c.name for c in await store.datasources.enabled_configs()] == ["staging"]


async def test_delete_removes_and_reports_whether_it_existed(store: Store) -> None:
    await store.datasources.save(prod())
    assert await store.datasources.delete("prod") is True
    assert await store.datasources.delete("prod") is False
    assert await store.datasources.get_config("prod") is None
    assert await store.datasources.get_public("prod") is None


async def test_a_different_key_gives_a_clear_error_naming_the_datasource(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    await store.datasources.save(prod())
    other = await open_store(db_url, tmp_path / "other", environ={KEY_ENV: Fernet.generate_key().decode()})
    try:
        with pytest.raises(SecretKeyError, match="cannot decrypt the credentials of datasource 'prod'"):
            await other.datasources.get_config("prod")
        assert (await other.datasources.get_public("prod")) is not None, "the public view needs no key"
    finally:
        await other.aclose()
