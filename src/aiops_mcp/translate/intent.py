"""Intent and topic rules over the question's remaining words (names, time and quotes blanked).

Rules in priority order: definitions ("what is an SLO") as general, alerts, impact, health (strong
words), event counts (counting logs, events or errors), logs (log words or a text filter), metrics
(a metric topic), then a level word ("show errors of abc", or bare: "abc errors") as logs, weak
health words ("status", "ok"), and general.
"""

import re
from typing import Literal

from aiops_mcp.translate.model import Intent

Topic = Literal[
    "restarts",
    "disk",
    "network",
    "cpu",
    "memory",
    "status_rate",
    "error_rate",
    "slow_share",
    "latency",
    "availability",
    "request_rate",
    "up_state",
]
Grouping = Literal["env", "instance", "status"]


def _re(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


_DEFINITION = _re(
    r"^\W*what\s+(?:is|are)\s+(?:an?|the meaning of)\s",
    r"^\W*what does\s.*\bmean\b",
    r"^\W*(?:define|explain)\b",
)
_ALERTS = _re(
    r"\balert(?:s|ing|ed)?\b",
    r"\bfir(?:ed|ing)\b",
    r"\bpag(?:ed|ing|ers?)\b",
    r"\bpages?\s+(?:us|me|anyone|someone|on-?call)\b",
)
_IMPACT = _re(r"\bimpact(?:s|ed|ing)?\b", r"\baffect(?:s|ed|ing)?\b", r"\bblast radius\b", r"\bcollateral\b")
_HEALTH = _re(
    r"\bhealth(?:y|iness)?\b",
    r"\bunhealthy\b",
    r"\bslos?\b",
    r"\bslas?\b",
    r"\berror budgets?\b",
    r"\bhow(?:\s+(?:is|was|are|were)|'s)\s+(?:\S+\s+){0,2}?doing\b",
    r"\bhow did\s+(?:\S+\s+){0,2}?(?:do|perform)\b",
    r"\bany (?:problems|issues|trouble)\b",
    r"\bwent wrong\b",
    r"\bwhat(?:'s| is| was)\s+(?:up|going on|wrong)\s+with\b",
    r"\bin good shape\b",
)
_WEAK_HEALTH = _re(r"\bstatus\b(?!\s*codes?)", r"\bok\b", r"\bokay\b", r"\bfine\b", r"\bwrong\b")
_COUNT = _re(r"\bhow many\b", r"\bnumber of\b", r"\bcounts?\b", r"\bcounted\b", r"\btotal\b", r"\bvolume\b")
_LOG_NOUN = _re(r"\b(?:events?|logs?|log lines?|lines|messages|entries|logged)\b")
_LEVEL_WORD = _re(
    r"\b(?:errors?|erroring|errored|failures?|failed|failing|exceptions?|critical|fatal|panics?)\b",
    r"\b(?:warn|warns|warning|warnings)\b",
)
_SHOW = _re(r"\b(?:show|list|find|display|print|fetch|dump|tail|search|give me|get me|see)\b")
_REQUESTS = _re(r"\b(?:requests?|5xx|calls|http|status|responses?)\b")
_BY_LEVEL = _re(
    r"\bby (?:log )?levels?\b", r"\bper (?:log )?levels?\b", r"\blog volume\b", r"\blog counts?\b"
)
_LOGS = _re(
    r"\blogs?\b",
    r"\blog (?:lines?|entries|messages)\b",
    r"\bmessages?\b",
    r"\bcontain(?:s|ing)?\b",
    r"\bmention(?:s|ing)?\b",
    r"\bgrep\b",
    r"\bstack ?traces?\b",
    r"\bexceptions?\b",
    r"\btracebacks?\b",
    r"\bpanics?\b",
    r"\blines?\b",
)
_TOPICS: tuple[tuple[Topic, re.Pattern[str]], ...] = (
    ("restarts", _re(r"\brestart(?:s|ed|ing)?\b", r"\bcrash\w*", r"\boom\s*-?kill\w*", r"\breboot\w*")),
    ("disk", _re(r"\bdisks?\b", r"\bi/?o\b")),
    ("network", _re(r"\bnetwork\b", r"\bbandwidth\b", r"\begress\b", r"\bingress\b", r"\bnic\b")),
    ("cpu", _re(r"\bcpus?\b", r"\bprocessors?\b", r"\bcores?\b")),
    ("memory", _re(r"\bmem(?:ory)?\b", r"\bram\b", r"\brss\b", r"\bresident\b")),
    ("status_rate", _re(r"\b[1-4](?:xx|[0-9]{2})s?\b")),
    (
        "error_rate",
        _re(
            r"\berrors?[\s-]+(?:rates?|ratios?|percentages?|percent|share|fraction|per second)\b",
            r"\bfail(?:ure)?[\s-]*(?:rates?|ratios?)\b",
            r"\b5xx\b",
            r"\b5[0-9]{2}s?\b",
            r"\bserver errors?\b",
            r"\brequests?\b[^.?!]*\bfail\w*",
            r"\bfail\w*\b[^.?!]*\brequests?\b",
            r"\bunsuccessful\b",
        ),
    ),
    (
        "slow_share",
        _re(r"\b(?:longer|slower|more|over|above|exceeding)\s+(?:than\s+)?\d+(?:\.\d+)?\s*(?:ms|s)\b"),
    ),
    (
        "latency",
        _re(
            r"\blatenc(?:y|ies)\b",
            r"\bresponse[\s-]*times?\b",
            r"\bdurations?\b",
            r"\bslow(?:ness|er|est|ly)?\b",
            r"\bp(?:50|75|90|95|99)\b",
            r"\bpercentiles?\b",
            r"\bquantiles?\b",
            r"\bmedian\b",
            r"\bhow (?:fast|long)\b",
            r"\bresponsive\w*",
            r"\bspeed\b",
        ),
    ),
    (
        "availability",
        _re(r"\bavailab(?:le|ility)\b", r"\b(?:up|down)time\b", r"\b(?:un)?reachable\b", r"\balive\b"),
    ),
    (
        "request_rate",
        _re(
            r"\brequests?\b",
            r"\btraffic\b",
            r"\bthroughput\b",
            r"\brps\b",
            r"\bqps\b",
            r"\breq(?:uests)?/s\b",
            r"\bhits\b",
            r"\bcalls\b",
            r"\bload\b",
        ),
    ),
    ("up_state", _re(r"\bup\b", r"\bdown\b", r"\bonline\b", r"\boffline\b", r"\brunning\b")),
)
_COMPARE = _re(r"\bcompar\w*", r"\bvs\b", r"\bversus\b", r"\bagainst\b", r"\bdifference\b")
_BY_ENV = _re(r"\b(?:per|by|each|every|across|all)\s+env(?:ironment)?s?\b")
_BY_INSTANCE = _re(
    r"\b(?:per|by|each|every|across|all)\s+instances?\b",
    r"\binstance[\s-]+by[\s-]+instance\b",
    r"\bper[\s-]instance\b",
    r"\bbroken down by instance\b",
)
_EVENTS = _re(r"\bevents?\b")
_PERCENT = _re(r"%", r"\bper\s*cent(?:age)?s?\b")
_PER_HOST = _re(r"\b(?:per|by|each|every|across|all)\s+(?:the\s+)?(?:hosts?|nodes?|servers?|machines?)\b")
_FREE = _re(r"\bfree\b", r"\bavailable\b", r"\bheadroom\b")
_PER_SECOND = _re(r"/s\b", r"\bper\s+sec(?:ond)?\b", r"\ba\s+second\b", r"\brps\b", r"\bqps\b")
_ERRORS_PER_SECOND = _re(
    r"\b(?:5xx|5[0-9]{2}s?|errors?|failures?)\s*(?:/s\b|per\s+sec(?:ond)?\b|a\s+second\b)"
)
_BY_STATUS = _re(
    r"\b(?:per|by)\s+(?:http\s+)?status(?:\s+codes?)?\b", r"\bbroken down by (?:http\s+)?status\b"
)
_DIRECTIONS = {
    "read": _re(r"\breads?\b", r"\breading\b"),
    "written": _re(r"\bwrites?\b", r"\bwritten\b", r"\bwriting\b"),
    "receive": _re(
        r"\breceiv\w*", r"\bingress\b", r"\binbound\b", r"\bdownload\w*", r"\bincoming\b", r"\brx\b"
    ),
    "transmit": _re(
        r"\btransmit\w*",
        r"\begress\b",
        r"\boutbound\b",
        r"\bupload\w*",
        r"\bsen[dt]\w*",
        r"\boutgoing\b",
        r"\btx\b",
    ),
}
_TOTAL_BYTES = _re(
    r"\bhow much data\b", r"\btotal bytes\b", r"\bbytes (?:written|read|sent|received)\b", r"\bin total\b"
)
_LOG_RATE = _re(
    r"\b(?:log\s+)?(?:lines?|logs?|entries)\s+(?:per\s+(?:minute|second|min|sec)|a\s+minute|/s|/min)\b",
    r"\blog\s+rate\b",
    r"\blogs?\s+per\s+(?:minute|second)\b",
)
_FIRING = _re(r"\b(?:firing|active|open|ongoing)\b")
_HOST_WORDS = _re(r"\b(?:host|hosts|node|nodes|server|servers|machine|machines|vm|box)\b")


def detect_intent(rest: str, *, has_text: bool) -> tuple[Intent, bool]:
    """The intent of the question's remaining words, and whether it was explicit (False when a
    level word without a verb such as "show", or a weak health word, decided it). Definitions
    ("what is an SLO") are general."""
    if _DEFINITION.search(rest):
        return "general", True
    if _IMPACT.search(rest):
        return "impact", True
    if _ALERTS.search(rest):
        return "alerts", True
    if _HEALTH.search(rest):
        return "health", True
    if is_count(rest):
        return "event_count", True
    if has_text or _LOGS.search(rest):
        return "logs", True
    if metric_topic(rest) is not None:
        return "metrics", True
    if _LEVEL_WORD.search(rest):
        return "logs", bool(_SHOW.search(rest))
    if _WEAK_HEALTH.search(rest):
        return "health", False
    return "general", False


def is_count(rest: str) -> bool:
    """Whether the question counts log lines or events ("how many errors did abc log", "abc
    events today")."""
    if _BY_LEVEL.search(rest):
        return True
    if _EVENTS.search(rest) and not _SHOW.search(rest) and not metric_topic(rest):
        return True
    counted = _LOG_NOUN.search(rest) or _LEVEL_WORD.search(rest)
    return bool(_COUNT.search(rest) and counted and not _REQUESTS.search(rest))


def by_level(rest: str) -> bool:
    """Whether counts are wanted per level rather than of one level."""
    return bool(_BY_LEVEL.search(rest))


def metric_topic(rest: str) -> Topic | None:
    """The first metric topic the words name, in the order of `_TOPICS`."""
    return next((topic for topic, pattern in _TOPICS if pattern.search(rest)), None)


_STATUS_RE = re.compile(r"\b(?P<c>[1-5])(?P<rest>xx|[0-9]{2})s?\b")


def status_class(rest: str) -> str | None:
    """The HTTP status asked as a regex: "4xx" -> "4..", "404" -> "404"."""
    match = _STATUS_RE.search(rest)
    if match is None:
        return None
    return match["c"] + (".." if match["rest"] == "xx" else match["rest"])


def grouping(rest: str, envs: tuple[str, ...]) -> Grouping | None:
    """ "env" when environments are compared, "instance" for a per-instance breakdown."""
    if (_COMPARE.search(rest) and len(envs) >= 2) or _BY_ENV.search(rest):
        return "env"
    if _BY_INSTANCE.search(rest):
        return "instance"
    return None


def asks_firing(rest: str) -> bool:
    """Whether the question is about alerts firing now ("which alerts are firing")."""
    return bool(_FIRING.search(rest))


def wants_percent(rest: str) -> bool:
    """Whether a share is asked as a percentage ("error percentage", "cpu %")."""
    return bool(_PERCENT.search(rest))


def per_host(rest: str) -> bool:
    """Whether the question asks for every host, one line each ("cpu per host")."""
    return bool(_PER_HOST.search(rest))


def wants_free(rest: str) -> bool:
    """Whether memory is asked as what is left ("free memory", "available memory")."""
    return bool(_FREE.search(rest))


def counts(rest: str) -> bool:
    """Whether a number of things over the window is asked ("how many requests"), not a rate."""
    return bool(_COUNT.search(rest) and not _PER_SECOND.search(rest))


def errors_per_second(rest: str) -> bool:
    """Whether failed requests are asked per second ("5xx/s") rather than as a share."""
    return bool(_ERRORS_PER_SECOND.search(rest))


def by_status(rest: str) -> bool:
    """Whether requests are asked per HTTP status ("broken down by status code")."""
    return bool(_BY_STATUS.search(rest))


def direction(rest: str, directions: tuple[str, ...]) -> str | None:
    """The one direction of disk or network traffic the words name (read/written or
    receive/transmit), None for both or neither."""
    named = [d for d in directions if _DIRECTIONS[d].search(rest)]
    return named[0] if len(named) == 1 else None


_THRESHOLD_RE = re.compile(
    r"\b(?:longer|slower|more|over|above|exceeding)\s+(?:than\s+)?(?P<n>\d+(?:\.\d+)?)\s*"
    r"(?P<u>ms|milliseconds?|s|secs?|seconds?)\b"
)


def slower_than(rest: str) -> float | None:
    """The latency threshold asked, in seconds ("took longer than 500ms" -> 0.5)."""
    match = _THRESHOLD_RE.search(rest)
    if match is None:
        return None
    return float(match["n"]) / (1000 if match["u"].startswith("m") else 1)


def total_bytes(rest: str) -> bool:
    """Whether bytes moved over the window are asked, rather than bytes per second."""
    return bool(_TOTAL_BYTES.search(rest))


def log_rate(rest: str) -> bool:
    """Whether log lines are asked as a rate ("log lines per minute", "error log rate")."""
    return bool(_LOG_RATE.search(rest))


def wants_host(rest: str) -> bool:
    """Whether the question is about the machine ("host memory", "memory of abc's server")."""
    return bool(_HOST_WORDS.search(rest))
