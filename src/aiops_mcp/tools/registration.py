"""Registering tools: read-only annotations, and JSON schemas without the bytes a model never needs.

Tool definitions are part of every conversation's context, so their schemas are compacted:
pydantic's generated titles (the field name again), `"default": null`, and the
`anyOf: [X, null]` spelling of optional fields (written as `type: [X, "null"]`) are dropped, and
descriptions lose the docstring's indentation and line wraps.
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
    return out


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
            tool.fn_metadata.output_schema = compact_schema(tool.fn_metadata.output_schema)
