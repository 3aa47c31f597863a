"""What every benchmark does at the end: print its table and keep it, with when and where it ran."""

import json
import logging
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
NOISY_LOGGERS = (
    "httpx",
    "httpx2",
    "httpcore",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "mcp",
    "aiops_mcp",
)


def quiet_logs() -> None:
    """Per-request INFO logs would drown the tables (and cost time inside the measurements)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def save(name: str, table: str, measured: dict[str, Any]) -> None:
    """Print `table`; write `results/<name>.md` and `results/<name>.json`, both saying when and on what."""
    print(table)
    RESULTS.mkdir(exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(n, 2) for n in os.getloadavg()],  # a busy machine inflates every figure
    }
    when = datetime.now(UTC).replace(microsecond=0).isoformat()
    record = {"when": when, "machine": machine, **measured}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    described = ", ".join(f"{key} {value}" for key, value in machine.items())
    (RESULTS / f"{name}.md").write_text(f"{table}\n\nMeasured {when} on {described}.\n")
