"""Scale: queries returning 100, 1,000 and 10,000 series, from a synthetic block of 10,000 gauges
(`bench_shard_value{shard="0000".."9999"}`, 6 h every 4 minutes) backfilled beside the world.

`prepare_prometheus` writes both into one TSDB and starts Prometheus. The levels are range queries
over the 6 h at a 5-minute step (73 points a series, ~15 MB of raw JSON at 10,000 series), and
an instant query over all 10,000. `OVER_CAP` is the same 10,000 series at our default resolution,
whose raw answer passes the datasource's 64 MiB response cap; `TOP_K` is the server-side
fallback we propose for it: the same range restricted, with `@ end()`, to the 20 series whose
maximum over the window is largest (the ranking our results use), plus their count.
"""

import shutil
from pathlib import Path

from aiops_mcp.demo.backends import RunningPrometheus, backfill, start_prometheus
from aiops_mcp.demo.world import World
from bench.tasks import Task, instant, ranged

METRIC = "bench_shard_value"
SHARDS = 10_000
HISTORY_SECONDS = 6 * 3600
INTERVAL = 240
STEP = 300
LEVELS = {100: f'{METRIC}{{shard=~"00.."}}', 1_000: f'{METRIC}{{shard=~"0..."}}', 10_000: METRIC}


def write_shards(path: Path, end: int) -> int:
    """OpenMetrics text for the shard gauges, the last sample at `end`; returns the sample count."""
    times = range(end - HISTORY_SECONDS, end + 1, INTERVAL)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"# HELP {METRIC} A synthetic gauge, one series per shard.\n# TYPE {METRIC} gauge\n")
        for shard in range(SHARDS):
            head = f'{METRIC}{{shard="{shard:04d}"}} '
            out.write(
                "".join(f"{head}{(shard * 37 + k * 11) % 1000 / 10:g} {t}\n" for k, t in enumerate(times))
            )
        out.write("# EOF\n")
    return SHARDS * len(times)


def prepare_prometheus(world: World, data_dir: Path) -> RunningPrometheus:
    """Backfill `world` and the shard block into one TSDB under `data_dir`, then start Prometheus."""
    tsdb, log = data_dir / "tsdb", data_dir / "promtool.log"
    backfill(world, tsdb, log_path=log)
    shards_file, shards_tsdb = data_dir / "shards.om", data_dir / "shards-tsdb"
    write_shards(shards_file, int(world.end.timestamp()))
    backfill(shards_file, shards_tsdb, log_path=log)
    for block in shards_tsdb.iterdir():
        if (block / "meta.json").exists():
            shutil.move(block, tsdb / block.name)
    shards_file.unlink()
    return start_prometheus(world, data_dir)  # the TSDB is marked backfilled: this only starts it


def scale_tasks(end: float) -> list[Task]:
    """Range queries over 100, 1,000 and 10,000 series, then an instant query over all 10,000."""
    hours = HISTORY_SECONDS / 3600
    tasks = [ranged(f"{n:,} series, 6 h range", query, end, hours, STEP) for n, query in LEVELS.items()]
    return [*tasks, instant(f"{SHARDS:,} series, instant", METRIC, end)]


OVER_CAP_HOURS = 6.0


def over_cap(end: float) -> Task:
    """All 10,000 series over 6 h at our default step (30 s: 721 points each, ~150 MB raw)."""
    return ranged(f"{SHARDS:,} series, 6 h at the default step", METRIC, end, OVER_CAP_HOURS)


def top_k(end: float, k: int = 20) -> tuple[Task, Task]:
    """The fallback for `over_cap`: the `k` largest series by max over the window, and the count."""
    task = over_cap(end)
    args = task.ours[1]
    window = f"[{int(OVER_CAP_HOURS * 3600)}s:{args['step']}] @ end()"
    query = f"{METRIC} and topk({k}, max_over_time({METRIC}{window}))"
    count = f"count(max_over_time({METRIC}{window.replace('end()', args['end'])}))"
    top = ranged(f"top {k} of {SHARDS:,} series, 6 h at the default step", query, end, OVER_CAP_HOURS)
    return top, instant("their count", count, float(args["end"]))
