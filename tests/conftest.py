"""Shared test configuration: every async test runs on anyio's asyncio backend."""

import os

import pytest

pytest_plugins = ["tests.backends.plugin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True, scope="session")
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Servers built by tests keep their store and keys in a temporary folder, never in HOME."""
    os.environ["AIOPS_MCP_DATA_DIR"] = str(tmp_path_factory.mktemp("aiops-data"))
