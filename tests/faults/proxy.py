"""A loopback HTTP proxy that injects faults between a client and a real backend.

Each request the client sends is forwarded to the backend on a connection of its own (as
HTTP/1.0 without compression, so the answer is one plain body), and the answer comes back as
the current `Fault` says: untouched, late, cut by a reset, corrupted, truncated, replaced by an
error status, dripped byte by byte, or never. Every answer closes its connection, so a fault
changed between two requests applies to the next one.

    async with FaultProxy(prometheus.url) as proxy:
        proxy.fault = Fault.reset_mid_body()
        ...  # talk to proxy.url
        proxy.fault = Fault.none()
"""

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit

Kind = Literal["none", "delay", "reset", "corrupt", "truncate", "status", "blackhole", "drip"]
_HOP_BY_HOP = {b"connection", b"keep-alive", b"accept-encoding", b"transfer-encoding", b"content-length"}


@dataclass(frozen=True)
class Fault:
    """What the proxy does to the next answers."""

    kind: Kind = "none"
    seconds: float = 0.0
    """delay: wait before answering; drip: pause between bytes."""
    keep: float = 0.5
    """reset: the share of the body sent before the reset (0: right after the headers)."""
    status: int = 503
    path: str | None = None
    """Only requests for this path get the fault; the others pass (None: every request)."""

    def on(self, path: str) -> "Fault":
        """This fault for requests to `path` only, e.g. "/api/v1/metadata"."""
        return replace(self, path=path)

    @classmethod
    def none(cls) -> "Fault":
        return cls()

    @classmethod
    def delay(cls, seconds: float) -> "Fault":
        return cls("delay", seconds=seconds)

    @classmethod
    def reset_after_headers(cls) -> "Fault":
        return cls("reset", keep=0.0)

    @classmethod
    def reset_mid_body(cls) -> "Fault":
        return cls("reset", keep=0.5)

    @classmethod
    def corrupt(cls) -> "Fault":
        """The body's length kept, its bytes overwritten from the start: never valid JSON."""
        return cls("corrupt")

    @classmethod
    def truncate(cls) -> "Fault":
        """Half the body, framed as if it were all of it (Content-Length says so)."""
        return cls("truncate")

    @classmethod
    def answer(cls, status: int) -> "Fault":
        """An error status with a short text body, without asking the backend."""
        return cls("status", status=status)

    @classmethod
    def blackhole(cls) -> "Fault":
        """Accept the connection and the request, never answer."""
        return cls("blackhole")

    @classmethod
    def drip(cls, seconds: float) -> "Fault":
        """The headers, then one body byte every `seconds`."""
        return cls("drip", seconds=seconds)


class FaultProxy:
    """An asyncio TCP server on 127.0.0.1 in front of `upstream` (a base URL)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.fault = Fault.none()
        self.requests = 0
        """Requests that reached the proxy (whatever the fault)."""
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head, body = await _read_request(reader)
            self.requests += 1
            fault = self.fault
            target = head[0].split(b" ")[1].decode()
            if fault.path is not None and target.split("?")[0] != fault.path:
                fault = Fault.none()
            if fault.kind == "blackhole":
                await reader.read()  # until the client gives up and closes
                return
            if fault.kind == "status":
                await _send(writer, _response(fault.status, b"text/plain", b"injected fault"))
                return
            status_line, headers, answer = await self._forward(head, body)
            await self._answer(writer, fault, status_line, headers, answer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: nothing to answer
        except asyncio.CancelledError:
            pass  # the proxy is closing; asyncio's server callback reports a cancelled handler as an error
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _forward(self, head: list[bytes], body: bytes) -> tuple[bytes, list[bytes], bytes]:
        """The backend's answer to the request: status line, end-to-end headers, whole body."""
        method, target, _ = head[0].split(b" ", 2)
        lines = [method + b" " + target + b" HTTP/1.0"]
        lines += [h for h in head[1:] if _name(h) not in _HOP_BY_HOP]
        lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        top, _, answer = raw.partition(b"\r\n\r\n")
        status_line, *headers = top.split(b"\r\n")
        return status_line, [h for h in headers if _name(h) not in _HOP_BY_HOP], answer

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        fault: Fault,
        status_line: bytes,
        headers: list[bytes],
        body: bytes,
    ) -> None:
        declared = len(body)
        if fault.kind == "corrupt":
            body = b"#" * min(len(body), 64) + body[64:]
        elif fault.kind == "truncate":
            body = body[: len(body) // 2]
            declared = len(body)
        _, rest = status_line.split(b" ", 1)
        top = [b"HTTP/1.1 " + rest, *headers, b"Content-Length: %d" % declared, b"Connection: close"]
        head = b"\r\n".join(top) + b"\r\n\r\n"
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault.kind == "reset":
            await _send(writer, head + body[: int(len(body) * fault.keep)])
            await asyncio.sleep(0.05)  # let those bytes reach the client before the reset
            _reset(writer)
        elif fault.kind == "drip":
            await _send(writer, head)
            for index in range(len(body)):
                await _send(writer, body[index : index + 1])
                await asyncio.sleep(fault.seconds)
        else:
            await _send(writer, head + body)


async def _read_request(reader: asyncio.StreamReader) -> tuple[list[bytes], bytes]:
    """One request's head lines and its body (framed by Content-Length, as httpx sends them)."""
    head = (await reader.readuntil(b"\r\n\r\n"))[:-4].split(b"\r\n")
    length = next((int(h.split(b":", 1)[1]) for h in head[1:] if _name(h) == b"content-length"), 0)
    return head, await reader.readexactly(length)


def _name(header: bytes) -> bytes:
    return header.split(b":", 1)[0].strip().lower()


def _response(status: int, content_type: bytes, body: bytes) -> bytes:
    top = [
        b"HTTP/1.1 %d Injected" % status,
        b"Content-Type: " + content_type,
        b"Content-Length: %d" % len(body),
        b"Connection: close",
    ]
    return b"\r\n".join(top) + b"\r\n\r\n" + body


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
    sock: socket.socket | None = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
