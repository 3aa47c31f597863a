"""Question text handling shared by the extractors: quoted text, tokens, blanking what was read."""

import difflib
import re

MAX_QUESTION_LENGTH = 2000

_QUOTE_RES = (
    re.compile(r"“([^”]*)”"),
    re.compile(r"‘([^’]*)’"),
    re.compile(r'"((?:[^"\\]|\\.)*)"'),
    re.compile(r"(?<!\w)'((?:[^\\]|\\.)*?)'(?!\w)"),  # "'don't panic'": inner apostrophes kept
)
# Names as written: letters, digits, '-', '_', '.', ':' inside (hosts, instances with ports).
TOKEN_RE = re.compile(r"[a-z0-9](?:[a-z0-9_.:-]*[a-z0-9])?")

TYPO_CUTOFF = 0.82
KEYWORDS = (
    "error", "errors", "latency", "request", "requests", "traffic", "memory", "restarts", "availability",
    "throughput", "healthy", "health", "alerts", "impacted", "percentile", "response", "warnings",
    "events", "uptime", "containing", "incident", "average",
)  # fmt: skip
# Ordinary words of the questions: never taken for an app name, fuzzily or as an unknown one.
VOCAB = frozenset((
    "a", "about", "above", "across", "after", "alert", "alerts", "all", "an", "and", "any", "anything",
    "app", "application", "applications", "apps", "are", "as", "at", "availability", "available",
    "average", "avg", "be", "been", "between", "broken", "by", "calls", "can", "chart", "check", "cluster",
    "compare", "container", "containers", "count", "counts", "cpu", "critical", "current", "currently",
    "day", "days", "did", "do", "does", "doing", "down", "during", "each", "env", "environment",
    "environments", "envs", "error", "errors", "event", "events", "every", "everything", "fail", "failed",
    "failing", "failure", "failures", "fast", "find", "for", "from", "get", "give", "go", "going", "graph",
    "had", "has", "have", "health", "healthy", "here", "high", "host", "hosts", "hour", "hours", "how",
    "incidents", "issue", "issues", "outage", "outages", "problem", "problems",
    "http", "impact", "impacted", "in", "instance", "instances", "into", "is", "it", "its", "last",
    "lately", "latency", "let", "level", "levels", "line", "lines", "list", "log", "logged", "logs",
    "look", "looks", "low", "many", "max", "me", "mean", "median", "memory", "messages", "metric",
    "metrics", "minute", "minutes", "month", "much", "my", "node", "nodes", "nothing", "now", "number",
    "of", "on", "one", "ones", "our", "over", "overall", "p50", "p75", "p90", "p95", "p99", "past", "per",
    "percent", "percentage", "percentile", "please", "pod", "pods", "prod", "production", "rate", "ratio",
    "recently", "request", "requests", "response", "restart", "restarts", "rss", "running", "second",
    "seconds", "server", "servers", "service", "services", "show", "slow", "something", "spike", "spiked",
    "spikes", "staging", "status", "system", "systems", "tell", "than", "that", "the", "their", "there",
    "this", "time", "today", "total", "traffic", "up", "uptime", "usage", "use", "warn", "warning",
    "warnings", "was", "web", "week", "weeks", "went", "were", "what", "when", "where", "which", "who",
    "whole", "why", "with", "yesterday", "your",
))  # fmt: skip


def correct_typos(low: str) -> str:
    """Words a typo away from a keyword ("errror", "latncy", "memroy", "erorr": close by spelling,
    or two neighbouring letters swapped) replaced by the keyword."""

    def fix(match: re.Match[str]) -> str:
        word = match[0]
        if len(word) < 5 or word in VOCAB:
            return word
        swapped = next((k for k in KEYWORDS if _one_swap(word, k)), None)
        close = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=TYPO_CUTOFF)
        return swapped or (close[0] if close else word)

    return TOKEN_RE.sub(fix, low)


def _one_swap(word: str, keyword: str) -> bool:
    """Whether `word` is `keyword` with two neighbouring letters swapped ("erorr", "latnecy")."""
    if len(word) != len(keyword) or word == keyword:
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, keyword, strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and word[diff[0]] == keyword[diff[1]]
        and word[diff[1]] == keyword[diff[0]]
    )


def extract_quoted(question: str) -> tuple[str | None, str]:
    """The first quoted text ('...', "...", “...”, ‘...’; a backslash escapes the quote inside
    "..." and '...'), and the question with every quoted part blanked."""
    texts, masked = [], question
    for match in _quotes(question):
        quote = match[0][0]
        value = match[1].replace("\\" + quote, quote) if quote in "\"'" else match[1]
        if value.strip():
            texts.append(value)
        masked = blank(masked, match.start(), match.end())
    return (texts[0] if texts else None), masked


def fold_outside_quotes(question: str) -> str:
    """The question with spaces collapsed and letters lower-cased, except inside quotes (a quoted
    text is matched as written: "Timeout" and "timeout" are different line filters)."""
    parts, pos = [], 0
    for match in _quotes(question):
        parts += [" ".join(question[pos : match.start()].casefold().split()), match[0]]
        pos = match.end()
    parts.append(" ".join(question[pos:].casefold().split()))
    return " ".join(p for p in parts if p)


def _quotes(question: str) -> list[re.Match[str]]:
    """The quoted parts, in order (see `extract_quoted`)."""
    found: list[re.Match[str]] = []
    pos = 0
    while True:
        matches = [m for m in (p.search(question, pos) for p in _QUOTE_RES) if m is not None]
        if not matches:
            return found
        match = min(matches, key=lambda m: m.start())
        found.append(match)
        pos = match.end()


def blank(text: str, start: int, end: int) -> str:
    """`text` with [start, end) replaced by spaces (offsets of other matches stay valid)."""
    return text[:start] + " " * (end - start) + text[end:]


def normalise(text: str) -> str:
    """Lower-case with typographic apostrophes made plain (same length, so offsets hold)."""
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered.replace("’", "'").replace("`", "'")
