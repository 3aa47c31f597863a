"""`model_turn`: one question answered by an LLM (any LiteLLM model) that calls the MCP server's tools.

A bounded loop: stream the model's reply; when it asks for tools, run them through the host and feed
the results back; stop when it answers without tool calls, or after `max_rounds`. A reply runs at
most `MAX_TOOL_CALLS` tools (the model is told so; the calls past it get a "not run" result). A
model call gives up when no chunk comes for `MODEL_IDLE_SECONDS`, or when the whole reply takes over
`MODEL_REPLY_SECONDS`. When the model cannot be used (bad key, rate limit, timeout, no connection,
any error from the call), the turn says so in a `Notice` and is answered by the offline planner
instead (`offline_turn`). A tool's error is not a failure of the turn: the model gets the error
text as the tool's result and carries on.
"""

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from typing import Any, cast

import anyio

from aiops_mcp.client_demo.events import (
    Answer,
    Event,
    Notice,
    Token,
    ToolFinished,
    ToolStarted,
    cited_queries,
)
from aiops_mcp.client_demo.host import McpHost
from aiops_mcp.llm import load_litellm

MODEL_IDLE_SECONDS = 60.0
"""Longest wait for the model's first chunk, and between two chunks."""
MODEL_REPLY_SECONDS = 300.0
"""Longest one model reply may take, from the request to its last chunk."""
MAX_TOOL_CALLS = 8
"""Tool calls run per model reply; the calls past it are answered "not run"."""
TOOL_RESULT_BUDGET = 8_000
"""Characters of a tool's text result given back to the model."""
_ERROR_CLIP = 300

SYSTEM_PROMPT = f"""\
You are an incident-response assistant with tools that query live monitoring data (Prometheus \
metrics, Loki logs, alerts, application profiles) through an MCP server.
- Ground every statement in tool results from this conversation; never invent numbers, times or names.
- Prefer the answer tools (app_health, app_events, incident_impact, investigation_context) for \
questions about an application or an incident; discover metric and label names before writing queries.
- Cite the exact PromQL/LogQL queries and time windows your answer rests on (results carry them).
- When a result is empty, truncated or partial, say so. When a tool fails, read its error and fix \
the call, or explain what is missing.
- Ask for at most {MAX_TOOL_CALLS} tool calls per reply; calls past that are not run.
- Be concise: lead with the answer, then the evidence."""


def offline_turn(host: McpHost, question: str) -> AsyncGenerator[Event, None]:
    """The offline planner's answer (imported on use; tests replace this seam)."""
    from aiops_mcp.client_demo.planner import plan_turn

    # plan_turn is an async generator function (annotated as the iterator it returns).
    return cast(AsyncGenerator[Event, None], plan_turn(host, question))


@dataclass
class _PendingCall:
    """A tool call being assembled from streamed deltas."""

    call_id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class _Reply:
    """One model reply: its text, the tool calls it asked for, or why it failed."""

    text: list[str] = field(default_factory=list)
    pending: dict[int, _PendingCall] = field(default_factory=dict)
    failure: Exception | None = None

    def absorb(self, chunk: Any) -> str:
        """Fold one streamed chunk in; returns its new text."""
        if not getattr(chunk, "choices", None):
            return ""
        delta = chunk.choices[0].delta
        for position, piece in enumerate(getattr(delta, "tool_calls", None) or []):
            index = piece.index if getattr(piece, "index", None) is not None else position
            call = self.pending.setdefault(index, _PendingCall())
            call.call_id = piece.id or call.call_id
            if piece.function is not None:
                call.name = call.name or piece.function.name or ""  # names come whole, once
                call.arguments += piece.function.arguments or ""
        text = getattr(delta, "content", None) or ""
        self.text.append(text)
        return text

    def calls(self, round_number: int) -> list[_PendingCall]:
        """The tool calls in order, each with an id (made up when the provider sent none)."""
        calls = [self.pending[i] for i in sorted(self.pending)]
        for position, call in enumerate(calls):
            call.call_id = call.call_id or f"call_{round_number}_{position}"
        return calls

    def message(self, calls: list[_PendingCall]) -> dict[str, Any]:
        """The assistant message that asked for `calls`, as the model must see it again."""
        return {
            "role": "assistant",
            "content": "".join(self.text) or None,
            "tool_calls": [
                {
                    "id": c.call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments or "{}"},
                }
                for c in calls
            ],
        }


def clip(text: str, budget: int) -> str:
    """`text` cut to `budget` characters, saying how much was left out."""
    if len(text) <= budget:
        return text
    return f"{text[:budget]}\n[... cut: {len(text) - budget} more characters]"


def _error_notice(exc: BaseException) -> Notice:
    message = str(exc).strip().replace("\n", " ").removeprefix(f"litellm.{type(exc).__name__}: ")
    return Notice(f"model error: {type(exc).__name__}: {clip(message, _ERROR_CLIP)}; answering offline")


class _Deadlines:
    """The idle and whole-reply deadlines of one model call."""

    def __init__(self) -> None:
        self.end = anyio.current_time() + MODEL_REPLY_SECONDS

    def next_wait(self) -> float:
        return max(0.0, min(MODEL_IDLE_SECONDS, self.end - anyio.current_time()))

    def timeout(self, started: bool) -> TimeoutError:
        """The error to report once a wait ran out, saying which deadline passed."""
        if anyio.current_time() >= self.end:
            return TimeoutError(f"the reply took over {MODEL_REPLY_SECONDS:g} s")
        waited = "between two chunks" if started else "before the first chunk"
        return TimeoutError(f"no answer for {MODEL_IDLE_SECONDS:g} s {waited}")


async def _stream_reply(
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    options: Mapping[str, Any],
    reply: _Reply,
) -> AsyncGenerator[Token, None]:
    """Stream one model reply into `reply`, yielding its text; any failure (including a deadline
    passing) ends the stream and is kept in `reply.failure`."""
    deadlines = _Deadlines()
    stream: Any = None
    try:
        with anyio.fail_after(deadlines.next_wait()):
            litellm = load_litellm()
            extra: dict[str, Any] = {"tools": tools} if tools else {}
            stream = await litellm.acompletion(
                model=model, messages=messages, stream=True, **extra, **options
            )
    except TimeoutError:
        reply.failure = deadlines.timeout(started=False)
        return
    except Exception as exc:
        reply.failure = exc
        return
    started = False
    while True:
        try:
            with anyio.fail_after(deadlines.next_wait()):
                chunk = await anext(stream, None)
        except Exception as exc:
            reply.failure = deadlines.timeout(started) if isinstance(exc, TimeoutError) else exc
            await _close(stream)
            return
        if chunk is None:
            return
        started = True
        if text := reply.absorb(chunk):
            yield Token(text)


async def _close(stream: Any) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        # A broken stream may fail to close too; nothing more is needed from it.
        with anyio.move_on_after(1, shield=True), suppress(Exception):
            await closer()


async def model_turn(
    host: McpHost,
    model: str,
    history: list[dict[str, Any]],
    question: str,
    *,
    max_rounds: int = 6,
    options: Mapping[str, Any] | None = None,
) -> AsyncGenerator[Event, None]:
    """Answer `question` (after `history`, OpenAI-format messages, left unchanged) with `model`
    calling the host's tools. `options` go to `litellm.acompletion` (api_base, api_key, ...)."""
    guide = f"\n\nThe server's guide to its tools:\n{host.instructions}" if host.instructions else ""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT + guide},
        *history,
        {"role": "user", "content": question},
    ]
    tools = host.tool_specs_for_llm()
    results: list[ToolFinished] = []
    for round_number in range(max_rounds):
        reply = _Reply()
        async with aclosing(_stream_reply(model, messages, tools, options or {}, reply)) as tokens:
            async for token in tokens:
                yield token
        if reply.failure is not None:
            yield _error_notice(reply.failure)
            async with aclosing(offline_turn(host, question)) as offline:
                async for event in offline:
                    yield event
            return
        if not reply.pending:
            yield Answer("".join(reply.text), cited_queries(results), f"model:{model}")
            return
        calls = reply.calls(round_number)
        messages.append(reply.message(calls))
        if len(calls) > MAX_TOOL_CALLS:
            yield Notice(f"the model asked for {len(calls)} tool calls; ran the first {MAX_TOOL_CALLS}")
        for call in calls[:MAX_TOOL_CALLS]:
            async for event in _run_tool(host, call):
                yield event
                if isinstance(event, ToolFinished):
                    results.append(event)
                    content = f"Tool error: {event.text}" if event.is_error else event.text
                    tool_message = {"role": "tool", "tool_call_id": call.call_id}
                    messages.append({**tool_message, "content": clip(content, TOOL_RESULT_BUDGET)})
        for call in calls[MAX_TOOL_CALLS:]:  # every call asked for gets an answer, in order
            skipped = f"Not run: at most {MAX_TOOL_CALLS} tool calls per reply. Ask again if still needed."
            messages.append({"role": "tool", "tool_call_id": call.call_id, "content": skipped})
    yield Notice(f"stopped after {max_rounds} model rounds without a final answer")
    yield Answer(_limit_answer(max_rounds, results), cited_queries(results), f"model:{model}")


async def _run_tool(host: McpHost, call: _PendingCall) -> AsyncIterator[Event]:
    """ToolStarted, then ToolFinished (arguments that are not a JSON object are a tool error)."""
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        arguments, problem = {}, f"arguments are not valid JSON ({exc.msg}): {clip(call.arguments, 200)}"
    else:
        problem = "" if isinstance(arguments, dict) else "arguments must be a JSON object"
        arguments = arguments if isinstance(arguments, dict) else {}
    yield ToolStarted(call.call_id, call.name, arguments)
    if problem:
        yield ToolFinished(call.call_id, call.name, arguments, True, problem, None, 0.0)
    else:
        yield await host.call_tool(call.name, arguments, call_id=call.call_id)


def _limit_answer(max_rounds: int, results: list[ToolFinished]) -> str:
    lines = [f"I reached the limit of {max_rounds} tool-calling rounds before finishing an answer."]
    if results:
        lines.append("What the tools returned so far:")
        for r in results:
            first = r.text.strip().splitlines()[0] if r.text.strip() else "(no text)"
            lines.append(f"- {r.name}{' (error)' if r.is_error else ''}: {clip(first, 200)}")
    return "\n".join(lines)
