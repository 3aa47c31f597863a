"""Async HTTP clients for the observability backends (Prometheus, Loki, Alertmanager).

They know nothing of MCP: they take queries and time ranges, and return parsed data or raise
a `DatasourceError` subclass (see `errors`).
"""
