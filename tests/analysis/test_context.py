from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiops_mcp.analysis.budget import estimate_tokens
from aiops_mcp.analysis.context import (
    Links,
    MetricQuery,
    Metrics,
    Plan,
    assemble,
    build_context,
    make_plan,
    missing_reasons,
)

LINKS = Links(
    alert=lambda i: f"alert:{i}",
    app=lambda n: f"app:{n}",
    app_alerts=lambda n: f"alerts:{n}",
    chat=lambda i: f"chat:{i}",
)
QUERIES = {
    "availability 1h": MetricQuery("avg(up)", "%", 100.0),
    "error_ratio 7d": MetricQuery("errors / total", "%", 100.0),
}


@dataclass
class Profile:
    """The fields of a stored application profile the context reads."""

    name: str = "x"
    description: str | None = None
    aliases: list[str] = field(default_factory=list)
    service_mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    slos: dict[str, float] = field(default_factory=dict)
    architecture_info: str | None = None


def test_a_failed_metric_query_is_missing_and_the_others_stay() -> None:
    plan = Plan(None, None, "x", end=3600.0, log_start=0.0, queries=QUERIES)
    fetched = {"metrics": Metrics("prom", {"availability 1h": 0.5}, {"error_ratio 7d": "rejected"})}
    sections, failures = assemble(plan, fetched, LINKS, 500)
    assert failures == {"metrics error_ratio 7d": "rejected"}
    (metrics,) = sections
    assert metrics.part.lines == ("availability 1h: 50 %; query: avg(up)",)
    assert metrics.source == "PromQL on prom at 1970-01-01T01:00:00Z"
    built = build_context("x", sections, missing_reasons(failures), True, 500)
    assert built.status == "partial"
    assert built.text.startswith("x [partial]; missing metrics error_ratio 7d: rejected\n## metrics")
    assert estimate_tokens(built.text) <= built.tokens <= 500


def test_a_profile_without_labels_plans_no_metrics_nor_logs() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    plan = make_plan(None, Profile(), "x", now, {}, "")  # type: ignore[arg-type]
    assert plan.absent == {
        "alert": "x has no stored alert",
        "related_alerts": "no alert",
        "similar_incidents": "no alert",
        "metrics": "the profile maps no metric labels (service_mappings.metrics)",
        "error_logs": "the profile maps no log labels (service_mappings.logs)",
    }
    assert plan.fetches == ("chat_history",) and plan.log_start == now - 3600
    with_labels = make_plan(None, Profile(), "x", now, QUERIES, '{app="x"}')  # type: ignore[arg-type]
    assert with_labels.fetches == ("metrics", "error_logs", "chat_history")


def test_the_reserve_is_kept_out_of_the_packing() -> None:
    plan = Plan(None, Profile(architecture_info="word " * 500), "x", end=0.0, log_start=0.0)  # type: ignore[arg-type]
    sections, _ = assemble(plan, {}, LINKS, 500)
    whole = build_context("x", sections, [], False, 1000)
    reserved = build_context("x", sections, [], False, 1000, reserve=600)
    assert whole.status == "ok" and reserved.status == "truncated"
    assert reserved.tokens <= 400 < whole.tokens


def test_missing_reasons_follow_the_part_order_and_are_cut() -> None:
    reasons = {"chat_history": "store", "metrics availability 1h": "x" * 1000, "alert": "none"}
    ordered = missing_reasons(reasons)
    assert [r.split(":")[0] for r in ordered] == ["alert", "metrics availability 1h", "chat_history"]
    assert len(ordered[1]) < 400 and ordered[1].endswith("chars]")
