"""Questions in plain words to PromQL/LogQL read queries, by rules over a catalog of known apps.

`translate(question, catalog)` detects the intent (metrics, logs, event_count, health, impact,
alerts, general) and the entities, picks a template and returns a `Translation` whose query has
been validated against the catalog, or names the answer tool (`answer_tool`, `tool_arguments`);
`TranslationError` (`UnknownMetricError` for metrics no template or Prometheus has) carries the
closest real names. `read_question` is what the rules read, binding a model's answer
(`translate.llm`). `catalog_from_profiles` builds the `Catalog` from stored profiles' dicts and
what Prometheus holds (`grounding_labels` says which label values to fetch). Pure: no I/O.
"""

from aiops_mcp.translate.catalog import catalog_from_profiles, grounding_labels
from aiops_mcp.translate.llm import Reading
from aiops_mcp.translate.model import AppRef, Catalog, Entities, Intent, Translation, TranslationError
from aiops_mcp.translate.topics import UnknownMetricError
from aiops_mcp.translate.translator import read_question, translate

__all__ = [
    "AppRef",
    "Catalog",
    "Entities",
    "Intent",
    "Reading",
    "Translation",
    "TranslationError",
    "UnknownMetricError",
    "catalog_from_profiles",
    "grounding_labels",
    "read_question",
    "translate",
]
