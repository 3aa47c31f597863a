"""Binary operators between scalars and instant vectors, with ``bool``, ``on`` and ``ignoring``."""

from __future__ import annotations

import math
from collections.abc import Callable

from aiops_mcp.query.logql import BinaryOp
from tests.doubles.loki.dataset import LabelKey
from tests.doubles.loki.errors import Unsupported
from tests.doubles.loki.pipeline import COMPARE

Vector = dict[LabelKey, float]

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else math.nan,
    "%": lambda a, b: math.fmod(a, b) if b else math.nan,
    "^": lambda a, b: math.pow(a, b),
}
_COMPARISONS = {k: v for k, v in COMPARE.items() if k != "="}


def binary(node: BinaryOp, left: Vector | float, right: Vector | float) -> Vector | float:
    """`left op right`, for scalars and vectors (without ``group_left``/``group_right``)."""
    if node.matching is not None and node.matching.group is not None:
        raise Unsupported("group_left/group_right")
    if not isinstance(left, dict) and not isinstance(right, dict):
        return _scalar_op(node.op, left, right)
    if isinstance(left, dict) and isinstance(right, dict):
        return _vector_vector(node, left, right)
    if node.op in ("and", "or", "unless"):
        raise Unsupported(f"{node.op} with a scalar")
    return _vector_scalar(node, left, right)


def _scalar_op(op: str, a: float, b: float) -> float:
    if op in _COMPARISONS:
        return 1.0 if _COMPARISONS[op](a, b) else 0.0
    return _ARITHMETIC[op](a, b)


def _vector_scalar(node: BinaryOp, left: Vector | float, right: Vector | float) -> Vector:
    out: Vector = {}
    vector, scalar, swapped = (left, right, False) if isinstance(left, dict) else (right, left, True)
    assert isinstance(vector, dict) and not isinstance(scalar, dict)
    for labels, value in vector.items():
        a, b = (scalar, value) if swapped else (value, scalar)
        result = _apply(node, a, b, value)
        if result is not None:
            out[labels] = result
    return out


def _apply(node: BinaryOp, a: float, b: float, sample: float) -> float | None:
    """`a op b` for one vector sample: 0 or 1 for ``bool`` comparisons, the sample itself or None (the
    sample is dropped) for filtering comparisons, the result for arithmetic."""
    if node.op not in _COMPARISONS:
        return _ARITHMETIC[node.op](a, b)
    hit = _COMPARISONS[node.op](a, b)
    if node.return_bool:
        return 1.0 if hit else 0.0
    return sample if hit else None


def _signature(labels: LabelKey, node: BinaryOp) -> LabelKey:
    if node.matching is None:
        return labels
    wanted = set(node.matching.labels)
    return tuple((k, v) for k, v in labels if (k in wanted) == node.matching.on)


def _vector_vector(node: BinaryOp, left: Vector, right: Vector) -> Vector:
    right_by_sig: dict[LabelKey, tuple[LabelKey, float]] = {}
    for labels, value in right.items():
        sig = _signature(labels, node)
        if sig in right_by_sig:
            raise Unsupported("many-to-many vector matching")
        right_by_sig[sig] = (labels, value)
    if node.op == "or":
        sigs = {_signature(k, node) for k in left}
        return {**left, **{k: v for k, v in right.items() if _signature(k, node) not in sigs}}
    if node.op in ("and", "unless"):
        return {k: v for k, v in left.items() if (_signature(k, node) in right_by_sig) == (node.op == "and")}
    out: Vector = {}
    for labels, value in left.items():
        match = right_by_sig.get(_signature(labels, node))
        if match is None:
            continue
        result = _apply(node, value, match[1], value)
        if result is None:
            continue
        # A filtering comparison keeps the left sample as it is; anything else drops unmatched labels.
        filtering = node.op in _COMPARISONS and not node.return_bool
        out[_signature(labels, node) if node.matching and not filtering else labels] = result
    return out
