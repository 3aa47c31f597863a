"""Every template: a question and the exact query, kind and time range it must give (the contract,
written out by hand in the spec's house style)."""

import pytest

from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.promql import validate_promql
from tests.translate.world import ask

CASES = [
    (
        "request rate of abc",
        "request_rate",
        'sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "requests per second for checkout over the last 6 hours",
        "request_rate",
        'sum(rate(http_requests_total{service="checkout",namespace="payments",env="prod",job="checkout"}[6h]))',
        "instant",
        "last 6h",
    ),
    (
        "error rate of abc",
        "error_rate",
        'sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app",status=~"5.."}[5m]))'
        ' / sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "checkout 5xx ratio yesterday",
        "error_rate",
        'sum(rate(http_requests_total{service="checkout",namespace="payments",env="prod",job="checkout",'
        'status=~"5.."}[24h])) / sum(rate(http_requests_total{service="checkout",namespace="payments",'
        'env="prod",job="checkout"}[24h]))',
        "instant",
        "yesterday",
    ),
    (
        "p95 latency of abc",
        "latency_p95",
        "histogram_quantile(0.95, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{app="abc-app",env="prod",job="abc-app"}[5m])))',
        "instant",
        "last 1h",
    ),
    (
        "graph the p50 latency of abc over the last 30 minutes",
        "latency_p50",
        "histogram_quantile(0.5, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{app="abc-app",env="prod",job="abc-app"}[5m])))',
        "range",
        "last 30m",
    ),
    (
        "90th percentile response time of checkout",
        "latency_p90",
        "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket"
        '{service="checkout",namespace="payments",env="prod",job="checkout"}[5m])))',
        "instant",
        "last 1h",
    ),
    (
        "p99 latency of abc yesterday",
        "latency_p99",
        "histogram_quantile(0.99, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{app="abc-app",env="prod",job="abc-app"}[24h])))',
        "instant",
        "yesterday",
    ),
    (
        "average latency of abc",
        "latency_avg",
        'sum(rate(http_request_duration_seconds_sum{app="abc-app",env="prod",job="abc-app"}[5m]))'
        ' / sum(rate(http_request_duration_seconds_count{app="abc-app",env="prod",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    ("is abc up", "up_state", 'up{app="abc-app",env="prod",job="abc-app"}', "instant", "last 1h"),
    (
        "availability of abc",
        "availability",
        'avg(up{app="abc-app",env="prod",job="abc-app"})',
        "instant",
        "last 1h",
    ),
    (
        "availability of abc yesterday",
        "availability",
        'avg(avg_over_time(up{app="abc-app",env="prod",job="abc-app"}[24h]))',
        "instant",
        "yesterday",
    ),
    (
        "how many abc instances are up",
        "instances_up",
        'sum(up{app="abc-app",env="prod",job="abc-app"})',
        "instant",
        "last 1h",
    ),
    (
        "were any abc instances down yesterday",
        "up_state",
        'min_over_time(up{app="abc-app",env="prod",job="abc-app"}[24h])',
        "instant",
        "yesterday",
    ),
    (
        "cpu usage of abc",
        "cpu",
        '1 - avg(rate(node_cpu_seconds_total{instance=~"node-1(:[0-9]+)?",mode="idle"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "chart the cpu % of node-2 over the last 2 hours",
        "cpu",
        '100 * (1 - avg(rate(node_cpu_seconds_total{instance=~"node-2(:[0-9]+)?",mode="idle"}[5m])))',
        "range",
        "last 2h",
    ),
    (
        "rss of abc",
        "memory_app",
        'sum(process_resident_memory_bytes{app="abc-app",env="prod",job="abc-app"})',
        "instant",
        "last 1h",
    ),
    (
        "memory usage of node-1",
        "memory_host",
        '1 - node_memory_MemAvailable_bytes{instance=~"node-1(:[0-9]+)?"}'
        ' / node_memory_MemTotal_bytes{instance=~"node-1(:[0-9]+)?"}',
        "instant",
        "last 1h",
    ),
    (
        "free memory on node-2",
        "memory_free",
        'node_memory_MemAvailable_bytes{instance=~"node-2(:[0-9]+)?"}',
        "instant",
        "last 1h",
    ),
    (
        "pod restarts of abc in the last 24 hours",
        "restarts",
        'sum(increase(kube_pod_container_status_restarts_total{app="abc-app",env="prod"}[24h]))',
        "instant",
        "last 24h",
    ),
    (
        "container restarts of checkout",
        "restarts",
        "sum(increase(kube_pod_container_status_restarts_total"
        '{service="checkout",namespace="payments",env="prod"}[1h]))',
        "instant",
        "last 1h",
    ),
    (
        "compare prod with staging error rate for abc",
        "compare_env",
        'sum by (env) (rate(http_requests_total{app="abc-app",job="abc-app",status=~"5.."}[5m]))'
        ' / sum by (env) (rate(http_requests_total{app="abc-app",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "compare abc request rate between prod and staging over the last 6 hours",
        "compare_env",
        'sum by (env) (rate(http_requests_total{app="abc-app",job="abc-app"}[6h]))',
        "instant",
        "last 6h",
    ),
    (
        "compare p95 latency of abc in prod and staging",
        "compare_env",
        "histogram_quantile(0.95, sum by (le, env) "
        '(rate(http_request_duration_seconds_bucket{app="abc-app",job="abc-app"}[5m])))',
        "instant",
        "last 1h",
    ),
    (
        "error rate of abc per instance",
        "by_instance",
        'sum by (instance) (rate(http_requests_total{app="abc-app",env="prod",job="abc-app",'
        'status=~"5.."}[5m]))'
        ' / sum by (instance) (rate(http_requests_total{app="abc-app",env="prod",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "p95 latency of abc by instance yesterday",
        "by_instance",
        "histogram_quantile(0.95, sum by (le, instance) "
        '(rate(http_request_duration_seconds_bucket{app="abc-app",env="prod",job="abc-app"}[24h])))',
        "instant",
        "yesterday",
    ),
    (
        "request rate of checkout by instance",
        "by_instance",
        "sum by (instance) (rate(http_requests_total"
        '{service="checkout",namespace="payments",env="prod",job="checkout"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "show errors of abc",
        "error_logs",
        '{app="abc-app", env="prod"} | detected_level=~"error|critical"',
        "range",
        "last 1h",
    ),
    (
        "show warnings of checkout yesterday",
        "warning_logs",
        '{service="checkout", namespace="payments"} | detected_level=~"warn|warning"',
        "range",
        "yesterday",
    ),
    ("logs of checkout", "app_logs", '{service="checkout", namespace="payments"}', "range", "last 1h"),
    (
        "find errors containing 'database timeout' in abc",
        "text_logs",
        '{app="abc-app", env="prod"} |= "database timeout" | detected_level=~"error|critical"',
        "range",
        "last 1h",
    ),
    (
        'abc logs with "timeout" yesterday',
        "text_logs",
        '{app="abc-app", env="prod"} |= "timeout"',
        "range",
        "yesterday",
    ),
    (
        "log counts by level for abc",
        "log_counts",
        'sum by (detected_level) (count_over_time({app="abc-app", env="prod"}[1h]))',
        "instant",
        "last 1h",
    ),
    (
        "how many events did abc create in the last 24 hours",
        "log_total",
        'sum(count_over_time({app="abc-app", env="prod"}[24h]))',
        "instant",
        "last 24h",
    ),
    (
        "how many log lines contain 'timeout' in checkout yesterday",
        "log_total",
        'sum(count_over_time({service="checkout", namespace="payments"} |= "timeout" [24h]))',
        "instant",
        "yesterday",
    ),
    (
        "how many errors did abc log today",
        "error_count",
        'sum(count_over_time({app="abc-app", env="prod"} | detected_level=~"error|critical" [12h]))',
        "instant",
        "today",
    ),
    (
        "how many warnings did checkout log in the last 2 days",
        "warning_count",
        'sum(count_over_time({service="checkout", namespace="payments"}'
        ' | detected_level=~"warn|warning" [2d]))',
        "instant",
        "last 2d",
    ),
    (
        "abc 404 rate",
        "status_rate",
        'sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app",status=~"404"}[5m]))'
        ' / sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "5xx/s for checkout",
        "status_per_second",
        'sum(rate(http_requests_total{service="checkout",namespace="payments",env="prod",job="checkout",'
        'status=~"5.."}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "how many requests did abc serve yesterday",
        "request_count",
        'sum(increase(http_requests_total{app="abc-app",env="prod",job="abc-app"}[24h]))',
        "instant",
        "yesterday",
    ),
    (
        "peak request rate of abc yesterday",
        "request_rate",
        'max_over_time((sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app"}[5m])))[24h:1m])',
        "instant",
        "yesterday",
    ),
    (
        "abc request rate by status code",
        "by_status",
        'sum by (status) (rate(http_requests_total{app="abc-app",env="prod",job="abc-app"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "share of abc requests slower than 500ms today",
        "slow_share",
        '1 - sum(rate(http_request_duration_seconds_bucket{app="abc-app",env="prod",job="abc-app",le="0.5"}'
        "[12h])) / sum(rate(http_request_duration_seconds_count"
        '{app="abc-app",env="prod",job="abc-app"}[12h]))',
        "instant",
        "today",
    ),
    (
        "disk writes of node-1",
        "disk_rate",
        'sum(rate(node_disk_written_bytes_total{instance=~"node-1(:[0-9]+)?"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "how much data did node-2 receive over the network yesterday in total",
        "network_bytes",
        'sum(increase(node_network_receive_bytes_total{instance=~"node-2(:[0-9]+)?"}[24h]))',
        "instant",
        "yesterday",
    ),
    (
        "cpu per host",
        "cpu",
        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
        "instant",
        "last 1h",
    ),
    (
        "pod restarts by pod over the last 2 days",
        "restarts",
        "sum by (pod) (increase(kube_pod_container_status_restarts_total[2d]))",
        "instant",
        "last 2d",
    ),
    (
        "abc log lines per minute yesterday",
        "log_rate",
        'sum(count_over_time({app="abc-app", env="prod"}[1m]))',
        "range",
        "yesterday",
    ),
]


@pytest.mark.parametrize(("question", "template", "query", "kind", "time_range"), CASES)
def test_each_template_gives_the_house_style_query(
    question: str, template: str, query: str, kind: str, time_range: str
) -> None:
    t = ask(question)
    assert (t.template, t.query, t.kind, t.time_range) == (template, query, kind, time_range)
    logql = query.startswith("{") or "({" in query  # LogQL's stream selectors stand alone
    assert t.language == ("logql" if logql else "promql")


def test_every_template_is_covered_and_every_query_validates() -> None:
    covered = {case[1] for case in CASES}
    assert covered == {
        "request_rate", "error_rate", "latency_p50", "latency_p90", "latency_p95", "latency_p99",
        "latency_avg", "availability", "cpu", "memory_app", "memory_host", "restarts", "compare_env",
        "by_instance", "error_logs", "warning_logs", "app_logs", "text_logs", "log_counts", "error_count",
        "warning_count", "up_state", "instances_up", "memory_free", "log_total", "status_rate",
        "status_per_second", "request_count", "by_status", "slow_share", "disk_rate", "network_bytes",
        "log_rate",
    }  # fmt: skip
    for question, *_ in CASES:
        t = ask(question)
        assert t.query is not None
        if t.language == "promql":
            validate_promql(t.query)
        else:
            parse_logql(t.query)


@pytest.mark.parametrize(
    ("question", "query"),
    [
        (
            "request rate of abc in staging",
            'sum(rate(http_requests_total{app="abc-app",env="staging",job="abc-app"}[5m]))',
        ),
        (
            "error rate of abc-2",
            'sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app",instance="abc-2:8080",'
            'status=~"5.."}[5m])) / sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app",'
            'instance="abc-2:8080"}[5m]))',
        ),
        (
            "requests per second of abc-1:8080",
            'sum(rate(http_requests_total{app="abc-app",env="prod",job="abc-app",instance="abc-1:8080"}[5m]))',
        ),
        (
            "staging error logs of abc",
            '{app="abc-app", env="staging"} | detected_level=~"error|critical"',
        ),
        (
            "error logs of abc-1",
            '{app="abc-app", env="prod", instance="abc-1:8080"} | detected_level=~"error|critical"',
        ),
        (
            "restarts of abc-2 in the last 24 hours",
            'sum(increase(kube_pod_container_status_restarts_total{app="abc-app",env="prod",pod="abc-2"}[24h]))',
        ),
        (
            "availability of abc-staging-1",
            'avg(up{app="abc-app",env="staging",job="abc-app",instance="abc-staging-1:8080"})',
        ),
    ],
)
def test_env_and_instance_narrow_the_app_labels(question: str, query: str) -> None:
    assert ask(question).query == query
