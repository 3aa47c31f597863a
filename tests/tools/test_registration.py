"""Tool schemas compacted for the model and cheap to validate, with the same meaning."""

import jsonschema

from aiops_mcp.tools.registration import compact_schema, inline_single_refs


def test_a_definition_used_once_is_written_in_place_and_one_used_twice_is_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "provenance": {"$ref": "#/$defs/Provenance", "description": "what ran"},
            "a": {"$ref": "#/$defs/Stats"},
            "b": {"$ref": "#/$defs/Stats"},
        },
        "$defs": {
            "Provenance": {"type": "object", "properties": {"query": {"type": "string"}}},
            "Stats": {"type": "object", "properties": {"max": {"type": "number"}}},
        },
    }
    out = inline_single_refs(schema)
    assert out["properties"]["provenance"] == {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "description": "what ran",
    }
    assert out["properties"]["a"] == {"$ref": "#/$defs/Stats"} and list(out["$defs"]) == ["Stats"]
    good = {"provenance": {"query": "up"}, "a": {"max": 1}, "b": {"max": 2}}
    bad = {"provenance": {"query": 1}, "a": {"max": 1}, "b": {"max": 2}}
    for document, valid in ((good, True), (bad, False)):
        for candidate in (schema, out):
            assert jsonschema.Draft202012Validator(candidate).is_valid(document) is valid


def test_a_self_referencing_definition_stays_a_reference() -> None:
    schema = {
        "$ref": "#/$defs/Node",
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
    }
    out = inline_single_refs(schema)
    assert out["$defs"]["Node"]["properties"]["child"] == {"$ref": "#/$defs/Node"}
    assert jsonschema.Draft202012Validator(out).is_valid({"child": {"child": {}}})


def test_a_fixed_length_tuple_keeps_its_length_and_loses_only_element_types() -> None:
    point = {
        "type": "array",
        "prefixItems": [{"type": "number"}, {"type": "number"}],
        "minItems": 2,
        "maxItems": 2,
        "title": "Point",
    }
    assert compact_schema(point) == {"type": "array", "minItems": 2, "maxItems": 2}
    mixed = {**point, "prefixItems": [{"type": "number"}, {"type": "string", "maxLength": 3}]}
    assert "prefixItems" in compact_schema(mixed), "a constrained element keeps its schema"
