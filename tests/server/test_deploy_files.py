"""The Docker files cannot run here (no engine), so check that they parse and agree with the settings."""

from pathlib import Path

import yaml

from aiops_mcp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_backend_and_the_server() -> None:
    assert set(compose()["services"]) == {"prometheus", "loki", "alertmanager", "postgres", "aiops-mcp"}


def test_compose_environment_names_are_settings() -> None:
    names = {name.lower() for name in Settings.model_fields}
    for variable in compose()["services"]["aiops-mcp"]["environment"]:
        assert variable.lower() in names, f"{variable} is not a setting"


def test_compose_points_the_server_at_its_backends() -> None:
    env = compose()["services"]["aiops-mcp"]["environment"]
    settings = Settings(**{k.lower(): v for k, v in env.items()})
    urls = {c.type: c.url for c in settings.env_datasources()}
    assert urls == {"prometheus": "http://prometheus:9090", "loki": "http://loki:3100"}


def test_mounted_config_files_exist_and_parse() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert yaml.safe_load((ROOT / source).read_text()), source


def test_alertmanager_posts_to_the_server_webhook() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "alertmanager.yml").read_text())
    urls = [hook["url"] for r in config["receivers"] for hook in r.get("webhook_configs", [])]
    assert urls == ["http://aiops-mcp:8000/alertmanager/webhook"]


def test_dockerfile_installs_the_package_and_serves_http() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in text
    assert '"serve", "--http"' in text
    assert "USER " in text
