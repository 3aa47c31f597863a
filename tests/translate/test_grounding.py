"""Grounding in what exists: metric names written in a question, topics no template covers, the
profiles' default metrics and label values, hosts named beside an app, and questions about every
app at once. Errors name the closest real names; nothing answers with another metric."""

import pytest

from aiops_mcp.demo.seed import PROFILES
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.translate import TranslationError, catalog_from_profiles
from aiops_mcp.translate.topics import UnknownMetricError
from tests.translate.world import (
    ABC,
    ABC_LOGS,
    CATALOG,
    CHECKOUT,
    CHECKOUT_LOGS,
    LIVE,
    METRICS,
    ask,
    error_ratio,
)


def test_a_metric_named_in_the_question_is_queried_as_written_in_the_apps_scope() -> None:
    t = ask("plot http_requests_total for abc", LIVE)
    assert (t.intent, t.template, t.query) == ("metrics", "metric", f"rate(http_requests_total{{{ABC}}}[5m])")
    gauge = ask("show node_memory_MemAvailable_bytes of node-2", LIVE)
    assert gauge.query == 'node_memory_MemAvailable_bytes{instance=~"node-2(:[0-9]+)?"}'


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("show me node_disk_io_time_seconds_total for node-1", "node_disk_read_bytes_total"),
        ("plot http_server_requests_seconds_count for abc", "http_request_duration_seconds_count"),
    ],
)
def test_a_metric_prometheus_lacks_gets_the_closest_real_names(question: str, first: str) -> None:
    with pytest.raises(UnknownMetricError, match=r"no metric .* in Prometheus; closest: ") as info:
        ask(question, LIVE)
    assert first in info.value.suggestions[:3]
    assert set(info.value.suggestions) <= set(METRICS)


@pytest.mark.parametrize(
    ("question", "topic", "first"),
    [
        ("abc-app disk usage", "disk usage", "node_disk_read_bytes_total"),
        ("abc jvm heap usage", "jvm", None),
        ("iops of node-1", "iops", None),
        ("how full is the database of checkout", "database", None),
    ],
)
def test_a_topic_no_template_answers_is_an_error_not_another_metric(
    question: str, topic: str, first: str | None
) -> None:
    with pytest.raises(UnknownMetricError, match=f"no template answers {topic!r}") as info:
        ask(question, LIVE)
    if first is not None:
        assert info.value.suggestions[0] == first
    assert topic not in info.value.reason or "closest" not in info.value.reason


def test_a_status_class_prometheus_has_no_request_for_is_refused_with_the_statuses() -> None:
    with pytest.raises(TranslationError, match="HTTP status 4xx") as info:
        ask("abc 4xx rate", LIVE)
    assert info.value.suggestions == ["200", "500", "503"]
    t = ask("abc 4xx rate", CATALOG)  # status values unknown: the ratio, as asked
    assert t.template == "status_rate" and 'status=~"4.."' in (t.query or "")


def test_the_profiles_default_metrics_name_the_counter_and_the_histogram() -> None:
    profile = {
        "name": "api",
        "service_mappings": {"metrics": {"job": "api"}},
        "default_metrics": ["up", "api_requests_total", "api_latency_seconds_bucket"],
    }
    catalog = catalog_from_profiles([profile])
    assert ask("request rate of api", catalog).query == 'sum(rate(api_requests_total{job="api"}[5m]))'
    p95 = ask("p95 latency of api", catalog).query or ""
    assert 'api_latency_seconds_bucket{job="api"}' in p95
    assert "api_latency_seconds_sum" in (ask("average latency of api", catalog).query or "")


def test_an_app_whose_label_value_prometheus_lacks_is_an_error_not_an_empty_answer() -> None:
    renamed = [{**PROFILES[0], "service_mappings": {"metrics": {"app": "abc-api", "env": "prod"}}}]
    catalog = catalog_from_profiles(renamed, metric_names=METRICS, label_values={"app": ("abc-app",)})
    with pytest.raises(TranslationError, match="selects app='abc-api', which no series") as info:
        ask("error rate of abc", catalog)
    assert info.value.suggestions == ["abc-app"]


def test_a_host_named_beside_an_app_filters_by_the_host_label() -> None:
    t = ask("abc request rate on node-1", LIVE)
    assert t.query == f'sum(rate(http_requests_total{{{ABC},node="node-1"}}[5m]))'
    assert t.entities.host == "node-1" and "on node-1" in t.explanation
    elsewhere = ask("checkout request rate on node-1", LIVE)
    assert 'node="node-1"' in (elsewhere.query or "") and "profile puts it on node-2" in elsewhere.explanation


def test_without_a_host_label_the_profiles_host_decides() -> None:
    same = ask("abc request rate on node-1", CATALOG)
    assert same.query == f"sum(rate(http_requests_total{{{ABC}}}[5m]))"
    assert "all of it: its profile puts it there" in same.explanation
    with pytest.raises(TranslationError, match="cannot filter checkout by host node-1"):
        ask("checkout request rate on node-1", CATALOG)
    assert ask("abc logs on node-1", LIVE).query == ABC_LOGS  # log streams carry no host label


def test_a_bare_level_word_offers_the_error_rate_as_an_alternative() -> None:
    t = ask("errors of abc")
    assert (t.template, t.confidence) == ("error_logs", 0.7)
    assert t.alternatives[0][0] == error_ratio(ABC) and t.alternative_languages == ("promql",)


def test_an_unknown_bare_name_is_named_in_the_error() -> None:
    with pytest.raises(TranslationError, match="no application 'billing'") as info:
        ask("error rate of billing")
    assert info.value.reason == "no application 'billing'"
    assert info.value.suggestions == ["abc-app", "checkout"] or set(info.value.suggestions) == {
        "abc-app",
        "checkout",
    }


@pytest.mark.parametrize("question", ["erorr rate of abc", "abc latnecy", "abc memroy"])
def test_swapped_letters_are_typos_of_keywords(question: str) -> None:
    assert ask(question).intent == "metrics"


def test_text_searched_in_every_app_is_one_query_per_app_in_every_env() -> None:
    t = ask("Find all errors containing 'database timeout'")
    assert t.query == '{app="abc-app"} |= "database timeout" | detected_level=~"error|critical"'
    assert [q for q, _ in t.alternatives] == [
        f'{CHECKOUT_LOGS} |= "database timeout" | detected_level=~"error|critical"'
    ]
    assert t.explanation.startswith("No application named, so abc-app first") and t.confidence < 0.9


def test_apps_whose_streams_differ_in_one_value_are_searched_in_one_query() -> None:
    apps = [{"name": n, "service_mappings": {"logs": {"app": n, "env": "prod"}}} for n in ("abc-app", "web")]
    t = ask("find all errors containing 'database timeout'", catalog_from_profiles(apps))
    query = parse_logql(t.query or "")
    assert [str(m) for m in query.matchers] == ['app=~"abc\\\\-app|web"']
    assert (t.alternatives, t.entities.app) == ((), None)


def test_comparing_envs_without_an_app_compares_every_app() -> None:
    t = ask("Compare error rates between prod and staging")
    labels = ABC.replace(',env="prod"', "")
    assert (t.template, t.query) == ("compare_env", error_ratio(labels, "env"))
    assert [q for q, _ in t.alternatives] == [error_ratio(CHECKOUT.replace(',env="prod"', ""), "env")]


def test_the_incident_phrasing_takes_the_latest_alerts_app() -> None:
    from aiops_mcp.translate import translate
    from tests.translate.world import NOW

    t = translate("What were the error rates when the alert fired?", CATALOG, now=NOW, incident_app="abc-app")
    assert (t.query, t.time_reference, t.entities.app) == (error_ratio(ABC), "last_incident", "abc-app")
    assert t.confidence == 0.8
    with pytest.raises(TranslationError, match="which application"):
        ask("What were the error rates when the alert fired?")
