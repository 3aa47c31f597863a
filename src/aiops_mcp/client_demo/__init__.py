"""The host library of the bundled chat client: an MCP host over any LLM, through LiteLLM.

- `McpHost.open(target, token=...)` connects to an MCP server (an in-process `MCPServer`,
  `StdioServerParameters` to spawn one, or a streamable HTTP URL with a bearer token) and discovers
  its tools, resources, resource templates and prompts (`host.py`).
- `Connection.open(target, token=...)` keeps a server connected for a long-lived front end: a
  server lost mid-chat is connected again (a stdio server spawned again) at once or at the next
  question (`connection.py`).
- `ChatSession(host_or_connection, model)` answers questions: with a LiteLLM model name it runs a
  bounded tool-calling loop (`loop.py`); with `None`, or when the model fails, the offline planner
  answers. A turn that loses the server raises `HostDisconnected` with a message that says so.
- A turn yields events (`events.py`): `Token` (streamed answer text), `ToolStarted`,
  `ToolFinished` (structured result, error flag, seconds), `Notice` (fallbacks, limits) and one
  final `Answer` with the exact PromQL/LogQL queries it cites.

The AIOps engine's chat service can use it as it is, against the aiops-mcp HTTP server::

    from aiops_mcp.client_demo import Answer, ChatSession, Connection, Notice, Token, ToolFinished

    async def answer(question: str) -> None:
        async with Connection.open("https://aiops-mcp.internal/mcp", token=MCP_TOKEN) as connection:
            chat = ChatSession(connection, "openai/gpt-4o-mini", recorder=save_message)
            async for event in chat.ask(question):
                match event:
                    case Token(text):
                        send_to_browser(text)
                    case ToolFinished(name=name, is_error=failed, seconds=seconds):
                        show_tool(name, failed, seconds)
                    case Notice(text):
                        show_notice(text)
                    case Answer(text, queries, mode):
                        show_sources(queries, mode)

Keep one `Connection` open for the service's lifetime and one `ChatSession` per conversation (it
holds the history); `recorder` is an optional `async (role, content, tool_calls)` callback for
saving messages, e.g. to the store's chats. `chat.ask` raises `HostDisconnected` (its message says
what was lost and whether it reconnected) when the server goes away; the next question reconnects.
The model's credentials come from LiteLLM's usual environment variables (`OPENAI_API_KEY`, ...)
or `options={"api_key": ..., "api_base": ...}`.
"""

from aiops_mcp.client_demo.connection import Connection
from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted
from aiops_mcp.client_demo.host import HostDisconnected, McpHost
from aiops_mcp.client_demo.session import ChatSession

__all__ = [
    "Answer",
    "ChatSession",
    "Connection",
    "Event",
    "HostDisconnected",
    "McpHost",
    "Notice",
    "Token",
    "ToolFinished",
    "ToolStarted",
]
