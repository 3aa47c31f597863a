from hypothesis import given
from hypothesis import strategies as st

from aiops_mcp.analysis.budget import (
    Part,
    clip_to_tokens,
    dropped_note,
    estimate_tokens,
    line_tokens,
    pack,
)


def part(name: str, *lines: str) -> Part:
    return Part(name, f"## {name}", lines)


def test_tokens_are_utf8_bytes_over_four_rounded_up() -> None:
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]
    assert estimate_tokens("…") == 1 and estimate_tokens("……") == 2  # 3 bytes each
    assert line_tokens("abcd") == 2  # the newline counts


def test_parts_that_fit_are_kept_whole_in_order() -> None:
    parts = [part("a", "x" * 10, "y" * 10), part("b", "z")]
    packing = pack(parts, 1000)
    assert [p.name for p in packing.parts] == ["a", "b"] and packing.omitted == ()
    assert packing.parts[0].lines == ("x" * 10, "y" * 10) and not packing.parts[0].truncated
    assert packing.tokens == sum(line_tokens(line) for line in packing.text.splitlines())
    assert packing.text == "## a\n" + "x" * 10 + "\n" + "y" * 10 + "\n## b\nz"


def test_a_part_that_does_not_fit_keeps_its_leading_lines_and_the_rest_are_omitted() -> None:
    lines = [f"line {i:02d} " + "x" * 30 for i in range(10)]  # 10 tokens each with the newline
    first = part("first", "short")
    budget = line_tokens("## first") + line_tokens("short") + line_tokens("## second") + 40
    packing = pack([first, part("second", *lines), part("third", "tiny")], budget)
    second = packing.parts[1]
    assert second.truncated and second.lines[-1] == dropped_note(second.dropped)
    kept = second.lines[:-1]
    assert kept == tuple(lines[: len(kept)]) and len(kept) + second.dropped == 10
    assert len(kept) == 2  # 2 x 10 + the note (12) fits in 40, 3 x 10 + 12 does not
    assert packing.omitted == ("third",) and packing.tokens <= budget


def test_a_part_whose_title_does_not_fit_is_omitted_with_all_after_it() -> None:
    packing = pack(
        [part("a", "x"), part("b" * 100, "y"), part("c")], line_tokens("## a") + line_tokens("x") + 5
    )
    assert [p.name for p in packing.parts] == ["a"] and packing.omitted == ("b" * 100, "c")


def test_without_room_for_the_note_a_cut_part_is_its_title_alone() -> None:
    budget = line_tokens("## a") + 2
    packing = pack([part("a", "x" * 100)], budget)
    (only,) = packing.parts
    assert only.lines == () and only.dropped == 1 and only.tokens == line_tokens("## a")


def test_hostile_lines_and_tiny_budgets_never_exceed_the_budget() -> None:
    huge = "é" * 50_000
    parts = [part("a", huge), part("b", "x" * 3, huge, "y"), Part("c", huge, ("z",))]
    for budget in (-5, 0, 1, 2, 3, 7, 50, 500, 30_000):
        packing = pack(parts, budget)
        assert packing.tokens <= max(0, budget)
        assert estimate_tokens(packing.text) <= packing.tokens
        assert {p.name for p in packing.parts} | set(packing.omitted) == {"a", "b", "c"}


@given(
    st.lists(st.tuples(st.text(max_size=40), st.lists(st.text(max_size=300), max_size=12)), max_size=8),
    st.integers(min_value=-10, max_value=2_000),
)
def test_any_parts_fit_their_budget_in_priority_order(raw: list[tuple[str, list[str]]], budget: int) -> None:
    parts = [Part(f"p{i}", title, tuple(lines)) for i, (title, lines) in enumerate(raw)]
    packing = pack(parts, budget)
    assert packing.tokens == sum(p.tokens for p in packing.parts) <= max(0, budget)
    assert estimate_tokens(packing.text) <= packing.tokens
    names = [p.name for p in packing.parts]
    assert names + list(packing.omitted) == [p.name for p in parts]  # kept ones first, none skipped
    assert all(not p.truncated for p in packing.parts[:-1])  # only the last kept part can be cut
    for kept, original in zip(packing.parts, parts, strict=False):
        body = kept.lines[:-1] if kept.truncated and kept.lines else kept.lines
        assert body == original.lines[: len(body)]
        assert kept.dropped == (len(original.lines) - len(body) if kept.truncated else 0)


@given(st.text(max_size=200), st.integers(min_value=0, max_value=60))
def test_clipping_a_line_to_tokens(line: str, tokens: int) -> None:
    clipped = clip_to_tokens(line, tokens)
    assert line_tokens(clipped) <= max(tokens, line_tokens(""))
    if line_tokens(line) <= tokens:
        assert clipped == line
    elif clipped:
        assert clipped.endswith("...") and line.startswith(clipped[:-3])


def test_a_smaller_budget_never_keeps_a_lower_priority_part_a_larger_one_dropped() -> None:
    parts = [part(str(i), *(f"{i}-{j} " + "x" * 20 for j in range(5))) for i in range(6)]
    previous = 0
    for budget in range(0, 400, 7):
        packing = pack(parts, budget)
        whole = sum(1 for p in packing.parts if not p.truncated)
        assert whole >= previous and packing.tokens <= budget
        previous = whole
    assert previous == 6
