"""POST /alertmanager/webhook under random, broken and valid version-4 payloads, over real HTTP.

Each example sends a mix of payloads: valid ones (duplicated alerts, the same instant written
in several offsets, huge label sets, unicode, redeliveries, resolved before firing) and ones
broken in a way the contract refuses (a field missing, mistyped or impossible, an end before
the start, not JSON, nested beyond reason). The stored alerts must then equal a model computed
here from the valid payloads alone: an idempotent upsert by (fingerprint, startsAt), the last
occurrence in a batch winning, a late "firing" never reopening a resolved alert. Broken payloads
answer 4xx and store nothing; nothing is stored twice; nothing answers 500.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiops_mcp.settings import Settings
from aiops_mcp.store import AlertFilter, Store, open_store
from tests.fuzz.strategies import INJECTIONS, fuzz
from tests.serving import serving

pytestmark = pytest.mark.anyio
HOOK_TOKEN = "hook-" + "y" * 24
PATH = "/alertmanager/webhook"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ZERO_TIME = "0001-01-01T00:00:00Z"
Key = tuple[str, datetime]


@dataclass(frozen=True)
class Stored:
    """What the store keeps of one alert occurrence (its key aside)."""

    status: str
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class Delivery:
    """One body to post, and the alerts it carries when it is valid (None: it must be refused)."""

    body: bytes
    alerts: list[tuple[Key, Stored]] | None

    def __repr__(self) -> str:
        return f"Delivery(valid={self.alerts is not None}, body={self.body[:400]!r})"


def written(moment: datetime, offset_hours: int, fraction: bool) -> str:
    """`moment` as RFC 3339 in another UTC offset (the same instant), maybe with a fraction."""
    shifted = moment.astimezone(timezone(timedelta(hours=offset_hours)))
    text = shifted.isoformat(timespec="microseconds" if fraction else "seconds")
    return text.replace("+00:00", "Z") if offset_hours == 0 else text


TEXT = st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=30))
LABELS = st.one_of(
    st.dictionaries(TEXT, TEXT, max_size=6),
    st.integers(100, 300).map(lambda n: {f"label_{i}": "v" * (i % 50) for i in range(n)}),
)


@st.composite
def alert(draw: st.DrawFn) -> tuple[dict[str, Any], Key, Stored]:
    """A valid alert as Alertmanager writes it, its key and what the store should keep."""
    fingerprint = draw(st.one_of(st.sampled_from(("fp-1", "fp-2", "fp-3")), st.text(min_size=1, max_size=64)))
    starts = T0 + timedelta(minutes=draw(st.integers(0, 3)), microseconds=draw(st.sampled_from((0, 500_000))))
    resolved = draw(st.booleans())
    ends = starts + timedelta(minutes=draw(st.sampled_from((0, 1, 90)))) if resolved else None
    if resolved and draw(st.integers(0, 5)) == 0:
        ends = None  # resolved without an end: the zero time
    labels = {"alertname": "HighErrorRate", **draw(LABELS)}
    annotations = draw(st.dictionaries(TEXT, TEXT, max_size=3))
    offset, fraction = draw(st.sampled_from((0, 2, -5))), bool(starts.microsecond) or draw(st.booleans())
    firing_end = written(starts + timedelta(minutes=4), 0, False)  # only a resend deadline: dropped
    document = {
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": written(starts, offset, fraction),
        "endsAt": ZERO_TIME
        if ends is None and resolved
        else written(ends, offset, bool(ends.microsecond))
        if ends
        else firing_end,
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint,
    }
    stored = Stored("resolved" if resolved else "firing", ends, labels, annotations)
    return document, (fingerprint, starts), stored


BROKEN_ALERT = (
    ("drop", "fingerprint"),
    ("set", "fingerprint", ""),
    ("set", "fingerprint", "f" * 65),
    ("set", "fingerprint", 7),
    ("drop", "startsAt"),
    ("set", "startsAt", "yesterday"),
    ("set", "startsAt", "2026-03-01T12:00:00"),  # no offset: which instant?
    ("set", "startsAt", ZERO_TIME),
    ("set", "status", "pending"),
    ("drop", "status"),
    ("set", "labels", ["alertname", "x"]),
    ("set", "labels", {"alertname": 1}),
    ("set", "annotations", "text"),
    ("set", "endsAt", "soon"),
    ("end before start",),
)
BROKEN_ENVELOPE = (
    ("drop", "version"),
    ("set", "version", 4),
    ("set", "version", "3"),
    ("set", "status", "pending"),
    ("drop", "alerts"),
    ("set", "alerts", {"fingerprint": "fp-1"}),
    ("set", "alerts", None),
    ("drop", "groupKey"),
    ("set", "receiver", None),
)
NOT_JSON = (b"", b"not json", b"\xff\xfe", b'{"version": "4",', b"[" * 50_000 + b"]" * 50_000)


def envelope(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "status": "firing",
        "receiver": "aiops",
        "alerts": alerts,
        "commonLabels": {},
    }


def broken(document: dict[str, Any], change: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(document)
    if change[0] == "drop":
        out.pop(change[1], None)
    elif change[0] == "set":
        out[change[1]] = change[2]
    else:  # a resolved alert that ends before it starts
        starts = datetime.fromisoformat(out["startsAt"])
        out |= {"status": "resolved", "endsAt": (starts - timedelta(minutes=5)).isoformat()}
    return out


@st.composite
def delivery(draw: st.DrawFn) -> Delivery:
    drawn = draw(st.lists(alert(), max_size=5))
    if drawn and draw(st.booleans()):
        drawn.append(draw(st.sampled_from(drawn)))  # the same alert twice in one batch
    documents = [document for document, _, _ in drawn]
    kind = draw(st.sampled_from(("valid", "valid", "broken alert", "broken envelope", "not json")))
    if kind == "valid":
        return Delivery(json.dumps(envelope(documents)).encode(), [(key, kept) for _, key, kept in drawn])
    if kind == "broken alert":
        victim = draw(st.sampled_from([*documents, draw(alert())[0]]))
        documents = [*documents, broken(victim, draw(st.sampled_from(BROKEN_ALERT)))]
        return Delivery(json.dumps(envelope(documents)).encode(), None)
    if kind == "broken envelope":
        document = broken(envelope(documents), draw(st.sampled_from(BROKEN_ENVELOPE)))
        return Delivery(json.dumps(document).encode(), None)
    return Delivery(draw(st.sampled_from(NOT_JSON)), None)


def applied(model: dict[Key, Stored], alerts: list[tuple[Key, Stored]]) -> dict[str, int]:
    """Apply one valid batch to `model`, as the contract says; the counts the answer must give."""
    latest = dict(alerts)  # the last occurrence of a key in a batch wins
    counts = {"created": 0, "updated": 0, "ignored": 0}
    for key, kept in latest.items():
        known = model.get(key)
        if known is None:
            counts["created"] += 1
        elif known.status == "resolved" and kept.status == "firing":
            counts["ignored"] += 1
            continue
        else:
            counts["updated"] += 1
        model[key] = kept
    return counts


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def stored(store: Store) -> dict[Key, Stored]:
    """Every stored alert by key; a key stored twice fails."""
    out: dict[Key, Stored] = {}
    cursor = None
    while True:
        page = await store.alerts.recent(AlertFilter(), limit=500, cursor=cursor)
        for row in page.items:
            key = (row.fingerprint, utc(row.starts_at))
            assert key not in out, f"stored twice: {key}"
            ends = utc(row.ends_at) if row.ends_at else None
            out[key] = Stored(row.status, ends, dict(row.labels), dict(row.annotations))
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


@dataclass
class Hook:
    http: httpx.AsyncClient
    store: Store

    def __repr__(self) -> str:  # Hypothesis shows the fixtures of a failing example
        return f"Hook({self.http.base_url})"


@pytest.fixture
async def hook(tmp_path: Path) -> AsyncIterator[Hook]:
    """The served app with a webhook token, and the store it writes (the same SQLite file)."""
    settings = Settings(aiops_mcp_data_dir=tmp_path, alertmanager_webhook_token=HOOK_TOKEN)
    headers = {"Authorization": f"Bearer {HOOK_TOKEN}", "Content-Type": "application/json"}
    async with serving(settings) as url, httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        store = await open_store(None, tmp_path)
        try:
            yield Hook(http, store)
        finally:
            await store.aclose()


@fuzz(50)
@given(deliveries=st.lists(delivery(), min_size=1, max_size=6))
async def test_stored_alerts_equal_the_model_of_the_valid_payloads(
    hook: Hook, deliveries: list[Delivery]
) -> None:
    model = await stored(hook.store)
    for sent in deliveries:
        answer = await hook.http.post(PATH, content=sent.body)
        assert answer.status_code != 500, f"{sent!r}: {answer.text[:500]}"
        if sent.alerts is None:
            assert 400 <= answer.status_code < 500, f"{sent!r} was accepted: {answer.text[:500]}"
            assert answer.json()["error"], sent
        else:
            expected = applied(model, sent.alerts)
            assert answer.status_code == 200, f"{sent!r}: {answer.text[:500]}"
            assert answer.json() == expected, sent
        assert await stored(hook.store) == model, sent
