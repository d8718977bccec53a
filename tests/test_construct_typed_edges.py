"""Edges found while typing moetheory.construct: a construction built from sizes (no ε)
verifies and serialises, a shape-only plan is refused with a SizeError, and a ragged constant
of an affine combination is a SizeError, not a raw numpy ValueError."""

from __future__ import annotations

import json

import pytest

from moetheory.bounds.approximation import Target, pwl_approximator, yarotsky_row
from moetheory.construct import verify_construction
from moetheory.construct.approximate import build
from moetheory.construct.network import affine_combination, identity
from moetheory.construct.targets import builtin_target
from moetheory.errors import SizeError


def test_construction_from_sizes_verifies_without_eps():
    fn = builtin_target("smooth", 1, 1)
    c = build(pwl_approximator(Target.of(1, 1), 2, 2), fn, "pwl")
    assert c.eps is None
    v = verify_construction(c, points=200, starts=2)
    assert v.within_eps is None  # nothing to compare with
    data = v.to_json()
    assert data["eps"] is None and data["eps_exact"] is None and data["within_eps"] is None
    assert data["baseline"] is None
    assert data["max_error_found"] <= data["guaranteed_error"] + 1e-12
    json.dumps(data)


def test_build_refuses_a_shape_only_plan():
    fn = builtin_target("smooth", 1, 1)
    plan = yarotsky_row(Target.of(1, 1), "0.1")
    assert plan is not None and plan.architecture is None
    with pytest.raises(SizeError, match="no network to build"):
        build(plan, fn, "pwl")


def test_affine_combination_ragged_constant_is_a_size_error():
    with pytest.raises(SizeError, match="constant is not a numeric array"):
        affine_combination([identity(2)], [1.0], [[1.0], [1.0, 2.0]])
