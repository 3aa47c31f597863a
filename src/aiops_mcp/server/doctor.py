"""`aiops-mcp doctor`: ask every configured backend a cheap question and report what works."""

import sys
import time

from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.datasources.registry import DatasourceRegistry
from aiops_mcp.settings import Settings


async def run_doctor(settings: Settings) -> int:
    """Print one line per datasource; exit status 1 when any is unreachable or none is configured."""
    configs = settings.env_datasources()
    if not configs:
        print("no datasources configured: set PROMETHEUS_URL and/or LOKI_URL (see README)")
        return 1
    registry = DatasourceRegistry(configs)
    failures = 0
    try:
        for config in configs:
            started = time.perf_counter()
            try:
                detail = await _probe(registry, config.type, config.name)
            except DatasourceError as exc:
                failures += 1
                print(f"FAIL {config.name} ({config.type}) {config.url}: {exc.message}")
                continue
            ms = (time.perf_counter() - started) * 1000
            print(f"ok   {config.name} ({config.type}) {config.url}: {detail} in {ms:.0f} ms")
    finally:
        await registry.aclose()
    sys.stdout.flush()
    return 1 if failures else 0


async def _probe(registry: DatasourceRegistry, kind: str, name: str) -> str:
    if kind == "prometheus":
        info = await registry.prometheus(name).buildinfo()
        return f"Prometheus {info.get('version', '?')}"
    client = registry.loki(name)
    await client.ready()
    info = await client.buildinfo()
    return f"Loki {info.get('version') or '(no version stamp)'} ready"
