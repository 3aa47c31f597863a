"""Questions in plain words to PromQL/LogQL read queries, by rules over a catalog of known apps.

`translate(question, catalog)` detects the intent (metrics, logs, event_count, health, impact,
alerts, general) and the entities, picks a template and returns a `Translation` whose query has
been validated; `TranslationError` carries the closest real names when something is unknown.
`catalog_from_profiles` builds the `Catalog` from stored profiles' dicts. Pure: no I/O.
"""

from aiops_mcp.translate.catalog import catalog_from_profiles, grounding_labels
from aiops_mcp.translate.model import AppRef, Catalog, Entities, Intent, Translation, TranslationError
from aiops_mcp.translate.translator import translate

__all__ = [
    "AppRef",
    "Catalog",
    "Entities",
    "Intent",
    "Translation",
    "TranslationError",
    "catalog_from_profiles",
    "grounding_labels",
    "translate",
]
