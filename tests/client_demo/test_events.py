"""The queries an answer cites, as found in structured tool results."""

from aiops_mcp.client_demo.events import ToolFinished, cited_queries, queries_in


def finished(structured: dict | None, is_error: bool = False) -> ToolFinished:
    return ToolFinished("c", "t", {}, is_error, "", structured, 0.0)


def test_queries_are_found_in_provenance_query_maps_and_plain_fields() -> None:
    structured = {
        "provenance": {"query": "up", "datasource": "prometheus"},
        "queries": {"errors": {"query": "rate(errors[5m])"}, "up": {"query": "up"}},
        "slos": [{"name": "availability", "query": "avg(up)"}],
        "logs": {"provenance": {"query": '{app="abc"} |= "timeout"'}},
        "alternatives": [{"query": "suggested but not run"}],
        "query": "count(up)",
    }
    assert queries_in(structured) == [
        "up",
        "rate(errors[5m])",
        "avg(up)",
        '{app="abc"} |= "timeout"',
        "count(up)",
    ]


def test_cited_queries_skip_errors_and_repeats() -> None:
    results = [
        finished({"provenance": {"query": "up"}}),
        finished({"query": "broken{"}, is_error=True),
        finished({"queries": {"a": {"query": "up"}, "b": {"query": "sum(up)"}}}),
        finished(None),
    ]
    assert cited_queries(results) == ["up", "sum(up)"]
