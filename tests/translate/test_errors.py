"""Errors with the closest real names, defaults among alternatives, and the confidence score."""

import pytest

from aiops_mcp.demo.seed import PROFILES
from aiops_mcp.translate import Catalog, TranslationError, catalog_from_profiles
from tests.translate.world import (
    ABC,
    CATALOG,
    INSTANCES,
    METRICS,
    NODE1,
    ask,
    host_memory,
    latency_avg,
    quantile,
)

LIVE = set(METRICS)


def with_metrics(names: set[str]) -> Catalog:
    return catalog_from_profiles(PROFILES, metric_names=names, label_values={"instance": INSTANCES})


def test_an_unknown_app_lists_the_known_ones_closest_first() -> None:
    with pytest.raises(TranslationError, match="no application 'chekout-api'") as info:
        ask("error rate of chekout-api")
    assert info.value.suggestions == ["checkout", "abc-app"]
    with pytest.raises(TranslationError, match="no application 'foo'") as info:
        ask("p95 latency of the foo service")
    assert set(info.value.suggestions) == {"abc-app", "checkout"}


@pytest.mark.parametrize("question", ["latency", "show me the error logs", "how many events yesterday"])
def test_a_question_that_needs_an_app_and_names_none_lists_the_apps(question: str) -> None:
    with pytest.raises(TranslationError, match="which application") as info:
        ask(question)
    assert info.value.suggestions == ["abc-app", "checkout"]


def test_with_a_single_app_it_is_the_default_with_a_lower_confidence() -> None:
    only = catalog_from_profiles(PROFILES[:1])
    t = ask("error rate over the last hour", only)
    assert t.entities.app == "abc-app"
    assert t.query == ask("error rate of abc over the last hour").query
    assert t.confidence == 0.8


def test_host_questions_need_no_app() -> None:
    t = ask("cpu of node-1")
    assert (t.entities.app, t.entities.host, t.confidence) == (None, "node-1", 0.9)


@pytest.mark.parametrize(
    ("question", "message", "first"),
    [
        ("cpu of node-9", "no host 'node-9'", "node-1"),
        ("error rate of abc-7", "no instance 'abc-7'", "abc-1:8080"),
        ("error rate of abc-2:9999", "no instance 'abc-2:9999'", "abc-2:8080"),
    ],
)
def test_unknown_hosts_and_instances(question: str, message: str, first: str) -> None:
    with pytest.raises(TranslationError, match=message) as info:
        ask(question)
    assert first in info.value.suggestions[:2]


def test_a_missing_metric_is_named_with_the_closest_real_ones() -> None:
    catalog = with_metrics(LIVE - {"http_request_duration_seconds_bucket"})
    with pytest.raises(
        TranslationError, match="'http_request_duration_seconds_bucket' does not exist"
    ) as info:
        ask("p95 latency of abc", catalog)
    assert info.value.suggestions[:2] == [
        "http_request_duration_seconds_count",
        "http_request_duration_seconds_sum",
    ]
    assert ask("average latency of abc", catalog).template == "latency_avg"


def test_every_template_passes_with_the_live_names() -> None:
    catalog = with_metrics(LIVE)
    for question in (
        "latency of abc",
        "memory of abc",
        "cpu of abc",
        "pod restarts of checkout",
        "is abc up",
    ):
        assert ask(question, catalog).query is not None


def test_alternatives_whose_metrics_are_missing_are_dropped() -> None:
    catalog = with_metrics(LIVE - {"http_request_duration_seconds_sum"})
    t = ask("latency of abc", catalog)
    assert [q for q, _ in t.alternatives] == [quantile("0.99", ABC)]


def test_latency_without_a_percentile_defaults_to_p95_with_avg_and_p99() -> None:
    t = ask("latency of abc")
    assert (t.template, t.query) == ("latency_p95", quantile("0.95", ABC))
    assert [q for q, _ in t.alternatives] == [latency_avg(ABC), quantile("0.99", ABC)]
    assert all(text.endswith(".") for _, text in t.alternatives)
    assert t.confidence == 0.75


def test_max_latency_is_read_as_p99() -> None:
    t = ask("max latency of abc")
    assert t.query == quantile("0.99", ABC)
    assert [q for q, _ in t.alternatives] == [quantile("0.95", ABC), latency_avg(ABC)]


def test_memory_of_an_app_defaults_to_its_process_memory_with_its_host_as_alternative() -> None:
    t = ask("memory of abc")
    assert t.template == "memory_app"
    assert t.alternatives == (
        (host_memory(NODE1), "Used memory share of host node-1 (0 to 1; available / total)."),
    )
    assert ask("rss of abc").alternatives == ()
    assert ask("memory of abc's host").template == "memory_host"


def test_explicit_questions_have_no_alternatives() -> None:
    for question in ("p95 latency of abc", "error rate of abc", "show errors of abc", "cpu of node-1"):
        t = ask(question)
        assert (t.alternatives, t.confidence) == ((), 0.9)


def test_a_bare_level_word_is_read_as_logs_with_a_lower_confidence() -> None:
    t = ask("abc errors")
    assert (t.template, t.confidence) == ("error_logs", 0.7)


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   ", "empty"), ("error rate of abc " * 200, "at most 2000")],
)
def test_empty_and_overlong_questions(question: str, message: str) -> None:
    with pytest.raises(TranslationError, match=message):
        ask(question)


def test_an_app_without_log_labels_cannot_answer_log_questions() -> None:
    profile = {"name": "web", "service_mappings": {"metrics": {"app": "web"}}}
    catalog = catalog_from_profiles([profile])
    assert ask("error rate of web", catalog).query is not None
    with pytest.raises(TranslationError, match="no log label mappings"):
        ask("error logs of web", catalog)


def test_an_app_without_a_host_cannot_answer_cpu_questions() -> None:
    catalog = catalog_from_profiles([{"name": "web", "service_mappings": {"metrics": {"app": "web"}}}])
    with pytest.raises(TranslationError, match="names no host"):
        ask("cpu of web", catalog)


def test_translation_error_is_a_query_input_error_with_a_message() -> None:
    from aiops_mcp.query.errors import QueryInputError

    error = TranslationError("nope", ["a"])
    assert isinstance(error, QueryInputError)
    assert (error.message, error.suggestions, str(error)) == ("nope", ["a"], "nope")
    assert CATALOG.metric_names is None


@pytest.mark.parametrize(
    ("question", "unused"),
    [
        ("checkout logs with a 5xx status, last 24h", "5xx status"),
        ("payment gateway slow logs yesterday", "gateway slow"),
    ],
)
def test_log_words_no_template_reads_are_named_and_lower_the_confidence(question: str, unused: str) -> None:
    translation = ask(question)
    assert f"Not applied: {unused!r}" in translation.explanation
    assert translation.confidence <= 0.4


def test_a_log_question_the_templates_read_whole_keeps_its_confidence() -> None:
    translation = ask("show me error logs for abc-app in the last hour")
    assert "Not applied" not in translation.explanation and translation.confidence >= 0.9
