"""What a question names: app (name, alias or a typo of one), host, instance, env, time, aggregation,
quoted text and log level. Names are matched on word boundaries ("abc" is not found in "abcdef" or
"abc-2") and resolved against the catalog; an unknown host, instance or env raises TranslationError
with the closest real names."""

import difflib
import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN, closest_first
from aiops_mcp.translate.model import AppRef, Catalog, Entities, TranslationError
from aiops_mcp.translate.text import (
    KEYWORDS,
    TOKEN_RE,
    VOCAB,
    blank,
    correct_typos,
    extract_quoted,
    normalise,
)
from aiops_mcp.translate.timephrase import TimePhrase, find_time, unresolved_time
from aiops_mcp.translate.topics import metric_in_question

AppMatch = Literal["named", "fuzzy", "instance", "none"]

FUZZY_CUTOFF = 0.8
_ENV_GROUPS = (
    ("prod", "production", "prd"),
    ("staging", "stage", "stg"),
    ("dev", "development"),
    ("qa",),
    ("uat",),
    ("preprod", "pre-prod"),
)
_WORDY_ENVS = (("test", "testing"),)  # environments only when the catalog has them: common words
_HOSTLIKE_RE = re.compile(r"(?:node|host|server|vm|worker)-?[0-9]+|[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_PORT_RE = re.compile(r"(?P<base>.+):[0-9]{1,5}")
_UNKNOWN_APP_RES = (
    re.compile(r"\b(?:app|application|service|svc)\s+(?:called\s+|named\s+)?(?P<n>[a-z0-9][\w.-]*)"),
    re.compile(r"(?P<n>[a-z0-9][\w.-]*)\s+(?:app|application|service|svc)\b"),
    re.compile(r"(?P<n>[a-z0-9][\w.-]*)'s\b"),
    re.compile(r"\b(?:of|for|on|from|in|by|at)\s+(?:the\s+)?(?P<n>[a-z][\w.]*[-_0-9][\w.-]*)"),
    re.compile(r"\b(?:of|for)\s+(?:the\s+)?(?P<n>[a-z][\w.-]{2,})"),  # "error rate of billing"
)
_DURATION_RE = re.compile(r"[0-9]+[smhdw]")
_AGGREGATIONS = (
    (re.compile(r"\bp(50|75|90|95|99)\b"), None),
    (re.compile(r"\b(50|75|90|95|99)(?:th|st|nd|rd)?[\s-]*(?:percentile|pct|quantile)\b"), None),
    (re.compile(r"\bpercentile\s+(50|75|90|95|99)\b"), None),
    (re.compile(r"\bmedian\b"), "p50"),
    (re.compile(r"\b(?:avg|average|mean)\b"), "avg"),
    (re.compile(r"\b(?:max|maximum|peak|highest|worst)\b"), "max"),
    (re.compile(r"\b(?:min|minimum|lowest|least)\b"), "min"),
    (re.compile(r"\b(?:rate|per second|rps|qps|throughput)\b|/s\b"), "rate"),
)
_LEVEL_RE = re.compile(
    r"\b(?P<error>errors?|erroring|errored|failures?|failed|failing|exceptions?|critical|fatal|panics?)\b"
    r"|\b(?P<warn>warn|warns|warning|warnings)\b"
)
_PAIR_RE = re.compile(r"(?<![\w=])[a-z_][a-z0-9_.]*=[^\s,;?!'\"=]+")
_CONTAINS_RE = re.compile(
    r"\b(?:containing|contains|contain|mentioning|mentions|matching|with the (?:text|word|string|message))"
    r"\s+(?P<t>[^\s,;?!]+)"
)


@dataclass(frozen=True)
class Extraction:
    """The entities, the app they resolve to and how (`app_match`), every env named in order, the
    time phrase, and `rest`: the lower-cased question with what was read blanked, for intent rules."""

    entities: Entities
    app: AppRef | None
    app_match: AppMatch
    envs: tuple[str, ...]
    time: TimePhrase
    rest: str
    unknown_app: str | None = None


def extract(question: str, catalog: Catalog, *, now: datetime | None = None) -> Extraction:
    """Read the entities of `question` (see the module docstring); `now` (default: the clock)
    resolves calendar words ("this morning", "on monday")."""
    quoted, masked = extract_quoted(" ".join(question.split()))
    low = normalise(masked)
    if metric := metric_in_question(masked):
        low = blank(low, metric.start(), metric.end())
    time, low = find_time(low, now)
    host, instance, low = _hosts_and_instances(low, catalog)
    app, app_match, low = _named_app(low, catalog.apps)
    if app is None and instance is not None:
        app, app_match = _app_of_instance(instance, catalog.apps), "instance"
    if app is None:
        app, app_match, low = _fuzzy_app(low, catalog.apps)
    text = quoted or _unquoted_text(low, masked)
    unresolved_time(low, time)
    low = correct_typos(low)
    unknown = _unknown_app(low) if app is None else None
    envs = _envs(low, instance, catalog)
    entities = Entities(
        app=app.name if app else None,
        host=host,
        instance=instance,
        env=envs[0] if len(envs) == 1 else None,
        aggregation=_aggregation(low),
        text=text,
        level=_level(low),
        metric=metric[0] if metric else None,
    )
    return Extraction(entities, app, app_match if app else "none", envs, time, low, unknown)


# --- hosts and instances ----------------------------------------------------------------------


def _hosts_and_instances(low: str, catalog: Catalog) -> tuple[str | None, str | None, str]:
    hosts = {a.host for a in catalog.apps if a.host}
    for label in ("node", "host", "hostname"):
        hosts |= set(catalog.label_values.get(label, ()))
    known = sorted(catalog.label_values.get("instance", ()))
    prefixes = tuple(f"{n.casefold()}-" for a in catalog.apps for n in (a.name, *a.aliases) if " " not in n)
    host = instance = None
    for match in TOKEN_RE.finditer(low):
        token = match[0]
        port = _PORT_RE.fullmatch(token)
        if port and not re.search(r"[a-z]", port["base"]) and not _HOSTLIKE_RE.fullmatch(port["base"]):
            continue  # a time of day such as 14:30
        base = port["base"] if port else token
        if host is None and (base in hosts or _HOSTLIKE_RE.fullmatch(base)):
            host = _known(base, hosts, "host")
        elif instance is None and (port or base in {v.split(":")[0] for v in known} or _looks_like(base)):
            instance = _instance(token, base, known, prefixes, bool(port))
            if instance is None:
                continue
        else:
            continue
        low = blank(low, match.start(), match.end())
    return host, instance, low


def _looks_like(base: str) -> bool:
    return bool(re.fullmatch(r"[a-z][\w.-]*-[0-9]+", base))


def _instance(token: str, base: str, known: list[str], prefixes: tuple[str, ...], port: bool) -> str | None:
    """The full instance value for `token` ("abc-2" -> "abc-2:8080"), None if it is not one."""
    if token in known:
        return token
    same_host = [v for v in known if v.split(":")[0] == base]
    if same_host and not port:
        return same_host[0]
    if not port and not base.startswith(prefixes):
        return None
    if not known:
        if port:
            return token
        raise TranslationError(f"instance {token!r}: give it with its port, e.g. '{token}:8080'")
    names = closest_first(token, known)[:SUGGESTIONS_SHOWN]
    raise TranslationError.listing(f"no instance {token!r}", "known instances (closest first)", names)


def _known(name: str, known: set[str], what: str) -> str:
    if not known or name in known:
        return name
    names = closest_first(name, sorted(known))[:SUGGESTIONS_SHOWN]
    raise TranslationError.listing(f"no {what} {name!r}", f"known {what}s (closest first)", names)


def _app_of_instance(instance: str, apps: tuple[AppRef, ...]) -> AppRef | None:
    """The app whose name or alias, followed by '-', starts the instance ("abc-2:8080" -> abc-app)."""
    base = instance.split(":")[0].casefold()
    pairs = sorted(_names(apps), key=lambda p: -len(p[0]))
    return next((app for name, app in pairs if base.startswith(f"{name}-")), None)


def _names(apps: tuple[AppRef, ...]) -> list[tuple[str, AppRef]]:
    """(lower-cased name or alias, app) for every app."""
    return [(n.casefold(), a) for a in apps for n in (a.name, *a.aliases) if n]


# --- apps -------------------------------------------------------------------------------------


def _named_app(low: str, apps: tuple[AppRef, ...]) -> tuple[AppRef | None, AppMatch, str]:
    """The first app named exactly (name or alias, longest first, on word boundaries)."""
    names = sorted(_names(apps), key=lambda p: -len(p[0]))
    found: list[tuple[int, AppRef]] = []
    for name, app in names:
        pattern = re.compile(r"(?<![\w-])" + r"\s+".join(map(re.escape, name.split())) + r"(?![\w-])")
        for match in pattern.finditer(low):
            found.append((match.start(), app))
            low = blank(low, match.start(), match.end())
    if not found:
        return None, "none", low
    return min(found, key=lambda f: f[0])[1], "named", low


def _fuzzy_app(low: str, apps: tuple[AppRef, ...]) -> tuple[AppRef | None, AppMatch, str]:
    """The app a typo most likely means ("chekout", "abc-ap"): ratio >= FUZZY_CUTOFF against names of
    5+ characters, over words of 4+ characters that are not ordinary question words; the words
    are blanked."""
    words = [t for t in TOKEN_RE.findall(low) if t not in VOCAB]
    candidates = [w for w in words if len(w) >= 4] + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    best: tuple[float, AppRef | None, str] = (FUZZY_CUTOFF, None, "")
    for app in apps:
        for name in (app.name, *app.aliases):
            if len(name) < 5:
                continue
            for word in candidates:
                ratio = difflib.SequenceMatcher(None, word, name.casefold()).ratio()
                if ratio >= best[0] and (best[1] is None or ratio > best[0]):
                    best = (ratio, app, word)
    if best[1] is None:
        return None, "none", low
    pattern = r"(?<![\w-])" + r"\s+".join(map(re.escape, best[2].split())) + r"(?![\w-])"
    return best[1], "fuzzy", re.sub(pattern, lambda m: " " * len(m[0]), low)


def _unknown_app(low: str) -> str | None:
    """A name the question gives as an app that the catalog does not know ("error rate of foo-app")."""
    for pattern in _UNKNOWN_APP_RES:
        for match in pattern.finditer(low):
            name = match["n"].strip(".-")
            ordinary = name in VOCAB or name in KEYWORDS or _DURATION_RE.fullmatch(name) or name.isdigit()
            if name and not ordinary:
                return name
    return None


# --- env, aggregation, level, text ------------------------------------------------------------


def _envs(low: str, instance: str | None, catalog: Catalog) -> tuple[str, ...]:
    """Every environment named, resolved to catalog values; an instance's name can imply one."""
    values = catalog.label_values.get("env", frozenset())
    groups = _ENV_GROUPS + tuple(g for g in _WORDY_ENVS if values & set(g))
    words = {w: g for g in groups for w in g}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b")
    named = [m[1] for m in pattern.finditer(low)]
    if not named and instance is not None:
        named = [w for w in re.split(r"[-.:]", instance.casefold()) if w in words]
    envs = []
    for word in named:
        group = words[word]
        env = next((v for v in group if v in values), None) if values else group[0]
        if env is None:
            env = _known(word, set(values), "environment")
        if env not in envs:
            envs.append(env)
    return tuple(envs)


def _aggregation(low: str) -> str | None:
    for pattern, fixed in _AGGREGATIONS:
        if match := pattern.search(low):
            return fixed or f"p{match[1]}"
    return None


def _level(low: str) -> str | None:
    match = _LEVEL_RE.search(low)
    if match is None:
        return None
    return "error" if match["error"] else "warn"


def _unquoted_text(low: str, original: str) -> str | None:
    """The word after "containing"/"mentioning" when nothing is quoted ("logs containing Timeout"),
    else a `key=value` pair ("log lines with status=500"), as written in `original` (`low` is its
    lower-cased copy, offsets aligned)."""
    match = _CONTAINS_RE.search(low)
    if match is None or _LEVEL_RE.fullmatch(match["t"]) or match["t"] in VOCAB:
        match = _PAIR_RE.search(low)
        return original[match.start() : match.end()] if match else None
    return original[match.start("t") : match.end("t")]
