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
    "restarts", "cpu", "memory", "status_rate", "error_rate", "latency", "availability", "request_rate"
]
Grouping = Literal["env", "instance"]


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
    ("availability", _re(r"\bup\b", r"\bdown\b", r"\bonline\b", r"\boffline\b", r"\brunning\b")),
)
_COMPARE = _re(r"\bcompar\w*", r"\bvs\b", r"\bversus\b", r"\bagainst\b", r"\bdifference\b")
_BY_ENV = _re(r"\b(?:per|by|each|every|across|all)\s+env(?:ironment)?s?\b")
_BY_INSTANCE = _re(
    r"\b(?:per|by|each|every|across|all)\s+instances?\b",
    r"\binstance[\s-]+by[\s-]+instance\b",
    r"\bper[\s-]instance\b",
    r"\bbroken down by instance\b",
)
_FIRING = _re(r"\b(?:firing|active|open|ongoing)\b")
_HOST_WORDS = _re(r"\b(?:host|hosts|node|nodes|server|servers|machine|machines|vm|box)\b")


def detect_intent(rest: str, *, has_text: bool) -> tuple[Intent, bool]:
    """The intent of the question's remaining words, and whether it was explicit (False when a
    level word without a verb such as "show", or a weak health word, decided it). Definitions
    ("what is an SLO") are general."""
    if _DEFINITION.search(rest):
        return "general", True
    if _ALERTS.search(rest):
        return "alerts", True
    if _IMPACT.search(rest):
        return "impact", True
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
    """Whether the question counts log lines or events ("how many errors did abc log")."""
    if _BY_LEVEL.search(rest):
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


def wants_host(rest: str) -> bool:
    """Whether the question is about the machine ("host memory", "memory of abc's server")."""
    return bool(_HOST_WORDS.search(rest))
