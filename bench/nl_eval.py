"""NL evaluation: does `aiops_mcp.translate` turn questions into queries that answer like the gold ones?

Two sets, scored and reported separately: `bench/nl/questions.jsonl` (dev: written with the
translator, its golds in the house style) and `bench/nl/heldout.jsonl` (held-out: written without
sight of the translator, in other styles). One question per line: its intent, language, kind, time
range and gold query; optionally `tool` and `arguments` (the answer tool and its filters) and
`expect_error` (the question names something that does not exist). A gold query may contain
`$window`: the duration of its time range, substituted before it runs.

Scoring runs against the same data: a real Prometheus backfilled with the generated world
(`build_world`, its end now floored to the minute) and, for LogQL, the Loki double serving the
world's generated logs (`tests.doubles.loki`, built from recorded real Loki 3.4.2 answers: Loki
itself cannot run here). The translator gets the catalog the server builds (profiles, live metric
names, grounding label values) and the latest stored alert's app, as the tool passes it.
A question counts as correct when:
- `expect_error`: the translation raises TranslationError (a clarifying error);
- otherwise its intent equals the gold's, and its answer tool (`app_health`, `incident_impact`,
  `app_events`, `alerts` for the alerts resource; by default the intent's: none for metrics, logs and
  general) equals the row's, with the same arguments when the row gives them: app, host, severity,
  status, text equal, time ranges resolving to the same window; filters the tool cannot take
  (`unapplied_filters`) count as named;
- and, with a gold query, the translation's language and kind equal the gold's, its window is the
  gold's ("during the incident" is the app's latest demo alert, as the tool resolves it), and its
  query, run the same way as the gold (instant at the window's end, or over the window every `STEP`
  seconds; log queries over the window, up to `LOG_LIMIT` lines), returns the same series label sets
  (ignoring `__name__`) with the same timestamps and values equal within a relative 1e-6 (absolute
  1e-9 near zero, NaN equal to NaN), or the same log lines. Without a gold, it has no query.
Any other exception is a miss, with its message. Questions whose gold cannot run (a window shorter
than `MIN_WINDOW`, just after midnight for "today", or an empty gold answer) are skipped and listed.

`python -m bench nl` (or `python -m bench.nl_eval [--rules-only]`) prints accuracy per set, overall
and per intent, the misses, and the time per translation, and saves `results/nl.json` and
`results/nl.md`. Only the rules are evaluated (the model path is tested with LiteLLM mocks).
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
from urllib.parse import parse_qs, urlsplit

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
    from aiops_mcp.translate import Catalog, Translation

QUESTIONS = Path(__file__).parent / "nl" / "questions.jsonl"
HELDOUT = Path(__file__).parent / "nl" / "heldout.jsonl"
SETS = {"dev": QUESTIONS, "held-out": HELDOUT}
INTENTS = ("metrics", "logs", "event_count", "health", "impact", "alerts", "general")
FIELDS = ("id", "question", "intent", "language", "kind", "time_range", "gold")
OPTIONAL_FIELDS = ("tool", "arguments", "expect_error")
DEFAULT_TOOLS = {
    "health": "app_health",
    "impact": "incident_impact",
    "alerts": "alerts",
    "event_count": "app_events",
}
ALERTS_URI = "aiops://alerts"
WINDOW = "$window"
STEP = 60.0
LOG_LIMIT = 5000
MAX_RANGE = timedelta(days=31)
MIN_WINDOW = timedelta(minutes=15)
REL_TOL, ABS_TOL = 1e-6, 1e-9

LabelKey = tuple[tuple[str, str], ...]


NO_TOOL = "-"  # a row without a `tool` field: the intent's default


@dataclass(frozen=True)
class Question:
    """One line of an evaluation set."""

    id: str
    question: str
    intent: str
    language: str | None
    kind: str
    time_range: str
    gold: str | None
    tool: str | None = NO_TOOL
    arguments: dict[str, str] | None = None
    expect_error: bool = False

    @property
    def expected_tool(self) -> str | None:
        return DEFAULT_TOOLS.get(self.intent) if self.tool == NO_TOOL else self.tool


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """An evaluation set, in file order (blank lines ignored)."""
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
    """The profiles with what Prometheus holds, built as the server builds its catalog."""
    from aiops_mcp.tools.translate import grounded_catalog

    return await grounded_catalog(
        prometheus, PROFILES, start=(end - MAX_RANGE).timestamp(), end=end.timestamp()
    )


@dataclass(frozen=True)
class Incidents:
    """The demo alerts as the store holds them: the latest app, and each app's latest window."""

    windows: list[tuple[str | None, datetime, datetime]]  # (app, start, end), newest first
    end: datetime

    @classmethod
    def of(cls, end: datetime) -> Incidents:
        from aiops_mcp.demo.seed import demo_alerts
        from aiops_mcp.store.repositories.alerts import derive_app

        rows = [(i, a) for i, (_, a) in enumerate(demo_alerts(end))]
        rows.sort(key=lambda row: (row[1].starts_at, row[0]), reverse=True)  # newest, then last stored
        return cls([(derive_app(a.labels), a.starts_at, a.ends_at or end) for _, a in rows], end)

    @property
    def latest_app(self) -> str | None:
        return next((app for app, _, _ in self.windows if app), None)

    def window(self, app: str | None) -> TimeRange | None:
        """The latest alert's window of `app` (any alert's when None), as translate_query runs it."""
        found = next(((lo, hi) for a, lo, hi in self.windows if app is None or a == app), None)
        if found is None:
            return None
        lo, hi = (moment.isoformat() for moment in found)
        return parse_time_range(start=lo, end=hi, now=self.end, max_range=MAX_RANGE)


@dataclass
class Outcome:
    """How one question fared."""

    id: str
    question: str
    intent: str
    gold: str | None
    produced: str | None = None
    produced_intent: str | None = None
    produced_tool: str | None = None
    template: str | None = None
    ok: bool = False
    skipped: bool = False
    why: str = ""
    translate_ms: float = 0.0


@dataclass
class Report:
    """Every outcome of one set, with the summaries the bench prints."""

    name: str
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
            "questions": len(self.outcomes),
            "scored": len(self.scored),
            "accuracy": self.accuracy,
            "per_intent": self.per_intent(),
            "translate": self.timing(),
            "outcomes": [asdict(o) for o in self.outcomes],
        }


async def score(question: Question, catalog: Catalog, b: Backends, incidents: Incidents) -> Outcome:
    """Translate one question and judge the translation (see the module docstring)."""
    from aiops_mcp.translate import TranslationError, translate

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
        t = translate(question.question, catalog, now=b.end, incident_app=incidents.latest_app)
    except TranslationError as exc:
        out.translate_ms = (time.perf_counter() - started) * 1000
        out.ok = question.expect_error
        out.why = "" if out.ok else f"TranslationError: {exc.message}"
        return out
    except Exception as exc:
        out.translate_ms = (time.perf_counter() - started) * 1000
        out.why = f"{type(exc).__name__}: {exc}"
        return out
    out.translate_ms = (time.perf_counter() - started) * 1000
    out.produced, out.produced_intent, out.template = t.query, t.intent, t.template
    out.produced_tool = produced_call(t)[0]
    try:
        out.why = await judge(question, t, span, gold, b, incidents)
    except Exception as exc:
        out.why = f"{type(exc).__name__}: {exc}"
    if out.why.startswith("gold answer"):
        out.skipped = True
    out.ok = not out.why
    return out


def produced_call(t: Translation) -> tuple[str | None, dict[str, str]]:
    """The translation's answer tool ("alerts" for the alerts resource) and every filter it names:
    the call's arguments (the resource's URI query) and those the tool cannot take."""
    tool, arguments = t.answer_tool, dict(t.tool_arguments)
    if tool == "read_resource" and arguments.get("uri", "").startswith(ALERTS_URI):
        query = urlsplit(arguments.pop("uri")).query
        tool, arguments = "alerts", {k: v[0] for k, v in parse_qs(query).items()}
    return tool, {**arguments, **t.unapplied_filters}


def same_arguments(got: Mapping[str, str], want: Mapping[str, str], end: datetime) -> str:
    """Why the named filters differ ("" when equal); time ranges are compared as windows."""
    for name in sorted(set(got) | set(want)):
        mine, theirs = got.get(name), want.get(name)
        if name == "time_range" and mine is not None and theirs is not None:
            try:
                a, b = window(mine, end), window(theirs, end)
            except QueryInputError as exc:
                return f"time_range {mine!r}: {exc}"
            if (a.start, a.end) != (b.start, b.end):
                return f"time_range {mine!r}, want {theirs!r}"
        elif mine != theirs:
            return f"argument {name} {mine!r}, want {theirs!r}"
    return ""


async def judge(
    question: Question, t: Translation, span: TimeRange, gold: str | None, b: Backends, incidents: Incidents
) -> str:
    """Why the translation is wrong, or "" when it is right."""
    if question.expect_error:
        return f"translated ({t.intent}: {t.query or t.explanation}), want a clarifying error"
    if t.intent != question.intent:
        return f"intent {t.intent}, want {question.intent}"
    tool, arguments = produced_call(t)
    if tool != question.expected_tool:
        return f"answer tool {tool}, want {question.expected_tool}"
    if question.arguments is not None and (why := same_arguments(arguments, question.arguments, b.end)):
        return why
    if gold is None:
        return "" if t.query is None else "a query for an intent answered by another tool"
    if t.query is None:
        return "no query"
    if t.language != question.language:
        return f"language {t.language}, want {question.language}"
    if t.kind != question.kind:
        return f"kind {t.kind}, want {question.kind}"
    try:
        mine = incidents.window(t.entities.app) if t.time_reference == "last_incident" else None
        mine = mine or window(t.time_range, b.end)
    except QueryInputError as exc:
        return f"time range {t.time_range!r}: {exc}"
    if (mine.start, mine.end) != (span.start, span.end):
        return (
            f"time range {t.time_range!r} ({t.time_reference or 'as written'}), want {question.time_range!r}"
        )
    assert question.language is not None
    want = await b.run(question.language, gold, question.kind, span)
    if want.empty:
        return "gold answer is empty: it cannot discriminate"
    try:
        got = await b.run(question.language, t.query, question.kind, span)
    except Exception as exc:
        return f"query failed: {type(exc).__name__}: {exc}"
    return compare(got, want) or ""


async def evaluate(
    questions: Sequence[Question],
    prometheus_url: str,
    loki_url: str,
    end: datetime,
    rules_only: bool = True,
    name: str = "dev",
) -> Report:
    """Score every question against the given Prometheus and Loki holding the world that ends at `end`."""
    if not rules_only:
        raise NotImplementedError("only the rules translator is evaluated: run with --rules-only")
    incidents = Incidents.of(end)
    async with backends(prometheus_url, loki_url, end) as b:
        catalog = await live_catalog(b.prometheus, end)
        outcomes = [await score(q, catalog, b, incidents) for q in questions]
    return Report(name, outcomes, end.isoformat(), rules_only)


def cell(text: str | None) -> str:
    """Text for a Markdown table cell: pipes escaped, code in backticks."""
    return "–" if text is None else text.replace("|", "\\|").replace("\n", " ")


def render(reports: Sequence[Report]) -> str:
    first = reports[0]
    lines = [
        f"NL → query translation ({'rules only' if first.rules_only else 'rules + LLM'}), scored by "
        f"execution match against a real Prometheus and the Loki double, world ending {first.world_end}.",
        "",
        "| intent | " + " | ".join(f"{r.name} (n) | {r.name}" for r in reports) + " |",
        "|---|" + "---|---|" * len(reports),
    ]
    for intent in INTENTS:
        cells = [
            f"{r.per_intent()[intent]['questions']} | {r.per_intent()[intent]['accuracy']:.1%}"
            for r in reports
        ]
        lines.append(f"| {intent} | " + " | ".join(cells) + " |")
    lines.append(
        "| **all** | " + " | ".join(f"{len(r.scored)} | **{r.accuracy:.1%}**" for r in reports) + " |"
    )
    for r in reports:
        timing = r.timing()
        lines += [
            "",
            f"{r.name}: time per translation p50 {timing['p50_ms']:.2f} ms, p95 {timing['p95_ms']:.2f} ms",
        ]
        skipped = [o for o in r.outcomes if o.skipped]
        if skipped:
            lines += ["", f"{r.name} skipped: " + "; ".join(f"{o.id} ({o.why})" for o in skipped)]
        if r.misses:
            lines += [
                "",
                f"{r.name} misses:",
                "",
                "| id | question | produced | gold | why |",
                "|---|---|---|---|---|",
            ]
            for o in r.misses:
                produced, gold = cell(o.produced), cell(o.gold)
                lines.append(f"| {o.id} | {cell(o.question)} | `{produced}` | `{gold}` | {cell(o.why)} |")
    return "\n".join(lines)


async def main(rules_only: bool = True) -> None:
    from tests.doubles.loki.server import LokiDouble
    from tests.doubles.loki.world import world_records

    quiet_logs()
    world = build_world(datetime.now(UTC).replace(second=0, microsecond=0))
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp:
        prometheus = start_prometheus(world, Path(tmp))
        try:
            with LokiDouble(world_records(world)) as loki:
                reports = [
                    await evaluate(
                        load_questions(path), prometheus.url, loki.url, world.end, rules_only, name
                    )
                    for name, path in SETS.items()
                    if path.exists()
                ]
        finally:
            prometheus.stop()
    measured = {"rules_only": rules_only, "world_end": world.end.isoformat()}
    save("nl", render(reports), {**measured, "sets": {r.name: r.measured() for r in reports}})


def run(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nl_eval", description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--rules-only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="translate with the rules only (the default and the only mode: models are tested with mocks)",
    )
    args = parser.parse_args(list(argv))
    if not args.rules_only:
        sys.exit("only the rules translator is evaluated: run with --rules-only")
    anyio.run(main, args.rules_only)


if __name__ == "__main__":
    run(sys.argv[1:])
