"""Shared test configuration: every async test runs on anyio's asyncio backend."""

import pytest

pytest_plugins = ["tests.backends.plugin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
