"""Secrets and personal data replaced in log lines and label values before a model sees them.

`Redactor.redact(text)` returns the text with each secret replaced by a marker naming its kind,
`[REDACTED:email]`, and the number of markers it wrote; the rest of the text is unchanged.
For key/value forms only the value goes (`password=[REDACTED:password]`), so a line still says
what was there. Overlapping finds become one marker; markers already in the text are left as
they are, so redacting twice changes nothing more.

The defaults (`DEFAULT_PATTERNS`, each can be turned off by name): password, passwd, pwd and
passphrase assignments (`key=value`, `key: value`, JSON `"key": "value"`, also escaped JSON) and
URL userinfo (`scheme://user:pass@host`); `Authorization:` headers and `Bearer` tokens; AWS access
key ids and secret keys, GitHub, Slack, Stripe and Google API keys, JWTs, private key blocks,
this server's own `amcp_` tokens; generic `api_key=`, `secret=`, `token=` assignments (keys ending
in those words); email addresses; card numbers (13-19 digits, spaces or dashes in the usual
groups, a known issuer prefix and a valid Luhn check, so order ids and timestamps stay). IPv4
addresses are off by default (`enable=("ipv4",)`).

Every default pattern runs in linear time (bounded or possessive repetition, starts anchored
by look-behind), so a 100 KB line of `a@a@a...` or digits costs about as much as any other;
text beyond `max_chars` is replaced by one `[REDACTED:too_long]` marker. Configured patterns
are Python regexes (possessive quantifiers and atomic groups available): keep them free of
nested repetition like `(a+)+`, which no regex engine of this kind can bound.
"""

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from cachetools import LRUCache

MARKER = "[REDACTED:{kind}]"
_KEY_THEN_VALUE = re.compile(r"""["']?[ \t]{0,8}[:=]""")
_MARKER_RE = re.compile(r"\[REDACTED:[a-z0-9_]{1,40}\]")
_KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
VALUE_CACHE_CHARS = 256
VALUE_CACHE_SIZE = 65_536
"""Label values up to this long are remembered, this many of them (least recently used go)."""
MAX_CHARS = 262_144
"""Text longer than this is cut here (the rest becomes one marker), to bound the work per value."""


class RedactionConfigError(ValueError):
    """A configured pattern that cannot be used; the message names it and says why."""


Spans = Callable[[str], Iterator[tuple[int, int]]]


@dataclass(frozen=True)
class RedactionPattern:
    """One kind of secret and how to find it: `find(text)` yields (start, end) spans. A find that
    overlaps one of a kind in `yields_to` is dropped (that one already covers the secret)."""

    kind: str
    find: Spans
    yields_to: frozenset[str] = frozenset()


def regex_pattern(kind: str, regex: str | re.Pattern[str], yields_to: Iterable[str] = ()) -> RedactionPattern:
    """A pattern whose finds are a regex's matches. With groups named ``secret``, ``secret2``...
    only the first group that took part is replaced (the value, not its key), and the search
    looks again inside a value that may hold the next key."""
    compiled = re.compile(regex)
    groups = [name for name in compiled.groupindex if name.startswith("secret")]

    def find(text: str) -> Iterator[tuple[int, int]]:
        position = 0
        while match := compiled.search(text, position):
            name = next((g for g in groups if match.start(g) >= 0), None)
            start, end = match.span(name) if name else match.span()
            if end > start:
                yield start, end
            resume = _next_key_inside(text, start, end) if name else None
            position = max(match.end() if resume is None else resume, match.start() + 1)

    return RedactionPattern(kind, find, frozenset(yields_to))


def _next_key_inside(text: str, start: int, end: int) -> int | None:
    """Where a replaced value may hold the next key, whose own value lies beyond it: a quoted
    value followed by a separator (`key= "k": "v"`), or a bare one ending in one (`key= k: v`).
    None when it cannot; the search goes on after the match."""
    if text[start - 1 : start] in ('"', "'") and _KEY_THEN_VALUE.match(text, end):
        return start
    if text[end - 1 : end] in (":", "=", ">"):
        return max(start, end - 24)  # the longest key word with its quote and separator fits
    return None


# --- the default patterns -----------------------------------------------------------------------------

# A value after `key=`, `key: `, `"key": "`: quoted (JSON escapes allowed; a quote never closed
# runs to the end of the line), escaped-quoted (JSON inside a JSON string) or bare up to a space,
# quote, comma, semicolon, ampersand or bracket; at most 4,096 characters. JSON's null, true and
# false are no secrets.
_ASSIGNED = (
    r"""\\?["']?[ \t]{0,8}(?::=|=>|[:=])[ \t]{0,8}"""
    r'(?:\\"(?P<secret>[^"\\\n]{1,4096}+)(?:\\")?'
    r'|"(?P<secret2>(?:[^"\\\n]|\\.){1,4096}+)"?'
    r"|'(?P<secret3>[^'\n]{1,4096}+)'?"
    r"""|(?!(?:null|true|false|none)(?![^\s"'\\,;&)}\]]))(?P<secret4>[^\s"'\\,;&)}\]]{1,4096}+))"""
)


def _assignment(words: str) -> str:
    """`<key ending in one of words><separator><value>` (`db_password=`, `"X-Api-Key": `), the key
    case-insensitive; `password_reset=` or `max_tokens=` do not end in one."""
    initials = "".join(sorted({w[0] + w[0].upper() for w in words.split("|")}))
    return f"(?=[{initials}])(?i:{words}){_ASSIGNED}"  # the look-ahead lets re skip other characters


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn(digits: str) -> bool:
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(_DOUBLED[int(c)] for c in digits[-2::-2])
    return (kept + doubled) % 10 == 0


_ISSUER = re.compile(
    r"4[0-9]{12}(?:[0-9]{3}){0,2}"  # Visa: 13, 16, 19
    r"|(?:5[1-5][0-9]{2}|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}"  # Mastercard
    r"|3[47][0-9]{13}"  # American Express
    r"|3(?:0[0-5]|[689][0-9])[0-9]{11,16}"  # Diners Club
    r"|35[0-9]{14,17}"  # JCB
    r"|(?:6[0-9]|5[06-8])[0-9]{11,17}"  # Discover, UnionPay, Maestro
)
# A run of digit groups standing alone: digits inside a hex id or a word (trace_id=9d3800...) are not a card.
_CARD_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9]++(?:[ -][0-9]++)*+(?![0-9A-Za-z])")
_DIGITS = re.compile(r"[0-9]+")
_CARD_LAYOUTS = ((4, 6, 5), (4, 6, 4))  # American Express, Diners Club


def _is_card(digits: str) -> bool:
    return _ISSUER.fullmatch(digits) is not None and _luhn(digits)


def _card_spans(text: str) -> Iterator[tuple[int, int]]:
    """Card numbers in runs of digit groups: the longest valid number starting at each group."""
    for run in _CARD_RUN.finditer(text):
        if run.end() - run.start() < 13:
            continue
        groups = [m.span() for m in _DIGITS.finditer(text, run.start(), run.end())]
        i = 0
        while i < len(groups):
            end = _card_at(text, groups, i)
            if end is None:
                i += 1
            else:
                yield groups[i][0], groups[end - 1][1]
                i = end


def _card_at(text: str, groups: list[tuple[int, int]], i: int) -> int | None:
    """The end (exclusive group index) of the longest card number starting at group `i`."""
    first = groups[i][1] - groups[i][0]
    if first != 4 and not 13 <= first <= 19:
        return None  # a card is one group of digits, or starts with four
    best, separator = None, None
    lengths: tuple[int, ...] = (first,)
    for j in range(i + 1, min(len(groups), i + 5) + 1):
        if j > i + 1:
            if separator not in (None, text[groups[j - 1][0] - 1]) or not _layout_prefix(lengths):
                break
            separator = text[groups[j - 1][0] - 1]
            lengths += (groups[j - 1][1] - groups[j - 1][0],)
        if sum(lengths) > 19:
            break
        if sum(lengths) >= 13 and _layout(lengths):
            digits = "".join(text[start:end] for start, end in groups[i:j])
            best = j if _is_card(digits) else best
    return best


def _layout_prefix(lengths: tuple[int, ...]) -> bool:
    """Whether groups of these lengths can begin a card number written in groups."""
    return all(n == 4 for n in lengths) or any(layout[: len(lengths)] == lengths for layout in _CARD_LAYOUTS)


def _layout(lengths: tuple[int, ...]) -> bool:
    """One group of digits, groups of four (the last may be shorter), or 4-6-5 / 4-6-4."""
    if len(lengths) == 1 or lengths in _CARD_LAYOUTS:
        return True
    return _layout_prefix(lengths[:-1]) and lengths[-1] <= 4


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"

DEFAULT_PATTERNS: tuple[RedactionPattern, ...] = (
    regex_pattern(
        "private_key",
        (
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[^-]|-(?!----))*+"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
        ),
    ),
    regex_pattern("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}+\.eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"),
    regex_pattern(
        "authorization",
        (
            r"""(?i:(?<![A-Za-z0-9_-])(?:proxy-)?authorization)["']?[ \t]{0,8}[:=][ \t]{0,8}["']?"""
            r"(?:(?i:bearer|basic|token|digest|negotiate|apikey)[ \t]{1,8})?"
            r"""(?P<secret>[^\s"',;]{1,4096}+)"""
        ),
    ),
    regex_pattern(
        "bearer",
        (
            r"(?<![A-Za-z0-9_-])[Bb]earer[ \t]{1,8}"
            r"(?P<secret>(?=[A-Za-z._~+/-]{0,4096}+[0-9])[A-Za-z0-9._~+/-]{16,4096}+=*+)"
        ),
    ),
    regex_pattern(
        "url_password",
        (
            r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}+://[^\s:/?#@\[\]]{0,256}+:"
            r"(?P<secret>[^\s/@]{1,256}+)@"
        ),
    ),
    regex_pattern("password", _assignment("password|passwd|passphrase|pwd")),
    regex_pattern(
        "aws_access_key",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Z0-9])",
    ),
    regex_pattern(
        "aws_secret_key",
        (
            r"""(?i:(?<![A-Za-z0-9])aws[_-]?secret[_-]?(?:access[_-]?)?key)\\?["']?[ \t]{0,8}[:=][ \t]{0,8}"""
            r"""\\?["']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"""
        ),
    ),
    regex_pattern(
        "github_token",
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}+|github_pat_[A-Za-z0-9_]{22,242}+)(?![A-Za-z0-9_])",
    ),
    regex_pattern("slack_token", r"(?<![A-Za-z0-9-])xox[abprs]-[A-Za-z0-9-]{10,250}+"),
    regex_pattern("stripe_key", r"(?<![A-Za-z0-9_])[rs]k_(?:live|test)_[A-Za-z0-9]{10,247}+(?![A-Za-z0-9_])"),
    regex_pattern("google_api_key", r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    regex_pattern("amcp_token", r"(?<![A-Za-z0-9_-])amcp_[A-Za-z0-9_-]{16,256}+"),
    regex_pattern(
        "secret",
        _assignment(
            r"api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key|apikey|secret|token|credentials?"
        ),
    ),
    regex_pattern(
        "email",
        (
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}+@(?:[A-Za-z0-9-]{1,63}+\.){1,10}[A-Za-z]{2,24}+"
            r"(?![A-Za-z0-9-])"
        ),
        yields_to=("url_password",),  # `user:pass@host` is not an address; keep the host visible
    ),
    RedactionPattern("card_number", _card_spans),
    regex_pattern("ipv4", rf"(?<![0-9.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9]|\.[0-9])"),
)
OFF_BY_DEFAULT = frozenset({"ipv4"})


# --- the redactor -----------------------------------------------------------------------------------------


class Redactor:
    """Finds and replaces secrets with `patterns` (see `from_config` for the usual set)."""

    def __init__(self, patterns: Sequence[RedactionPattern], max_chars: int = MAX_CHARS) -> None:
        self.patterns = tuple(patterns)
        self.max_chars = max_chars
        self._values: LRUCache[str, tuple[str, int]] = LRUCache(maxsize=VALUE_CACHE_SIZE)

    @classmethod
    def from_config(
        cls,
        extra: Sequence[str] | Mapping[str, str] = (),
        disable: Iterable[str] = (),
        enable: Iterable[str] = (),
        max_chars: int = MAX_CHARS,
    ) -> "Redactor":
        """The defaults (less `disable`, plus the off-by-default ones in `enable`) and `extra`
        regexes: a list (their finds are marked `custom`) or a mapping kind -> regex.

        Raises `RedactionConfigError` naming a pattern that does not compile or matches the
        empty string, or an unknown default name."""
        known = {p.kind: p for p in DEFAULT_PATTERNS}
        disabled, enabled = set(disable), set(enable)
        for name in sorted((disabled | enabled) - known.keys()):
            raise RedactionConfigError(
                f"unknown redaction pattern {name!r}; the defaults are {', '.join(known)}"
            )
        wanted = (known.keys() - OFF_BY_DEFAULT - disabled) | enabled
        chosen = [p for p in DEFAULT_PATTERNS if p.kind in wanted]
        named = extra.items() if isinstance(extra, Mapping) else (("custom", regex) for regex in extra)
        for number, (kind, regex) in enumerate(named, start=1):
            chosen.append(_configured(number, kind, regex, known))
        return cls(chosen, max_chars)

    def redact(self, text: str) -> tuple[str, int]:
        """`text` with every secret replaced by `[REDACTED:kind]`, and how many were replaced."""
        cut = ""
        if len(text) > self.max_chars:
            text, cut = text[: self.max_chars], MARKER.format(kind="too_long")
        spans = _merged(self._finds(text))
        if not spans:
            return text + cut, 1 if cut else 0
        parts, position = [], 0
        for start, end, kind in spans:
            parts += [text[position:start], MARKER.format(kind=kind)]
            position = end
        parts.append(text[position:])
        return "".join(parts) + cut, len(spans) + (1 if cut else 0)

    def redact_labels(self, labels: Mapping[str, str]) -> tuple[dict[str, str], int]:
        """Label values redacted (names are kept), and how many secrets were replaced."""
        out, total = {}, 0
        for name, value in labels.items():
            out[name], count = self.redact_value(value)
            total += count
        return out, total

    def redact_value(self, value: str) -> tuple[str, int]:
        """`redact` for a label value: the same values come back in every answer (env, job,
        instance...), so short ones are remembered."""
        if len(value) > VALUE_CACHE_CHARS:
            return self.redact(value)
        found = self._values.get(value)
        if found is None:
            found = self._values[value] = self.redact(value)
        return found

    def _finds(self, text: str) -> list[tuple[int, int, str]]:
        """Every find as (start, end, kind), less the markers already in the text."""
        markers = [m.span() for m in _MARKER_RE.finditer(text)]
        found = [
            [piece for span in p.find(text) for piece in _outside(*span, markers)] for p in self.patterns
        ]
        finds = []
        for pattern, spans in zip(self.patterns, found, strict=True):
            if pattern.yields_to:
                kinds = zip(self.patterns, found, strict=True)
                stronger = _merged(
                    [(a, b, "") for p, theirs in kinds if p.kind in pattern.yields_to for a, b in theirs]
                )
                spans = [span for span in spans if not _overlaps(stronger, *span)]
            finds += [(a, b, pattern.kind) for a, b in spans]
        return finds


def _overlaps(disjoint: list[tuple[int, int, str]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of these sorted, disjoint spans."""
    i = bisect.bisect_left(disjoint, (end,)) - 1
    return i >= 0 and disjoint[i][1] > start


def _outside(start: int, end: int, markers: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The pieces of [start, end) that lie outside every marker."""
    for marker_start, marker_end in markers:
        if marker_end <= start or marker_start >= end:
            continue
        if marker_start > start:
            yield start, marker_start
        start = max(start, marker_end)
    if end > start:
        yield start, end


def _merged(finds: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping finds joined into one, named after the one that starts first (the longest)."""
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(finds, key=lambda f: (f[0], -f[1])):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind = merged[-1]
            merged[-1] = (last_start, max(last_end, end), last_kind)
        else:
            merged.append((start, end, kind))
    return merged


def _configured(number: int, kind: str, regex: str, defaults: Mapping[str, object]) -> RedactionPattern:
    where = f"redaction pattern {number} ({kind})"
    if not _KIND_RE.fullmatch(kind):
        raise RedactionConfigError(f"{where}: name kinds with lower-case letters, digits and _")
    if kind in defaults:
        raise RedactionConfigError(f"{where}: {kind!r} names a default pattern; disable it or choose another")
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        reason = f"{exc.msg} at position {exc.pos}"
        raise RedactionConfigError(f"{where} is not a valid regular expression: {reason}") from None
    if compiled.search("") is not None:
        raise RedactionConfigError(f"{where} matches the empty string, so it cannot mark anything")
    return regex_pattern(kind, compiled)
