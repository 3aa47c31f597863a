"""Building a Catalog from stored profiles, and ranking real names by closeness to a wrong one."""

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from aiops_mcp.translate.model import AppRef, Catalog

SUGGESTIONS_SHOWN = 10


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


def app_from_profile(profile: Mapping[str, Any]) -> AppRef:
    """An AppRef from a profile's dict (name, service_mappings, aliases, default_metrics,
    architecture_info); missing or malformed parts become empty."""
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
    )


def catalog_from_profiles(
    profiles: Iterable[Mapping[str, Any]],
    *,
    metric_names: Iterable[str] | None = None,
    label_values: Mapping[str, Iterable[str]] | None = None,
) -> Catalog:
    """A Catalog of the given profiles' dicts, with live metric names and label values when known."""
    return Catalog(
        apps=tuple(app_from_profile(p) for p in profiles),
        metric_names=None if metric_names is None else frozenset(metric_names),
        label_values={k: frozenset(v) for k, v in (label_values or {}).items()},
    )


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}
