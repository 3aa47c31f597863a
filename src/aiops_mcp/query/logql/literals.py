"""Writing and reading LogQL literals: quoted strings, numbers, durations and byte sizes.

`escape_logql_string` and the `format_*` functions write canonical text that reads back to the same
value; the `parse_*` functions return None for text that is not a literal of their kind."""

import re

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}


def escape_logql_string(value: str) -> str:
    """Return `value` as a double-quoted LogQL string literal (Go syntax) that decodes to exactly `value`."""
    out = ['"']
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def format_number(value: float) -> str:
    """Shortest text that parses back to `value`."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


_DURATION_UNITS = (
    ("y", 365 * 86400 * 10**9),
    ("w", 7 * 86400 * 10**9),
    ("d", 86400 * 10**9),
    ("h", 3600 * 10**9),
    ("m", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)
_PROM_DURATION = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_GO_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_PROM_SIZES = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def format_duration(ns: int) -> str:
    """Render nanoseconds like Prometheus (`1h30m`, `500ms`, `1d`); `0s` for zero."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    parts = []
    for unit, size in _DURATION_UNITS:
        if ns >= size:
            parts.append(f"{ns // size}{unit}")
            ns %= size
    return sign + "".join(parts)


def parse_prometheus_duration(text: str) -> int | None:
    """Nanoseconds for a Prometheus duration (`5m`, `1h30m`, `1d`, `0`), else None."""
    if text == "0":
        return 0
    m = _PROM_DURATION.fullmatch(text)
    if not text or not m:
        return None
    parts = m.groups()
    seconds = sum(int(p) * size for p, size in zip(parts[:6], _PROM_SIZES, strict=True) if p)
    return seconds * 10**9 + (int(parts[6]) * 10**6 if parts[6] else 0)


def parse_go_duration(text: str) -> int | None:
    """Nanoseconds for a Go duration (`1.5s`, `-300ms`, `2h45m`), else None."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-") if text[:1] in "+-" else text
    if body == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(body):
        m = _GO_DURATION_PART.match(body, pos)
        if not m or m.group(1) in ("", "."):
            return None
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * round(total) if body else None


def parse_duration(text: str) -> int | None:
    """Nanoseconds for a duration as Loki's lexer reads it: Prometheus syntax first, then Go's."""
    ns = parse_prometheus_duration(text)
    return ns if ns is not None else parse_go_duration(text)


_BYTE_UNITS = (
    ("PiB", 1024**5),
    ("PB", 1000**5),
    ("TiB", 1024**4),
    ("TB", 1000**4),
    ("GiB", 1024**3),
    ("GB", 1000**3),
    ("MiB", 1024**2),
    ("MB", 1000**2),
    ("KiB", 1024),
    ("KB", 1000),
)
_BYTES = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+) ?([a-zA-Z]*)")
_BYTE_SIZES = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1024,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mi": 1024**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gi": 1024**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ti": 1024**4,
    "tib": 1024**4,
    "p": 1000**5,
    "pb": 1000**5,
    "pi": 1024**5,
    "pib": 1024**5,
}


def format_bytes(n: int) -> str:
    """Render bytes with the largest unit that divides them exactly (`10KB`, `1MiB`, `512B`)."""
    for unit, size in _BYTE_UNITS:
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def parse_bytes(text: str) -> int | None:
    """Bytes for a humanized size (`10KB`, `1.5MiB`, `512B`), else None."""
    m = _BYTES.fullmatch(text)
    if not m or m.group(2).lower() not in _BYTE_SIZES:
        return None
    return int(float(m.group(1)) * _BYTE_SIZES[m.group(2).lower()])
