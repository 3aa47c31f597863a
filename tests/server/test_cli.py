"""The `aiops-mcp` command: doctor's report, and settings from environment and flags."""

import pytest

from aiops_mcp.cli import main, parse_args, settings_from
from aiops_mcp.demo.backends import free_port
from aiops_mcp.settings import Settings
from tests.doubles.loki import LokiDouble


def test_doctor_says_what_works_and_what_does_not(prometheus, capsys: pytest.CaptureFixture[str]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    code = main(["doctor", "--prometheus-url", prometheus.url, "--loki-url", dead])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith(f"ok   prometheus (prometheus) {prometheus.url}: Prometheus 2.")
    assert out[1].startswith(f"FAIL loki (loki) {dead}: cannot connect")


def test_doctor_passes_when_every_backend_answers(prometheus, capsys: pytest.CaptureFixture[str]) -> None:
    with LokiDouble() as loki:
        code = main(["doctor", "--prometheus-url", prometheus.url, "--loki-url", loki.url])
    out = capsys.readouterr().out
    assert code == 0 and "FAIL" not in out and "Loki (no version stamp) ready" in out


def test_doctor_without_backends_says_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("LOKI_URL", raising=False)
    assert main(["doctor"]) == 1
    assert "set PROMETHEUS_URL" in capsys.readouterr().out


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", "http://from-env:9090")
    monkeypatch.setenv("MAX_QUERY_RANGE_HOURS", "24")
    settings = settings_from(parse_args(["serve", "--prometheus-url", "http://from-flag:9090"]))
    assert settings.prometheus_url == "http://from-flag:9090"
    assert settings.max_query_range_hours == 24


def test_product_plan_names_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_QUERY_RANGE_HOURS", "MAX_QUERY_RESULTS", "QUERY_CACHE_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.max_query_range_hours, settings.max_query_results, settings.query_cache_ttl_seconds) == (
        168,
        10_000,
        300,
    )


@pytest.mark.parametrize("text", ["X-Team=sre,X-Env=prod", '{"X-Team": "sre", "X-Env": "prod"}'])
def test_backend_headers_parse_from_pairs_or_json(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("LOKI_URL", "http://loki:3100/")
    monkeypatch.setenv("LOKI_HEADERS", text)
    monkeypatch.setenv("LOKI_TENANT", "team-a")
    (config,) = [c for c in Settings().env_datasources() if c.type == "loki"]
    assert {k: v.get_secret_value() for k, v in config.headers.items()} == {"X-Team": "sre", "X-Env": "prod"}
    assert config.url == "http://loki:3100" and config.tenant == "team-a"


def test_credentials_never_show_in_settings_or_datasource_views(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", "http://prom:9090")
    monkeypatch.setenv("PROMETHEUS_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("PROMETHEUS_USERNAME", "ops")
    monkeypatch.setenv("PROMETHEUS_HEADERS", "X-Api-Key=key-secret-123")
    settings = Settings()
    (config,) = settings.env_datasources()
    shown = [repr(settings), str(settings), repr(config), str(config.public_view()), config.model_dump_json()]
    for text in shown:
        assert "hunter2-secret" not in text and "key-secret-123" not in text
    assert config.public_view()["auth"] == "basic"


def test_serve_refuses_an_unreachable_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://ops:pw-secret@127.0.0.1:{free_port()}/aiops")
    assert main(["serve"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    assert "pw-secret" not in err[0]


def test_serving_beyond_loopback_needs_a_token_or_an_explicit_auth_off(
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import uvicorn

    monkeypatch.setenv("AIOPS_MCP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AIOPS_MCP_ADMIN_TOKEN", raising=False)
    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, **_: served.append(host))
    assert main(["serve", "--http", "--host", "0.0.0.0"]) == 1
    assert "authentication is on and no token exists: create one with `aiops-mcp token create" in (
        capsys.readouterr().err
    )
    assert served == [], "refused before binding"
    assert main(["token", "create", "host", "--scope", "read"]) == 0
    assert main(["serve", "--http", "--host", "0.0.0.0", "--public-url", "https://aiops.example.com"]) == 0
    assert main(["serve", "--http", "--host", "0.0.0.0", "--auth", "off"]) == 0
    assert served == ["0.0.0.0", "0.0.0.0"]
    assert "WITHOUT authentication (--auth off)" in caplog.text
    assert "no --public-url" in caplog.text
