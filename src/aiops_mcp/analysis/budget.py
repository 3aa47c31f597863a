"""Packing titled parts of text into a token budget, in priority order. Pure, no I/O.

Tokens are estimated, not counted: ``ceil(UTF-8 bytes / 4)``. Four bytes a token is the usual
rule of thumb for BPE tokenizers on English prose and code; dense text (ISO times, hex ids,
PromQL) takes somewhat more real tokens per byte, so callers should leave headroom. Counting
bytes rather than characters makes non-ASCII text (3 bytes for "…") cost more, never less.

A line costs the tokens of itself plus its newline, so the lines' costs add up to at least the
estimate of the text they join into: a packing's `tokens` bounds ``estimate_tokens(text)``.

`pack` takes the parts in order. A part that fits whole is kept whole. The first part that does
not fit keeps as many of its leading lines as fit together with a note saying how many were
dropped (the note is left out when even it does not fit, the part then being its title alone);
a part whose title does not fit is omitted. Every part after the first one cut is omitted, so a
lower-priority part never takes room a higher-priority one needed.
"""

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

BYTES_PER_TOKEN = 4
CUT_MARK = "..."


def estimate_tokens(text: str) -> int:
    """Estimated tokens of `text`: ceil(UTF-8 bytes / 4)."""
    return math.ceil(len(text.encode()) / BYTES_PER_TOKEN)


def line_tokens(line: str) -> int:
    """Estimated tokens of one line with its newline."""
    return estimate_tokens(line + "\n")


def clip_to_tokens(line: str, tokens: int) -> str:
    """`line` cut (at a character boundary, ending in `CUT_MARK`) so that `line_tokens` of it <= `tokens`."""
    if line_tokens(line) <= tokens:
        return line
    room = tokens * BYTES_PER_TOKEN - 1 - len(CUT_MARK)  # the newline and the mark
    if room < 0:
        return ""
    return line.encode()[:room].decode(errors="ignore") + CUT_MARK


def dropped_note(count: int) -> str:
    """The line that ends a cut part."""
    return f"... {count} more lines dropped for the token budget"


@dataclass(frozen=True, slots=True)
class Part:
    """A titled block of lines; its lines are kept from the first, so put the most useful first."""

    name: str
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Packed:
    """A part as kept: its leading lines (plus the dropped note when cut), and what they cost."""

    name: str
    title: str
    lines: tuple[str, ...]
    dropped: int
    tokens: int

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines))


@dataclass(frozen=True, slots=True)
class Packing:
    """The parts kept (in order), the names of those omitted, and the tokens used (<= the budget)."""

    parts: tuple[Packed, ...]
    omitted: tuple[str, ...]
    tokens: int

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts)


def _leading(costs: Sequence[int], room: int, note_cost: Callable[[int], int]) -> tuple[int, bool]:
    """How many leading lines fit in `room` next to the note for the rest, and whether the note fits."""
    best, used = -1, 0
    for kept in range(len(costs)):
        if used + note_cost(len(costs) - kept) <= room:
            best = kept
        used += costs[kept]
        if used > room:
            break
    return (best, True) if best >= 0 else (0, False)


def pack(parts: Sequence[Part], budget: int, note: Callable[[int], str] = dropped_note) -> Packing:
    """Keep `parts` in order within `budget` tokens (see the module docstring)."""
    kept: list[Packed] = []
    omitted: list[str] = []
    left = max(0, budget)
    for part in parts:
        title = line_tokens(part.title)
        costs = [line_tokens(line) for line in part.lines]
        if omitted or any(p.truncated for p in kept) or title > left:
            omitted.append(part.name)
            continue
        if title + sum(costs) <= left:
            kept.append(Packed(part.name, part.title, part.lines, 0, title + sum(costs)))
            left -= title + sum(costs)
            continue
        count, noted = _leading(costs, left - title, lambda n: line_tokens(note(n)))
        dropped = len(costs) - count
        lines = (*part.lines[:count], note(dropped)) if noted else ()
        tokens = title + sum(line_tokens(line) for line in lines)
        kept.append(Packed(part.name, part.title, lines, dropped, tokens))
        left -= tokens
    return Packing(tuple(kept), tuple(omitted), sum(p.tokens for p in kept))


def json_tokens(value: Any) -> int:
    """Estimated tokens of `value` sent as compact JSON (as structured content travels)."""
    return estimate_tokens(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
