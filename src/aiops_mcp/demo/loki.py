"""Push the demo world's generated log history (`aiops_mcp.demo.logs`) into a real Loki.

`push_logs(config, lines, window)` sends the lines with Loki's push API (``POST
/loki/api/v1/push``, JSON, ``[ns_string, line]`` values) in batches of at most `BATCH_LINES`, each
stream's lines in time order (Loki refuses lines far behind a stream's newest one), then asks the
ingester to flush (``POST /flush``): Loki's queriers ask ingesters only about the last 3 h, so older
lines are invisible until flushed. Loki must accept old lines: ``reject_old_samples: false`` and
ingestion limits above a 2 MB burst (see ``deploy/loki.yaml``).

A Loki that already holds lines of the demo's streams in the window is left alone (pushing again
would double the counts, and Loki refuses most of a second history anyway): the summary says so.
A batch that Loki refuses is counted and its reason kept; the push goes on with the next batch.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
import httpx

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.datasources.loki import API, LokiClient
from aiops_mcp.demo.logs import NS, LogLine

BATCH_LINES = 2000
"""Lines per push request (about 250 kB of JSON)."""
RATE_LIMIT_RETRIES = 5
_REASON_CHARS = 300


@dataclass
class PushSummary:
    """What `push_logs` did: lines and batches sent, what Loki refused, or why nothing was sent."""

    lines: int = 0
    streams: int = 0
    batches: int = 0
    refused_batches: int = 0
    refused_lines: int = 0
    reasons: list[str] = field(default_factory=list)
    skipped: str | None = None
    flushed: bool = False

    def describe(self, url: str) -> str:
        """One line for the person who started the demo."""
        if self.skipped:
            return f"logs: not pushed to Loki at {url}: {self.skipped}"
        pushed = self.lines - self.refused_lines
        text = f"logs: pushed {pushed:,} lines in {self.streams} streams to Loki at {url}"
        if self.refused_batches:
            text += f"; Loki refused {self.refused_batches} of {self.batches} batches: {self.reasons[0]}"
        if not self.flushed:
            text += "; it did not flush, so lines older than 3 h may stay invisible for a while"
        return text


class LokiWriter(LokiClient):
    """A Loki client that also writes: push and flush (with the configured auth, tenant and TLS)."""

    async def push(self, streams: list[dict[str, object]]) -> str | None:
        """Push streams (`{"stream": labels, "values": [[ns, line], ...]}`); None when all were
        accepted, else Loki's reason (clipped). A rate limit (429) is waited out a few times."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            response = await self._client.post(f"{API}/push", json={"streams": streams})
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                break
            await anyio.sleep(min(8.0, 0.5 * 2**attempt))
        if response.status_code in (200, 204):
            return None
        reason = " ".join(response.text.split()) or response.reason_phrase
        return f"HTTP {response.status_code}: {self._redact(reason)[:_REASON_CHARS]}"

    async def flush(self) -> bool:
        """Ask the ingester to flush its chunks to the store (asynchronous on Loki's side)."""
        response = await self._client.post("/flush")
        return response.status_code in (200, 204)


async def push_logs(
    config: DatasourceConfig, lines: Sequence[LogLine], window: tuple[float, float]
) -> PushSummary:
    """Push `lines` (sorted by time, as `build_logs` returns them) to the Loki of `config`;
    `window` is the world's (start, end) in unix seconds."""
    summary = PushSummary(streams=len({_key(line) for line in lines}))
    async with LokiWriter(config.model_copy(update={"cache_ttl_seconds": 0})) as loki:
        try:
            held = await _lines_held(loki, lines, window)
        except (DatasourceError, httpx.HTTPError) as exc:
            summary.skipped = f"Loki cannot be read: {exc}"
            return summary
        if held:
            summary.skipped = (
                f"it already holds {held:,} lines of the demo's apps in the world's window (pushing again "
                "would double the counts); start from an empty Loki for the demo's own history"
            )
            return summary
        try:
            for start in range(0, len(lines), BATCH_LINES):
                batch = lines[start : start + BATCH_LINES]
                summary.batches += 1
                summary.lines += len(batch)
                if (reason := await loki.push(_streams(batch))) is not None:
                    summary.refused_batches += 1
                    summary.refused_lines += len(batch)
                    summary.reasons.append(reason)
            summary.flushed = await loki.flush()
        except httpx.HTTPError as exc:
            summary.reasons.append(f"Loki stopped answering: {exc!r}")
            summary.refused_batches += 1
    return summary


async def _lines_held(loki: LokiClient, lines: Sequence[LogLine], window: tuple[float, float]) -> int:
    """How many lines Loki holds of the demo's streams in the window."""
    jobs = "|".join(sorted({line.labels["job"] for line in lines}))
    if not jobs:
        return 0
    start, end = window
    seconds = max(1, round(end - start))
    data = await loki.query(f'sum(count_over_time({{job=~"{jobs}"}} [{seconds}s]))', end, cache=False)
    return round(sum(s.values[-1] for s in data.series if s.values)) if data.series else 0


def _key(line: LogLine) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(line.labels.items()))


def _streams(batch: Sequence[LogLine]) -> list[dict[str, object]]:
    """Loki's push streams for a batch: one per label set, values in time order."""
    streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
    for line in batch:
        streams.setdefault(_key(line), []).append([str(line.ts_ns), line.line])
    return [{"stream": dict(key), "values": values} for key, values in streams.items()]


__all__ = ["BATCH_LINES", "NS", "LokiWriter", "PushSummary", "push_logs"]
