from aiops_mcp.datasources.config import DatasourceConfig


def test_credentials_in_the_url_become_basic_auth_and_leave_the_url() -> None:
    config = DatasourceConfig(
        name="p", type="prometheus", url="https://ops:p%40ss@prom.example:9090/prefix?x=1"
    )
    assert config.url == "https://prom.example:9090/prefix?x=1"
    assert config.basic_user == "ops"
    assert config.basic_password is not None and config.basic_password.get_secret_value() == "p@ss"
    assert "p@ss" not in repr(config) and "p@ss" not in str(config.public_view())


def test_explicit_basic_auth_wins_over_the_url() -> None:
    config = DatasourceConfig(
        name="p", type="prometheus", url="http://a:b@[::1]:9090", basic_user="me", basic_password="mine"
    )
    assert config.url == "http://[::1]:9090"
    assert config.basic_user == "me" and config.basic_password is not None
    assert config.basic_password.get_secret_value() == "mine"


def test_a_url_without_credentials_is_unchanged() -> None:
    assert DatasourceConfig(name="p", type="loki", url="http://loki:3100").url == "http://loki:3100"
