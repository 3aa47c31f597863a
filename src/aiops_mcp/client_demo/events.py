"""What a chat turn yields, in order: tokens of the answer as they stream, each tool call as it starts
and finishes, notices (fallbacks, limits), and one final `Answer` citing the queries it rests on."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Keys whose subtrees hold queries that were suggested, not run (translate_query's alternatives).
_NOT_RUN = frozenset({"alternatives"})


@dataclass(frozen=True)
class Token:
    """A piece of the answer's text, as the model streams it."""

    text: str


@dataclass(frozen=True)
class ToolStarted:
    """A tool call about to run."""

    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    """A tool call's outcome: a tool error is `is_error=True` with the server's message in `text`."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    is_error: bool
    text: str
    structured: dict[str, Any] | None
    seconds: float

    @property
    def queries(self) -> list[str]:
        """The PromQL/LogQL this result says it ran (empty for an error)."""
        return [] if self.is_error else queries_in(self.structured)

    @property
    def subject(self) -> dict[str, Any]:
        """The application (`app`) and alert (`alert_id`) a successful result is about, when it names
        them: the result's own fields first (the names it resolved), then the call's arguments."""
        if self.is_error:
            return {}
        found: dict[str, Any] = {}
        for source in (self.structured or {}, self.arguments):
            app, alert = source.get("app"), source.get("alert_id")
            if isinstance(app, str) and app:
                found.setdefault("app", app)
            if isinstance(alert, int) or (isinstance(alert, str) and alert.isdigit()):
                found.setdefault("alert_id", int(alert))
        return found

    def record(self) -> dict[str, Any]:
        """What is kept of the call with the answer it served (in the store's chat messages), with
        the app and alert it was about when it names them."""
        return {
            "id": self.call_id,
            "name": self.name,
            "arguments": self.arguments,
            "is_error": self.is_error,
            "seconds": self.seconds,
            "queries": self.queries,
            **self.subject,
        }


@dataclass(frozen=True)
class Answer:
    """The turn's final answer; `mode` is `model:<name>` or `offline`."""

    text: str
    queries: list[str]
    mode: str


@dataclass(frozen=True)
class Notice:
    """Something the user should know about how the answer was made (a fallback, a limit)."""

    text: str


Event = Token | ToolStarted | ToolFinished | Answer | Notice


def queries_in(structured: Any) -> list[str]:
    """Every query a structured result cites (`provenance.query`, `queries.*.query`, `query`, at any
    depth), in order, without repeats."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "query" and isinstance(value, str) and value:
                    found.append(value)
                elif key not in _NOT_RUN:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(structured)
    return list(dict.fromkeys(found))


def cited_queries(results: Iterable[ToolFinished]) -> list[str]:
    """The queries of every successful result, in call order, without repeats."""
    return list(dict.fromkeys(q for result in results for q in result.queries))
