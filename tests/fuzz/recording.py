"""A loopback proxy in front of a real backend that records what each request asked for."""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from tests.faults.proxy import FaultProxy


@dataclass(frozen=True)
class Asked:
    """One forwarded request: method, path and its parameters (query string and form body)."""

    method: str
    path: str
    params: list[tuple[str, str]]


class RecordingProxy(FaultProxy):
    """`FaultProxy` without faults, keeping every request in `asked`, oldest first."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.asked: list[Asked] = []

    async def _forward(self, head: list[bytes], body: bytes) -> tuple[bytes, list[bytes], bytes]:
        method, target, _ = head[0].decode("latin-1").split(" ", 2)
        parts = urlsplit(target)
        params = parse_qsl(parts.query, keep_blank_values=True)
        if body and _is_form(head):
            params += parse_qsl(body.decode(), keep_blank_values=True)
        self.asked.append(Asked(method, parts.path, params))
        return await super()._forward(head, body)


def _is_form(head: list[bytes]) -> bool:
    return any(
        line.lower().startswith(b"content-type:") and b"x-www-form-urlencoded" in line.lower()
        for line in head[1:]
    )
