"""The management REST API under random, garbage and valid-looking requests, over real HTTP.

The product's HTTP app is served by uvicorn (`tests.serving`) with an admin token, on a store
seeded with the demo data, the session's real Prometheus and the Loki double holding the world's
logs (Grafana Loki cannot run here; the double answers in the shapes recorded from a real Loki
3.4.2). Every route of the route table is asked, with bodies drawn from its own request schema,
with values of the wrong type, garbage JSON, bytes that are not JSON, deep nesting and huge
texts, and with random query parameters and path references.

Properties: never a 500; every error is a JSON object whose `error` says what went wrong; no
answer carries a secret that was sent; a refused write stores nothing and a read changes nothing
(the listings before and after are equal); an accepted write changes exactly what it names;
every stored profile stays readable and every name or alias names one application; the
environment's datasources answer as before.
"""

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from aiops_mcp.server.rest import ENDPOINTS, OPENAPI
from aiops_mcp.server.rest.common import Endpoint
from tests.fuzz.checks import Api, env_answers
from tests.fuzz.strategies import (
    JSON,
    LOGQL,
    PLAUSIBLE,
    PROMQL,
    WINDOWS,
    arguments,
    fuzz,
    hostile_text,
    inline_refs,
)

pytestmark = pytest.mark.anyio
SECRET = "tok-SECRET-"
APPS, DATASOURCES = "/api/applications", "/api/grafana/datasources"
ROUTES = [*ENDPOINTS, OPENAPI]
NAMES = ("fuzz-new", "fuzz-other", "abc-app", "ABC-APP", "abc", "checkout", "payments", "prometheus", "loki")
REFS = (*NAMES, "1", "2", "0", "99999999999999999999999", "²", "٣", "..", ".", "a/b", "%2F", " abc-app")
HINTS = PLAUSIBLE | {
    "name": NAMES,
    "url": ("http://127.0.0.1:9", "https://127.0.0.1:9/prefix/"),
    "bearer_token": (SECRET + "bearer",),
    "basic_password": (SECRET + "basic",),
    "headers": (SECRET + "header",),
    "basic_user": ("ops",),
    "tenant": ("team-a",),
    "aliases": ("abc", "ABC", "fuzz-alias", "checkout service", "prometheus"),
    "default_metrics": ("up", "http_requests_total", "rate(http_requests_total[5m])", "not promql ("),
    "prometheus_datasource": ("prometheus", "fuzz-new", "nope"),
    "loki_datasource": ("loki", "fuzz-new", "nope"),
    "description": ("an app", "é" * 40),
    "datasource": ("prometheus", "loki", "fuzz-new", "nope"),
    "limit": ("5", "0", "-1", "1001", "abc", "²", "1e3"),
    "contains": ("timeout", '"} or vector(1) or {a="', "(a+)+$"),
}
"""Values by field name that pass the checks (and a few that look as if they might)."""


def body_schema(endpoint: Endpoint) -> dict[str, Any]:
    assert endpoint.body is not None
    return inline_refs(endpoint.body.model_json_schema())


@st.composite
def body(draw: st.DrawFn, endpoint: Endpoint) -> bytes | None:
    """A request body: from the route's schema (fitting or hostile), any JSON, or not JSON at all."""
    kind = draw(st.sampled_from(("schema", "schema", "schema", "json", "bytes", "deep", "huge", "none")))
    if endpoint.body is None and kind in ("schema", "none"):
        return None
    if kind == "schema":
        assert endpoint.body is not None
        hints = HINTS | {"query": LOGQL if endpoint.path.endswith("/loki") else PROMQL}
        return json.dumps(draw(arguments(body_schema(endpoint), hints))).encode()
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "bytes":
        return draw(st.sampled_from((b"", b"not json", b"\xff\xfe\x00", b"{", b'{"a": NaN}', b"[1,]")))
    if kind == "deep":
        depth = draw(st.integers(50, 100_000))
        opening, closing = draw(st.sampled_from(((b"[", b"]"), (b'{"a":', b"}"))))
        inner = opening * depth + b"1" + closing * depth
        return b'{"name": "fuzz-deep", "architecture_info": ' + inner + b"}"
    if kind == "huge":
        return json.dumps(
            {"name": "fuzz-huge", "query": "x" * 300_000, "description": "y" * 300_000}
        ).encode()
    return None


@dataclass(frozen=True)
class Call:
    """One request: route, method, path (with its reference filled in), parameters, body."""

    endpoint: Endpoint
    path: str
    ref: str | None
    params: dict[str, str]
    body: bytes | None

    def __repr__(self) -> str:
        shown = self.body[:300] if self.body is not None else None
        return f"{self.endpoint.method} {self.path} params={self.params!r} body={shown!r}"


@st.composite
def calls(draw: st.DrawFn) -> Call:
    endpoint = draw(st.sampled_from(ROUTES))
    ref = (
        draw(st.one_of(st.sampled_from(REFS), hostile_text().filter(str.strip)))
        if "{ref}" in endpoint.path
        else None
    )
    path = endpoint.path.replace("{ref}", quote(ref or "", safe=""))
    names = [p.name for p in endpoint.params] + ["time_range", "unknown"]
    params = draw(
        st.dictionaries(
            st.sampled_from(names),
            st.one_of(st.sampled_from(HINTS.get("limit", ())), st.sampled_from(WINDOWS), hostile_text()),
            max_size=3,
        )
    )
    params = {k: v.replace("\x00", "") for k, v in params.items()}  # httpx refuses NUL in a URL
    return Call(endpoint, path, ref, params, draw(body(endpoint)))


def loopback_only(call: Call) -> bool:
    """False for a body that would store a datasource beyond loopback (nothing may leave)."""
    try:
        data = json.loads(call.body or b"null")
    except (ValueError, RecursionError):
        return True
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not re.match(r"https?://", url):
        return True
    return urlsplit(url).hostname == "127.0.0.1"


async def listings(http: httpx.AsyncClient) -> dict[str, Any]:
    """Both stored listings; each must be readable."""
    apps, sources = await http.get(APPS), await http.get(DATASOURCES)
    assert apps.status_code == sources.status_code == 200, (apps.text[:500], sources.text[:500])
    return {"apps": apps.json(), "datasources": sources.json()}


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def assert_error_body(answer: httpx.Response, call: Call) -> None:
    try:
        document = answer.json()
    except ValueError:
        raise AssertionError(f"{call!r}: {answer.status_code} without JSON: {answer.text[:300]!r}") from None
    assert isinstance(document, dict), f"{call!r}: {document!r}"
    assert isinstance(document.get("error"), str) and document["error"].strip(), f"{call!r}: {document!r}"


def assert_effect(call: Call, answer: httpx.Response, before: dict[str, Any], after: dict[str, Any]) -> None:
    """A refused write or any read leaves both listings as they were; an accepted write changes
    exactly the item it names."""
    method = call.endpoint.method
    if answer.status_code >= 400 or method == "GET" or call.endpoint.path.startswith("/api/grafana/query"):
        assert after == before, f"{call!r} answered {answer.status_code} but changed the store"
        return
    kind = "apps" if call.endpoint.path.startswith(APPS) else "datasources"
    old, new = by_name(before[kind]), by_name(after[kind])
    other = "datasources" if kind == "apps" else "apps"
    assert after[other] == before[other], f"{call!r} changed {other}"
    if method == "POST":
        created = answer.json()
        assert created["name"] not in old and set(new) == {*old, created["name"]}, call
        assert new[created["name"]] == created
    elif method == "PUT":
        replaced = answer.json()
        assert set(new) == set(old) and new[replaced["name"]] == replaced, call
        assert {k: v for k, v in new.items() if k != replaced["name"]} == {
            k: v for k, v in old.items() if k != replaced["name"]
        }
    else:
        assert len(new) == len(old) - 1 and set(new) < set(old), call


def assert_unambiguous(apps: list[dict[str, Any]]) -> None:
    """Each name and alias (case-insensitive) leads to one application."""
    owners: dict[str, set[str]] = {}
    for app in apps:
        for word in {app["name"], *app["aliases"]}:
            owners.setdefault(word.strip().casefold(), set()).add(app["name"])
    shared = {word: names for word, names in owners.items() if len(names) > 1}
    assert not shared, f"names or aliases shared by several applications: {shared}"


@fuzz(40)
@given(sequence=st.lists(calls(), min_size=1, max_size=6))
async def test_any_request_gets_an_answer_or_a_json_error_and_the_store_stays_consistent(
    api: Api, sequence: list[Call]
) -> None:
    for call in sequence:
        assume(loopback_only(call))
        before = await listings(api.http)
        answer = await api.http.request(
            call.endpoint.method, call.path, params=call.params, content=call.body
        )
        assert answer.status_code != 500 and answer.status_code < 600, f"{call!r}: {answer.text[:500]}"
        assert SECRET not in answer.text, f"{call!r} answered a secret"
        if answer.status_code >= 400:
            assert_error_body(answer, call)
        after = await listings(api.http)
        assert_effect(call, answer, before, after)
        assert_unambiguous(after["apps"])
        for app in after["apps"]:
            assert (await api.http.get(f"{APPS}/{app['id']}")).status_code == 200, app["name"]
    assert await env_answers(api.http) == api.baseline


async def test_the_openapi_document_lists_every_route_fuzzed_here(api: Api) -> None:
    document = (await api.http.get("/api/openapi.json")).json()
    listed = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert listed == {(e.method, e.path) for e in ROUTES}
