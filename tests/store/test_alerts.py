"""Alerts: idempotent, race-free upserts and the queries the tools ask."""

import random
from datetime import UTC, datetime

import anyio
import pytest
from pydantic import ValidationError

from aiops_mcp.store import AlertFilter, AlertIn, InvalidInput, Store, UpsertResult
from tests.store.factories import T0, alert, minutes

pytestmark = pytest.mark.anyio


async def test_the_same_alert_twice_is_one_row_updated(store: Store) -> None:
    first = await store.alerts.upsert_alerts([alert(app="abc")])
    second = await store.alerts.upsert_alerts([alert(app="abc", team="sre")])
    assert len(first.created) == 1 and first.updated == []
    assert second.created == [] and second.updated == first.created
    page = await store.alerts.recent()
    assert [a.id for a in page.items] == first.created
    assert page.items[0].labels["team"] == "sre"


async def test_resolving_sets_status_and_ends_at_and_keeps_the_analysis(store: Store) -> None:
    (alert_id,) = (await store.alerts.upsert_alerts([alert()])).created
    assert await store.alerts.set_analysis(alert_id, "DB pool exhausted")
    ended = T0 + minutes(30)
    result = await store.alerts.upsert_alerts([alert(status="resolved", ends_at=ended)])
    assert result.updated == [alert_id]
    stored = await store.alerts.get(alert_id)
    assert stored is not None
    assert (stored.status, stored.ends_at, stored.ai_analysis) == ("resolved", ended, "DB pool exhausted")
    assert stored.annotations == {"summary": "fp-1 is resolved"}
    assert stored.received_at <= stored.updated_at


async def test_a_late_firing_delivery_does_not_reopen_a_resolved_alert(store: Store) -> None:
    (alert_id,) = (await store.alerts.upsert_alerts([alert()])).created
    await store.alerts.upsert_alerts([alert(status="resolved", ends_at=T0 + minutes(5))])
    late = await store.alerts.upsert_alerts([alert(status="firing")])
    assert late == UpsertResult(ignored=[alert_id])
    stored = await store.alerts.get(alert_id)
    assert stored is not None and stored.status == "resolved"


async def test_a_new_start_of_the_same_fingerprint_is_a_new_alert(store: Store) -> None:
    await store.alerts.upsert_alerts([alert()])
    result = await store.alerts.upsert_alerts([alert(starts_at=T0 + minutes(60))])
    assert len(result.created) == 1
    assert await store.alerts.count() == 2


async def test_duplicates_within_one_batch_keep_the_last(store: Store) -> None:
    result = await store.alerts.upsert_alerts([alert(), alert(status="resolved", ends_at=T0 + minutes(1))])
    assert len(result.created) == 1
    stored = await store.alerts.get(result.created[0])
    assert stored is not None and stored.status == "resolved"


async def test_a_thousand_alert_batch_is_stored_without_loss(store: Store) -> None:
    batch = [alert(f"fp-{i:04d}", starts_at=T0 + minutes(i), instance=f"node-{i % 7}") for i in range(1000)]
    result = await store.alerts.upsert_alerts(batch)
    assert len(set(result.created)) == 1000 and result.updated == []
    assert await store.alerts.count() == 1000
    again = await store.alerts.upsert_alerts(batch)
    assert sorted(again.updated) == sorted(result.created) and again.created == []
    assert await store.alerts.count() == 1000


async def test_concurrent_overlapping_batches_never_duplicate_nor_fail(store: Store) -> None:
    keys = [alert(f"fp-{i:03d}", starts_at=T0 + minutes(i % 40)) for i in range(300)]
    rng = random.Random(7)
    batches = [rng.sample(keys, 150) for _ in range(8)]
    results: list[UpsertResult] = []

    async def deliver(batch: list[AlertIn]) -> None:
        results.append(await store.alerts.upsert_alerts(batch))

    async with anyio.create_task_group() as group:
        for batch in batches:
            group.start_soon(deliver, batch)

    delivered = {(a.fingerprint, a.starts_at) for batch in batches for a in batch}
    created = [id_ for result in results for id_ in result.created]
    assert len(created) == len(set(created)) == len(delivered), "each alert created exactly once"
    assert sum(len(r.created) + len(r.updated) for r in results) == sum(len(b) for b in batches)
    assert await store.alerts.count() == len(delivered)


async def _seed(store: Store) -> None:
    alerts = [
        alert("a1", starts_at=T0, app="abc", instance="node-1"),
        alert("a2", starts_at=T0 + minutes(10), app="abc", instance="node-2", severity="warning"),
        alert("a3", status="resolved", starts_at=T0 + minutes(20), ends_at=T0 + minutes(25), app="abc"),
        alert("p1", starts_at=T0 + minutes(30), app="payments", alertname="DiskFull", instance="node-1"),
        alert("p2", starts_at=T0 + minutes(30), app="payments", alertname="DiskFull", instance="node-3"),
        alert("x1", starts_at=T0 + minutes(40), alertname="Watchdog", severity="none"),
    ]
    await store.alerts.upsert_alerts(alerts)


async def fingerprints(store: Store, **filters: object) -> list[str]:
    page = await store.alerts.recent(AlertFilter.model_validate(filters), limit=100)
    return [a.fingerprint for a in page.items]


async def test_filters_select_by_each_field_and_by_time_window(store: Store) -> None:
    await _seed(store)
    assert await fingerprints(store) == ["x1", "p2", "p1", "a3", "a2", "a1"]
    assert await fingerprints(store, status="resolved") == ["a3"]
    assert await fingerprints(store, app="abc") == ["a3", "a2", "a1"]
    assert await fingerprints(store, severity="warning") == ["a2"]
    assert await fingerprints(store, alertname="DiskFull") == ["p2", "p1"]
    assert await fingerprints(store, instance="node-1") == ["p1", "a1"]
    window = {"since": T0 + minutes(10), "until": T0 + minutes(30)}
    assert await fingerprints(store, **window) == ["a3", "a2"]
    assert await fingerprints(store, app="abc", status="firing", since=T0 + minutes(5)) == ["a2"]
    assert await store.alerts.count(AlertFilter(app="abc")) == 3
    assert [a.fingerprint for a in await store.alerts.for_app("payments")] == ["p2", "p1"]


async def test_the_app_comes_from_the_labels_when_present(store: Store) -> None:
    await store.alerts.upsert_alerts(
        [alert("s", service="checkout"), alert("k", app_kubernetes_io_name="cart"), alert("none")]
    )
    apps = {a.fingerprint: a.app for a in (await store.alerts.recent()).items}
    assert apps == {"s": "checkout", "k": "cart", "none": None}


async def test_keyset_pages_cover_every_alert_once_in_order_even_with_equal_starts(store: Store) -> None:
    batch = [alert(f"fp-{i:02d}", starts_at=T0 + minutes(i // 3)) for i in range(23)]
    await store.alerts.upsert_alerts(batch)
    everything = (await store.alerts.recent(limit=100)).items
    seen, cursor, pages = [], None, 0
    while True:
        page = await store.alerts.recent(limit=5, cursor=cursor)
        seen.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 5
    assert [a.id for a in seen] == [a.id for a in everything]
    assert len({a.id for a in seen}) == 23
    keys = [(a.starts_at, a.id) for a in seen]
    assert keys == sorted(keys, reverse=True)


async def test_a_forged_cursor_is_invalid_input(store: Store) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        await store.alerts.recent(cursor="bm90LWEtY3Vyc29y")


async def test_similar_alerts_share_the_alertname_or_instance_and_are_not_later(store: Store) -> None:
    await _seed(store)
    await store.alerts.upsert_alerts([alert("later", starts_at=T0 + minutes(90), alertname="DiskFull")])
    p2 = (await store.alerts.recent(AlertFilter(alertname="DiskFull", instance="node-3"))).items[0]
    assert [a.fingerprint for a in await store.alerts.similar(p2.id)] == ["p1"]
    p1 = (await store.alerts.recent(AlertFilter(alertname="DiskFull", instance="node-1"))).items[0]
    assert [a.fingerprint for a in await store.alerts.similar(p1.id)] == ["p2", "a1"]
    assert await store.alerts.similar(999_999) == []


async def test_get_and_set_analysis_of_a_missing_alert(store: Store) -> None:
    assert await store.alerts.get(123) is None
    assert await store.alerts.set_analysis(123, "x") is False


def test_an_alertmanager_webhook_alert_parses() -> None:
    body = {
        "status": "firing",
        "labels": {"alertname": "HighLatency", "instance": "api:8080", "job": "api", "app": "abc-app"},
        "annotations": {"summary": "p95 above 300 ms"},
        "startsAt": "2025-03-01T14:00:00.123+02:00",
        "endsAt": "2025-03-01T12:20:00Z",
        "generatorURL": "",
        "fingerprint": "c0ffee",
    }
    parsed = AlertIn.model_validate(body)
    assert parsed.starts_at == datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert parsed.starts_at.utcoffset() is not None and not parsed.starts_at.utcoffset()
    assert parsed.ends_at is None, "a firing alert's endsAt is only Alertmanager's resend deadline"
    assert parsed.generator_url is None
    with pytest.raises(ValidationError, match="startsAt"):
        AlertIn.model_validate(body | {"startsAt": "2025-03-01T12:00:00"})
    with pytest.raises(ValidationError, match="status"):
        AlertIn.model_validate(body | {"status": "pending"})


async def test_breakdown_counts_per_alertname_and_severity_within_the_filters(store: Store) -> None:
    await _seed(store)
    rows = await store.alerts.recent(limit=100)
    expected: dict[tuple[str, str | None], int] = {}
    for row in rows.items:
        expected[(row.alertname, row.severity)] = expected.get((row.alertname, row.severity), 0) + 1
    counts = await store.alerts.breakdown()
    assert {(c.alertname, c.severity): c.count for c in counts} == expected
    assert [c.count for c in counts] == sorted((c.count for c in counts), reverse=True)
    abc = await store.alerts.breakdown(AlertFilter(app="abc"))
    assert sum(c.count for c in abc) == await store.alerts.count(AlertFilter(app="abc")) == 3
    assert await store.alerts.breakdown(AlertFilter(app="nobody")) == []
