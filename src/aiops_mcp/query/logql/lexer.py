"""The LogQL tokenizer: query text to `Token`s, with Go's string escapes and Loki's number, duration
and byte-size literals; errors are `LogQLSyntaxError`s worded like Loki's, at the offending offset."""

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from aiops_mcp.query.logql.errors import LogQLSyntaxError
from aiops_mcp.query.logql.grammar import PARSER_FLAGS
from aiops_mcp.query.logql.literals import (
    parse_bytes,
    parse_duration,
    parse_go_duration,
    parse_prometheus_duration,
)


@dataclass(frozen=True)
class Token:
    """A lexical token; `value` is the decoded string, number, nanoseconds or bytes."""

    kind: Literal["ident", "string", "number", "duration", "bytes", "range", "flag", "op", "eof"]
    text: str
    pos: int
    value: Any = None


DIGITS = "0123456789"
DIGITS_1 = tuple(DIGITS)
_OPS2 = ("!=", "!~", "!>", "=~", "==", "|=", "|~", "|>", ">=", "<=")
_OPS1 = "=|><(){},+-*/%^"
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DURATION_RUNES = set("0123456789.numµsshdwy")
_BYTES_RUNES = set("0123456789.BikKMGTP")


class Lexer:
    """Turns query text into tokens; errors carry Loki's wording and the offending offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int) -> NoReturn:
        raise LogQLSyntaxError.at(self.text, pos, message)

    def tokens(self) -> list[Token]:
        out = []
        while True:
            tok = self.next_token()
            out.append(tok)
            if tok.kind == "eof":
                return out

    def next_token(self) -> Token:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch.isspace():
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break
        if self.pos >= len(text):
            return Token("eof", "", self.pos)
        return self.scan(text[self.pos])

    def scan(self, ch: str) -> Token:
        start = self.pos
        if ch == '"':
            return self.string(start)
        if ch == "`":
            return self.raw_string(start)
        if ch == "[":
            return self.range(start)
        if ch in DIGITS or (ch == "." and self.text[start + 1 : start + 2] in DIGITS_1):
            return self.number(start)
        if ch == "-" and self.text.startswith("--", start):
            flag = self.flag(start)
            if flag:
                return flag
        if ch == "-" and self.text[start + 1 : start + 2] in DIGITS_1:
            negative = self.negative_duration(start)
            if negative:
                return negative
        if ch.isalpha() or ch == "_":
            return self.ident(start)
        return self.operator(start, ch)

    def string(self, start: int) -> Token:
        """A Go interpreted string: escapes decoded, raw bytes (\\x, octal) reassembled as UTF-8."""
        out = bytearray()
        i = start + 1
        text = self.text
        while True:
            if i >= len(text) or text[i] == "\n":
                self.error("literal not terminated", start)
            ch = text[i]
            if ch == '"':
                break
            if ch == "\\":
                i = self.escape(i, out)
                continue
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
        self.pos = i + 1
        try:
            value = out.decode("utf-8")
        except UnicodeDecodeError:
            self.error("invalid UTF-8 rune", start)
        return Token("string", text[start : i + 1], start, value)

    def escape(self, i: int, out: bytearray) -> int:
        """Decode the escape at `i` into `out`; return the index after it."""
        text = self.text
        code = text[i + 1 : i + 2]
        simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
        if code in simple:
            out.append(simple[code])
            return i + 2
        sizes = {"x": 2, "u": 4, "U": 8}
        if code in sizes:
            digits = text[i + 2 : i + 2 + sizes[code]]
            if len(digits) < sizes[code] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                self.error("invalid char escape", i)
            number = int(digits, 16)
            if code == "x":
                out.append(number)
            elif number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
                self.error("invalid syntax", i)
            else:
                out += chr(number).encode("utf-8")
            return i + 2 + sizes[code]
        digits = text[i + 1 : i + 4]
        if len(digits) == 3 and all(c in "01234567" for c in digits) and int(digits, 8) < 256:
            out.append(int(digits, 8))
            return i + 4
        if i + 1 >= len(text):
            self.error("literal not terminated", i)
        self.error("invalid char escape", i)

    def raw_string(self, start: int) -> Token:
        end = self.text.find("`", start + 1)
        if end < 0:
            self.error("literal not terminated", start)
        self.pos = end + 1
        return Token(
            "string", self.text[start : end + 1], start, self.text[start + 1 : end].replace("\r", "")
        )

    def range(self, start: int) -> Token:
        end = self.text.find("]", start + 1)
        if end < 0:
            self.error("missing closing ']' in duration", start)
        body = self.text[start + 1 : end]
        ns = parse_prometheus_duration(body)
        if ns is None:
            self.error(f'not a valid duration string: "{body}"', start)
        self.pos = end + 1
        return Token("range", self.text[start : end + 1], start, ns)

    def number(self, start: int) -> Token:
        m = _NUMBER.match(self.text, start)
        assert m is not None  # scan() only calls this on a digit or ".<digit>"
        self.pos = m.end()
        text = m.group()
        suffix = self.run_of(_DURATION_RUNES)
        ns = parse_duration(text + suffix) if suffix else None
        if ns is not None:
            self.pos += len(suffix)
            return Token("duration", text + suffix, start, ns)
        suffix = self.run_of(_BYTES_RUNES)
        size = parse_bytes(text + suffix) if suffix else None
        if size is not None:
            self.pos += len(suffix)
            return Token("bytes", text + suffix, start, size)
        value = float(int(text, 16)) if text[:2].lower() == "0x" else float(text)
        if not math.isfinite(value):
            self.error("unable to parse literal as a float: value out of range", start)
        return Token("number", text, start, value)

    def run_of(self, runes: set[str]) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] in runes:
            end += 1
        return self.text[self.pos : end]

    def negative_duration(self, start: int) -> Token | None:
        m = _NUMBER.match(self.text, start + 1)
        if not m:
            return None
        self.pos = m.end()
        suffix = self.run_of(_DURATION_RUNES)
        ns = parse_go_duration("-" + m.group() + suffix) if suffix else None
        if ns is None:
            self.pos = start
            return None
        self.pos = m.end() + len(suffix)
        return Token("duration", self.text[start : self.pos], start, ns)

    def flag(self, start: int) -> Token | None:
        end = start + 2
        while end < len(self.text) and (self.text[end].isalpha() or self.text[end] == "-"):
            end += 1
        word = self.text[start:end]
        if word not in PARSER_FLAGS:
            return None
        self.pos = end
        return Token("flag", word, start, word)

    def ident(self, start: int) -> Token:
        end = start + 1
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            end += 1
        self.pos = end
        return Token("ident", self.text[start:end], start)

    def operator(self, start: int, ch: str) -> Token:
        two = self.text[start : start + 2]
        if two in _OPS2:
            self.pos = start + 2
            return Token("op", two, start)
        if ch in _OPS1:
            self.pos = start + 1
            return Token("op", ch, start)
        self.error(f"syntax error: unexpected character {ch!r}", start)
