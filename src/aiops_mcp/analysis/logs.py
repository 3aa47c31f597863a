"""Log-line shaping: the level of a line, bounded line text, and level breakdowns."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LEVEL_LABELS = ("level", "detected_level", "severity", "lvl", "loglevel")
LEVEL_ALIASES = {
    "err": "error",
    "eror": "error",
    "fatal": "critical",
    "crit": "critical",
    "panic": "critical",
    "emerg": "critical",
    "alert": "critical",
    "warning": "warn",
    "information": "info",
    "notice": "info",
    "dbg": "debug",
    "trace": "debug",
}
_LEVEL_IN_LINE = re.compile(
    r"""(?:level|lvl|severity)["']?\s*[=:]\s*["']?(?P<word>[a-zA-Z]+)|^(?P<lead>[A-Z]{4,8})\b"""
)


def normalise_level(word: str) -> str:
    """One spelling per level: error, warn, info, debug, critical, or `unknown`."""
    word = word.strip().lower()
    word = LEVEL_ALIASES.get(word, word)
    return word if word in {"error", "warn", "info", "debug", "critical"} else "unknown"


def level_of(labels: Mapping[str, str], line: str) -> str:
    """The level from the stream labels, else from `level=`/`"level":` or a leading ERROR in the line."""
    for name in LEVEL_LABELS:
        if labels.get(name):
            return normalise_level(labels[name])
    match = _LEVEL_IN_LINE.search(line)
    if match:
        return normalise_level(match.group("word") or match.group("lead"))
    return "unknown"


def clip_line(line: str, max_chars: int) -> tuple[str, bool]:
    """The line cut to `max_chars` characters (saying how many were dropped) and whether it was cut."""
    if len(line) <= max_chars:
        return line, False
    return f"{line[:max_chars]}… [+{len(line) - max_chars} chars]", True


@dataclass(frozen=True, slots=True)
class LevelCount:
    level: str
    count: int
    percent: float


def percent_of(count: float, total: float) -> float:
    """`count` as a percentage of `total`, to 2 decimals (0 when the total is 0)."""
    return round(100 * count / total, 2) if total else 0.0


def level_breakdown(counts: Iterable[tuple[str, float]]) -> list[LevelCount]:
    """Counts per normalised level, largest first, with percentages of the total."""
    merged: dict[str, int] = {}
    for level, count in counts:
        key = normalise_level(level) if level else "unknown"
        merged[key] = merged.get(key, 0) + round(count)
    total = sum(merged.values())
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    return [LevelCount(level, n, percent_of(n, total)) for level, n in ordered]
