"""The audit log, for administrators.

    aiops://audit{?actor,cursor}     the newest entries first, 100 a page, with a `next` URI

Every tool call, resource read, prompt and REST call: who (the token's name, or "local"),
what (tool, resource or route, the arguments and the queries sent), when, how long, how it
went and how big the answer was. Needs the admin scope. Never holds a secret.
"""

from urllib.parse import quote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from aiops_mcp.resources.common import iso, reading, to_json
from aiops_mcp.runtime import runtime
from aiops_mcp.security.context import current_principal

PAGE_SIZE = 100


async def audit_log(ctx: Context, actor: str | None = None, cursor: str | None = None) -> str:
    """Audit entries as JSON, newest first."""
    if not current_principal().admin:
        raise ResourceError("the audit log needs a token with the admin scope")
    from aiops_mcp.store.types import stored_id

    before = stored_id(cursor) if cursor else None
    if cursor and before is None:
        raise ResourceError(f"cursor must be the number a previous page gave, got {cursor!r}")
    await runtime(ctx).access.auditor.flush()
    async with reading(ctx) as store:
        rows = await store.audit.recent(limit=PAGE_SIZE + 1, actor=actor or None, before_id=before)
    page = rows[:PAGE_SIZE]
    following = None
    if len(rows) > PAGE_SIZE:
        actor_part = f"actor={quote(actor, safe='')}&" if actor else ""
        following = f"aiops://audit?{actor_part}cursor={page[-1].id}"
    entries = [
        {
            "id": row.id,
            "at": iso(row.at),
            "actor": row.actor,
            "action": row.action,
            "target": row.target,
            "arguments": row.arguments,
            "status": row.status,
            "duration_ms": row.duration_ms,
            "result_bytes": row.result_bytes,
        }
        for row in page
    ]
    return to_json({"entries": entries, "next": following})


def register(server: MCPServer) -> None:
    server.resource(
        "aiops://audit{?actor,cursor}",
        name="audit",
        title="Audit log",
        description=(
            "Who called which tool, resource, prompt or REST route, with what arguments and queries, "
            "when, how long it took, how it went and how big the answer was; newest first, 100 a "
            "page. Needs the admin scope."
        ),
        mime_type="application/json",
    )(audit_log)
