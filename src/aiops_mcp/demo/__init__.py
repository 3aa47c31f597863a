"""The demo world: generated metric history with known incidents, and real backends on loopback.

`world` builds a deterministic monitoring history (Prometheus series) whose ground truth is
computed from the same samples; `backends` backfills it into a real Prometheus and starts
Alertmanager and PostgreSQL for tests, benchmarks and the product's demo command.
"""

from aiops_mcp.demo.world import App, Incident, Series, World, build_world

__all__ = ["App", "Incident", "Series", "World", "build_world"]
