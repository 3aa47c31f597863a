"""The impact judgement on the generated world's incidents, for worlds ending at several minutes
and days and for other seeds (other noise): the verdicts must not depend on when the suite runs,
nor on the luck of one noise draw.

The signals are those `incident_impact` queries, recomputed from the world's samples at the
tool's step and rate window (`tests.analysis.world_signals`), judged with the tool's thresholds."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import pytest

from aiops_mcp.analysis.impact import SignalImpact, compare_to_baseline
from aiops_mcp.demo.world import World, build_world
from aiops_mcp.query.step import align_range, points
from aiops_mcp.tools.answering import AppSelectors
from aiops_mcp.tools.impact import SignalSpec, app_signals, host_signals, windows_of
from tests.analysis import world_signals

STEP = 15.0
ABC = {"app": "abc-app", "env": "prod", "job": "abc-app"}
ENDS = (
    datetime(2025, 3, 10, 0, 7, tzinfo=UTC),
    datetime(2025, 3, 10, 12, 34, tzinfo=UTC),
    datetime(2025, 6, 2, 23, 59, tzinfo=UTC),
)
SPECS = {s.name: s for s in [*host_signals(), *app_signals(AppSelectors.of({"app": "x"}, []))]}


@cache
def world(end: datetime, seed: int) -> World:
    return build_world(end, seed=seed)


@dataclass(frozen=True)
class Case:
    incident: str
    app: dict[str, str]
    host: str | None
    impacted: frozenset[str]
    insufficient: frozenset[str] = frozenset()


CASES = {
    "5xx burst": Case(
        "abc-app-5xx-burst",
        ABC,
        "node-1:9100",
        frozenset({"cpu_busy", "memory_used", "disk_io", "network", "error_ratio", "latency_p95"}),
    ),
    # abc-2 serves nothing while down: its request series have a point or two at the edges.
    "abc-2 down": Case(
        "abc-2-down",
        ABC | {"instance": "abc-2:8080"},
        "node-1:9100",
        frozenset({"availability"}),
        frozenset({"error_ratio", "latency_p95"}),
    ),
    "checkout latency": Case(
        "checkout-latency",
        {"service": "checkout", "namespace": "payments", "env": "prod", "job": "checkout"},
        "node-2:9100",
        frozenset({"latency_p95"}),
    ),
    # The staging twin has no incident: its low traffic makes a spiky 5xx ratio, noise only.
    "staging in the burst": Case(
        "abc-app-5xx-burst", {"app": "abc-app", "env": "staging"}, None, frozenset()
    ),
}


def judge(w: World, case: Case) -> dict[str, SignalImpact]:
    incident = w.incident(case.incident)
    app = world_signals.narrowed(w, case.app)
    signals = {name: (app, signal) for name, signal in world_signals.app_signals(case.app).items()}
    if case.host:
        host = world_signals.narrowed(w, {"instance": case.host})
        signals |= {name: (host, signal) for name, signal in world_signals.host_signals(case.host).items()}
    spans = {
        name: align_range(a, b, STEP)
        for name, (a, b) in windows_of(incident.start.timestamp(), incident.end.timestamp()).items()
    }
    expected = {name: points(b - a, STEP) for name, (a, b) in spans.items()}
    out = {}
    for name, (source, signal) in signals.items():
        spec: SignalSpec = SPECS[name]
        ranges = {w_: world_signals.evaluate(source, signal, a, b, STEP) for w_, (a, b) in spans.items()}
        out[name] = compare_to_baseline(
            name,
            ranges.pop("window"),
            ranges,
            higher_is_worse=spec.higher_is_worse,
            ratio_threshold=spec.ratio,
            min_absolute=spec.min_absolute,
            unit=spec.unit,
            expected_points=expected,
        )
    return out


def check(w: World, case: Case) -> None:
    judged = judge(w, case)
    assert {n for n, s in judged.items() if s.impacted} == case.impacted, {
        n: s.reason for n, s in judged.items()
    }
    assert {n for n, s in judged.items() if s.status == "insufficient data"} == case.insufficient
    for name in case.insufficient:
        assert judged[name].impacted is None and judged[name].coverage is not None
        assert judged[name].coverage < 0.5 and judged[name].peak is not None  # a value, not a zero


@pytest.mark.parametrize("end", ENDS, ids=lambda e: e.strftime("%Y-%m-%d_%H:%M"))
@pytest.mark.parametrize("name", list(CASES))
def test_the_verdicts_do_not_depend_on_when_the_world_ends(end: datetime, name: str) -> None:
    check(world(end, 7), CASES[name])


@pytest.mark.parametrize("seed", [3, 11])
@pytest.mark.parametrize("name", list(CASES))
def test_the_verdicts_hold_for_other_noise(seed: int, name: str) -> None:
    check(world(ENDS[1], seed), CASES[name])
