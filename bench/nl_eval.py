"""NL evaluation: does `aiops_mcp.translate` turn questions into queries that answer like the gold ones?

The evaluation set is `bench/nl/questions.jsonl`, one question per line with its intent, language,
kind, time range and gold query in the translator's house style (see the translate spec). A gold
query may contain `$window`: the duration of its time range (for "today", whose length depends on
the clock), substituted before it runs.

Scoring is by execution match, against the same data: a real Prometheus backfilled with the
generated world (`build_world`, its end now floored to the minute) and, for LogQL, the Loki double
serving the world's generated logs (`tests.doubles.loki`, built from recorded real Loki 3.4.2
answers: Loki itself cannot run here). A question counts as correct when the translation's intent
equals the gold intent and:
- the gold query is null (intents answered by another tool): the translation has no query;
- otherwise the translation's language and kind equal the gold's, its time range resolves to the
  same window (both parsed with now = the world's end), and its query, run the same way as the gold
  (instant at the window's end, or over the window every `STEP` seconds; log queries over the window,
  up to `LOG_LIMIT` lines), returns the same series label sets (ignoring `__name__`) with the same
  timestamps and values equal within a relative 1e-6 (absolute 1e-9 near zero, NaN equal to NaN),
  or the same log lines.
A translation error or any exception is a miss, with its message. Questions whose gold cannot run
(a window shorter than `MIN_WINDOW`, just after midnight for "today", or an empty gold answer) are
skipped and listed, not scored.

`python -m bench nl` (or `python -m bench.nl_eval [--rules-only]`) prints accuracy overall and per
intent, the misses, and the time per translation, and saves `results/nl.json` and `results/nl.md`.
Only the rules translator exists: `--rules-only` is the default and the only supported mode.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.datasources.loki import LokiClient
from aiops_mcp.datasources.models import QueryData
from aiops_mcp.datasources.prometheus import PrometheusClient
from aiops_mcp.demo.backends import start_prometheus
from aiops_mcp.demo.seed import PROFILES
from aiops_mcp.demo.world import build_world
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.step import format_duration
from aiops_mcp.query.timerange import TimeRange, parse_time_range
from bench.record import quiet_logs, save

if TYPE_CHECKING:
    from aiops_mcp.translate import Catalog

QUESTIONS = Path(__file__).parent / "nl" / "questions.jsonl"
INTENTS = ("metrics", "logs", "event_count", "health", "impact", "alerts", "general")
FIELDS = ("id", "question", "intent", "language", "kind", "time_range", "gold")
WINDOW = "$window"
STEP = 60.0
LOG_LIMIT = 5000
MAX_RANGE = timedelta(days=31)
MIN_WINDOW = timedelta(minutes=15)
REL_TOL, ABS_TOL = 1e-6, 1e-9

LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Question:
    """One line of the evaluation set."""

    id: str
    question: str
    intent: str
    language: str | None
    kind: str
    time_range: str
    gold: str | None


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """The evaluation set, in file order (blank lines ignored)."""
    return [Question(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def window(time_range: str, end: datetime) -> TimeRange:
    """A question's window, read with now = the world's end."""
    return parse_time_range(time_range, now=end, max_range=MAX_RANGE)


def gold_query(question: Question, span: TimeRange) -> str | None:
    """The gold query with `$window` replaced by the window's duration."""
    return None if question.gold is None else question.gold.replace(WINDOW, format_duration(span.seconds))


@dataclass
class Answer:
    """A query's result, comparable: series by label set (without `__name__`), or log lines counted."""

    series: dict[LabelKey, list[tuple[float, float]]] = field(default_factory=dict)
    lines: Counter[tuple[LabelKey, int, str]] | None = None

    @property
    def empty(self) -> bool:
        return not self.lines if self.lines is not None else not any(self.series.values())

    @classmethod
    def of(cls, data: QueryData) -> Answer:
        if data.result_type == "streams":
            return cls(lines=Counter((label_key(e.labels), e.timestamp_ns, e.line) for e in data.entries))
        return cls(
            series={label_key(s.labels): list(zip(s.timestamps, s.values, strict=True)) for s in data.series}
        )


def label_key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def compare(got: Answer, want: Answer) -> str | None:
    """Why `got` differs from `want`, or None when they match."""
    if (got.lines is None) != (want.lines is None):
        return "log lines where series were expected" if got.lines is not None else "series, not log lines"
    if got.lines is not None and want.lines is not None:
        if got.lines == want.lines:
            return None
        missing, extra = sum((want.lines - got.lines).values()), sum((got.lines - want.lines).values())
        return f"log lines differ: {missing} missing, {extra} extra (of {sum(want.lines.values())})"
    if set(got.series) != set(want.series):
        return f"series differ: got {labels_text(got.series)}, want {labels_text(want.series)}"
    for key, points in want.series.items():
        mine = got.series[key]
        if [t for t, _ in mine] != [t for t, _ in points]:
            return f"timestamps differ for {dict(key)}: {len(mine)} points, want {len(points)}"
        for (t, a), (_, b) in zip(mine, points, strict=True):
            if not close(a, b):
                return (
                    f"value at {datetime.fromtimestamp(t, UTC):%H:%M} for {dict(key)}: {a:.6g}, want {b:.6g}"
                )
    return None


def labels_text(series: Mapping[LabelKey, object], shown: int = 3) -> str:
    keys = [str(dict(k)) for k in sorted(series)]
    return f"{len(keys)} series {', '.join(keys[:shown])}{' ...' if len(keys) > shown else ''}"


@dataclass
class Backends:
    """Clients for the evaluation's Prometheus and Loki (no cache), and the world's end."""

    prometheus: PrometheusClient
    loki: LokiClient
    end: datetime

    async def run(self, language: str, query: str, kind: str, span: TimeRange) -> Answer:
        """Run `query` the way the gold runs: instant at the window's end, or over the window."""
        lo, hi = span.start_ts, span.end_ts
        if language == "promql":
            if kind == "instant":
                return Answer.of(await self.prometheus.query(query, hi, cache=False))
            return Answer.of(await self.prometheus.query_range(query, lo, hi, STEP, cache=False))
        if language != "logql":
            raise ValueError(f"unknown language {language!r}")
        if parse_logql(query).kind == "log":
            data = await self.loki.query_range(
                query, lo, hi, limit=LOG_LIMIT, direction="forward", cache=False
            )
        elif kind == "instant":
            data = await self.loki.query(query, hi, cache=False)
        else:
            data = await self.loki.query_range(query, lo, hi, STEP, cache=False)
        return Answer.of(data)


@asynccontextmanager
async def backends(prometheus_url: str, loki_url: str, end: datetime) -> AsyncIterator[Backends]:
    def config(kind: str, url: str) -> DatasourceConfig:
        return DatasourceConfig.model_validate(
            {"name": kind, "type": kind, "url": url, "cache_ttl_seconds": 0}
        )

    async with (
        PrometheusClient(config("prometheus", prometheus_url)) as prometheus,
        LokiClient(config("loki", loki_url)) as loki,
    ):
        yield Backends(prometheus, loki, end)


async def live_catalog(prometheus: PrometheusClient, end: datetime) -> Catalog:
    """The profiles' apps, with the metric names and instance/env values Prometheus holds."""
    from aiops_mcp import translate

    lo = (end - MAX_RANGE).timestamp()
    names = frozenset((await prometheus.metric_names(start=lo, end=end.timestamp())).items)
    values = {
        label: frozenset((await prometheus.label_values(label, start=lo, end=end.timestamp())).items)
        for label in ("instance", "env")
    }
    return translate.catalog_from_profiles(PROFILES, metric_names=names, label_values=values)


@dataclass
class Outcome:
    """How one question fared."""

    id: str
    question: str
    intent: str
    gold: str | None
    produced: str | None = None
    produced_intent: str | None = None
    template: str | None = None
    ok: bool = False
    skipped: bool = False
    why: str = ""
    translate_ms: float = 0.0


@dataclass
class Report:
    """Every outcome, with the summaries the bench prints."""

    outcomes: list[Outcome]
    world_end: str
    rules_only: bool = True

    @property
    def scored(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.skipped]

    @property
    def accuracy(self) -> float:
        return sum(o.ok for o in self.scored) / max(1, len(self.scored))

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.scored if not o.ok]

    def per_intent(self) -> dict[str, dict[str, float]]:
        out = {}
        for intent in INTENTS:
            rows = [o for o in self.scored if o.intent == intent]
            hits = sum(o.ok for o in rows)
            out[intent] = {"questions": len(rows), "correct": hits, "accuracy": hits / max(1, len(rows))}
        return out

    def timing(self) -> dict[str, float]:
        samples = [o.translate_ms for o in self.outcomes if o.translate_ms > 0]
        if not samples:
            return {"p50_ms": 0.0, "p95_ms": 0.0}
        ordered = sorted(samples)
        return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))]}

    def measured(self) -> dict[str, Any]:
        return {
            "rules_only": self.rules_only,
            "world_end": self.world_end,
            "questions": len(self.outcomes),
            "scored": len(self.scored),
            "accuracy": self.accuracy,
            "per_intent": self.per_intent(),
            "translate": self.timing(),
            "outcomes": [asdict(o) for o in self.outcomes],
        }


async def score(question: Question, catalog: Catalog, b: Backends) -> Outcome:
    """Translate one question and judge the translation (see the module docstring)."""
    from aiops_mcp.translate import translate

    out = Outcome(question.id, question.question, question.intent, question.gold)
    try:
        span = window(question.time_range, b.end)
    except QueryInputError as exc:
        out.skipped, out.why = True, f"gold window {question.time_range!r}: {exc}"
        return out
    gold = gold_query(question, span)
    out.gold = gold
    if gold is not None and span.end - span.start < MIN_WINDOW:
        out.skipped, out.why = True, f"gold window {question.time_range!r} is shorter than {MIN_WINDOW}"
        return out
    started = time.perf_counter()
    try:
        t = translate(question.question, catalog, now=b.end)
    except Exception as exc:
        out.translate_ms = (time.perf_counter() - started) * 1000
        out.why = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
        return out
    out.translate_ms = (time.perf_counter() - started) * 1000
    out.produced, out.produced_intent, out.template = t.query, t.intent, t.template
    try:
        out.why = await judge(question, t.intent, t.language, t.query, t.kind, t.time_range, span, gold, b)
    except Exception as exc:
        out.why = f"{type(exc).__name__}: {exc}"
    if out.why.startswith("gold answer"):
        out.skipped = True
    out.ok = not out.why
    return out


async def judge(
    question: Question,
    intent: str,
    language: str | None,
    query: str | None,
    kind: str,
    time_range: str,
    span: TimeRange,
    gold: str | None,
    b: Backends,
) -> str:
    """Why the translation is wrong, or "" when it is right."""
    if intent != question.intent:
        return f"intent {intent}, want {question.intent}"
    if gold is None:
        return "" if query is None else "a query for an intent answered by another tool"
    if query is None:
        return "no query"
    if language != question.language:
        return f"language {language}, want {question.language}"
    if kind != question.kind:
        return f"kind {kind}, want {question.kind}"
    try:
        mine = window(time_range, b.end)
    except QueryInputError as exc:
        return f"time range {time_range!r}: {exc}"
    if (mine.start, mine.end) != (span.start, span.end):
        return f"time range {time_range!r}, want {question.time_range!r}"
    assert question.language is not None
    want = await b.run(question.language, gold, question.kind, span)
    if want.empty:
        return "gold answer is empty: it cannot discriminate"
    try:
        got = await b.run(question.language, query, question.kind, span)
    except Exception as exc:
        return f"query failed: {type(exc).__name__}: {exc}"
    return compare(got, want) or ""


async def evaluate(
    questions: Sequence[Question], prometheus_url: str, loki_url: str, end: datetime, rules_only: bool = True
) -> Report:
    """Score every question against the given Prometheus and Loki holding the world that ends at `end`."""
    if not rules_only:
        raise NotImplementedError("only the rules translator exists: run with --rules-only")
    async with backends(prometheus_url, loki_url, end) as b:
        catalog = await live_catalog(b.prometheus, end)
        outcomes = [await score(q, catalog, b) for q in questions]
    return Report(outcomes, end.isoformat(), rules_only)


def cell(text: str | None) -> str:
    """Text for a Markdown table cell: pipes escaped, code in backticks."""
    return "–" if text is None else text.replace("|", "\\|").replace("\n", " ")


def render(report: Report) -> str:
    timing = report.timing()
    skipped = [o for o in report.outcomes if o.skipped]
    lines = [
        f"NL → query translation ({'rules only' if report.rules_only else 'rules + LLM'}): "
        f"{len(report.scored)} questions scored by execution match against a real Prometheus and the "
        f"Loki double, world ending {report.world_end}.",
        "",
        "| intent | questions | correct | accuracy |",
        "|---|---|---|---|",
    ]
    for intent, row in report.per_intent().items():
        lines.append(f"| {intent} | {row['questions']} | {row['correct']} | {row['accuracy']:.1%} |")
    hits = sum(o.ok for o in report.scored)
    lines += [
        f"| **all** | {len(report.scored)} | {hits} | **{report.accuracy:.1%}** |",
        "",
        f"time per translation: p50 {timing['p50_ms']:.2f} ms, p95 {timing['p95_ms']:.2f} ms",
    ]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(f"{o.id} ({o.why})" for o in skipped)]
    if report.misses:
        lines += ["", "| id | question | produced | gold | why |", "|---|---|---|---|---|"]
        for o in report.misses:
            lines.append(
                f"| {o.id} | {cell(o.question)} | `{cell(o.produced)}` | `{cell(o.gold)}` | {cell(o.why)} |"
            )
    return "\n".join(lines)


async def main(rules_only: bool = True) -> None:
    from tests.doubles.loki.server import LokiDouble
    from tests.doubles.loki.world import world_records

    quiet_logs()
    world = build_world(datetime.now(UTC).replace(second=0, microsecond=0))
    questions = load_questions()
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp:
        prometheus = start_prometheus(world, Path(tmp))
        try:
            with LokiDouble(world_records(world)) as loki:
                report = await evaluate(questions, prometheus.url, loki.url, world.end, rules_only)
        finally:
            prometheus.stop()
    save("nl", render(report), report.measured())


def run(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nl_eval", description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--rules-only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="translate with the rules only (the default; the LLM path comes later)",
    )
    args = parser.parse_args(list(argv))
    if not args.rules_only:
        sys.exit("only the rules translator exists: run with --rules-only")
    anyio.run(main, args.rules_only)


if __name__ == "__main__":
    run(sys.argv[1:])
