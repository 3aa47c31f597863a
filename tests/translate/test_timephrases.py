"""Time phrases people type, resolved to exact windows at a fixed clock (Wednesday 2026-03-04 12:00
UTC), and every time word the translator cannot read refused with the phrase and the accepted forms."""

from datetime import UTC, datetime, timedelta

import pytest

from aiops_mcp.query.timerange import parse_time_range
from aiops_mcp.translate import TranslationError
from tests.translate.world import NOW, ask


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("this morning", at(4, 6), NOW),
        ("yesterday afternoon", at(3, 12), at(3, 18)),
        ("yesterday evening", at(3, 18), at(4)),
        ("last night", at(3, 18), at(4, 6)),
        ("monday morning", at(2, 6), at(2, 12)),
        ("3 hours ago", at(4, 8), at(4, 9)),
        ("10 minutes ago", at(4, 11, 35), at(4, 11, 50)),
        ("2 days ago", at(2), at(3)),
        ("since 2 hours ago", at(4, 10), NOW),
        ("from 2 hours ago", at(4, 10), NOW),
        ("on monday", at(2), at(3)),
        ("on wednesday", at(4), NOW),
        ("last wednesday", datetime(2026, 2, 25, tzinfo=UTC), datetime(2026, 2, 26, tzinfo=UTC)),
        ("over the weekend", datetime(2026, 2, 28, tzinfo=UTC), at(2)),
        ("last weekend", datetime(2026, 2, 28, tzinfo=UTC), at(2)),
        ("in the last couple of hours", at(4, 10), NOW),
        ("over the past few days", at(1, 12), NOW),
        ("on March 3rd", at(3), at(4)),
        ("on the 2nd of march", at(2), at(3)),
        ("on March 30", datetime(2025, 3, 30, tzinfo=UTC), datetime(2025, 3, 31, tzinfo=UTC)),
        ("on 2026-03-01", at(1), at(2)),
        ("this week", at(2), NOW),
        ("last week", datetime(2026, 2, 23, tzinfo=UTC), at(2)),
        ("over the last week", datetime(2026, 2, 25, 12, tzinfo=UTC), NOW),
        ("this month", at(1), NOW),
        ("earlier today", at(4), NOW),
    ],
)
def test_calendar_phrases_resolve_to_their_window(phrase: str, start: datetime, end: datetime) -> None:
    t = ask(f"error rate of abc {phrase}")
    span = parse_time_range(t.time_range, now=NOW, max_range=timedelta(days=400))
    assert (span.start, span.end) == (start, end), t.time_range
    assert t.kind == "instant" and t.confidence == 0.9  # one value over the window


def test_a_weekend_in_progress_runs_from_saturday_until_now() -> None:
    sunday = datetime(2026, 3, 8, 10, tzinfo=UTC)
    from aiops_mcp.translate import translate
    from tests.translate.world import CATALOG

    t = translate("error rate of abc over the weekend", CATALOG, now=sunday)
    span = parse_time_range(t.time_range, now=sunday, max_range=timedelta(days=7))
    assert (span.start, span.end) == (at(7), sunday)
    last = translate("error rate of abc last weekend", CATALOG, now=sunday)
    span = parse_time_range(last.time_range, now=sunday, max_range=timedelta(days=7))
    assert (span.start, span.end) == (datetime(2026, 2, 28, tzinfo=UTC), at(2))


def test_the_product_plans_time_phrases_are_read_not_defaulted() -> None:
    slow = ask("How slow is checkout at p95 this morning?")
    assert (slow.template, slow.time_range) == ("latency_p95", "since today 06:00")
    logs = ask("checkout logs from 2 hours ago")
    assert (logs.intent, logs.time_range) == ("logs", "since 2h ago")


def test_counts_span_the_phrase() -> None:
    assert "[6h]" in (ask("how many errors did abc log this morning").query or "")
    assert "[12h]" in (ask("how many errors did abc log last night").query or "")


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("error rate of abc since the deploy", "since the deploy"),
        ("error rate of abc after the release", "after the release"),
        ("error rate of abc at 14:30", "at 14:30"),
        ("error rate of abc around 2pm", "around 2pm"),
        ("error rate of abc next week", "next week"),
        ("error rate of abc tomorrow", "tomorrow"),
        ("error rate of abc in 5 minutes", "5 minutes"),
        ("error rate of abc during peak hours", "during peak"),
        ("error rate of abc in the morning", "the morning"),
        ("error rate of abc on 3/4", "3/4"),
        ("error rate of abc in december", "in december"),
        ("error rate of abc today compared with yesterday", "with yesterday"),
        ("errors of abc this year", "this year"),
    ],
)
def test_time_words_that_cannot_be_read_are_refused_with_the_phrase(question: str, phrase: str) -> None:
    with pytest.raises(TranslationError) as info:
        ask(question)
    named = info.value.message.split("the time '", 1)[1].split("'. ", 1)[0]
    assert phrase in named and len(named) <= len(phrase) + 12, named
    assert "'last 2 hours'" in info.value.message and "'on monday'" in info.value.message


@pytest.mark.parametrize("question", ["error rate of abc this evening", "error rate of abc tonight"])
def test_a_part_of_the_day_still_to_come_is_refused(question: str) -> None:
    with pytest.raises(TranslationError, match="has not begun: it is 12:00 UTC"):
        ask(question)


def test_a_date_that_does_not_exist_is_refused() -> None:
    with pytest.raises(TranslationError, match="'on february 30' is not a date"):
        ask("error rate of abc on february 30")


@pytest.mark.parametrize(
    "question", ["good morning!", "requests per second of abc", "abc requests per minute", "hello"]
)
def test_words_that_only_look_like_time_are_not_time(question: str) -> None:
    assert ask(question).time_range == "last 1h"
