"""`LokiDouble`: the application served on a free port of 127.0.0.1 from a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable

import uvicorn

from tests.doubles.loki.app import Fault, LokiApp, RecordedRequest
from tests.doubles.loki.dataset import LogRecord
from tests.doubles.loki.store import Store


class LokiDouble:
    """The Loki double served over HTTP on 127.0.0.1 (a free port) from a background thread.

    ``with LokiDouble(records) as loki: loki.url`` starts and stops it; `add()` adds records later."""

    def __init__(self, records: Iterable[LogRecord] = (), now_ns: Callable[[], int] = time.time_ns) -> None:
        self.store = Store()
        self.store.add(records)
        self.app = LokiApp(self.store, now_ns)
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.socket: socket.socket | None = None

    def __enter__(self) -> LokiDouble:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT``."""
        if self.socket is None:
            raise RuntimeError("the Loki double is not running")
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first."""
        with self.app.lock:
            return list(self.app.requests)

    @property
    def delay_seconds(self) -> float:
        """Seconds to wait before answering each request (0 by default)."""
        return self.app.delay_seconds

    @delay_seconds.setter
    def delay_seconds(self, value: float) -> None:
        self.app.delay_seconds = value

    def add(self, records: Iterable[LogRecord]) -> None:
        """Make more entries visible immediately."""
        self.store.add(records)

    def fail_next(self, status: int = 500, body: str = "internal error", count: int = 1) -> None:
        """Answer the next `count` requests with `status` and a text/plain `body`."""
        with self.app.lock:
            self.app.faults.extend(Fault(status, body) for _ in range(count))

    def garbage_next(self, count: int = 1) -> None:
        """Answer the next `count` requests with 200 and the first half of the real JSON body."""
        with self.app.lock:
            self.app.faults.extend(Fault(200, "", garbage=True) for _ in range(count))

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve until `stop()`."""
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Loki double did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        if self.socket is not None:
            self.socket.close()
        self.server = self.thread = self.socket = None
