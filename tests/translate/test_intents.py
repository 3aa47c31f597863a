"""Intents and templates over varied phrasings, case and punctuation."""

import pytest

from tests.translate.world import ask

INTENTS = [
    # metrics
    ("What's the request rate of abc-app?", "metrics", "request_rate"),
    ("abc traffic", "metrics", "request_rate"),
    ("REQUESTS PER SECOND FOR CHECKOUT", "metrics", "request_rate"),
    ("how much traffic is the checkout service getting right now?", "metrics", "request_rate"),
    ("throughput of the abc app over the past 2 hours", "metrics", "request_rate"),
    ("abc-ap rps", "metrics", "request_rate"),
    ("What is the error rate of abc-app?", "metrics", "error_rate"),
    ("abc 5xx ratio", "metrics", "error_rate"),
    ("how many requests fail for checkout?", "metrics", "error_rate"),
    ("How many requests are failing on abc right now?", "metrics", "error_rate"),
    ("percentage of 500s for payments", "metrics", "status_rate"),
    ("percentage of 5xx for payments", "metrics", "error_rate"),
    ("errror rate abc-app", "metrics", "error_rate"),
    ("p95 latency of abc", "metrics", "latency_p95"),
    ("abc 95th percentile response time", "metrics", "latency_p95"),
    ("How long do requests to abc take?", "metrics", "latency_p95"),
    ("is checkout slow?", "metrics", "latency_p95"),
    ("median response time of checkout yesterday", "metrics", "latency_p50"),
    ("mean latency for abc", "metrics", "latency_avg"),
    ("latncy of abc", "metrics", "latency_p95"),
    ("is abc up", "metrics", "up_state"),
    ("Is checkout reachable?", "metrics", "availability"),
    ("uptime of abc over the last 24 hours", "metrics", "availability"),
    ("is abc-2 down?", "metrics", "up_state"),
    ("cpu usage of abc", "metrics", "cpu"),
    ("what's the CPU on abc's host right now", "metrics", "cpu"),
    ("node-1 cpu", "metrics", "cpu"),
    ("RSS of abc-app", "metrics", "memory_app"),
    ("what's abc's memroy", "metrics", "memory_app"),
    ("how much RAM is node-2 using", "metrics", "memory_host"),
    ("host memory of checkout", "metrics", "memory_host"),
    ("pod restarts of abc", "metrics", "restarts"),
    ("Any crashes for checkout in the last 3 days?", "metrics", "restarts"),
    ("did abc restart yesterday", "metrics", "restarts"),
    ("abc staging vs prod traffic", "metrics", "compare_env"),
    ("compare abc p95 latency across environments", "metrics", "compare_env"),
    ("abc error rate per instance", "metrics", "by_instance"),
    # logs
    ("show errors of abc", "logs", "error_logs"),
    ("error logs for abc in the last 24 hours", "logs", "error_logs"),
    ("Are there exceptions in abc?", "logs", "error_logs"),
    ("abc errors", "logs", "error_logs"),
    ("list warnings of checkout", "logs", "warning_logs"),
    ("tail abc logs", "logs", "app_logs"),
    ("Show me the last hour of checkout logs", "logs", "app_logs"),
    ("grep abc logs for 'OutOfMemory'", "logs", "text_logs"),
    ("find errors containing 'database timeout' in abc yesterday", "logs", "text_logs"),
    ("checkout lines mentioning “gateway”", "logs", "text_logs"),
    ("logs of abc containing timeout", "logs", "text_logs"),
    # event counts
    ("How many events did abc create in the last 24 hours?", "event_count", "log_total"),
    ("abc events today", "event_count", "log_total"),
    ("log counts by level for abc", "event_count", "log_counts"),
    ("log volume of checkout yesterday", "event_count", "log_counts"),
    ("number of log events for payments in the past 30 minutes", "event_count", "log_total"),
    ("count abc's log lines by level over the last 2 days", "event_count", "log_counts"),
    ("how many errors did abc log today", "event_count", "error_count"),
    ("how many error logs did checkout have in the last 2 days", "event_count", "error_count"),
    ("total errors logged by abc yesterday", "event_count", "error_count"),
    ("how many warnings did checkout log", "event_count", "warning_count"),
    # answered by other tools
    ("Was abc healthy yesterday?", "health", None),
    ("How's the checkout service doing today?", "health", None),
    ("Did abc-app have any problems yesterday?", "health", None),
    ("SLO status of checkout", "health", None),
    ("error budget of abc", "health", None),
    ("what's wrong with checkout", "health", None),
    ("status of abc", "health", None),
    ("Was the server impacted during the last incident?", "impact", None),
    ("was node-1 affected yesterday", "impact", None),
    ("what was the blast radius of the outage", "impact", None),
    ("was checkout impacted during the incident?", "impact", None),
    ("Which alerts fired yesterday?", "alerts", None),
    ("which alerts are firing", "alerts", None),
    ("what alerts did checkout have in the last 24 hours?", "alerts", None),
    ("Did anything page us yesterday?", "alerts", None),
    ("list the critical alerts from today", "alerts", None),
    # general
    ("hello", "general", None),
    ("what is an SLO?", "general", None),
    ("explain histogram_quantile", "general", None),
    ("thanks!", "general", None),
]


@pytest.mark.parametrize(("question", "intent", "template"), INTENTS)
def test_intent_and_template(question: str, intent: str, template: str | None) -> None:
    t = ask(question)
    assert (t.intent, t.template) == (intent, template)
    assert (t.query is None) == (template is None)


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("Was abc healthy yesterday?", "call app_health(app='abc-app', time_range='yesterday')"),
        ("is payments healthy", "call app_health(app='checkout', time_range='last 1h')"),
        ("was the server impacted during the incident", "call incident_impact() (the latest alert's window)"),
        ("was node-2 impacted yesterday", "call incident_impact(host='node-2', time_range='yesterday')"),
        ("was abc impacted when the alert fired", "call incident_impact(app='abc-app')"),
        ("which alerts are firing", "read aiops://alerts?status=firing"),
        ("which alerts fired for abc yesterday", "read aiops://alerts?app=abc-app"),
    ],
)
def test_other_tools_are_named_with_their_arguments(question: str, call: str) -> None:
    t = ask(question)
    assert (t.language, t.query, t.template) == (None, None, None)
    assert call in t.explanation


def test_general_questions_get_no_query_and_a_low_confidence() -> None:
    t = ask("what is the meaning of life")
    assert (t.intent, t.language, t.query, t.confidence) == ("general", None, None, 0.2)
    assert "request rate" in t.explanation


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("error rate of abc", "instant"),
        ("error rate of abc right now", "instant"),
        ("current error rate of abc", "instant"),
        ("error rate of abc over the last 6 hours", "instant"),  # one value over the window
        ("error rate of abc yesterday", "instant"),
        ("show the error rate of abc yesterday", "range"),
        ("error rate trend of abc", "range"),
        ("graph abc latency", "range"),
        ("error rate of abc during the incident", "range"),
        ("how many errors did abc log yesterday", "instant"),
        ("pod restarts of abc yesterday", "instant"),
        ("error logs of abc", "range"),
    ],
)
def test_range_or_instant(question: str, kind: str) -> None:
    assert ask(question).kind == kind
