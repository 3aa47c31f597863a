from aiops_mcp.analysis.logs import clip_line, level_breakdown, level_of, percent_of


def test_level_comes_from_labels_first() -> None:
    assert level_of({"level": "ERR"}, "level=info whatever") == "error"


def test_level_is_read_from_logfmt_json_and_plain_lines() -> None:
    assert level_of({}, 'level=warn msg="slow query"') == "warn"
    assert level_of({}, '{"level":"error","msg":"checkout failed"}') == "error"
    assert level_of({}, "ERROR failed to reach inventory-db:5432") == "error"
    assert level_of({}, "dial tcp 10.0.3.17:8080: connect: connection refused") == "unknown"


def test_long_lines_are_cut_and_say_by_how_much() -> None:
    line, cut = clip_line("x" * 120, 100)
    assert cut and line.endswith("… [+20 chars]") and line.startswith("x" * 100)
    assert clip_line("short", 100) == ("short", False)


def test_breakdown_merges_spellings_and_gives_percentages() -> None:
    rows = level_breakdown([("error", 30), ("ERR", 10), ("info", 160), ("", 0)])
    assert [(r.level, r.count, r.percent) for r in rows] == [
        ("info", 160, 80.0),
        ("error", 40, 20.0),
        ("unknown", 0, 0.0),
    ]


def test_percent_of_rounds_to_two_decimals_and_survives_an_empty_total() -> None:
    assert (percent_of(1, 3), percent_of(2, 3), percent_of(0, 0)) == (33.33, 66.67, 0.0)
