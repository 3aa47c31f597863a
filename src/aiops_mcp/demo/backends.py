"""Real backends on 127.0.0.1: Prometheus backfilled with a `World`, Alertmanager, PostgreSQL.

Each ``start_*`` function returns a running server object (also a context manager) with a
``url``, ``stop()`` and ``start()`` (start again on the same data, same port when free).
Servers log to files in their data directory, never to the caller's stdout, and every server
still running when the interpreter exits is stopped (terminate, then kill after a timeout).

Errors: `BackendError` (a `RuntimeError`) when a binary is missing, a command fails or a server
does not become ready in time; its message ends with the tail of the server's log.
"""

from __future__ import annotations

import atexit
import contextlib
import http.server
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import yaml

from aiops_mcp.demo.world import World

BLOCK_SECONDS = 7200
"""promtool writes 2-hour blocks and re-reads its whole input once per block."""

PROMETHEUS_RETENTION = "3650d"
"""Long retention: retention counts from the newest block, and backfilled data is old."""

_SEARCH_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin")
_LOG_TAIL_BYTES = 2048
_START_ATTEMPTS = 3
_LIVE: set[_Stoppable] = set()


class BackendError(RuntimeError):
    """A backend could not be found, prepared or started."""


class _Stoppable:
    """Something `_stop_all` stops at interpreter exit."""

    def stop(self) -> None:
        """Stop; must be idempotent."""
        raise NotImplementedError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_binary(name: str) -> str | None:
    """The path of executable ``name``: PATH first, then Debian's locations (PostgreSQL's newest)."""
    found = shutil.which(name)
    if found:
        return found
    postgres_dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for directory in (*map(Path, _SEARCH_DIRS), *postgres_dirs):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin``."""
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def _require_binary(*names: str) -> str:
    """The first of ``names`` that exists, or BackendError."""
    for name in names:
        found = find_binary(name)
        if found:
            return found
    raise BackendError(f"{' or '.join(names)} not found in PATH or the usual Debian locations")


def _log_tail(path: Path) -> str:
    """The end of a log file, for error messages."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"


# --- long-running HTTP servers -------------------------------------------------------------


class _HttpServer(_Stoppable):
    """One server process answering ``GET /-/ready`` on 127.0.0.1, logging to a file."""

    label = "server"

    def __init__(self, data_dir: Path, port: int | None, timeout: float) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._fixed_port = port is not None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9090``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the process writes its output."""
        return self.data_dir / f"{self.label}.log"

    def argv(self) -> list[str]:
        """The command line for the current port."""
        raise NotImplementedError

    def start(self) -> Self:
        """Start the process (if not running) and wait until it is ready."""
        if self.process is not None and self.process.poll() is None:
            return self
        for attempt in range(_START_ATTEMPTS):
            if self._launch():
                return self
            if self._fixed_port or attempt == _START_ATTEMPTS - 1:
                break
            self.port = free_port()  # the chosen port was taken in the meantime
        raise BackendError(f"{self.label} did not become ready at {self.url}:\n{_log_tail(self.log_path)}")

    def _launch(self) -> bool:
        """One start attempt: True when ready, False when the process exited or another server answered."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _LIVE.add(self)
        ready = _wait_ready(f"{self.url}/-/ready", self.process, self.timeout)
        if ready and self._answers_as_itself():
            return True
        timed_out = not ready and self.process.poll() is None
        self.stop()
        if timed_out:
            raise BackendError(
                f"{self.label} not ready after {self.timeout:.0f} s:\n{_log_tail(self.log_path)}"
            )
        return False

    def _answers_as_itself(self) -> bool:
        """Whether the ready server is ours (not another one on a port taken in the meantime)."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the process, kill it if it has not exited after ``timeout`` seconds."""
        _LIVE.discard(self)
        process, self.process = self.process, None
        if process is not None:
            _terminate(process, timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll ``url`` until it answers 200 (True), the process exits or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return True
            time.sleep(0.1)
    return False


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, wait, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


# --- Prometheus ----------------------------------------------------------------------------


class RunningPrometheus(_HttpServer):
    """A Prometheus serving a backfilled TSDB (``data_dir/tsdb``) with no scrape targets."""

    label = "prometheus"

    def __init__(self, data_dir: Path, port: int | None, timeout: float) -> None:
        super().__init__(data_dir, port, timeout)
        self.binary = _require_binary("prometheus")
        self.config_path = data_dir / "prometheus.yml"

    def _answers_as_itself(self) -> bool:
        """Whether the server on our port reports our TSDB path."""
        if not super()._answers_as_itself():
            return False
        with (
            httpx.Client(timeout=10.0, trust_env=False) as client,
            contextlib.suppress(httpx.HTTPError, ValueError, KeyError),
        ):
            flags = client.get(f"{self.url}/api/v1/status/flags").json()["data"]
            return bool(flags.get("storage.tsdb.path") == str(self.data_dir / "tsdb"))
        return False

    def argv(self) -> list[str]:
        """``prometheus`` on 127.0.0.1 with the lifecycle API (``/-/reload``, ``/-/quit``)."""
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
            f"--storage.tsdb.retention.time={PROMETHEUS_RETENTION}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]


def start_prometheus(
    source: World | str | Path, data_dir: str | Path, *, port: int | None = None, timeout: float = 120.0
) -> RunningPrometheus:
    """Backfill ``source`` (a World or an OpenMetrics file) into ``data_dir`` once, then start Prometheus.

    The config has no scrape targets (``scrape_configs: []``), so the backfilled history is
    all there is. Query instant values at ``time=world.end`` (the lookback is 5 minutes).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = RunningPrometheus(data_dir, port, timeout)
    backfill(source, data_dir / "tsdb", log_path=data_dir / "promtool.log")
    config = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"}, "scrape_configs": []}
    server.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return server.start()


def backfill(source: World | str | Path, tsdb_dir: str | Path, *, log_path: str | Path) -> None:
    """Write TSDB blocks for ``source`` into ``tsdb_dir`` with promtool, unless already done there.

    A World is written as one OpenMetrics file per 2-hour block (promtool re-reads its whole
    input for every block it writes), converted two at a time.
    """
    tsdb_dir, log_path = Path(tsdb_dir), Path(log_path)
    marker = tsdb_dir / ".backfilled"
    if marker.exists():
        return
    promtool = _require_binary("promtool")
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    with _openmetrics_files(source, tsdb_dir.parent / "openmetrics") as files, ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: _promtool(promtool, f, tsdb_dir, log_path), files))
    marker.touch()


@contextlib.contextmanager
def _openmetrics_files(source: World | str | Path, work_dir: Path) -> Iterator[list[Path]]:
    """The OpenMetrics input: the given file, or a World's per-block files (removed afterwards)."""
    if not isinstance(source, World):
        yield [Path(source)]
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    first = int(source.start.timestamp()) // BLOCK_SECONDS * BLOCK_SECONDS
    files = []
    try:
        for since in range(first, int(source.end.timestamp()) + 1, BLOCK_SECONDS):
            path = work_dir / f"block-{since}.om"
            source.write_openmetrics(path, since, since + BLOCK_SECONDS)
            files.append(path)
        yield files
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _promtool(promtool: str, path: Path, tsdb_dir: Path, log_path: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics PATH TSDB``; BackendError if it fails."""
    argv = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(tsdb_dir)]
    with open(log_path, "ab") as log:
        code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise BackendError(f"promtool failed on {path.name} (exit {code}):\n{_log_tail(log_path)}")


# --- Alertmanager --------------------------------------------------------------------------


class RunningAlertmanager(_HttpServer):
    """An Alertmanager without clustering whose single route sends everything to a webhook."""

    label = "alertmanager"

    def __init__(self, data_dir: Path, port: int | None, timeout: float) -> None:
        super().__init__(data_dir, port, timeout)
        self.binary = _require_binary("prometheus-alertmanager", "alertmanager")
        self.config_path = data_dir / "alertmanager.yml"

    def argv(self) -> list[str]:
        """``alertmanager`` on 127.0.0.1; an empty cluster address turns the gossip listener off."""
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]


def start_alertmanager(
    data_dir: str | Path,
    webhook_url: str | None = None,
    port: int | None = None,
    timeout: float = 60.0,
    token: str | None = None,
) -> RunningAlertmanager:
    """Start Alertmanager; alerts go to ``webhook_url`` (or nowhere) with no grouping delay, with
    ``token`` as the webhook's bearer credentials (the config file is then readable by its owner only)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = RunningAlertmanager(data_dir, port, timeout)
    server.config_path.touch(mode=0o600)
    server.config_path.write_text(
        yaml.safe_dump(alertmanager_config(webhook_url, token), sort_keys=False), encoding="utf-8"
    )
    return server.start()


def alertmanager_config(webhook_url: str | None, token: str | None = None) -> dict[str, Any]:
    """An Alertmanager config delivering each alert at once (group_wait 0s) to ``webhook_url``."""
    receiver: dict[str, Any] = {"name": "webhook"}
    if webhook_url:
        webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True}
        if token:
            webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
        receiver["webhook_configs"] = [webhook]
    route = {
        "receiver": "webhook",
        "group_by": ["alertname"],
        "group_wait": "0s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    }
    return {"route": route, "receivers": [receiver]}


class WebhookReceiver:
    """A loopback HTTP server that records every JSON body POSTed to it (e.g. by Alertmanager)."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self._changed = threading.Condition()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The URL to post to."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 30.0) -> list[Any]:
        """Block until ``predicate(received)`` holds; TimeoutError after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.received), timeout):
                raise TimeoutError(
                    f"webhook condition not met in {timeout} s; got {len(self.received)} bodies"
                )
            return list(self.received)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _record(self, body: bytes) -> None:
        with self._changed:
            self.received.append(json.loads(body or b"null"))
            self._changed.notify_all()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        record = self._record

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                record(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: nothing on stdout or stderr."""

        return Handler

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# --- PostgreSQL ----------------------------------------------------------------------------


class RunningPostgres(_Stoppable):
    """A throwaway PostgreSQL cluster in ``data_dir/pgdata`` on 127.0.0.1, trust auth, fsync off.

    As root, initdb and the server run as the ``postgres`` user, which must be able to reach
    ``data_dir`` (a `tempfile.mkdtemp` directory is fine; pytest's ``tmp_path`` is not).
    """

    def __init__(self, data_dir: Path, port: int | None, timeout: float) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.timeout = timeout
        self.pg_ctl = _require_binary("pg_ctl")
        self.running = False
        self._fixed_port = port is not None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return self.url_for("postgres")

    @property
    def dsn(self) -> str:
        """libpq/asyncpg DSN of the ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        """The server log (written by the server itself, hence owned by its user)."""
        return self.data_dir / "postgres.log"

    @property
    def commands_log_path(self) -> Path:
        """Output of initdb, pg_ctl and createdb."""
        return self.data_dir / "commands.log"

    def logs(self) -> str:
        """The tails of both logs, for error messages."""
        return f"{_log_tail(self.commands_log_path)}\n{_log_tail(self.log_path)}"

    def url_for(self, database: str) -> str:
        """SQLAlchemy (asyncpg) URL of ``database`` on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (letters, digits, underscores) and return its SQLAlchemy URL."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        argv = [_require_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]
        _run(argv, self.commands_log_path, "createdb")
        return self.url_for(name)

    def start(self) -> Self:
        """Start the server (``pg_ctl -w start``); retries on another port if the port was taken."""
        if self.running:
            return self
        for attempt in range(_START_ATTEMPTS):
            options = f"-p {self.port} -k {self.data_dir / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
            argv = [self.pg_ctl, "-D", str(self.data_dir / "pgdata"), "-l", str(self.log_path), "-w"]
            argv += ["-t", str(int(self.timeout)), "-o", options, "start"]
            if _run_status(_as_postgres(argv), self.commands_log_path) == 0:
                self.running = True
                _LIVE.add(self)
                return self
            if self._fixed_port or attempt == _START_ATTEMPTS - 1:
                break
            self.port = free_port()
        raise BackendError(f"postgres did not start on port {self.port}:\n{self.logs()}")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop`` (mode fast by default; ``immediate`` skips the checkpoint)."""
        _LIVE.discard(self)
        if self.running:
            self.running = False
            argv = [self.pg_ctl, "-D", str(self.data_dir / "pgdata"), "-m", mode, "-w", "-t", "60", "stop"]
            _run_status(_as_postgres(argv), self.commands_log_path)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_postgres(data_dir: str | Path, port: int | None = None, timeout: float = 60.0) -> RunningPostgres:
    """Create a cluster in ``data_dir`` (once) and start it; see `RunningPostgres`."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = RunningPostgres(data_dir, port, timeout)
    (data_dir / "sock").mkdir(exist_ok=True)
    if os.geteuid() == 0:
        _hand_to_postgres_user(data_dir)
    if not (data_dir / "pgdata" / "PG_VERSION").exists():
        initdb = [_require_binary("initdb"), "-D", str(data_dir / "pgdata"), "-U", "postgres", "-A", "trust"]
        _run(_as_postgres([*initdb, "-E", "UTF8", "--no-sync"]), server.commands_log_path, "initdb")
    return server.start()


def _hand_to_postgres_user(data_dir: Path) -> None:
    """chown ``data_dir`` to ``postgres`` after checking that user can reach it at all."""
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise BackendError("running as root needs a 'postgres' user to run PostgreSQL") from None
    for parent in data_dir.parents:
        mode = parent.stat().st_mode
        if not (mode & 0o001 or (parent.stat().st_uid == user.pw_uid and mode & 0o100)):
            raise BackendError(f"the postgres user cannot enter {parent}; use a tempfile.mkdtemp() directory")
    for path in (data_dir, *data_dir.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid)


def _as_postgres(argv: list[str]) -> list[str]:
    """Run ``argv`` as the ``postgres`` user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return argv
    runuser = find_binary("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *argv]
    return [_require_binary("su"), "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run_status(argv: list[str], log_path: Path) -> int:
    """Run a command with its output appended to ``log_path``; its exit status.

    The log is opened by us (root may own it) and handed over as a file descriptor.
    """
    with open(log_path, "ab") as log:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT).returncode


def _run(argv: list[str], log_path: Path, what: str) -> None:
    """`_run_status`, raising BackendError on a non-zero exit."""
    if _run_status(argv, log_path) != 0:
        raise BackendError(f"{what} failed:\n{_log_tail(log_path)}")


@atexit.register
def _stop_all() -> None:
    """Stop every server still running when the interpreter exits."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()
