"""Building a Catalog from stored profiles, and ranking real names by closeness to a wrong one."""

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from aiops_mcp.translate.model import AppRef, Catalog

SUGGESTIONS_SHOWN = 10
GROUNDING_LABELS = ("instance", "env", "node", "host", "hostname", "status", "le")


def closest_first(wanted: str, known: Iterable[str]) -> list[str]:
    """`known` with the closest matches of `wanted` first, then the rest in order (as profiles do)."""
    names = list(dict.fromkeys(known))
    close = difflib.get_close_matches(wanted, names, n=len(names) or 1, cutoff=0.3)
    return close + [name for name in names if name not in close]


def closest_apps(wanted: str, apps: Iterable[AppRef]) -> list[str]:
    """App names, closest to `wanted` by name or alias first."""
    owner: dict[str, str] = {}
    for app in apps:
        for name in (app.name, *app.aliases):
            owner.setdefault(name.casefold(), app.name)
    ranked = closest_first(wanted.casefold(), owner)
    return list(dict.fromkeys(owner[name] for name in ranked))


def identity_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that say which app a series belongs to: its mapping without env and instance,
    and without job when others remain (exporters such as kube-state-metrics set their own)."""
    kept = {k: v for k, v in labels.items() if k not in ("env", "instance")}
    without_job = {k: v for k, v in kept.items() if k != "job"}
    return without_job or kept


def app_from_profile(profile: Mapping[str, Any], series: Mapping[str, Iterable[str]] | None = None) -> AppRef:
    """An AppRef from a profile's dict (name, service_mappings, aliases, default_metrics,
    architecture_info) and the app's metric names per env; missing or malformed parts become empty."""
    mappings = profile.get("service_mappings") or {}
    info = profile.get("architecture_info") or {}
    host = info.get("host") if isinstance(info, Mapping) else None
    return AppRef(
        name=str(profile["name"]),
        metric_labels=_labels(mappings.get("metrics") if isinstance(mappings, Mapping) else None),
        log_labels=_labels(mappings.get("logs") if isinstance(mappings, Mapping) else None),
        aliases=tuple(str(a) for a in profile.get("aliases") or ()),
        default_metrics=tuple(str(m) for m in profile.get("default_metrics") or ()),
        host=host if isinstance(host, str) and host else None,
        series={env: frozenset(names) for env, names in (series or {}).items()},
    )


def grounding_labels(profiles: Iterable[Mapping[str, Any]]) -> list[str]:
    """The labels whose live values ground a translation: instances, envs, hosts, HTTP statuses, and
    every label the profiles' metric mappings select by."""
    mapped = [name for p in profiles for name in app_from_profile(p).metric_labels]
    return list(dict.fromkeys((*GROUNDING_LABELS, *mapped)))


def catalog_from_profiles(
    profiles: Iterable[Mapping[str, Any]],
    *,
    metric_names: Iterable[str] | None = None,
    label_values: Mapping[str, Iterable[str]] | None = None,
    app_series: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
) -> Catalog:
    """A Catalog of the given profiles' dicts, with live metric names, label values and each app's
    metric names per env (by app name) when known."""
    apps = tuple(app_from_profile(p, (app_series or {}).get(str(p["name"]))) for p in profiles)
    names = None if metric_names is None else frozenset(metric_names)
    values = {k: frozenset(v) for k, v in (label_values or {}).items()}
    content = [[asdict(app) for app in apps], names, values]
    text = json.dumps(content, sort_keys=True, default=_sorted)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Catalog(apps=apps, metric_names=names, label_values=values, version=version)


def _sorted(value: object) -> object:
    return sorted(value) if isinstance(value, (set, frozenset)) else str(value)


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}
