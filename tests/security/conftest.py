"""The world's logs on the Loki double, shared with the tool tests."""

from tests.tools.conftest import lines, loki

__all__ = ["lines", "loki"]
