"""The NL evaluation set (`bench/nl/questions.jsonl`) checked against the data it is scored on: a real
Prometheus with the generated world, and the Loki double serving the world's logs (Grafana Loki cannot
run here; the double answers like the recorded real Loki 3.4.2). Then, once the translator exists,
the evaluation itself (`bench.nl_eval`) with rules only."""

import importlib.util
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.promql import validate_promql
from bench.nl_eval import (
    FIELDS,
    INTENTS,
    MIN_WINDOW,
    QUESTIONS,
    backends,
    evaluate,
    gold_query,
    load_questions,
    window,
)
from tests.backends.plugin import PrometheusBackend
from tests.doubles.loki import LokiDouble
from tests.doubles.loki.world import world_records

OTHER_TOOLS = ("health", "impact", "alerts", "general")  # answered by another tool: no query
HOST_MATCHER = re.compile(r'instance=~"node-[12]\(:\[0-9\]\+\)\?"')
NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def loki(prometheus: PrometheusBackend) -> Iterator[LokiDouble]:
    with LokiDouble(world_records(prometheus.world)) as double:
        yield double


def test_every_line_is_a_question_with_the_required_fields() -> None:
    lines = [line for line in QUESTIONS.read_text().splitlines() if line.strip()]
    for n, line in enumerate(lines, 1):
        row = json.loads(line)
        assert set(row) == set(FIELDS), f"line {n}: fields {sorted(row)}"
        assert row["intent"] in INTENTS, f"line {n}: intent {row['intent']}"
        assert row["kind"] in ("instant", "range"), f"line {n}: kind {row['kind']}"
        assert row["language"] in ("promql", "logql", None), f"line {n}: language {row['language']}"
        assert isinstance(row["question"], str) and row["question"].strip(), f"line {n}: no question"
        assert (row["gold"] is None) == (row["language"] is None), f"line {n}: gold and language disagree"
        assert (row["gold"] is None) == (row["intent"] in OTHER_TOOLS), f"line {n}: gold for {row['intent']}"
        window(row["time_range"], NOON)  # parses
    assert len(load_questions()) == len(lines)


def test_ids_are_unique_and_every_intent_is_covered() -> None:
    questions = load_questions()
    ids = Counter(q.id for q in questions)
    assert not [i for i, n in ids.items() if n > 1], "duplicate ids"
    assert len(questions) >= 150
    per_intent = Counter(q.intent for q in questions)
    assert all(per_intent[intent] >= 8 for intent in INTENTS), per_intent


def test_gold_queries_parse_and_follow_the_house_style() -> None:
    for q in load_questions():
        if q.gold is None:
            continue
        gold = gold_query(q, window("last 1h", NOON))
        assert gold is not None
        if q.language == "promql":
            validate_promql(gold)
            assert set(re.findall(r"rate\([^\[]*\[(\w+)\]", gold)) <= {"5m"}, f"{q.id}: rate window"
            if "node_" in gold:
                assert HOST_MATCHER.search(gold), f"{q.id}: host matcher"
        else:
            parse_logql(gold)


@pytest.mark.anyio
async def test_every_gold_query_returns_data(prometheus: PrometheusBackend, loki: LokiDouble) -> None:
    """An empty gold answer cannot tell a right translation from a wrong one."""
    end, empty = prometheus.world.end, []
    async with backends(prometheus.url, loki.url, end) as b:
        for q in load_questions():
            span = window(q.time_range, end)
            gold = gold_query(q, span)
            if gold is None or span.end - span.start < MIN_WINDOW:  # "today" just after midnight
                continue
            assert q.language is not None
            if (await b.run(q.language, gold, q.kind, span)).empty:
                empty.append(f"{q.id}: {gold} over {q.time_range}")
    assert not empty, "gold queries without data:\n" + "\n".join(empty)


def translator_ready() -> bool:
    if importlib.util.find_spec("aiops_mcp.translate") is None:
        return False
    import aiops_mcp.translate as translate

    return hasattr(translate, "translate") and hasattr(translate, "Catalog")


@pytest.mark.anyio
@pytest.mark.skipif(not translator_ready(), reason="aiops_mcp.translate does not exist yet")
async def test_the_rules_translator_answers_like_the_gold(
    prometheus: PrometheusBackend, loki: LokiDouble
) -> None:
    report = await evaluate(load_questions(), prometheus.url, loki.url, prometheus.world.end)
    misses = "\n".join(
        f"{o.id} {o.question!r}: {o.why}\n  got  {o.produced}\n  want {o.gold}" for o in report.misses
    )
    assert report.accuracy >= 0.90, f"accuracy {report.accuracy:.1%}, misses:\n{misses}"
