"""Catalogs built from stored profiles' dicts."""

from aiops_mcp.demo.seed import PROFILES
from aiops_mcp.translate import AppRef, catalog_from_profiles
from aiops_mcp.translate.catalog import closest_apps, closest_first


def test_the_demo_profiles_become_app_refs() -> None:
    catalog = catalog_from_profiles(PROFILES, metric_names=["up"], label_values={"env": ["prod", "staging"]})
    abc, checkout = catalog.apps
    assert abc == AppRef(
        name="abc-app",
        metric_labels={"app": "abc-app", "env": "prod", "job": "abc-app"},
        log_labels={"app": "abc-app", "env": "prod"},
        aliases=("abc", "abc app"),
        default_metrics=(
            "up",
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "process_resident_memory_bytes",
        ),
        host="node-1",
    )
    assert list(checkout.metric_labels) == ["service", "namespace", "env", "job"]  # profile order kept
    assert (checkout.host, checkout.aliases) == ("node-2", ("checkout service", "payments"))
    assert catalog.metric_names == frozenset({"up"})
    assert catalog.label_values == {"env": frozenset({"prod", "staging"})}


def test_missing_or_malformed_parts_become_empty() -> None:
    catalog = catalog_from_profiles(
        [{"name": "bare"}, {"name": "odd", "service_mappings": None, "architecture_info": {"host": 3}}]
    )
    assert catalog.apps == (AppRef("bare", {}, {}), AppRef("odd", {}, {}))
    assert (catalog.metric_names, catalog.label_values) == (None, {})


def test_closest_names_first() -> None:
    assert closest_first("chekout", ["abc-app", "checkout"]) == ["checkout", "abc-app"]
    apps = catalog_from_profiles(PROFILES).apps
    assert closest_apps("paymnts", apps) == ["checkout", "abc-app"]  # by alias
