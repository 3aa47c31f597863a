"""Answer templates of the offline planner: plain text from the tools' structured results.

Each function takes a tool's result model (or a resource's JSON) and returns the answer text; the
figures are the tools' own, only formatted: counts with thousands separators, other numbers with 4
significant digits, times as HH:MM UTC (the date is said once when the whole window is one day).
"""

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aiops_mcp.analysis.series import format_number, round_sig
from aiops_mcp.tools.contract import label_text
from aiops_mcp.tools.events import EventsResult
from aiops_mcp.tools.health import HealthResult
from aiops_mcp.tools.impact import ImpactResult, SignalOut
from aiops_mcp.tools.shaping import LogResult, MetricResult
from aiops_mcp.tools.translate import TranslationResult

LOG_LINES_SHOWN = 5
SERIES_SHOWN = 5
ALERTS_SHOWN = 10
LINE_CHARS = 200
HOST_SIGNALS = frozenset({"cpu_busy", "memory_used", "disk_io", "network"})
SIGNAL_NAMES = {
    "cpu_busy": "CPU busy",
    "memory_used": "memory used",
    "disk_io": "disk I/O",
    "network": "network traffic",
    "availability": "availability",
    "error_ratio": "5xx error ratio",
    "latency_p95": "p95 latency",
}
SLO_NAMES = {
    "availability": "availability",
    "error_rate": "error rate",
    "p95_latency_ms": "p95 latency",
    "p99_latency_ms": "p99 latency",
}
BREACHES = {
    "error_rate": "error rate above target",
    "p95_latency": "p95 latency above target",
    "p99_latency": "p99 latency above target",
}
BASELINES = {"previous_day": "the previous day", "hour_before": "the hour before"}
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
_PREPOSITIONS = ("since ", "from ", "between ", "on ", "in ", "during ", "at ")
_LAST_RE = re.compile(r"last\s*([0-9]+)\s*([smhdw])")


# --- numbers and times ------------------------------------------------------------------------


def count(value: int | None) -> str:
    """An exact count with thousands separators."""
    return "n/a" if value is None else f"{value:,}"


def number(value: float | None) -> str:
    """4 significant digits, thousands separators, never an exponent ('n/a' for none)."""
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return format_number(value)
    rounded = round_sig(float(value)) or 0.0
    if rounded == 0:
        return "0"
    if abs(rounded) >= 1000 or rounded == int(rounded):
        return f"{rounded:,.0f}"
    decimals = 3 - math.floor(math.log10(abs(rounded)))
    return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")


def quantity(value: float | None, unit: str) -> str:
    """A number with its unit; bytes per second scaled to kB/s, MB/s, GB/s."""
    if value is None:
        return "n/a"
    if unit == "B/s":
        for prefix in ("", "k", "M", "G"):
            if abs(value) < 1000 or prefix == "G":
                return f"{number(value)} {prefix}B/s"
            value /= 1000
    return f"{number(value)} {unit}".rstrip()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _end_day(end: datetime) -> date:
    """The day an end time closes: midnight ends the day before (24:00)."""
    return (end - timedelta(microseconds=1)).date() if end.time() == time(0) else end.date()


@dataclass(frozen=True)
class Clock:
    """Writes times as HH:MM UTC, adding the date for times off `day` (None: always)."""

    day: date | None = None

    @classmethod
    def of_window(cls, start: str | None, end: str | None) -> "Clock":
        """A clock whose day is the window's when the window lies within one day."""
        if not start or not end:
            return cls()
        a, b = moment(start), moment(end)
        return cls(a.date() if a.date() == _end_day(b) else None)

    def at(self, text: str, *, seconds: bool = False, utc: bool = True) -> str:
        t = moment(text)
        clock = f"{t:%H:%M:%S}" if seconds else f"{t:%H:%M}"
        stamp = clock if t.date() == self.day else f"{t:%Y-%m-%d} {clock}"
        return f"{stamp} UTC" if utc else stamp

    def span(self, start: str, end: str) -> str:
        """'14:30–14:45 UTC' (plus ' on <date>' off the clock's day), or both dates and times."""
        first, last, same_day, suffix = self._ends(start, end)
        return f"{first}–{last}{suffix}" if same_day else f"{first} – {last}{suffix}"

    def between(self, start: str, end: str) -> str:
        first, last, _, suffix = self._ends(start, end)
        return f"between {first} and {last}{suffix}"

    def _ends(self, start: str, end: str) -> tuple[str, str, bool, str]:
        a, b = moment(start), moment(end)
        if a.date() != _end_day(b):
            return f"{a:%Y-%m-%d %H:%M}", f"{b:%Y-%m-%d %H:%M}", False, " UTC"
        closing = "24:00" if b.date() != a.date() else f"{b:%H:%M}"
        suffix = " UTC" if a.date() == self.day else f" UTC on {a:%Y-%m-%d}"
        return f"{a:%H:%M}", closing, True, suffix


def window_words(time_range: str) -> str:
    """'last 24h' -> 'in the last 24 hours', 'yesterday' -> 'yesterday'."""
    found = _LAST_RE.fullmatch(time_range.strip().casefold())
    if found:
        amount, unit = int(found[1]), _UNITS[found[2]]
        return f"in the last {unit}" if amount == 1 else f"in the last {amount} {unit}s"
    text = time_range.strip()
    if text.casefold() in ("today", "yesterday") or text.casefold().startswith(_PREPOSITIONS):
        return text
    return f"over {text}"


def when(time_range: str, start: str | None, end: str | None) -> str:
    """The window in words with its UTC span: 'yesterday (00:00–24:00 UTC on 2026-05-04)'."""
    words = window_words(time_range)
    return f"{words} ({Clock().span(start, end)})" if start and end else words


def cite(language: str, queries: Iterable[tuple[str, str]]) -> list[str]:
    """The queries an answer rests on, one line each: '<language>:' then '- name: query'."""
    unique = dict(queries)
    return [f"{language}:", *(f"- {name}: {query}" for name, query in unique.items())] if unique else []


# --- flow 1: events ---------------------------------------------------------------------------


def events(r: EventsResult, time_range: str) -> str:
    """How many events the app created: totals by level, the peaks, the alerts, the LogQL."""
    clock = Clock.of_window(r.start, r.end)
    period = when(time_range, r.start, r.end)
    containing = f" containing {r.text!r}" if r.text else ""
    out = []
    if r.log_events is not None:
        levels = ", ".join(f"{c.level} {count(c.count)} ({number(c.percent)} %)" for c in r.levels)
        out.append(
            f"{r.app} created {count(r.log_events)} log events{containing} {period}"
            + (f": {levels}." if levels else ".")
        )
    else:
        out.append(f"I could not count {r.app}'s log events{containing} {period}.")
    out += [f"Not available: {reason}." for reason in r.missing]
    if r.peak is not None:
        share = f" ({number(100 * r.peak.share)} % of the window's events)" if r.peak.share else ""
        out.append(f"Peak: {count(r.peak.count)} events {clock.between(r.peak.start, r.peak.end)}{share}.")
    if r.error_peak is not None:
        where = (
            "in the same interval"
            if r.peak and (r.peak.start, r.peak.end) == (r.error_peak.start, r.error_peak.end)
            else clock.between(r.error_peak.start, r.error_peak.end)
        )
        out.append(f"Errors peaked {where}: {count(r.error_peak.count)} error events.")
    if r.alerts_total is not None:
        groups = ", ".join(f"{g.alertname} {g.severity or 'no severity'} {g.count}" for g in r.alerts)
        listed = f" ({groups})" if groups else ""
        out.append(f"Alerts in the window: {count(r.alerts_total)}{listed}; see {r.alerts_uri}.")
    out += cite("LogQL", ((name, p.query) for name, p in r.queries.items()))
    return "\n".join(out)


# --- flow 2: health ---------------------------------------------------------------------------


def health(r: HealthResult, time_range: str) -> str:
    """The verdict, uptime, each SLO measured against its target, the breach windows, the PromQL."""
    up = r.queries.get("up")
    start, end = (up.start, up.end) if up is not None else (None, None)
    clock = Clock.of_window(start, end)
    period = when(time_range, start, end)
    if r.verdict is None:
        out = [f"{r.app} has no SLOs to judge against {period}: {r.reason}."]
    elif r.verdict == "no data":
        out = [f"There is no data for {r.app} {period}: {r.reason}."]
    else:
        out = [f"{r.app} was {r.verdict} {period}: {r.reason}."]
    if r.missing:
        out.append(f"Not measured (query failed): {', '.join(r.missing)}.")
    if r.uptime_percent is not None:
        per = ", ".join(f"{name} {number(value)} %" for name, value in r.instances.items())
        out.append(f"Uptime {number(r.uptime_percent)} %" + (f" ({per})." if per else "."))
    if r.slos:
        out.append("SLOs:")
    for s in r.slos:
        name = SLO_NAMES.get(s.name, s.name)
        if s.target is None:
            out.append(f"- {name}: {quantity(s.measured, s.unit)} measured (no target)")
            continue
        judged = "met" if s.compliant else "breached" if s.compliant is False else "no data"
        budget = f", error budget used {number(s.budget_consumed)}×" if s.budget_consumed is not None else ""
        out.append(
            f"- {name}: {quantity(s.measured, s.unit)} measured vs {quantity(s.target, s.unit)} target: "
            f"{judged}{budget}"
        )
    if r.windows:
        out.append("Breach windows:")
    for w in r.windows:
        span = clock.span(w.start, w.end)
        if w.signal.startswith("down "):
            out.append(f"- {w.signal.removeprefix('down ')} down {span}")
        else:
            what = BREACHES.get(w.signal, w.signal)
            peak = f"peak {quantity(w.peak, w.unit)} at {clock.at(w.peak_at)}"
            out.append(f"- {what} {span}, {peak}")
    if r.windows_omitted:
        out.append(f"({r.windows_omitted} shorter breach windows not shown.)")
    out += cite("PromQL", ((name, p.query) for name, p in r.queries.items()))
    return "\n".join(out)


# --- flow 3: impact ---------------------------------------------------------------------------


def impact(r: ImpactResult) -> str:
    """The verdict, the impacted signals against their baselines, the others, the stored analysis."""
    start, end = r.windows["window"]
    span = Clock().span(start, end)
    during = f"during alert #{r.alert_id} ({span})" if r.alert_id else f"in the window {span}"
    impacted = [s for s in r.signals if s.impacted]
    if impacted:
        owners: dict[str, list[str]] = {}
        for s in impacted:
            owners.setdefault(_owner(r, s), []).append(SIGNAL_NAMES.get(s.signal, s.signal))
        named = "; ".join(f"{who} ({', '.join(names)})" for who, names in owners.items())
        out = [f"Yes: impacted {during}: {named}."]
    elif r.verdict == "not impacted":
        who = " and ".join(dict.fromkeys(_owner(r, s) for s in r.signals))
        out = [f"No: {who} stayed within the baselines {during}."]
    else:
        out = [f"I cannot tell whether anything was impacted {during}: no data."]
    out.append("Compared with the same window the previous day and the hour before.")
    for title, chosen in (
        ("Impacted", impacted),
        ("Not impacted", [s for s in r.signals if s.impacted is False]),
        ("Not judged", [s for s in r.signals if s.impacted is None]),
    ):
        if chosen:
            out.append(f"{title}:")
            out += [f"- {_signal_line(r, s)}" for s in chosen]
    out += [f"Not checked: {reason}." for reason in r.missing if not reason.startswith(_failed(r))]
    if r.ai_analysis:
        out.append(f"Stored analysis of alert #{r.alert_id}: {r.ai_analysis}")
    if r.chat_questions:
        out.append("Already asked about it in chat: " + " / ".join(r.chat_questions))
    out += cite("PromQL", ((s.signal, s.query) for s in r.signals))
    return "\n".join(out)


def _failed(r: ImpactResult) -> tuple[str, ...]:
    """Prefixes of `missing` entries already told as a signal's failure (its window query)."""
    return tuple(f"{s.signal} window" for s in r.signals)


def _owner(r: ImpactResult, s: SignalOut) -> str:
    if s.signal in HOST_SIGNALS:
        return r.host or "the host"
    return r.instance or r.app or "the app"


def _signal_line(r: ImpactResult, s: SignalOut) -> str:
    name = f"{SIGNAL_NAMES.get(s.signal, s.signal)} on {_owner(r, s)}"
    if s.status != "ok":
        return f"{name}: {s.reason}"
    against = " and ".join(
        f"{quantity(b.mean, s.unit)} {BASELINES.get(b.name, b.name)}"
        + (f" ({number(b.peak_ratio)}×)" if b.peak_ratio is not None else "")
        for b in s.baselines
    )
    baseline = f" vs a mean of {against}" if against else ""
    return f"{name}: worst {quantity(s.peak, s.unit)} (mean {quantity(s.mean, s.unit)}){baseline}"


# --- metrics and logs (translate_query with run) ----------------------------------------------


def translated(r: TranslationResult) -> str:
    """A translated query's result: the series with their statistics, or the log lines."""
    out = [r.explanation]
    if r.metrics is not None:
        out += _metric_lines(r.metrics, r.time_range)
    elif r.logs is not None:
        out += _log_lines(r.logs, r.time_range)
    else:
        out.append("The query did not run.")
    out += [f"Note: {note}" for note in r.notes]
    language = "PromQL" if r.language == "promql" else "LogQL"
    out += cite(language, [("query", r.query)] if r.query else [])
    return "\n".join(out)


def _metric_lines(m: MetricResult, time_range: str) -> list[str]:
    p = m.provenance
    if p.time is not None:
        head = f"At {Clock().at(p.time)}:"
    else:
        words = when(time_range, p.start, p.end)
        head = f"{words[:1].upper()}{words[1:]}:"
    clock = Clock.of_window(p.start, p.end)
    if not m.series:
        return [f"{head} no series matched (the query ran and returned nothing)."]
    out = [head]
    for s in m.series[:SERIES_SHOWN]:
        name = label_text(s.labels) if s.labels else "value"
        if p.time is not None:
            value = s.points[-1][1] if s.points else s.stats.last
            out.append(f"- {name}: {number(value)}")
            continue
        peak = f" at {clock.at(s.stats.max_at)}" if s.stats.max_at else ""
        out.append(
            f"- {name}: last {number(s.stats.last)}, mean {number(s.stats.mean)}, "
            f"min {number(s.stats.min)}, max {number(s.stats.max)}{peak} ({count(s.stats.samples)} samples)"
        )
    hidden = m.series_total - min(len(m.series), SERIES_SHOWN)
    if hidden > 0:
        out.append(f"({count(hidden)} more series not shown; {m.series_total:,} in all.)")
    out += [f"Warning: {w}" for w in m.warnings]
    return out


def _log_lines(logs: LogResult, time_range: str) -> list[str]:
    p = logs.provenance
    period = when(time_range, p.start, p.end)
    clock = Clock.of_window(p.start, p.end)
    matched = logs.total_matching if logs.total_matching is not None else len(logs.lines)
    levels = ", ".join(f"{c.level} {count(c.count)}" for c in logs.level_counts)
    head = f"{count(matched)} log lines matched {period}" + (f", by level {levels}" if levels else "")
    if not logs.lines:
        return [f"{head}."]
    shown = logs.lines[:LOG_LINES_SHOWN]
    out = [f"{head}; the newest {len(shown)}:"]
    for line in shown:
        text = line.line if len(line.line) <= LINE_CHARS else line.line[: LINE_CHARS - 1] + "…"
        out.append(f"- {clock.at(line.time, seconds=True, utc=False)} [{line.level}] {text}")
    out += [f"Warning: {w}" for w in logs.warnings]
    return out


# --- alerts, help -----------------------------------------------------------------------------


def alerts(document: dict[str, Any], uri: str) -> str:
    """The alerts a resource listed, newest first."""
    found: list[dict[str, Any]] = list(document.get("alerts") or [])
    filters = dict(document.get("filters") or {})
    if document.get("app"):
        filters["app"] = document["app"]
    scope = " ".join(f"{k}={v}" for k, v in filters.items())
    if not found:
        return f"No alerts ({scope or 'none stored'}; read {uri})."
    more = " (more on the next page: " + str(document["next"]) + ")" if document.get("more") else ""
    noun = "alert" if len(found) == 1 else "alerts"
    out = [f"{len(found)} {noun}{f' ({scope})' if scope else ''}, newest first{more}:"]
    for a in found[:ALERTS_SHOWN]:
        who = a.get("app") or a.get("instance") or "-"
        start, end = a.get("starts_at"), a.get("ends_at")
        period = Clock().span(start, end) if start and end else f"since {Clock().at(start)}" if start else ""
        summary = f": {a['summary']}" if a.get("summary") else ""
        severity = a.get("severity") or "no severity"
        out.append(
            f"- #{a.get('id')} {a.get('alertname')} [{severity}] {who}, {a.get('status')} {period}{summary}"
        )
    if len(found) > ALERTS_SHOWN:
        out.append(f"({len(found) - ALERTS_SHOWN} more in {uri}.)")
    return "\n".join(out)


def capabilities(apps: Sequence[dict[str, Any]]) -> str:
    """What the offline planner answers, with the known apps (in the given order) and examples."""
    app = apps[0]["name"] if apps else "abc-app"
    lines = [
        "Without a model I answer these kinds of questions:",
        f"- How many events did {app} create in the last 24 hours?",
        f"- Was {app} healthy yesterday?",
        "- Was the server impacted during the last incident?",
        f"- p95 latency (or error rate, request rate, CPU, memory) of {app} over the last hour",
        f"- error logs of {app} yesterday, or logs containing 'timeout'",
        "- Which alerts fired?",
    ]
    if apps:
        lines.append("Known applications:")
        for a in apps:
            aliases = f" (also {', '.join(a['aliases'])})" if a.get("aliases") else ""
            about = f": {a['description']}" if a.get("description") else ""
            lines.append(f"- {a['name']}{aliases}{about}")
    return "\n".join(lines)
