"""Real `aiops-mcp serve` processes that tests can kill: over streamable HTTP on a fixed free loopback
port (killed, then started again on the same port), or over stdio, spawned by the host itself
(killed through the pid the shell writes before it execs the server)."""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from mcp.client.stdio import StdioServerParameters

from aiops_mcp.client_demo.host import Target
from aiops_mcp.demo.backends import free_port


def server_env() -> dict[str, str]:
    """This process's environment (its data directory) without backend settings, logs quiet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "LOKI_", "DATABASE_URL"))}
    return env | {"AIOPS_MCP_LOG_LEVEL": "WARNING"}


class HttpServer:
    """`aiops-mcp serve --http` on one port, in a subprocess logging to `log_path`."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log_path = folder / "mcp-http.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> Target:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        """Start it (on the same port every time) and wait until /healthz answers."""
        argv = [sys.executable, "-m", "aiops_mcp", "serve", "--http", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=server_env())
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the MCP server did not start in 60 s"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class StdioServer:
    """`aiops-mcp serve` over stdio, spawned (and spawned again) by the host."""

    def __init__(self, folder: Path) -> None:
        self.pid_path = folder / "mcp-stdio.pid"

    @property
    def target(self) -> Target:
        serve = shlex.join([sys.executable, "-m", "aiops_mcp", "serve"])
        script = f"echo $$ > {shlex.quote(str(self.pid_path))}; exec {serve}"
        return StdioServerParameters(command="/bin/sh", args=["-c", script], env=server_env())

    def start(self) -> None:
        """Nothing to do: the host spawns it."""

    def kill(self) -> None:
        """SIGKILL the server the host spawned last."""
        os.kill(int(self.pid_path.read_text()), signal.SIGKILL)
