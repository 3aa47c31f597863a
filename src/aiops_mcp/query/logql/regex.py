"""Go (RE2) regular expressions, checked with Python's `re`.

Loki compiles regexes with Go's regexp package. `compile_go_regex` translates the Go syntax that
Python spells differently (POSIX classes, ``\\Q...\\E``, ``(?i)`` in mid-pattern, ``\\x{...}``), raises
`GoRegexError` with Go's wording for what Go rejects, and returns None for valid-looking syntax
Python cannot express."""

import functools
import re
import warnings
from dataclasses import dataclass


class GoRegexError(ValueError):
    """A regular expression that Go's regexp package rejects; the message is Go's wording."""


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_PERL_CLASSES = set("dDsSwW")
_ASSERTIONS = set("bBA")
_CONTROL_ESCAPES = set("aftnrv")
_REPEAT = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")


class _Untranslatable(Exception):
    """Valid-looking Go syntax that Python's re cannot express (Unicode classes, the U flag)."""


@dataclass
class _Group:
    """An open group during translation, with inline flag groups still to close."""

    pending_flags: list[str]


class _RegexTranslator:
    """Rewrites Go regexp syntax into Python re syntax, raising Go's errors for what Go rejects."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.i = 0
        self.out: list[str] = []
        self.groups = [_Group([])]
        self.after_quantifier = False

    def translate(self) -> str:
        while self.i < len(self.pattern):
            self.step(self.pattern[self.i])
        if len(self.groups) > 1:
            raise GoRegexError(f"missing closing ): `{self.pattern}`")
        self.close_flags(self.groups[0])
        return "".join(self.out)

    def step(self, ch: str) -> None:
        was_quantifier, self.after_quantifier = self.after_quantifier, False
        if ch == "\\":
            self.out.append(self.escape(in_class=False))
        elif ch == "[":
            self.out.append(self.char_class())
        elif ch == "(":
            self.open_group()
        elif ch == ")":
            self.close_group()
        elif ch == "|":
            self.alternate()
        elif ch in "*+?" or (ch == "{" and _REPEAT.match(self.pattern, self.i)):
            self.quantifier(ch, was_quantifier)
        else:
            self.out.append(ch)
            self.i += 1

    def quantifier(self, ch: str, was_quantifier: bool) -> None:
        if ch == "{":
            m = _REPEAT.match(self.pattern, self.i)
            assert m is not None
            low, high = int(m.group(1)), m.group(2)
            if low > 1000 or (high and int(high) > 1000) or (high and int(high) < low):
                raise GoRegexError(f"invalid repeat count: `{m.group()}`")
            text = m.group()
        else:
            text = ch
        if was_quantifier and not (ch == "?" and self.pattern[self.i - 1] != "?"):
            raise GoRegexError(f"invalid nested repetition operator: `{self.pattern[self.i - 1]}{text}`")
        self.out.append(text)
        self.i += len(text)
        self.after_quantifier = not (ch == "?" and was_quantifier)

    def escape(self, in_class: bool) -> str:
        """Translate the escape at `self.i` (a backslash)."""
        p, i = self.pattern, self.i
        if i + 1 >= len(p):
            raise GoRegexError("trailing backslash at end of expression: ``")
        c = p[i + 1]
        self.i = i + 2
        if c in "01234567":
            return self.octal(c, i)
        if c == "x":
            return self.hex_escape(i)
        if c in "pP":
            raise _Untranslatable
        if not in_class and c == "Q":
            end = p.find("\\E", self.i)
            literal = p[self.i :] if end < 0 else p[self.i : end]
            self.i = len(p) if end < 0 else end + 2
            return re.escape(literal)
        if not in_class and c == "z":
            return "\\Z"
        if c in _PERL_CLASSES or c in _CONTROL_ESCAPES or (not in_class and c in _ASSERTIONS):
            return "\\" + c
        if ord(c) < 128 and not c.isalnum():
            return "\\" + c
        raise GoRegexError(f"invalid escape sequence: `\\{c}`")

    def octal(self, first: str, start: int) -> str:
        digits = first
        while len(digits) < 3 and self.i < len(self.pattern) and self.pattern[self.i] in "01234567":
            digits += self.pattern[self.i]
            self.i += 1
        if first != "0" and len(digits) == 1:
            raise GoRegexError(f"invalid escape sequence: `\\{first}`")
        return f"\\x{int(digits, 8):02x}"

    def hex_escape(self, start: int) -> str:
        p = self.pattern
        if p[self.i : self.i + 1] == "{":
            end = p.find("}", self.i)
            digits = p[self.i + 1 : end] if end > 0 else ""
            if end < 0 or not digits or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise GoRegexError(
                    f"invalid escape sequence: `{p[start : (end + 1) if end > 0 else len(p)]}`"
                )
            self.i = end + 1
            if int(digits, 16) > 0x10FFFF:
                raise GoRegexError(f"invalid escape sequence: `{p[start : end + 1]}`")
            return f"\\U{int(digits, 16):08x}"
        digits = p[self.i : self.i + 2]
        if len(digits) < 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise GoRegexError(f"invalid escape sequence: `{p[start : self.i + 2]}`")
        self.i += 2
        return f"\\x{digits}"

    def char_class(self) -> str:
        """Translate `[...]` starting at `self.i`."""
        p, start = self.pattern, self.i
        self.i += 1
        out = ["["]
        if p[self.i : self.i + 1] == "^":
            out.append("^")
            self.i += 1
        first = True
        while True:
            if self.i >= len(p):
                raise GoRegexError(f"missing closing ]: `{p[start:]}`")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                out.append("]")
                return "".join(out)
            first = False
            out.append(self.class_item(c, start))

    def class_item(self, c: str, start: int) -> str:
        p = self.pattern
        if p.startswith("[:", self.i):
            end = p.find(":]", self.i + 2)
            name = p[self.i + 2 : end] if end > 0 else ""
            if name.startswith("^"):
                raise _Untranslatable
            if name in _POSIX_CLASSES:
                self.i = end + 2
                return _POSIX_CLASSES[name]
            if end > 0 and name.isalpha():
                raise GoRegexError(f"invalid character class range: `{p[self.i : end + 2]}`")
        if c == "\\":
            return self.escape(in_class=True)
        self.i += 1
        if c in "[&~|":
            return "\\" + c
        if (
            c == "-"
            and p[self.i : self.i + 1] not in ("]", "")
            and p[self.i - 2 : self.i - 1] not in ("[", "^")
        ):
            low, high = p[self.i - 2], p[self.i]
            if low > high and p[self.i] != "\\":
                raise GoRegexError(f"invalid character class range: `{low}-{high}`")
        return c

    def open_group(self) -> None:
        p, i = self.pattern, self.i
        if not p.startswith("(?", i):
            self.out.append("(")
            self.groups.append(_Group([]))
            self.i += 1
            return
        for prefix in ("(?P<", "(?<"):
            if p.startswith(prefix, i) and not p.startswith(("(?<=", "(?<!"), i):
                self.named_group(prefix)
                return
        m = re.compile(r"\(\?([a-zA-Z-]*)([:)])").match(p, i)
        if not m or (not m.group(1) and m.group(2) == ")"):
            raise GoRegexError(f"invalid or unsupported Perl syntax: `{p[i : i + 3]}`")
        flags = m.group(1)
        if any(f not in "imsU-" for f in flags) or flags.count("-") > 1 or flags.endswith("-"):
            raise GoRegexError(f"invalid or unsupported Perl syntax: `{m.group()}`")
        if "U" in flags:
            raise _Untranslatable
        self.i = m.end()
        if m.group(2) == ":":
            self.out.append(m.group() if flags else "(?:")
            self.groups.append(_Group([]))
        elif flags:
            # Go's (?i) lasts to the end of the enclosing group; Python 3.11 only takes it at the start.
            self.out.append(f"(?{flags}:")
            self.groups[-1].pending_flags.append(flags)

    def named_group(self, prefix: str) -> None:
        p = self.pattern
        end = p.find(">", self.i)
        name = p[self.i + len(prefix) : end] if end > 0 else ""
        if end < 0 or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise GoRegexError(f"invalid named capture: `{p[self.i : end + 1 if end > 0 else len(p)]}`")
        self.out.append(f"(?P<{name}>")
        self.groups.append(_Group([]))
        self.i = end + 1

    def close_group(self) -> None:
        if len(self.groups) == 1:
            raise GoRegexError(f"unexpected ): `{self.pattern}`")
        self.close_flags(self.groups.pop())
        self.out.append(")")
        self.i += 1
        self.after_quantifier = False

    def close_flags(self, group: _Group) -> None:
        self.out.append(")" * len(group.pending_flags))

    def alternate(self) -> None:
        group = self.groups[-1]
        self.close_flags(group)
        self.out.append("|")
        self.out.extend(f"(?{flags}:" for flags in group.pending_flags)
        self.i += 1


_PYTHON_ERRORS = (
    ("missing ), unterminated subpattern", "missing closing )"),
    ("unbalanced parenthesis", "unexpected )"),
    ("nothing to repeat", "missing argument to repetition operator"),
    ("multiple repeat", "invalid nested repetition operator"),
    ("bad character range", "invalid character class range"),
    ("redefinition of group name", "duplicate capture group name"),
    ("bad escape", "invalid escape sequence"),
)


@functools.lru_cache(maxsize=512)
def compile_go_regex(pattern: str) -> re.Pattern[str] | None:
    """Compile a Go (RE2) regular expression with Python's re.

    Raises `GoRegexError` with Go's message (``missing closing ): `(x` ``) when Go would reject it;
    returns None for valid-looking syntax Python cannot check (``\\pL`` classes, the ``U`` flag)."""
    try:
        translated = _RegexTranslator(pattern).translate()
    except _Untranslatable:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(translated)
    except re.error as exc:
        raise GoRegexError(_go_message(exc, pattern)) from None


def _go_message(exc: re.error, pattern: str) -> str:
    for python, go in _PYTHON_ERRORS:
        if exc.msg.startswith(python):
            return f"{go}: `{pattern}`"
    return f"{exc.msg}: `{pattern}`"
