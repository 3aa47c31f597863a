"""Hypothesis strategies for the bad-input campaign: hostile text, and arguments drawn from a JSON schema.

`arguments(schema)` covers the subset of JSON Schema the tools' input schemas use (``type``, also
as a list, ``anyOf``, ``enum``, ``minimum``, ``maximum``, ``maxLength``, ``items``, ``properties``,
``required``): values that fit the schema, values just outside it, values of the wrong type,
missing required keys and unknown extra keys. Strings are drawn from `hostile_text`, mixed with
plausible values chosen by the property's name (`PLAUSIBLE`), so that calls also get past
argument checks and reach the datasources.
"""

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the working tree
    derandomize=os.environ.get("CI") == "true",  # CI runs are reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""The settings every fuzz test starts from."""


def fuzz(examples: int) -> settings:
    """`FUZZ` with this many examples (the folder's wall time is the sum of these)."""
    return settings(FUZZ, max_examples=examples)


INJECTIONS = (
    '"} or vector(1) or {a="',
    '"} or vector(1)',
    "` or vector(1) or {a=`",
    "'} or vector(1) or {a='",
    '\\"} or vector(1) or {a=\\"',
    'x", app=~".*',
    'abc-app"}) or on() vector(1) #',
    '{__name__=~".+"}',
    "}|= `x` or {a=`b",
)
"""Text that would change a query if it were pasted into one unescaped."""

REGEX_BOMBS = ("(a+)+$", "(a|a)*$", "(.*a){20}", "((a*)*)*b", "(?:x+x+)+y", "a{1000}{1000}", "\\")
REGEX = (".*", ".+", "^$", "[", "(", "a|b", "[[:alpha:]]", "\\d+", "(?i)ABC", "\\p{L}")
PUNCTUATION = ('"', "'", "`", "{", "}", "(", ")", "[", "]", "\\", "\n", "\r\n", "\t", "\x00", "|", "=~", "!~")
TIME_PHRASES = (
    "last 1h", "last 24h", "yesterday", "today", "last 99999d", "last 0h", "last -1h", "last 1M",
    "last 1y", "since 14:00", "between 23:00 and 01:00", "between 15:00 and 14:00", "now-1h", "now+1h",
    "2h ago", "1970-01-01", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-13-40", "25:99",
    "1795496400", "99999999999999999999", "1e309", "NaN", "-1", "0", "", " ", "last 1h Mars/Olympus",
    "from now-2h to now-3h", "last 168h", "last 169h", "last 0.0000001s",
)  # fmt: skip
NUMBER_TEXT = ("NaN", "nan", "inf", "-inf", "1e309", "-0", "0x10", "9" * 40, "1_000", "½", "٣")


@st.composite
def _mangled(draw: st.DrawFn, base: str) -> str:
    """`base` with a hostile piece inserted at a random place."""
    piece = draw(st.sampled_from((*INJECTIONS, *PUNCTUATION, *REGEX_BOMBS)))
    at = draw(st.integers(0, len(base)))
    return base[:at] + piece + base[at:]


def hostile_text() -> st.SearchStrategy[str]:
    """Strings meant to break parsers, escaping, time handling and budgets."""
    small = st.sampled_from((*INJECTIONS, *REGEX_BOMBS, *REGEX, *PUNCTUATION, *TIME_PHRASES, *NUMBER_TEXT))
    huge = st.tuples(small, st.integers(200, 10_240)).map(lambda pair: (pair[0] * pair[1])[: pair[1]])
    return st.one_of(
        small,
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.lists(small, min_size=2, max_size=5).map("".join),
        huge,
    )


APPS = ("abc-app", "abc", "checkout", "payments", "xyz-service", "ABC-APP", " abc-app ")
PROMQL = (
    "up",
    'up{app="abc-app"}',
    "sum by (app) (rate(http_requests_total[5m]))",
    'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{app="abc-app"}[5m])))',
    'rate(http_requests_total{status=~"5.."}[1m])',
    "node_cpu_seconds_total[5m]",
    "vector(1)",
    "1 + 1",
    'topk(3, process_resident_memory_bytes{app=~".+"})',
)
LOGQL = (
    '{app="abc-app"}',
    '{app="abc-app", env="prod"} |= "timeout"',
    '{app="abc-app"} | logfmt | level="error"',
    '{app=~".+"} |~ "(a+)+$"',
    'sum by (level) (count_over_time({app="abc-app"}[5m]))',
    'rate({app="abc-app"} |= "error" [1m])',
    '{app="abc-app"} | json | line_format "{{.msg}}"',
)
QUESTIONS = (
    "Was abc app healthy yesterday?",
    "How many events were created for the abc app in the last 24 hours?",
    "Was the server impacted during the last incident?",
    "Show me CPU usage trends for service abc-app",
    "What were the error rates when the alert fired?",
    "Find all errors containing 'database timeout'",
    "Compare error rates between prod and staging",
    "p95 latency of abc today",
    "hello",
)
WINDOWS = ("last 1h", "last 6h", "last 24h", "yesterday", "today", "since 14:00", "2h", "last 7d")
PLAUSIBLE: dict[str, tuple[str, ...]] = {
    "query": (*PROMQL, *LOGQL),
    "match": PROMQL[:3],
    "selector": LOGQL[:2],
    "app": APPS,
    "label": ("app", "env", "level", "__name__", "job", "instance"),
    "host": ("node-1", "node-2", "node-9"),
    "question": QUESTIONS,
    "datasource": ("prometheus", "loki"),
    "step": ("1m", "15s", "5m", "1h30m"),
    "text": ("timeout", "database timeout", "ERROR", "é"),
    "search": ("http", "up", "_total"),
    "time_range": WINDOWS,
    **dict.fromkeys(("start", "end", "time"), ("now-2h", "now-1h", "now", "yesterday 14:30")),
}
"""Values that pass the tools' checks, by property name: they take calls to the datasources."""
BY_FAMILY: dict[str, dict[str, tuple[str, ...]]] = {
    "prometheus_": {"query": PROMQL, "datasource": ("prometheus",)},
    "loki_": {"query": LOGQL, "datasource": ("loki",)},
}


def plausible_for(tool: str) -> dict[str, tuple[str, ...]]:
    """`PLAUSIBLE`, with the queries and datasource names of the tool's family (by name prefix)."""
    family = next((extra for prefix, extra in BY_FAMILY.items() if tool.startswith(prefix)), {})
    return PLAUSIBLE | family


ODD: dict[str, tuple[str, ...]] = {
    "label": ("..", ".", "a/b", "%2e%2e", "app?x=1", "__name__/../x"),
    "datasource": ("missing", "PROMETHEUS", "loki", "prometheus"),
    "step": ("0s", "1ms", "-1m", "99999d", "5x", "1e3s"),
    "direction": ("sideways", "BACKWARD"),
    "url": ("ftp://127.0.0.1:9", "127.0.0.1:9", "http:/127.0.0.1:9", "", 'http://127.0.0.1:9/"} or {'),
}
"""Values that look right but are not, by property name."""


Hints = dict[str, tuple[str, ...]]


def plausible_text(name: str, hints: Hints) -> st.SearchStrategy[str]:
    """A value that passes the checks for a property of this name; short text when unknown."""
    known = hints.get(name)
    return st.sampled_from(known) if known else st.text(max_size=20)


def hostile_text_for(name: str, hints: Hints) -> st.SearchStrategy[str]:
    """Hostile text, a plausible value with a hostile piece inserted, or an odd one (for a URL,
    only odd ones: a mangled URL could name a host beyond loopback)."""
    if name == "url":
        return st.sampled_from(ODD["url"])
    base = hints.get(name)
    mangled = [st.sampled_from(base).flatmap(_mangled)] if base else []
    odd = [st.sampled_from(ODD[name])] if name in ODD else []
    return st.one_of(hostile_text(), *mangled, *odd)


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value (what a wrong type is drawn from)."""


def value_of(
    schema: dict[str, Any], name: str = "", *, hostile: bool = False, hints: Hints = PLAUSIBLE
) -> st.SearchStrategy[Any]:
    """A value that fits `schema` (strings from `hints` by name); with `hostile`, usually one that
    is wrong in some way."""
    if "enum" in schema:
        fitting = st.sampled_from(schema["enum"])
        return st.one_of(fitting, hostile_text_for(name, hints), JSON) if hostile else fitting
    if "anyOf" in schema:
        return st.one_of(
            *(value_of(option, name, hostile=hostile, hints=hints) for option in schema["anyOf"])
        )
    kinds = schema.get("type", "string")
    if isinstance(kinds, list):
        return st.one_of(
            *(value_of({**schema, "type": kind}, name, hostile=hostile, hints=hints) for kind in kinds)
        )
    wrong = [JSON] if hostile else []
    if kinds == "string":
        if not hostile:
            return plausible_text(name, hints)
        longest = schema.get("maxLength")
        over = [st.just("x" * (longest + 1))] if longest is not None else []
        return st.one_of(hostile_text_for(name, hints), *over, *wrong)
    if kinds in ("integer", "number"):
        return st.one_of(_number(schema, integer=kinds == "integer", hostile=hostile), *wrong)
    if kinds == "boolean":
        return st.one_of(st.booleans(), *wrong)
    if kinds == "null":
        return st.none()
    if kinds == "array":
        items = value_of(schema.get("items", {}), name, hostile=hostile, hints=hints)
        return st.one_of(st.lists(items, max_size=4), *wrong)
    if kinds == "object" and "properties" in schema:
        return st.one_of(arguments(schema, hints, fitting=not hostile), *wrong)
    if kinds == "object" and isinstance(schema.get("additionalProperties"), dict):
        keys = hostile_text_for("label", hints) if hostile else plausible_text("label", hints)
        values = value_of(schema["additionalProperties"], name, hostile=hostile, hints=hints)
        return st.one_of(st.dictionaries(keys, values, max_size=4), *wrong)
    return JSON


def inline_refs(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """`schema` with every local `$ref` ("#/$defs/X", or "#/components/schemas/X" with `defs`)
    replaced by its definition (the schemas fuzzed here are not recursive)."""
    defs = schema.get("$defs", {}) if defs is None and isinstance(schema, dict) else defs or {}
    if isinstance(schema, list):
        return [inline_refs(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return inline_refs(defs[ref.rsplit("/", 1)[-1]], defs)
    return {key: inline_refs(value, defs) for key, value in schema.items() if key != "$defs"}


def _number(schema: dict[str, Any], *, integer: bool, hostile: bool) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    fitting = (
        st.integers(low if low is not None else 0, high if high is not None else 50)
        if integer
        else st.floats(low, high, allow_nan=False, allow_infinity=False)
    )
    if not hostile:
        return fitting
    edges = [v for bound in (low, high) if bound is not None for v in (bound - 1, bound + 1)]
    odd = st.sampled_from((*edges, 2**63, -(2**63), 10**30, -1, 0, 0.5, float("nan"), float("inf")))
    return st.one_of(odd, odd, odd, st.floats(), st.integers())


@st.composite
def arguments(
    draw: st.DrawFn, schema: dict[str, Any], hints: Hints = PLAUSIBLE, *, fitting: bool = False
) -> dict[str, Any]:
    """Arguments for an object schema, in one of three moods: all fitting (calls that reach the
    datasources), one hostile value among fitting ones, or hostile throughout (wrong types,
    a required key left out, an unknown key). `fitting` asks for the first mood only."""
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    chosen = [name for name in properties if name in required or draw(st.booleans())]
    mood = "fitting" if fitting else draw(st.sampled_from(("fitting", "one hostile", "hostile")))
    spoiled = set(chosen) if mood == "hostile" else set()
    if mood == "one hostile" and chosen:
        spoiled = {draw(st.sampled_from(chosen))}
    out = {
        name: draw(value_of(properties[name], name, hostile=name in spoiled, hints=hints)) for name in chosen
    }
    if mood == "hostile":
        if required and draw(st.booleans()):
            out.pop(draw(st.sampled_from(sorted(required))), None)
        if draw(st.booleans()):
            out[draw(st.sampled_from(("unknown", "ctx", "__proto__", "")))] = draw(JSON)
    return out
