"""The peer we compare with: `prometheus-mcp-server` from PyPI, in its own virtual environment.

It returns Prometheus' raw JSON. Its venv (`bench/.peer-venv`, git-ignored) is created on first
use with `python -m venv` and `pip install`; the pins below keep later runs comparable.
Configuration is by environment, read at import by its `server.py` (which also loads the first
`.env` found above its own folder; this repository has none): `PROMETHEUS_URL`, and
`PROMETHEUS_MCP_SERVER_TRANSPORT` (`stdio`, or `http` for streamable HTTP at `/mcp` on
`PROMETHEUS_MCP_BIND_HOST:PROMETHEUS_MCP_BIND_PORT`, with `GET /health`). Its FastMCP would
check PyPI for a newer version and print a banner at start: both are turned off.
"""

import json
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from mcp.client.stdio import StdioServerParameters

from aiops_mcp.demo.backends import free_port
from bench.load import ServerProcess
from bench.load import http_server as serve_http

PACKAGE = "prometheus-mcp-server"
VERSION = "1.6.2"
PINS = (f"{PACKAGE}=={VERSION}", "fastmcp==4.2.3")
"""The peer, and the FastMCP it resolved to when this bench was written (it asks fastmcp>=3.1.0)."""

VENV = Path(__file__).parent / ".peer-venv"
EXECUTABLE = VENV / "bin" / PACKAGE


def ensure_installed() -> Path:
    """The peer's executable, installing it into `VENV` first if it is not there at the pinned version."""
    marker = VENV / "installed.txt"
    if EXECUTABLE.exists() and marker.exists() and marker.read_text() == "\n".join(PINS):
        return EXECUTABLE
    print(f"installing {PACKAGE} {VERSION} into {VENV.name}/ (first run only)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, *PINS], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pip could not install {PACKAGE} {VERSION}:\n{done.stderr[-2000:]}")
    marker.write_text("\n".join(PINS))
    return EXECUTABLE


def versions() -> dict[str, str]:
    """Installed versions of the peer and the libraries that shape its answers and speed."""
    code = (
        "import importlib.metadata as m, json;"
        f"print(json.dumps({{p: m.version(p) for p in ({PACKAGE!r}, 'fastmcp', 'mcp', 'requests')}}))"
    )
    out = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def environment(prometheus_url: str, *, port: int | None = None) -> dict[str, str]:
    """The peer's settings: stdio, or streamable HTTP on 127.0.0.1:`port`."""
    env = {
        "PROMETHEUS_URL": prometheus_url,
        "PROMETHEUS_MCP_SERVER_TRANSPORT": "stdio" if port is None else "http",
        "FASTMCP_CHECK_FOR_UPDATES": "off",
        "FASTMCP_SHOW_SERVER_BANNER": "false",
    }
    if port is not None:
        env |= {"PROMETHEUS_MCP_BIND_HOST": "127.0.0.1", "PROMETHEUS_MCP_BIND_PORT": str(port)}
    return env


def stdio_params(prometheus_url: str, cwd: Path) -> StdioServerParameters:
    """Spawn the peer over stdio in `cwd` (a scratch folder: it writes nothing there)."""
    return StdioServerParameters(command=str(ensure_installed()), env=environment(prometheus_url), cwd=cwd)


def http_server(prometheus_url: str, scratch: Path) -> AbstractContextManager[ServerProcess]:
    """The peer over streamable HTTP on a free port (its per-request logs go to `scratch`)."""
    port = free_port()
    env = environment(prometheus_url, port=port)
    return serve_http(PACKAGE, [str(ensure_installed())], env, port, "/health", scratch / "peer-http.log")
