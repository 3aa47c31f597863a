"""Injection through app names, label values, labels and filter text: escaped, never interpreted.

Hostile values (quotes, braces, backticks, backslashes, ``"} or vector(1) or {a="``, regex
metacharacters and bombs, control characters, unicode) travel through the tools that take
them. Each call is refused with a clear error, or every query it shows in its provenance parses
to matchers whose values equal the input exactly, and the requests that reached the backends
are the same as for a plain value in its place: the executed query is exactly the intended one.

Prometheus is the session's real one; logs come from the Loki double (Grafana Loki cannot run
here; the double answers in the shapes recorded from a real Loki 3.4.2). Both are reached through
proxies that record every request as it was sent.
"""

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult

from aiops_mcp.demo.seed import PROFILES
from aiops_mcp.demo.world import World
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.promql import escape_label_value, selector, validate_promql
from aiops_mcp.store import ProfileIn
from tests.backends.plugin import PrometheusBackend
from tests.fuzz.checks import HANG_GUARD, assert_clear_error, unlimited
from tests.fuzz.recording import RecordingProxy
from tests.fuzz.strategies import INJECTIONS, PUNCTUATION, REGEX, REGEX_BOMBS, fuzz
from tests.tools.conftest import connected, seeded_settings, text_of

pytestmark = pytest.mark.anyio
PLAIN = "plain-value"
"""The value whose queries every hostile value's queries are compared with."""
Matchers = tuple[tuple[str, str, str], ...]

LOOKALIKES = ("\\u0041", "\\x41", "\\101", "\\n", "\\\\", "$1", "${1}", "%s", "\ufffd", "\u2028", "\r", "\t")
HOSTILE = st.one_of(
    st.sampled_from((*INJECTIONS, *REGEX_BOMBS, *REGEX, *PUNCTUATION, *LOOKALIKES)),
    st.lists(
        st.sampled_from((*INJECTIONS, *PUNCTUATION, *LOOKALIKES, "abc-app", " ")), min_size=2, max_size=6
    ).map("".join),
    st.text(min_size=1, max_size=30),
    # Long, but short enough that the checks here can parse the queries (PromQL is cut at 8 KiB).
    st.tuples(st.sampled_from(INJECTIONS), st.integers(10, 80)).map(lambda pair: pair[0] * pair[1]),
).filter(lambda value: value.strip() != "")
"""Label values and texts that would change a query if pasted into it unescaped."""
VECTOR_ONE = re.compile(r"\bvector\s*\(\s*1\s*\)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'', re.DOTALL)


@dataclass(repr=False)
class Backends:
    """A connected client and what each backend was asked."""

    client: Client
    prometheus: RecordingProxy
    loki: RecordingProxy
    store: Any
    plain: dict[str, Any] = field(default_factory=dict)
    """The plain value's answers and requests, by tool (computed once)."""

    def __repr__(self) -> str:  # Hypothesis shows the fixtures of a failing example
        return f"Backends(prometheus={self.prometheus.url}, loki={self.loki.url})"

    def asked(self) -> tuple[int, int]:
        return len(self.prometheus.asked), len(self.loki.asked)

    def paths_since(self, mark: tuple[int, int]) -> tuple[list[str], list[str]]:
        """The paths (as sent: percent-encoded) asked of Prometheus and of Loki since `mark`."""
        return (
            [asked.path for asked in self.prometheus.asked[mark[0] :]],
            [asked.path for asked in self.loki.asked[mark[1] :]],
        )

    def queries_since(self, mark: tuple[int, int], *, executed: bool = False) -> list[tuple[str, str]]:
        """(language, query) of every request since `mark`, for the parameters that carry one;
        with `executed`, only the query endpoints' (not the listings')."""
        prometheus = [
            ("promql", value)
            for asked in self.prometheus.asked[mark[0] :]
            if not executed or asked.path in ("/api/v1/query", "/api/v1/query_range")
            for name, value in asked.params
            if name in ("query", "match[]")
        ]
        loki = [
            ("logql", value)
            for asked in self.loki.asked[mark[1] :]
            if not executed or asked.path in ("/loki/api/v1/query", "/loki/api/v1/query_range")
            for name, value in asked.params
            if name == "query"
        ]
        return prometheus + loki


@pytest.fixture
async def backends(
    prometheus: PrometheusBackend,
    recorded_prometheus: RecordingProxy,
    recorded_loki: RecordingProxy,
    tmp_path: Path,
) -> AsyncIterator[Backends]:
    world = prometheus.world
    seeded = await seeded_settings(
        tmp_path,
        recorded_prometheus.url,
        world.end,
        profile(PLAIN),
        loki_url=recorded_loki.url,
        aiops_mcp_redact=False,
    )
    settings = unlimited(seeded).model_copy(update={"query_cache_ttl_seconds": 0})  # every call asks
    async with connected(settings, now=world.end) as (client, runtime):
        yield Backends(client, recorded_prometheus, recorded_loki, await runtime.store())


def profile(value: str, name: str = "fuzz-plain") -> ProfileIn:
    """abc-app's profile under another name, selecting its series and streams by `fuzz=value`."""
    like = PROFILES[0]
    return ProfileIn(
        name=name,
        service_mappings={"metrics": {"fuzz": value, "env": "prod"}, "logs": {"fuzz": value}},
        default_metrics=like["default_metrics"],
        slos=like["slos"],
    )


async def call(client: Client, tool: str, args: dict[str, Any]) -> CallToolResult:
    with anyio.fail_after(HANG_GUARD):
        return await client.call_tool(tool, args)


def matchers(language: str, query: str) -> Matchers:
    """Every label matcher of every selector in `query`, sorted; (name, op, value)."""
    if language == "promql":
        info = validate_promql(query)
        found = [
            (m.name, m.op, m.value)
            for s in info.selectors
            for group in (s.matchers, *s.or_matchers)
            for m in group
        ]
        found += [("__name__", "=", name) for name in info.metric_names]
    else:
        found = [(m.name, m.op, m.value) for m in parse_logql(query).matchers]
    return tuple(sorted(found))


def provenances(node: Any) -> Iterator[tuple[str, str]]:
    """(language, query) of every provenance in a structured result."""
    if isinstance(node, dict):
        if isinstance(node.get("query"), str) and node.get("datasource_type") in ("prometheus", "loki"):
            yield ("promql" if node["datasource_type"] == "prometheus" else "logql"), node["query"]
        for value in node.values():
            yield from provenances(value)
    elif isinstance(node, list):
        for item in node:
            yield from provenances(item)


def assert_no_vector_one_outside_strings(queries: list[tuple[str, str]]) -> None:
    for _, query in queries:
        assert not VECTOR_ONE.search(STRING.sub('""', query)), f"injected vector(1) in {query!r}"


def signature(queries: list[tuple[str, str]], value: str) -> list[tuple[str, Matchers]]:
    """The queries' matchers with `value` put back as `PLAIN` and checked: equal to the value,
    exactly, wherever the `fuzz` label is matched."""
    out = []
    for language, query in queries:
        found = matchers(language, query)
        for name, op, matched in found:
            if name == "fuzz":
                assert (op, matched) == ("=", value), f"{query!r} matches fuzz{op}{matched!r}, not {value!r}"
        out.append((language, tuple((n, o, PLAIN if n == "fuzz" else v) for n, o, v in found)))
    return sorted(out)


ANSWER_TOOLS: dict[str, dict[str, Any]] = {
    "app_health": {"time_range": "last 1h"},
    "app_events": {"time_range": "last 1h"},
    "incident_impact": {"time_range": "last 1h"},
    "investigation_context": {},
}


async def run_answer_tool(backends: Backends, tool: str, app: str) -> tuple[CallToolResult, list, list]:
    """A tool's result, the queries its provenance shows and the queries sent, for `app`."""
    mark = backends.asked()
    result = await call(backends.client, tool, {"app": app, **ANSWER_TOOLS[tool]})
    shown = list(provenances(result.structured_content)) if not result.is_error else []
    return result, shown, backends.queries_since(mark)


@fuzz(25)
@given(value=HOSTILE)
async def test_hostile_label_values_in_a_profile_are_matched_exactly_never_run_as_query_text(
    backends: Backends, value: str
) -> None:
    name = f"fuzz-{abs(hash(value)) % 10**8}"
    await backends.store.profiles.save(profile(value, name))
    for tool in ANSWER_TOOLS:
        if tool not in backends.plain:
            plain, plain_shown, plain_sent = await run_answer_tool(backends, tool, "fuzz-plain")
            assert not plain.is_error, text_of(plain)
            backends.plain[tool] = (signature(plain_shown, PLAIN), signature(plain_sent, PLAIN))
        result, shown, sent = await run_answer_tool(backends, tool, name)
        assert_no_vector_one_outside_strings(sent)
        if result.is_error:
            assert_clear_error(tool, text_of(result), f"{tool} for {value!r}")
            continue
        assert (signature(shown, value), signature(sent, value)) == backends.plain[tool], tool


@fuzz(60)
@given(value=HOSTILE)
async def test_a_hostile_label_value_reaches_prometheus_as_exactly_that_value(
    backends: Backends, prometheus: PrometheusBackend, value: str
) -> None:
    # absent() answers with the labels of its selector's equality matchers, as Prometheus read them.
    query = f"absent({selector('fuzz_no_such_metric', {'fuzz': value})})"
    mark = backends.asked()
    result = await call(backends.client, "prometheus_query", {"query": query, "time": iso(prometheus.world)})
    sent = backends.queries_since(mark)
    if result.is_error:
        assert_clear_error("prometheus_query", text_of(result), repr(value))
        return
    assert result.structured_content is not None
    assert [s["labels"] for s in result.structured_content["series"]] == [{"fuzz": value}]
    assert [matchers(*q) for q in sent] == [(("__name__", "=", "fuzz_no_such_metric"), ("fuzz", "=", value))]


def iso(world: World) -> str:
    return world.end.isoformat()


@fuzz(40)
@given(value=HOSTILE)
async def test_hostile_app_names_are_refused_before_any_query(backends: Backends, value: str) -> None:
    for tool, args in ANSWER_TOOLS.items():
        mark = backends.asked()
        result = await call(backends.client, tool, {"app": value, **args})
        assert backends.queries_since(mark) == [], f"{tool} queried for the unknown app {value!r}"
        assert result.is_error, f"{tool} answered for the unknown app {value!r}"
        assert_clear_error(tool, text_of(result), repr(value))
        assert "no application" in text_of(result)


@fuzz(40)
@given(value=HOSTILE)
async def test_hostile_label_names_and_values_in_label_listings_stay_what_was_asked(
    backends: Backends, value: str
) -> None:
    label_path = quote(value, safe="")
    mark = backends.asked()
    by_label = await call(backends.client, "prometheus_list_labels", {"label": value})
    if by_label.is_error:
        assert_clear_error("prometheus_list_labels", text_of(by_label), repr(value))
    assert set(backends.paths_since(mark)[0]) <= {f"/api/v1/label/{label_path}/values"}

    match = f'up{{app="{escape_label_value(value)}"}}'
    mark = backends.asked()
    by_match = await call(backends.client, "prometheus_list_labels", {"match": match})
    sent = backends.queries_since(mark)
    if by_match.is_error:
        assert_clear_error("prometheus_list_labels", text_of(by_match), repr(value))
    assert [matchers(*q) for q in sent] in ([], [(("__name__", "=", "up"), ("app", "=", value))])

    mark = backends.asked()
    logs = await call(backends.client, "loki_list_labels", {"label": value, "selector": '{app="abc-app"}'})
    if logs.is_error:
        assert_clear_error("loki_list_labels", text_of(logs), repr(value))
    wanted = {f"/loki/api/v1/label/{label_path}/values", "/loki/api/v1/index/volume"}
    assert set(backends.paths_since(mark)[1]) <= wanted


@fuzz(30)
@given(value=HOSTILE)
async def test_hostile_event_text_is_one_line_filter_of_exactly_that_text(
    backends: Backends, value: str
) -> None:
    mark = backends.asked()
    result = await call(
        backends.client, "app_events", {"app": "abc-app", "time_range": "last 1h", "text": value}
    )
    sent = backends.queries_since(mark, executed=True)
    assert_no_vector_one_outside_strings(sent)
    if result.is_error:
        assert_clear_error("app_events", text_of(result), repr(value))
    for language, query in sent:
        if language == "logql":
            filters = [(f.op, f.values) for f in parse_logql(query).line_filters]
            assert filters == [("|=", (value,))], query


@fuzz(40)
@given(
    value=HOSTILE,
    template=st.sampled_from(("error rate of {} in the last 1h", "logs of app {} containing {}")),
)
async def test_hostile_questions_run_exactly_the_query_they_show(
    backends: Backends, value: str, template: str
) -> None:
    question = template.format(value, value)[:2000]
    mark = backends.asked()
    result = await call(backends.client, "translate_query", {"question": question, "run": True})
    sent = backends.queries_since(mark)
    assert_no_vector_one_outside_strings(sent)
    if result.is_error:
        assert_clear_error("translate_query", text_of(result), repr(question))
        return
    content = result.structured_content
    assert content is not None
    if content["query"]:
        language = content["language"]
        try:
            matchers(language, content["query"])
        except QueryInputError as error:
            raise AssertionError(f"the translation {content['query']!r} does not parse: {error}") from None
    shown = {
        matchers(*q) for q in provenances({k: content[k] for k in ("metrics", "logs") if content.get(k)})
    }
    executed = backends.queries_since(mark, executed=True)
    assert {matchers(*q) for q in executed} <= shown, (executed, shown)
