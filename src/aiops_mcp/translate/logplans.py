"""Log questions to LogQL: the lines (with a text, at a level), their rate, and their counts."""

import re

from aiops_mcp.translate import templates as t
from aiops_mcp.translate.intent import by_level, log_rate
from aiops_mcp.translate.scope import Choice, Plan, Scope

LEVEL_WORDS = {"error": "error or critical", "warn": "warn or warning"}
_LEVEL_TEMPLATES = {"error": ("error_logs", "error_count"), "warn": ("warning_logs", "warning_count")}
_PER_MINUTE_RE = re.compile(r"\b(?:per|a|/)\s*min(?:ute)?\b")


def plan_logs(scope: Scope) -> Plan:
    """A LogQL log query: lines with the quoted text, at the asked level, or all of the app's."""
    app = scope.need_app()
    labels, entities = scope.log_labels(app), scope.ex.entities
    subject, level = scope.subject(app, "logql"), entities.level
    at = f" at level {LEVEL_WORDS[level]}" if level else ""
    if log_rate(scope.ex.rest):
        per_minute = bool(_PER_MINUTE_RE.search(scope.ex.rest))
        containing = f" containing {entities.text!r}" if entities.text is not None else ""
        unit = "per minute (1m counts)" if per_minute else "per second (5m rate)"
        text = f"Log lines of {subject}{containing}{at} {unit}."
        query = t.log_rate(labels, per_minute, entities.text, level)
        return Plan(Choice("log_rate", query, text), "logql", "range")
    if entities.text is not None:
        text = f"Log lines of {subject} containing {entities.text!r}{at}."
        choice = Choice("text_logs", t.text_logs(labels, entities.text, level), text)
    elif level is not None:
        choice = Choice(
            _LEVEL_TEMPLATES[level][0], t.level_logs(labels, level), f"Log lines of {subject}{at}."
        )
    else:
        choice = Choice("app_logs", t.app_logs(labels), f"Log lines of {subject}.")
    alternatives: tuple[Choice, ...] = ()
    if not scope.explicit and level == "error" and entities.text is None and app.metric_labels:
        # "errors of abc": its error lines, or its error rate.
        ratio = t.error_rate(scope.metric_labels(app), names=scope.names(app))
        text = f"Or the share of the requests of {subject} answered with HTTP 5xx (PromQL, 5m rate)."
        alternatives = (Choice("error_rate", ratio, text, "promql"),)
    return Plan(choice, "logql", "range", alternatives)  # the guessed intent already costs confidence


def plan_counts(scope: Scope) -> Plan:
    """A LogQL count over the window: in all, per level ("by level"), or of one level."""
    app = scope.need_app()
    labels, entities, window = scope.log_labels(app), scope.ex.entities, scope.window()
    containing = f" containing {entities.text!r}" if entities.text is not None else ""
    end = ", as an instant query at the window's end."
    subject = scope.subject(app, "logql")
    if by_level(scope.ex.rest):
        text = f"Log lines of {subject}{containing} per level over {window}{end}"
        choice = Choice("log_counts", t.log_counts(labels, window, entities.text), text)
        return Plan(choice, "logql", "instant")
    if entities.level is None:
        text = f"Log lines of {subject}{containing} over {window}{end}"
        per_level = Choice("log_counts", t.log_counts(labels, window, entities.text), "The same, per level.")
        return Plan(
            Choice("log_total", t.log_total(labels, window, entities.text), text),
            "logql",
            "instant",
            (per_level,),
        )
    level = entities.level
    text = f"Log lines of {subject} at level {LEVEL_WORDS[level]}{containing} over {window}{end}"
    query = t.level_count(labels, window, level, entities.text)
    return Plan(Choice(_LEVEL_TEMPLATES[level][1], query, text), "logql", "instant")
