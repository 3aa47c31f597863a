"""Pages of results that a tool had to cut: `aiops://results/{handle}/{cursor}`.

A tool that truncates registers what it ran (a `ResultSpec`) and hands out this URI. Reading it
re-runs the same query (usually a cache hit) and returns one bounded JSON page with a `next` URI:
series pages carry every sample of each series; log pages continue from the last line seen. A
page served from a stale cached answer (the datasource was down) carries `stale_since` and a
"STALE:" warning, as tool results do.
"""

import json

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from aiops_mcp.analysis.logs import clip_line, level_of
from aiops_mcp.analysis.series import rank_key, summarize
from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.datasources.loki import Nanoseconds, Time
from aiops_mcp.datasources.models import QueryData
from aiops_mcp.datasources.stale import collect_stale
from aiops_mcp.runtime import ResultSpec, Runtime, log_cursor, parse_log_cursor, runtime
from aiops_mcp.tools.contract import Stats, iso, stale_marks

POINTS_PER_PAGE = 5_000
LINES_PER_PAGE = 200
PAGE_LINE_CHARS = 2_000


async def read_result_page(handle: str, cursor: str, ctx: Context) -> str:
    """One page of a cut result, as JSON: what ran, the page's items, and the `next` URI if any."""
    rt = runtime(ctx)
    spec = rt.handles.get(handle)
    if spec is None:
        raise ResourceError(f"result handle {handle!r} is unknown or expired (kept 1 h); run the tool again")
    try:
        with collect_stale() as stale:
            if spec.kind == "loki_logs":
                position = parse_log_cursor(cursor)
                if position is None:
                    raise ResourceError(f"a log cursor looks like <ns>-<count>, got {cursor!r}")
                page = await _log_page(rt, spec, handle, *position)
            else:
                if not (cursor.isascii() and cursor.isdigit()):
                    raise ResourceError(f"a series cursor is a non-negative integer, got {cursor!r}")
                page = await _series_page(rt, spec, handle, int(cursor))
    except DatasourceError as exc:
        raise ResourceError(f"could not re-run the query: {exc}") from exc
    since, notes = stale_marks(stale)
    if since is not None:
        page.update(stale_since=since, warnings=notes)
    return json.dumps(page, separators=(",", ":"), allow_nan=False)


async def _run_series(rt: Runtime, spec: ResultSpec) -> QueryData:
    start, end = spec.start or 0.0, spec.end or 0.0
    if spec.kind == "loki_range":
        return await (await rt.loki(spec.datasource)).query_range(spec.query, start, end, step=spec.step)
    prometheus = await rt.prometheus(spec.datasource)
    if spec.kind == "prometheus_instant":
        return await prometheus.query(spec.query, end)
    return await prometheus.query_range(spec.query, start, end, spec.step or 60.0)


def _finite(value: float) -> float | None:
    return None if value != value or value in (float("inf"), float("-inf")) else value


async def _series_page(rt: Runtime, spec: ResultSpec, handle: str, offset: int) -> dict[str, object]:
    data = await _run_series(rt, spec)
    ranked = sorted(
        ((s, summarize(s.timestamps, s.values)) for s in data.series),
        key=lambda pair: rank_key(pair[1]),
        reverse=True,
    )
    widest = max((len(s.values) for s, _ in ranked), default=1)
    size = max(1, POINTS_PER_PAGE // max(1, widest))
    page = ranked[offset : offset + size]
    following = offset + size
    return {
        "query": spec.query,
        "datasource": spec.datasource,
        "start": iso(spec.start),
        "end": iso(spec.end),
        "step_seconds": spec.step,
        "series_total": len(ranked),
        "offset": offset,
        "series": [
            {
                "labels": s.labels,
                "stats": Stats.of(stats).model_dump(),
                "points": [[t, _finite(v)] for t, v in zip(s.timestamps, s.values, strict=True)],
            }
            for s, stats in page
        ],
        "next": f"aiops://results/{handle}/{following}" if following < len(ranked) else None,
    }


async def _log_page(rt: Runtime, spec: ResultSpec, handle: str, at_ns: int, seen: int) -> dict[str, object]:
    """Lines after the cursor: `seen` lines at exactly `at_ns` were on earlier pages and are skipped."""
    backward = dict(spec.extra).get("direction", "backward") == "backward"
    start: Time = spec.start or 0.0
    end: Time = spec.end or 0.0
    # Loki reads [start, end): keep `at_ns` itself in the window, then drop the lines already seen.
    if backward:
        end = Nanoseconds(at_ns + 1)
    else:
        start = Nanoseconds(at_ns)
    client = await rt.loki(spec.datasource)
    data = await client.query_range(
        spec.query,
        start,
        end,
        limit=LINES_PER_PAGE + seen + 1,
        direction="backward" if backward else "forward",
    )
    entries = data.entries[seen:]
    more = len(entries) > LINES_PER_PAGE
    entries = entries[:LINES_PER_PAGE]
    return {
        "query": spec.query,
        "datasource": spec.datasource,
        "lines": [
            {
                "time_ns": str(e.timestamp_ns),
                "level": level_of(e.labels, e.line),
                "line": clip_line(e.line, PAGE_LINE_CHARS)[0],
                "labels": e.labels,
            }
            for e in entries
        ],
        "next": (
            f"aiops://results/{handle}/{log_cursor([e.timestamp_ns for e in entries])}"
            if more and entries
            else None
        ),
    }


def register(server: MCPServer) -> None:
    server.resource(
        "aiops://results/{handle}/{cursor}",
        name="result_page",
        description="One page of a result a tool cut; tools give this URI in `more`.",
        mime_type="application/json",
    )(read_result_page)
