"""Entities: apps by name, alias or typo (on word boundaries), hosts, instances, envs, time phrases,
aggregations, quoted text and levels."""

from datetime import timedelta

import pytest

from aiops_mcp.query.timerange import parse_time_range
from aiops_mcp.translate import AppRef, Catalog, TranslationError
from aiops_mcp.translate.entities import extract
from aiops_mcp.translate.text import extract_quoted
from aiops_mcp.translate.timephrase import count_window, find_time, format_window
from tests.translate.world import BARE, CATALOG, NOW, ask


@pytest.mark.parametrize(
    ("question", "app", "match"),
    [
        ("latency of abc-app", "abc-app", "named"),
        ("latency of ABC", "abc-app", "named"),
        ("latency of the abc app", "abc-app", "named"),
        ("abc's latency", "abc-app", "named"),
        ("latency of the checkout service", "checkout", "named"),
        ("payments latency", "checkout", "named"),
        ("latency of abc-ap", "abc-app", "fuzzy"),
        ("latency of chekout", "checkout", "fuzzy"),
        ("paymnts latency", "checkout", "fuzzy"),
        ("latency of abcapp", "abc-app", "fuzzy"),
        ("latency of abc-2", "abc-app", "instance"),
        ("error rate of abcdef", None, "none"),
        ("error rate of xabc", None, "none"),
    ],
)
def test_apps_by_name_alias_typo_or_instance(question: str, app: str | None, match: str) -> None:
    ex = extract(question, CATALOG)
    assert (ex.entities.app, ex.app_match) == (app, match)


def test_a_short_name_is_not_found_inside_a_longer_word() -> None:
    abc, abcdef = (AppRef(n, {"app": n}, {"app": n}) for n in ("abc", "abcdef"))
    both = Catalog(apps=(abc, abcdef))
    assert ask("latency of abcdef", both).entities.app == "abcdef"
    assert ask("latency of abc", both).entities.app == "abc"
    only_abc = Catalog(apps=(abc, AppRef("web", {"app": "web"}, {"app": "web"})))
    with pytest.raises(TranslationError, match="no application 'abcdef'"):
        ask("latency of abcdef", only_abc)


def test_fuzzy_matches_lower_the_confidence() -> None:
    assert ask("error rate of abc-app").confidence == 0.9
    assert ask("error rate of abc-ap").confidence == 0.75
    assert ask("error rate of abc-2").confidence == 0.8


@pytest.mark.parametrize(
    ("question", "host", "instance"),
    [
        ("cpu of node-1", "node-1", None),
        ("cpu of NODE-2", "node-2", None),
        ("cpu of node-1:9100", "node-1", None),
        ("error rate of abc-2", None, "abc-2:8080"),
        ("error rate of abc-2:8080", None, "abc-2:8080"),
        ("error rate of checkout-1", None, "checkout-1:8080"),
        ("error rate of abc-staging-1", None, "abc-staging-1:8080"),
        ("error rate of abc since 14:30", None, None),  # a time of day is not an instance
    ],
)
def test_hosts_and_instances(question: str, host: str | None, instance: str | None) -> None:
    entities = extract(question, CATALOG).entities
    assert (entities.host, entities.instance) == (host, instance)


def test_without_known_instances_one_with_a_port_is_taken_as_written() -> None:
    assert ask("error rate of abc-2:8080", BARE).entities.instance == "abc-2:8080"
    with pytest.raises(TranslationError, match="give it with its port"):
        ask("error rate of abc-2", BARE)


@pytest.mark.parametrize(
    ("question", "env"),
    [
        ("error rate of abc in staging", "staging"),
        ("error rate of abc in stage", "staging"),
        ("error rate of abc in production", "prod"),
        ("abc prod error rate", "prod"),
        ("error rate of abc-staging-1", "staging"),  # the instance's name says it
        ("error rate of abc", None),
    ],
)
def test_envs(question: str, env: str | None) -> None:
    assert ask(question).entities.env == env


def test_an_unknown_env_raises_with_the_known_ones() -> None:
    with pytest.raises(TranslationError, match="no environment 'dev'") as info:
        ask("error rate of abc in dev")
    assert info.value.suggestions == ["prod", "staging"]
    assert ask("error rate of abc in dev", BARE).entities.env == "dev"  # env values unknown: as named


@pytest.mark.parametrize(
    ("question", "time_range"),
    [
        ("error rate of abc over the last 24 hours", "last 24h"),
        ("error rate of abc over the past day", "last 24h"),
        ("error rate of abc in the last 24h", "last 24h"),
        ("error rate of abc for the last 30 minutes", "last 30m"),
        ("error rate of abc in the past two hours", "last 2h"),
        ("error rate of abc last hour", "last 1h"),
        ("error rate of abc over the last 90 mins", "last 90m"),
        ("error rate of abc over the last 1.5 hours", "last 1h30m"),
        ("error rate of abc over the last 48 hours", "last 48h"),
        ("error rate of abc over the last 2 days", "last 2d"),
        ("error rate of abc over the last 2 weeks", "last 14d"),
        ("error rate of abc yesterday", "yesterday"),
        ("error rate of abc today", "today"),
        ("error rate of abc this week", "this week"),
        ("error rate of abc over the past week", "last 7d"),
        ("error rate of abc since 09:00", "since 09:00"),
        ("error rate of abc since midnight", "today"),
        (
            "error rate of abc between 14:00 and 15:00 yesterday",
            "between yesterday 14:00 and yesterday 15:00",
        ),
        ("error rate of abc from 2pm to 3pm", "between 2pm and 3pm"),
        ("error rate of abc", "last 1h"),
    ],
)
def test_time_phrases_become_parseable_ranges(question: str, time_range: str) -> None:
    t = ask(question)
    assert t.time_range == time_range
    parse_time_range(t.time_range, now=NOW, max_range=timedelta(days=31))


@pytest.mark.parametrize(
    "question",
    [
        "error rate of abc during the incident",
        "latency of abc when the alert fired",
        "cpu of node-1 during the outage",
    ],
)
def test_incident_references(question: str) -> None:
    t = ask(question)
    assert (t.time_reference, t.time_range, t.kind) == ("last_incident", "last 1h", "range")
    assert t.intent == "metrics"  # "alert" in the reference does not make it an alerts question


def test_count_windows() -> None:
    phrase, _ = find_time("today")
    assert count_window(phrase, "today", NOW) == "12h"
    phrase, _ = find_time("since 10:30")
    assert count_window(phrase, "since 10:30", NOW) == "1h30m"
    assert find_time("yesterday")[0].window == "24h"
    assert [format_window(s) for s in (86400, 172800, 1800, 5400, 45)] == ["24h", "2d", "30m", "1h30m", "45s"]


@pytest.mark.parametrize(
    ("question", "aggregation"),
    [
        ("p50 latency of abc", "p50"),
        ("p90 latency of abc", "p90"),
        ("99th percentile latency of abc", "p99"),
        ("percentile 95 latency of abc", "p95"),
        ("median latency of abc", "p50"),
        ("average latency of abc", "avg"),
        ("max latency of abc", "max"),
        ("request rate of abc", "rate"),
        ("latency of abc", None),
    ],
)
def test_aggregations(question: str, aggregation: str | None) -> None:
    assert ask(question).entities.aggregation == aggregation


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("logs of abc with 'database timeout'", "database timeout"),
        ('logs of abc with "database timeout"', "database timeout"),
        ("logs of abc with “database timeout”", "database timeout"),
        ("logs of abc with ‘database timeout’", "database timeout"),
        ("abc's logs with 'don't panic'", "don't panic"),
        ("logs of abc with 'say \"hi\"'", 'say "hi"'),
        ('logs of abc with "say \\"hi\\""', 'say "hi"'),
        ('logs of abc with “he said "no"”', 'he said "no"'),
        ("logs of abc with 'a\\b'", "a\\b"),
        ("logs of abc containing timeout", "timeout"),
        ("logs of abc containing OutOfMemoryError", "OutOfMemoryError"),
        ("logs of abc containing errors", None),  # a level, not a text
    ],
)
def test_quoted_text(question: str, text: str | None) -> None:
    assert ask(question).entities.text == text


def test_quoted_text_keeps_case_and_inner_spaces_and_hides_its_words() -> None:
    text, masked = extract_quoted("errors of abc containing 'Alert  Fired in CHECKOUT'")
    assert text == "Alert  Fired in CHECKOUT"
    assert "CHECKOUT" not in masked
    t = ask("errors of abc containing 'alert fired in checkout'")
    assert (t.intent, t.entities.app) == ("logs", "abc-app")  # the quote names neither an alert nor an app


@pytest.mark.parametrize(
    ("question", "level"),
    [("show errors of abc", "error"), ("show warnings of abc", "warn"), ("show abc logs", None)],
)
def test_levels(question: str, level: str | None) -> None:
    assert ask(question).entities.level == level
