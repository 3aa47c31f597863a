"""An investigation's context: what is known about an alert, as titled parts in a token budget.

Pure and MCP-free, so that any host of the engine's data can build the same context: the caller
fetches (the store, Prometheus, Loki) what `make_plan` asks for, and `assemble` and
`build_context` turn it into text. Parts, in priority order, each citing its source:

1. ``alert``: names, severity, status, times, labels, summary and the stored AI analysis.
2. ``profile``: the profile of the alert's app.
3. ``related_alerts``: the app's other alerts that started within `RELATED_SPAN` of it.
4. ``metrics``: one figure per metric query (availability, 5xx ratio, p95 over 1 h, 24 h, 7 d).
5. ``error_logs``: the newest error lines, from `LOG_LEAD` before the alert to its end.
6. ``similar_incidents``: earlier alerts with the same alertname or instance, with their analyses.
7. ``chat_history``: chat sessions about the alert and the similar ones, with the users' questions.

A part that does not apply (no alert, no profile, no labels) is named in the plan's `absent`;
a fetch that failed is named with its reason, and makes the status partial. `build_context`
packs the parts with `aiops_mcp.analysis.budget.pack` after a status line (at most
`STATUS_TOKENS`), within the budget less a `reserve` the caller keeps for what it sends beside
the text.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aiops_mcp.analysis.budget import Packing, Part, clip_to_tokens, line_tokens, pack
from aiops_mcp.analysis.logs import clip_line
from aiops_mcp.analysis.series import format_number

if TYPE_CHECKING:
    from aiops_mcp.datasources.models import LogEntry
    from aiops_mcp.store.models import Alert, ApplicationProfile, ChatSession

PART_NAMES = (
    "alert",
    "profile",
    "related_alerts",
    "metrics",
    "error_logs",
    "similar_incidents",
    "chat_history",
)
RELATED_SPAN = timedelta(hours=1)
RELATED_LIMIT = 20
LOG_LEAD = timedelta(minutes=15)
LOG_LINES = 10
QUIET_LOGS = timedelta(hours=1)
"""Without an alert, error logs of the last hour."""
SIMILAR_LIMIT = 5
CHAT_SESSIONS = 10
QUESTIONS = 10
ANALYSIS_CHARS = 2_000
TEXT_CHARS = 300
STATUS_TOKENS = 100
"""Most tokens the status line may take; longer reasons are cut (they are whole in `missing`)."""
ContextStatus = Literal["ok", "truncated", "partial"]


@dataclass(frozen=True, slots=True)
class Links:
    """How the parts cite the engine's records (the MCP server passes its resource URIs)."""

    alert: Callable[[int], str]
    app: Callable[[str], str]
    app_alerts: Callable[[str], str]
    chat: Callable[[int], str]


def utc_text(ts: float | None) -> str:
    """Unix seconds as UTC ISO-8601 (milliseconds only when present); ``-`` for none."""
    if ts is None:
        return "-"
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds").replace(
        "+00:00", "Z"
    )


def _at(moment: datetime | None) -> str:
    return utc_text(moment.timestamp() if moment else None)


def _labels(labels: Mapping[str, Any]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted((str(k), str(v)) for k, v in labels.items())) + "}"


def _labelled(label: str, text: str | None, chars: int) -> list[str]:
    """`label: text` cut to `chars`, one item line per line of the text."""
    first, *rest = clip_line(text or "none", chars)[0].splitlines() or [""]
    return [f"{label}: {first}", *rest]


def _one_line(text: str, chars: int = TEXT_CHARS) -> str:
    return " ".join(clip_line(text, chars)[0].split())


def mapped_labels(profile: "ApplicationProfile", kind: str) -> dict[str, str]:
    """The profile's ``service_mappings[kind]`` labels (``metrics`` or ``logs``); may be empty."""
    mapped = (profile.service_mappings or {}).get(kind) or {}
    return {str(k): str(v) for k, v in mapped.items()}


def alert_lines(alert: "Alert") -> list[str]:
    annotations = alert.annotations or {}
    when = (
        f"{_at(alert.starts_at)} to {_at(alert.ends_at)}"
        if alert.ends_at
        else f"since {_at(alert.starts_at)}"
    )
    lines = [f"{alert.alertname} [{alert.severity or '-'}] {alert.status}: {when}"]
    lines.append(f"labels: {_labels(alert.labels or {})}")
    summary = annotations.get("summary") or annotations.get("description")
    if summary:
        lines += _labelled("summary", str(summary), TEXT_CHARS)
    return lines + _labelled("ai_analysis", alert.ai_analysis, ANALYSIS_CHARS)


def profile_lines(profile: "ApplicationProfile") -> list[str]:
    lines = _labelled(profile.name, profile.description, TEXT_CHARS)
    if profile.aliases:
        lines.append(f"aliases: {', '.join(map(str, profile.aliases))}")
    for kind in ("metrics", "logs"):
        labels = mapped_labels(profile, kind)
        if labels:
            lines.append(f"{kind} labels: {_labels(labels)}")
    slos = {k: v for k, v in (profile.slos or {}).items() if v is not None}
    if slos:
        lines.append("SLOs: " + ", ".join(f"{k} {format_number(float(v))}" for k, v in slos.items()))
    info = profile.architecture_info
    if info:
        text = info if isinstance(info, str) else json.dumps(info, ensure_ascii=False)
        lines += _labelled("architecture", text, ANALYSIS_CHARS)
    return lines


def _alert_line(alert: "Alert", links: Links) -> str:
    return (
        f"{links.alert(alert.id)} {alert.alertname} [{alert.severity or '-'}] started {_at(alert.starts_at)}"
    )


def related_lines(alert: "Alert", found: Sequence["Alert"], more: bool, app: str, links: Links) -> list[str]:
    """The app's other alerts near this one (`found` may include it); `more`: the listing was cut."""
    others = [a for a in found if a.id != alert.id]
    lines = [f"{_alert_line(a, links)}, {a.status}" for a in others[:RELATED_LIMIT]]
    if more or len(others) > RELATED_LIMIT:
        lines.append("more alerts in that span: read the source")
    return lines or [f"no other {app} alert started within 1 h of this one"]


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One figure: its PromQL, the unit shown and the factor from the query's unit to it."""

    query: str
    unit: str
    scale: float


def metric_lines(queries: Mapping[str, MetricQuery], values: Mapping[str, float | None]) -> list[str]:
    """One line per answered query (`values`: its one value, None for no data), with its query."""
    lines = []
    for name, q in queries.items():
        if name in values:
            value = values[name]
            shown = f"{format_number(value * q.scale)} {q.unit}" if value is not None else "no data"
            lines.append(f"{name}: {shown}; query: {q.query}")
    return lines


def log_lines(entries: Sequence["LogEntry"], max_chars: int) -> list[str]:
    out = []
    for entry in entries:
        instance = entry.labels.get("instance")
        line = clip_line(entry.line, max_chars)[0]
        out.append(f"{utc_text(entry.timestamp_ns / 1e9)} {instance + ' ' if instance else ''}{line}")
    return out or ["no error lines in the window"]


def similar_lines(similar: Sequence["Alert"], links: Links) -> list[str]:
    lines = [f"{_alert_line(a, links)}: {_one_line(a.ai_analysis or 'no AI analysis')}" for a in similar]
    return lines or ["no earlier alert with the same alertname or instance"]


Chats = Sequence[tuple["ChatSession", Sequence[str]]]
"""Chat sessions, each with its users' questions in order."""


def chat_lines(chats: Chats, links: Links) -> list[str]:
    lines = []
    for session, questions in chats:
        about = f" (about {links.alert(session.alert_id)})" if session.alert_id else ""
        lines.append(f"{links.chat(session.id)} {session.title or 'untitled'!r}{about}")
        lines += [f"  asked: {_one_line(q)}" for q in questions[:QUESTIONS]]
    return lines or ["no chat sessions"]


@dataclass
class Plan:
    """What to fetch for the subject: its times (unix seconds), queries, and the parts that do not apply."""

    alert: "Alert | None"
    profile: "ApplicationProfile | None"
    app: str | None
    end: float
    log_start: float
    queries: dict[str, MetricQuery] = field(default_factory=dict)
    log_query: str = ""
    absent: dict[str, str] = field(default_factory=dict)

    @property
    def fetches(self) -> tuple[str, ...]:
        """The parts whose data must be fetched: ``chat_history`` always, the others when they apply."""
        wanted = {
            "related_alerts": self.alert is not None and bool(self.app),
            "metrics": self.profile is not None and bool(self.queries),
            "error_logs": self.profile is not None and bool(self.log_query),
            "similar_incidents": self.alert is not None,
            "chat_history": True,
        }
        return tuple(name for name, wanted_ in wanted.items() if wanted_)


def make_plan(
    alert: "Alert | None",
    profile: "ApplicationProfile | None",
    app: str | None,
    now: float,
    queries: dict[str, MetricQuery],
    log_query: str,
) -> Plan:
    """The windows end at the alert's end (now while it fires); logs start `LOG_LEAD` before it.
    `queries` and `log_query` are the profile's (empty when it maps no metric or log labels)."""
    if alert is None:
        plan = Plan(None, profile, app, now, now - QUIET_LOGS.total_seconds())
        plan.absent = {"alert": f"{app} has no stored alert", "related_alerts": "no alert"}
        plan.absent["similar_incidents"] = "no alert"
    else:
        resolved = alert.status == "resolved" and alert.ends_at is not None
        end = alert.ends_at.timestamp() if alert.ends_at and resolved else now
        plan = Plan(alert, profile, app, end, alert.starts_at.timestamp() - LOG_LEAD.total_seconds())
        if not app:
            plan.absent = {n: f"alert {alert.id} has no app label" for n in ("profile", "related_alerts")}
    if profile is None:
        plan.absent.setdefault("profile", f"no application profile for {app}")
        plan.absent |= {"metrics": "no application profile", "error_logs": "no application profile"}
        return plan
    plan.queries, plan.log_query = dict(queries), log_query
    if not queries:
        plan.absent["metrics"] = "the profile maps no metric labels (service_mappings.metrics)"
    if not log_query:
        plan.absent["error_logs"] = "the profile maps no log labels (service_mappings.logs)"
    return plan


@dataclass(frozen=True, slots=True)
class Section:
    """A part and the source it cites."""

    part: Part
    source: str


def _section(name: str, source: str, lines: list[str]) -> Section:
    return Section(Part(name, f"## {name} (source: {source})", tuple(lines)), source)


@dataclass(frozen=True, slots=True)
class Related:
    """The app's alerts near the subject, and whether there were more than listed."""

    alerts: Sequence["Alert"]
    more: bool


@dataclass(frozen=True, slots=True)
class Metrics:
    """The metric figures: the datasource's name, each answered query's value, the failures by query."""

    datasource: str
    values: Mapping[str, float | None]
    failures: Mapping[str, str]


def assemble(
    plan: Plan, fetched: Mapping[str, Any], links: Links, max_chars: int
) -> tuple[list[Section], dict[str, str]]:
    """The sections in priority order from what was fetched (`fetched[part]`: `Related` for
    related_alerts, `Metrics`, log entries, similar alerts, `Chats`; a failed part is absent),
    and the metric queries that failed (``metrics <query>`` -> why)."""
    failures: dict[str, str] = {}
    out: list[Section] = []
    alert = plan.alert
    if alert:
        out.append(_section("alert", links.alert(alert.id), alert_lines(alert)))
    if plan.profile:
        out.append(_section("profile", links.app(plan.profile.name), profile_lines(plan.profile)))
    related = fetched.get("related_alerts")
    if related is not None and alert and plan.app:
        lines = related_lines(alert, related.alerts, related.more, plan.app, links)
        out.append(_section("related_alerts", links.app_alerts(plan.app), lines))
    metrics = fetched.get("metrics")
    if metrics is not None:
        failures |= {f"metrics {query}": reason for query, reason in metrics.failures.items()}
        source = f"PromQL on {metrics.datasource} at {utc_text(plan.end)}"
        out.append(_section("metrics", source, metric_lines(plan.queries, metrics.values)))
    entries = fetched.get("error_logs")
    if entries is not None:
        source = f"{plan.log_query} over [{utc_text(plan.log_start)}, {utc_text(plan.end)})"
        out.append(_section("error_logs", source, log_lines(entries, max_chars)))
    similar = fetched.get("similar_incidents")
    if similar is not None and alert:
        out.append(_section("similar_incidents", links.alert(alert.id), similar_lines(similar, links)))
    chats = fetched.get("chat_history")
    if chats is not None:
        sessions = ", ".join(links.chat(session.id) for session, _ in chats) or "none"
        source = f"{links.alert(alert.id)}/chats" if alert else sessions
        out.append(_section("chat_history", source, chat_lines(chats, links)))
    return out, failures


def missing_reasons(reasons: Mapping[str, str]) -> list[str]:
    """'part: why' in part order, each cut to `TEXT_CHARS`."""

    def priority(name: str) -> tuple[int, str]:
        base = name.split(" ")[0]
        return (PART_NAMES.index(base) if base in PART_NAMES else len(PART_NAMES), name)

    return [clip_line(f"{n}: {reasons[n]}", TEXT_CHARS)[0] for n in sorted(reasons, key=priority)]


@dataclass(frozen=True, slots=True)
class BuiltContext:
    """The packed context: its status line and parts, the sources, and the tokens of the text."""

    status: ContextStatus
    status_line: str
    packing: Packing
    sources: Mapping[str, str]
    missing: tuple[str, ...]

    @property
    def tokens(self) -> int:
        """Estimated tokens of `text` (an upper bound of ``estimate_tokens(text)``)."""
        return line_tokens(self.status_line) + self.packing.tokens

    @property
    def text(self) -> str:
        return "\n".join((self.status_line, self.packing.text))


def _status_line(head: str, status: str, omitted: Sequence[str], missing: Sequence[str]) -> str:
    line = f"{head} [{status}]"
    if omitted:
        line += f"; omitted for the token budget: {', '.join(omitted)}"
    return line + "".join(f"; missing {reason}" for reason in missing)


def build_context(
    head: str,
    sections: Sequence[Section],
    missing: Sequence[str],
    failed: bool,
    budget: int,
    reserve: int = 0,
) -> BuiltContext:
    """Pack the sections into `budget` less `reserve` tokens, after room for the status line."""
    worst = _status_line(head, "truncated", [s.part.name for s in sections], missing)
    status_room = min(STATUS_TOKENS, line_tokens(worst))
    packing = pack([s.part for s in sections], budget - reserve - status_room)
    cut = bool(packing.omitted) or any(p.truncated for p in packing.parts)
    status: ContextStatus = "partial" if failed else "truncated" if cut else "ok"
    line = clip_to_tokens(_status_line(head, status, packing.omitted, missing), status_room)
    sources = {s.part.name: s.source for s in sections}
    return BuiltContext(status, line, packing, sources, tuple(missing))
