"""Registering tools: read-only annotations, and JSON schemas without the bytes a model never needs.

Tool definitions are part of every conversation's context, so their schemas are compacted:
pydantic's generated titles (the field name again), `"default": null`, and the
`anyOf: [X, null]` spelling of optional fields (written as `type: [X, "null"]`) are dropped, and
descriptions lose the docstring's indentation and line wraps.

Output schemas are also cheap to check, because the SDK's client validates every structured
result against them: a `$defs` entry referenced once is written in place (resolving `$ref`s is
most of a small result's validation), and a fixed-length tuple of plain values, such as a
`[unix_seconds, value]` point, keeps its length but not a schema per element (per-element checks
were two thirds of a range result's validation; its field description says what the elements are).
"""

import inspect
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)


def compact_schema(node: Any) -> Any:
    """A JSON schema with the same meaning and fewer bytes (see the module docstring)."""
    if isinstance(node, list):
        return [compact_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: compact_schema(schema) for name, schema in value.items()}
        elif (key == "title" and isinstance(value, str)) or (key == "default" and value is None):
            continue
        else:
            out[key] = compact_schema(value)
    variants = out.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
        other = next(v for v in variants if v != {"type": "null"})
        if set(other) == {"type"} and isinstance(other["type"], str):
            del out["anyOf"]
            out["type"] = [other["type"], "null"]
    prefix = out.get("prefixItems")
    if (
        isinstance(prefix, list)
        and out.get("minItems") == out.get("maxItems") == len(prefix)
        and all(isinstance(item, dict) and set(item) == {"type"} for item in prefix)
    ):
        del out["prefixItems"]
    return out


def inline_single_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each `$defs` entry that is referenced once, and not from itself, written in place."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return schema
    counts: dict[str, int] = {}
    _count_refs(schema, counts)

    def resolve(node: Any, within: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, within) for item in node]
        if not isinstance(node, dict):
            return node
        name = _def_name(node.get("$ref"))
        if name is not None and name in defs and counts.get(name) == 1 and name not in within:
            siblings = {k: resolve(v, within) for k, v in node.items() if k != "$ref"}
            return {**resolve(defs[name], (*within, name)), **siblings}
        return {k: resolve(v, within) for k, v in node.items() if k != "$defs"}

    out: dict[str, Any] = resolve(schema, ())
    remaining: dict[str, int] = {}
    _count_refs(out, remaining)
    kept = {name: resolve(defs[name], (name,)) for name in defs if name in remaining}
    return {**out, "$defs": kept} if kept else out


def _def_name(ref: Any) -> str | None:
    return ref.removeprefix("#/$defs/") if isinstance(ref, str) and ref.startswith("#/$defs/") else None


def _count_refs(node: Any, counts: dict[str, int]) -> None:
    if isinstance(node, list):
        for item in node:
            _count_refs(item, counts)
    elif isinstance(node, dict):
        name = _def_name(node.get("$ref"))
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
        for value in node.values():
            _count_refs(value, counts)


def description_of(fn: Callable[..., Any]) -> str:
    """The docstring with one line per paragraph: indentation and wraps cost tokens, not meaning."""
    paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def add_tools(server: MCPServer[Any], *functions: Callable[..., Any]) -> None:
    """Register read-only tools with compacted descriptions and input and output schemas."""
    for fn in functions:
        server.add_tool(fn, description=description_of(fn), annotations=READ_ONLY)
        # MCPServer has no public accessor for a registered tool; the schemas are plain dicts.
        tool = server._tool_manager.get_tool(fn.__name__)
        assert tool is not None
        tool.parameters = compact_schema(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = inline_single_refs(
                compact_schema(tool.fn_metadata.output_schema)
            )
