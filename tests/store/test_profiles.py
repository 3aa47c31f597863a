"""Application profiles: validated input whose errors name the field; stored and found by alias."""

from typing import Any

import pytest
from pydantic import ValidationError

from aiops_mcp.store import InvalidInput, ProfileIn, Store, validate_profile

pytestmark = pytest.mark.anyio

ABC: dict[str, Any] = {
    "name": "abc-app",
    "description": "Checkout service",
    "architecture_info": {"components": ["api", "worker"], "depends_on": ["postgres"]},
    "service_mappings": {"metrics": {"app": "abc-app"}, "logs": {"app": "abc-app", "namespace": "prod"}},
    "prometheus_datasource": "prod",
    "loki_datasource": "logs",
    "default_metrics": ["http_requests_total", "http_request_duration_seconds_bucket"],
    "slos": {"availability": 99.9, "error_rate": 1.0, "p95_latency_ms": 300},
    "aliases": ["abc", "ABC App"],
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slos": {"availability": 120}}, "slos.availability"),
        ({"slos": {"availabilty": 99.9}}, "slos.availabilty"),
        ({"slos": {"p95_latency_ms": -1}}, "slos.p95_latency_ms"),
        ({"service_mappings": {"metrics": {"bad-label": "x"}}}, "service_mappings.metrics"),
        ({"service_mappings": {"traces": {}}}, "service_mappings.traces"),
        ({"name": ""}, "name"),
        ({"aliases": ["ok", " "]}, "aliases"),
        ({"default_metrics": "up"}, "default_metrics"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_validation_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raw:
        ProfileIn.model_validate(ABC | change)
    assert field in {".".join(map(str, error["loc"])) for error in raw.value.errors()}
    with pytest.raises(InvalidInput) as caught:
        validate_profile(ABC | change)
    assert field in caught.value.errors
    assert str(caught.value).startswith("invalid application profile: ")
    assert f"{field}: " in str(caught.value)


async def test_a_profile_round_trips(store: Store) -> None:
    saved = await store.profiles.save(validate_profile(ABC))
    loaded = await store.profiles.get("abc-app")
    assert loaded is not None and loaded.id == saved.id
    assert loaded.architecture_info == ABC["architecture_info"]
    assert loaded.service_mappings == ABC["service_mappings"]
    assert loaded.slos == {"availability": 99.9, "error_rate": 1.0, "p95_latency_ms": 300}
    assert loaded.default_metrics == ABC["default_metrics"]
    assert (loaded.prometheus_datasource, loaded.loki_datasource) == ("prod", "logs")
    assert loaded.created_at.tzinfo is not None


async def test_saving_again_replaces_the_profile(store: Store) -> None:
    first = await store.profiles.save(validate_profile(ABC))
    second = await store.profiles.save(validate_profile(ABC | {"slos": {}, "architecture_info": "monolith"}))
    assert second.id == first.id
    loaded = await store.profiles.get("abc-app")
    assert loaded is not None and loaded.slos == {} and loaded.architecture_info == "monolith"
    assert loaded.updated_at >= loaded.created_at
    assert [p.name for p in await store.profiles.list_all()] == ["abc-app"]


async def test_find_matches_the_name_or_an_alias_case_insensitively(store: Store) -> None:
    await store.profiles.save(validate_profile(ABC))
    await store.profiles.save(validate_profile({"name": "payments", "aliases": ["pay"]}))
    for spoken in ("abc-app", "ABC-APP", "abc", "abc app", " Abc App "):
        found = await store.profiles.find(spoken)
        assert found is not None and found.name == "abc-app", spoken
    found = await store.profiles.find("PAY")
    assert found is not None and found.name == "payments"
    assert await store.profiles.find("unknown") is None


async def test_delete_reports_whether_the_profile_existed(store: Store) -> None:
    await store.profiles.save(validate_profile(ABC))
    assert await store.profiles.delete("abc-app") is True
    assert await store.profiles.delete("abc-app") is False
    assert await store.profiles.get("abc-app") is None
