"""Fixtures of the chat client's tests."""

from pathlib import Path

import pytest

from tests.client_demo.browser import artifacts_folder


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the web page's screenshots are kept (see `tests.client_demo.browser`)."""
    folder = artifacts_folder()
    print(f"\nweb page screenshots: {folder}")
    return folder
