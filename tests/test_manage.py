"""Management commands run in-process: what they print, and what they leave in the store."""

import io
import json
from pathlib import Path

import anyio
import pytest

from aiops_mcp.cli import main
from aiops_mcp.settings import Settings
from aiops_mcp.store import open_store

EXAMPLE = Path(__file__).parents[1] / "examples" / "abc-app.yaml"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIOPS_MCP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


def stored(what: str) -> list[str]:
    """Names of the stored datasources or profiles."""

    async def read() -> list[str]:
        settings = Settings()
        async with await open_store(settings.database_url, settings.data_dir) as store:
            if what == "datasources":
                return [d.name for d in await store.datasources.list_public()]
            return [p.name for p in await store.profiles.list_all()]

    return anyio.run(read)


def test_datasource_secret_comes_from_the_environment_and_is_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROM_TOKEN", "tok-SECRET")
    args = ["datasource", "add", "--name", "prod", "--type", "prometheus", "--url", "http://127.0.0.1:9090/"]
    assert main([*args, "--bearer-token-env", "PROM_TOKEN", "--default"]) == 0
    assert main(["datasource", "list"]) == 0
    out = capsys.readouterr().out
    assert "saved datasource prod (prometheus) http://127.0.0.1:9090 auth=bearer" in out
    assert "prod\tprometheus\thttp://127.0.0.1:9090\tauth=bearer\tdefault" in out and "SECRET" not in out
    assert main(["datasource", "remove", "prod"]) == 0 and stored("datasources") == []
    assert main(["datasource", "remove", "prod"]) == 1
    assert "no stored datasource named 'prod'" in capsys.readouterr().err


def test_datasource_token_can_be_piped_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-token\n"))
    args = ["datasource", "add", "--name", "logs", "--type", "loki", "--url", "http://127.0.0.1:3100"]
    assert main([*args, "--bearer-token-stdin"]) == 0

    async def token() -> str | None:
        settings = Settings()
        async with await open_store(settings.database_url, settings.data_dir) as store:
            config = await store.datasources.get_config("logs")
        return config.bearer_token.get_secret_value() if config and config.bearer_token else None

    assert anyio.run(token) == "piped-token"


def test_missing_secret_variable_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["datasource", "add", "--name", "p", "--type", "prometheus", "--url", "http://127.0.0.1:1"]
    assert main([*args, "--bearer-token-env", "AIOPS_TEST_UNSET_VAR"]) == 1
    err = capsys.readouterr().err
    assert err == "error: environment variable AIOPS_TEST_UNSET_VAR (the bearer token) is not set or empty\n"


def test_app_add_list_show_remove(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "add", str(EXAMPLE)]) == 0
    assert main(["app", "add", str(EXAMPLE)]) == 0
    assert main(["app", "list"]) == 0
    out = capsys.readouterr().out
    assert "added application abc-app" in out and "updated application abc-app" in out
    assert "abc-app (aliases: abc, abc app)" in out
    assert main(["app", "show", "abc"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["slos"] == {"availability": 99.9, "error_rate": 1.0, "p95_latency_ms": 500.0}
    assert main(["app", "remove", "abc-app"]) == 0 and stored("profiles") == []


def test_app_add_names_the_invalid_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "slos": {"availability": 150}, "colour": "red"}))
    assert main(["app", "add", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid application profile: ") and "slos.availability" in err
    assert "colour" in err and "Traceback" not in err


def test_alerts_import_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "app": "abc-app"},
        "annotations": {},
        "startsAt": "2026-11-24T14:30:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "abc123",
    }
    payload = tmp_path / "webhook.json"
    payload.write_text(json.dumps({"version": "4", "status": "firing", "alerts": [alert]}))
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([alert]))
    assert main(["alerts", "import", str(payload)]) == 0
    assert main(["alerts", "import", str(listed)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "imported 1 alerts: 1 created, 0 updated, 0 ignored (already resolved)",
        "imported 1 alerts: 0 created, 1 updated, 0 ignored (already resolved)",
    ]
    listed.write_text(json.dumps([{**alert, "startsAt": "soon"}]))
    assert main(["alerts", "import", str(listed)]) == 1
    assert "alerts[0]" in capsys.readouterr().err


def test_demo_seed_twice_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "seed", "--world-end", "2026-11-25T10:00:00Z"]) == 0
    assert main(["demo", "seed", "--world-end", "2026-11-25T10:00:00Z"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "profiles abc-app, checkout; alerts 6 created, 0 updated" in first
    assert (
        "profiles unchanged; alerts 0 created, 6 updated" in second and "created" not in second.split(";")[-1]
    )
    assert stored("profiles") == ["abc-app", "checkout"]


def test_unreachable_database_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://user:pw@127.0.0.1:1/aiops")
    assert main(["app", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and ":pw@" not in err
