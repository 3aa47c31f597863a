"""Fields of a log line as Loki's ``json`` and ``logfmt`` parsers extract them."""

from __future__ import annotations

import json
import re
from typing import Any


def json_fields(line: str) -> dict[str, str] | None:
    """Flattened JSON fields (nested keys joined by `_`, numbers as written), or None if not an object."""
    try:
        data = json.loads(line, parse_float=str, parse_int=str)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, str] = {}
    _flatten(data, "", out)
    return out


def _flatten(data: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in data.items():
        name = _sanitise(f"{prefix}{key}")
        if isinstance(value, dict):
            _flatten(value, f"{name}_", out)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None:
            out[name] = ""
        elif not isinstance(value, list):
            out[name] = str(value)


def _sanitise(key: str) -> str:
    key = key.strip()
    if key[:1].isdigit():
        key = "_" + key
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


_LOGFMT = re.compile(r'\s*([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')


def logfmt_fields(line: str, keep_empty: bool, strict: bool) -> tuple[dict[str, str], str | None]:
    """Parse `key=value key2="quoted"` pairs like go-logfmt; returns fields and an error, if any."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(line.rstrip()):
        m = _LOGFMT.match(line, pos)
        if not m or m.end() == pos:
            if strict:
                return out, f"logfmt syntax error at pos {pos + 1} : unexpected '\"'"
            pos = line.find(" ", pos + 1) if " " in line[pos + 1 :] else len(line)
            continue
        key, value = m.group(1), m.group(2)
        pos = m.end()
        if value is None or value == "":
            if keep_empty:
                out[_sanitise(key)] = ""
            continue
        out[_sanitise(key)] = json.loads(value) if value.startswith('"') else value
    return out, None


def json_path(data: Any, path: str) -> str | None:
    for part in re.findall(r'[^.\[\]"]+', path):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    if isinstance(data, dict | list):
        return json.dumps(data, separators=(",", ":"))
    return "" if data is None else str(data).lower() if isinstance(data, bool) else str(data)
