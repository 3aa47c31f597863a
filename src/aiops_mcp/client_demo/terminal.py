"""`aiops-mcp chat` in the terminal: ask, watch the tools run, read the answer and its queries.

Rendering with rich: the answer streams as it comes; each tool call shows a spinner while it
runs, then one trace line (✓ or ✗, seconds); structured results become tables (series with
their statistics and a sparkline, counts by level, per-signal verdicts); the queries an answer
rests on are listed under it. The first line says which mode answers: a model, or offline.
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from rich.console import Console
from rich.markdown import Markdown
from rich.status import Status
from rich.table import Table

from aiops_mcp.analysis.series import format_number, sparkline
from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted

PROMPT = "ask> "
EXIT_WORDS = {"exit", "quit", ":q"}


def result_table(finished: ToolFinished) -> Table | None:
    """A table for the structured results people read as tables; None for the others."""
    data = finished.structured or {}
    data = data.get("metrics") or data.get("logs") or data
    if data.get("series"):
        table = Table("series", "min", "mean", "max", "last", "trend", title=finished.name)
        for series in data["series"]:
            stats = series["stats"]
            labels = ",".join(f"{k}={v}" for k, v in series["labels"].items()) or "{}"
            points = [p[1] for p in series.get("points", []) if p[1] is not None]
            table.add_row(
                labels, *(format_number(stats[k]) for k in ("min", "mean", "max", "last")), sparkline(points)
            )
        return table
    if data.get("levels") or data.get("level_counts"):
        table = Table("level", "count", "%", title=finished.name)
        for level in data.get("levels") or data.get("level_counts") or []:
            table.add_row(level["level"], f"{level['count']:,}", format_number(level["percent"]))
        return table
    if data.get("signals"):
        table = Table("signal", "worst", "mean", "verdict", title=finished.name)
        for s in data["signals"]:
            verdict = (
                "impacted" if s["impacted"] else "not impacted" if s["impacted"] is False else s["status"]
            )
            table.add_row(
                s["signal"], f"{format_number(s['peak'])} {s['unit']}", format_number(s["mean"]), verdict
            )
        return table
    if data.get("slos"):
        table = Table("SLO", "measured", "target", "met", title=f"{finished.name}: {data.get('verdict')}")
        for s in data["slos"]:
            met = "yes" if s["compliant"] else "no" if s["compliant"] is False else "no data"
            table.add_row(
                s["name"], f"{format_number(s['measured'])}{s['unit']}", format_number(s["target"]), met
            )
        return table
    return None


class TerminalView:
    """Renders a turn's events on a rich console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None
        self.streamed = False

    def show(self, event: Event) -> None:
        if isinstance(event, Token):
            self.streamed = True
            self.console.print(event.text, end="", soft_wrap=True, markup=False, highlight=False)
        elif isinstance(event, ToolStarted):
            self.status = self.console.status(f"running {event.name}({_args(event.arguments)})")
            self.status.start()
        elif isinstance(event, ToolFinished):
            self._stop()
            mark = "[red]✗[/]" if event.is_error else "[green]✓[/]"
            self.console.print(f"{mark} {event.name}({_args(event.arguments)}) {event.seconds:.2f}s")
            if event.is_error:
                self.console.print(f"  [red]{event.text[:500]}[/]", markup=True, highlight=False)
            elif (table := result_table(event)) is not None:
                self.console.print(table)
        elif isinstance(event, Notice):
            self._stop()
            self.console.print(f"[yellow]note:[/] {event.text}", highlight=False)
        elif isinstance(event, Answer):
            self._stop()
            if self.streamed:
                self.console.print()
            else:
                self.console.print(Markdown(event.text))
            for query in event.queries:
                if query not in event.text:  # not twice when the answer already cites it
                    self.console.print(f"  [dim]query:[/] {query}", highlight=False, markup=True)
            self.streamed = False

    def _stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


async def repl(
    ask: Callable[[str], AsyncIterator[Event]],
    mode: str,
    read: Callable[[str], str] = input,
    console: Console | None = None,
) -> None:
    """Read questions until EOF or 'exit', rendering each answer; `mode` is shown first."""
    console = console or Console()
    console.print(f"aiops-mcp chat — mode: [bold]{mode}[/]. Ask about your apps; 'exit' to leave.")
    view = TerminalView(console)
    while True:
        try:
            question = (await anyio.to_thread.run_sync(read, PROMPT)).strip()
        except (EOFError, KeyboardInterrupt):
            break
        if question.lower() in EXIT_WORDS:
            break
        if question:
            async for event in ask(question):
                view.show(event)
