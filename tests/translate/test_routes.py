"""Questions answered by another tool carry that call as structure: the tool, its exact arguments,
and the filters it cannot take (so a client routes on fields, not on the explanation's text)."""

import pytest

from tests.translate.world import ask


@pytest.mark.parametrize(
    ("question", "tool", "arguments", "unapplied"),
    [
        ("Was abc healthy yesterday?", "app_health", {"app": "abc-app", "time_range": "yesterday"}, {}),
        (
            "is abc ok in staging?",
            "app_health",
            {"app": "abc-app", "time_range": "last 1h"},
            {"env": "staging"},
        ),
        ("Was the server impacted during the last incident?", "incident_impact", {}, {}),
        ("did the incident impact node-1?", "incident_impact", {"host": "node-1"}, {}),
        (
            "was checkout impacted yesterday?",
            "incident_impact",
            {"app": "checkout", "time_range": "yesterday"},
            {},
        ),
        (
            "were there any alerts on node-1 yesterday?",
            "read_resource",
            {"uri": "aiops://alerts?time_range=yesterday"},
            {"host": "node-1"},
        ),
        (
            "list the critical alerts from today",
            "read_resource",
            {"uri": "aiops://alerts?severity=critical&time_range=today"},
            {},
        ),
        (
            "Which alerts fired yesterday?",
            "read_resource",
            {"uri": "aiops://alerts?time_range=yesterday"},
            {},
        ),
        (
            "any alerts firing for abc?",
            "read_resource",
            {"uri": "aiops://alerts?app=abc-app&status=firing"},
            {},
        ),
        (
            "how many errors did abc log yesterday",
            "app_events",
            {"app": "abc-app", "time_range": "yesterday"},
            {},
        ),
    ],
)
def test_routed_questions_name_their_call_with_its_filters(
    question: str, tool: str, arguments: dict[str, str], unapplied: dict[str, str]
) -> None:
    t = ask(question)
    assert (t.answer_tool, dict(t.tool_arguments), dict(t.unapplied_filters)) == (tool, arguments, unapplied)
    shown = arguments.get("uri") or f"call {tool}("
    assert shown in t.explanation
    for name, value in unapplied.items():
        assert f"{name} {value}" in t.explanation


def test_queries_that_answer_by_themselves_name_no_tool() -> None:
    for question in ("p95 latency of abc", "error logs of abc", "hello"):
        t = ask(question)
        assert (t.answer_tool, dict(t.tool_arguments), dict(t.unapplied_filters)) == (None, {}, {})
