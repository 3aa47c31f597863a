"""Log pipelines: stream selection, line filters, parsers, label filters and the formatting stages,
run over one stored entry at a time as a `Row`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aiops_mcp.query.logql import (
    ComparisonFilter,
    Decolorize,
    DropLabels,
    GoRegexError,
    IpLabelFilter,
    KeepLabels,
    LabelFilterExpr,
    LabelFilterStage,
    LabelFormat,
    LabelMatchFilter,
    LineFilter,
    LineFormat,
    LogicalLabelFilter,
    Matcher,
    ParserStage,
    Stage,
    StreamSelector,
    compile_go_regex,
    parse_bytes,
    parse_go_duration,
)
from tests.doubles.loki.dataset import NS, Entry
from tests.doubles.loki.errors import BadRequest, Unsupported
from tests.doubles.loki.parsers import json_fields, json_path, logfmt_fields

JSON_PARSE_ERROR = "Value looks like object, but can't find closing '}' symbol"


@dataclass(frozen=True)
class Hints:
    """Loki's parser hints for metric queries: which parsed labels are needed at all.

    `required` None means every label (log queries, or no grouping); `skip` means no label is needed,
    so parsers do not run (and cannot fail): ``sum(count_over_time({...} | json [5m]))``."""

    required: frozenset[str] | None = None
    skip: bool = False

    def wants(self, key: str) -> bool:
        return self.required is None or key in self.required

    @property
    def preserve_error(self) -> bool:
        return self.required is not None and "__error__" in self.required


ALL_LABELS = Hints()


@dataclass
class Row:
    """An entry going through a pipeline: its current line and labels, and which labels were parsed."""

    entry: Entry
    line: str
    labels: dict[str, str]
    hints: Hints = ALL_LABELS
    parsed: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, entry: Entry, hints: Hints) -> Row:
        return cls(entry, entry.line, {**dict(entry.stream), **dict(entry.metadata)}, hints)

    def set_error(self, kind: str, details: str) -> None:
        if "__error__" not in self.labels:
            self.labels["__error__"] = kind
            self.labels["__error_details__"] = details

    def extracted(self, key: str, value: str) -> None:
        """Add a parsed label; a name already on the stream gets `_extracted`, as Loki does."""
        if not self.hints.wants(key):
            return
        base = dict(self.entry.stream) | dict(self.entry.metadata)
        name = f"{key}_extracted" if key in base else key
        self.labels[name] = value
        self.parsed.add(name)


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        compiled = compile_go_regex(pattern)
    except GoRegexError as exc:  # the parser already rejected it; kept for type narrowing
        raise BadRequest(f"error parsing regexp: {exc}") from None
    if compiled is None:
        raise Unsupported(f"regexp syntax Python cannot check: {pattern}")
    return compiled


def matches(m: Matcher, value: str) -> bool:
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    found = _regex(m.value).fullmatch(value) is not None
    return found if m.op == "=~" else not found


def selects(selector: StreamSelector, labels: Mapping[str, str]) -> bool:
    return all(matches(m, labels.get(m.name, "")) for m in selector.matchers)


def _line_filter(stage: LineFilter, row: Row) -> bool:
    if stage.ip or stage.op in ("|>", "!>"):
        raise Unsupported(f"line filter {stage}")
    if stage.op in ("|=", "!="):
        hit = any(v in row.line for v in stage.values)
    else:
        hit = any(_regex(v).search(row.line) for v in stage.values)
    return hit if stage.op in ("|=", "|~") else not hit


def _parse_json_stage(stage: ParserStage, row: Row) -> None:
    fields = json_fields(row.line)
    if fields is None:
        row.set_error("JSONParserErr", JSON_PARSE_ERROR)
        return
    if not stage.extractions:
        for key, value in fields.items():
            row.extracted(key, value)
        return
    data = json.loads(row.line, parse_float=str, parse_int=str)
    for item in stage.extractions:
        found = json_path(data, item.expression or item.label)
        if found is not None:
            row.extracted(item.label, found)


def _parse_logfmt_stage(stage: ParserStage, row: Row) -> None:
    fields, error = logfmt_fields(row.line, "--keep-empty" in stage.flags, "--strict" in stage.flags)
    wanted = {item.expression or item.label: item.label for item in stage.extractions}
    for key, value in fields.items():
        if not wanted:
            row.extracted(key, value)
        elif key in wanted:
            row.extracted(wanted[key], value)
    if error:
        row.set_error("LogfmtParserErr", error)


def _parse_regexp_stage(stage: ParserStage, row: Row) -> None:
    m = _regex(stage.argument or "").search(row.line)
    if m:
        for name, value in m.groupdict().items():
            if value is not None:
                row.extracted(name, value)


def _run_parser(stage: ParserStage, row: Row) -> None:
    if row.hints.skip:
        return
    parsers: dict[str, Callable[[ParserStage, Row], None]] = {
        "json": _parse_json_stage,
        "logfmt": _parse_logfmt_stage,
        "regexp": _parse_regexp_stage,
    }
    if stage.name not in parsers:
        raise Unsupported(f"{stage.name} parser")
    parsers[stage.name](stage, row)


COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def label_filter(expr: LabelFilterExpr, row: Row) -> bool:
    if isinstance(expr, LogicalLabelFilter):
        if expr.op == "and":
            return label_filter(expr.left, row) and label_filter(expr.right, row)
        return label_filter(expr.left, row) or label_filter(expr.right, row)
    if isinstance(expr, LabelMatchFilter):
        return matches(expr.matcher, row.labels.get(expr.matcher.name, ""))
    if isinstance(expr, IpLabelFilter):
        raise Unsupported(f"ip label filter {expr}")
    return _comparison(expr, row)


def _comparison(expr: ComparisonFilter, row: Row) -> bool:
    if expr.name not in row.labels:
        return False
    raw = row.labels[expr.name]
    value, error = convert(raw, expr.unit)
    if value is None:
        row.set_error("LabelFilterErr", error)
        return True
    target = expr.value / NS if expr.unit == "duration" else expr.value
    return COMPARE[expr.op](value, target)


def convert(raw: str, unit: str) -> tuple[float | None, str]:
    """A label value as a number, seconds or bytes, with Go's error text when it is not one."""
    if unit == "duration":
        ns = parse_go_duration(raw) if raw else None
        return (ns / NS if ns is not None else None), f'time: invalid duration "{raw}"'
    if unit == "bytes":
        size = parse_bytes(raw)
        return (
            float(size) if size is not None else None
        ), f"strconv.ParseFloat: parsing {json.dumps(raw)}: invalid syntax"
    try:
        return float(raw), ""
    except ValueError:
        return None, f"strconv.ParseFloat: parsing {json.dumps(raw)}: invalid syntax"


TEMPLATE_FIELD = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _render(template: str, labels: Mapping[str, str]) -> str:
    rendered = TEMPLATE_FIELD.sub(lambda m: labels.get(m.group(1), ""), template)
    if "{{" in TEMPLATE_FIELD.sub("", template):
        raise Unsupported(f"template beyond {{{{.label}}}} fields: {template}")
    return rendered


def _label_format(stage: LabelFormat, row: Row) -> None:
    snapshot = dict(row.labels)
    for item in stage.items:
        if item.template:
            row.labels[item.target] = _render(item.source, snapshot)
        elif item.source in row.labels:
            row.labels[item.target] = row.labels.pop(item.source)


def _drop_or_keep(stage: DropLabels | KeepLabels, row: Row) -> None:
    def named(name: str) -> bool:
        for item in stage.items:
            if item == name or (
                isinstance(item, Matcher) and item.name == name and matches(item, row.labels[name])
            ):
                return True
        return False

    if isinstance(stage, KeepLabels):
        row.labels = {k: v for k, v in row.labels.items() if named(k) or k.startswith("__error")}
    else:
        row.labels = {k: v for k, v in row.labels.items() if not named(k)}


def _run_stage(stage: Stage, row: Row) -> bool:
    """Apply one stage; False drops the line."""
    if isinstance(stage, LineFilter):
        return _line_filter(stage, row)
    if isinstance(stage, ParserStage):
        _run_parser(stage, row)
    elif isinstance(stage, LabelFilterStage):
        return label_filter(stage.filter, row)
    elif isinstance(stage, LineFormat):
        row.line = _render(stage.template, row.labels)
    elif isinstance(stage, LabelFormat):
        _label_format(stage, row)
    elif isinstance(stage, DropLabels | KeepLabels):
        _drop_or_keep(stage, row)
    elif isinstance(stage, Decolorize):
        row.line = re.sub(r"\x1b\[[0-9;]*m", "", row.line)
    return True


def run_pipeline(stages: Iterable[Stage], entry: Entry, hints: Hints = ALL_LABELS) -> Row | None:
    row = Row.of(entry, hints)
    for stage in stages:
        if not _run_stage(stage, row):
            return None
    return row
