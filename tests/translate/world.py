"""The demo world as the translator sees it, and the house-style pieces expected queries are made of."""

from datetime import UTC, datetime

from aiops_mcp.demo.seed import PROFILES
from aiops_mcp.translate import Catalog, Translation, catalog_from_profiles, translate

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # "today" is 12h long
INSTANCES = (
    "abc-1:8080",
    "abc-2:8080",
    "abc-staging-1:8080",
    "checkout-1:8080",
    "node-1:9100",
    "node-2:9100",
    "kube-state-metrics:8080",
)
CATALOG = catalog_from_profiles(PROFILES, label_values={"instance": INSTANCES, "env": ("prod", "staging")})
BARE = catalog_from_profiles(PROFILES)  # no label values, no metric names
METRICS = (
    "up",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_sum",
    "http_request_duration_seconds_count",
    "process_resident_memory_bytes",
    "kube_pod_container_status_restarts_total",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
)
# As the server builds it from a Prometheus holding the demo world: names and the labels' values.
LIVE = catalog_from_profiles(
    PROFILES,
    metric_names=METRICS,
    label_values={
        "instance": INSTANCES,
        "env": ("prod", "staging"),
        "app": ("abc-app",),
        "service": ("checkout",),
        "namespace": ("payments",),
        "job": ("abc-app", "checkout", "kube-state-metrics", "node"),
        "node": ("node-1", "node-2"),
        "status": ("200", "500", "503"),
    },
)

# House style: L (metric labels), LL (log stream selector), H (host matcher).
ABC = 'app="abc-app",env="prod",job="abc-app"'
ABC_STAGING = 'app="abc-app",env="staging",job="abc-app"'
CHECKOUT = 'service="checkout",namespace="payments",env="prod",job="checkout"'
ABC_LOGS = '{app="abc-app", env="prod"}'
CHECKOUT_LOGS = '{service="checkout", namespace="payments"}'
NODE1 = 'instance=~"node-1(:[0-9]+)?"'
NODE2 = 'instance=~"node-2(:[0-9]+)?"'
ERRORS = ' | detected_level=~"error|critical"'


def ask(question: str, catalog: Catalog = CATALOG) -> Translation:
    return translate(question, catalog, now=NOW)


def requests(labels: str, by: str = "") -> str:
    agg = f"sum by ({by}) " if by else "sum"
    return f"{agg}(rate(http_requests_total{{{labels}}}[5m]))"


def error_ratio(labels: str, by: str = "") -> str:
    agg = f"sum by ({by}) " if by else "sum"
    return f'{agg}(rate(http_requests_total{{{labels},status=~"5.."}}[5m])) / {requests(labels, by)}'


def quantile(q: str, labels: str, by: str = "le") -> str:
    return (
        f"histogram_quantile({q}, sum by ({by}) (rate(http_request_duration_seconds_bucket{{{labels}}}[5m])))"
    )


def latency_avg(labels: str) -> str:
    return (
        f"sum(rate(http_request_duration_seconds_sum{{{labels}}}[5m])) / "
        f"sum(rate(http_request_duration_seconds_count{{{labels}}}[5m]))"
    )


def host_memory(matcher: str) -> str:
    return f"1 - node_memory_MemAvailable_bytes{{{matcher}}} / node_memory_MemTotal_bytes{{{matcher}}}"
