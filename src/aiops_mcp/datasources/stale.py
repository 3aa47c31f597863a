"""How a caller learns that a client served a cached answer because the datasource was unavailable.

The clients' methods keep their return types: a stale answer is the same cached object a fresh
hit would be. The client records a `StaleAnswer` in the collector of the current context, which a
caller opens around its calls:

    with collect_stale() as stale:
        data = await client.query_range(...)
    if stale:                       # one entry per stale answer, in the order they were served
        ...stale.oldest.fetched_at, stale.oldest.reason...

The collector lives in a context variable, so calls made in child tasks (a task group started
inside the block) are recorded too, and so are calls made through wrappers that delegate to the
client. Nested collectors each see the answers served inside them. Outside any collector nothing
is recorded.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StaleAnswer:
    """A cached answer served in place of a fresh one that failed."""

    datasource: str
    fetched_at: float
    """Unix seconds at which the cached answer was fetched."""
    reason: str
    """Why the fresh fetch failed (the error's message, credentials redacted)."""


class StaleAnswers:
    """The stale answers served within one `collect_stale` block."""

    def __init__(self, parent: "StaleAnswers | None" = None) -> None:
        self.answers: list[StaleAnswer] = []
        self._parent = parent

    def __bool__(self) -> bool:
        return bool(self.answers)

    @property
    def oldest(self) -> StaleAnswer | None:
        """The answer fetched longest ago: the result is as old as its oldest part."""
        return min(self.answers, key=lambda a: a.fetched_at, default=None)

    def add(self, answer: StaleAnswer) -> None:
        self.answers.append(answer)
        if self._parent is not None:
            self._parent.add(answer)


_current: ContextVar[StaleAnswers | None] = ContextVar("stale_answers", default=None)


@contextmanager
def collect_stale() -> Iterator[StaleAnswers]:
    """Collect the stale answers served to calls made inside the block (child tasks included)."""
    answers = StaleAnswers(_current.get())
    token = _current.set(answers)
    try:
        yield answers
    finally:
        _current.reset(token)


def record_stale(answer: StaleAnswer) -> None:
    """Called by the clients when they serve a stale answer."""
    collector = _current.get()
    if collector is not None:
        collector.add(answer)
