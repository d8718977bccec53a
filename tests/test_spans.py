"""Exact relation spaces (identify/spans.py) against an independent oracle: sympy's Matrix
rank and nullspace over the rationals, on random small rational matrices."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moetheory.identify.spans import ExactSpace

entries = st.integers(-3, 3).map(sp.Integer)
rows = st.integers(1, 4).flatmap(
    lambda k: st.lists(st.lists(entries, min_size=5, max_size=5), min_size=k, max_size=k)
)


@settings(max_examples=60, deadline=None)
@given(rows, st.sets(st.integers(0, 4)))
def test_intersection_matches_matrix_oracle(vectors, cols):
    space = ExactSpace(vectors, 5)
    matrix = sp.Matrix(vectors)
    assert space.rank() == matrix.rank()
    inter = space.intersect(sorted(cols))
    outside = [c for c in range(5) if c not in cols]
    # oracle: dim(R ∩ span(e_cols)) = rank R − rank R[:, outside]
    expected = matrix.rank() - (matrix[:, outside].rank() if outside else 0)
    assert inter.rank() == expected
    for row in inter.rows:  # each vector lies in R and vanishes outside ``cols``
        assert all(row[c] == 0 for c in outside)
        assert sp.Matrix([*vectors, row]).rank() == matrix.rank()


def test_algebraic_field():
    s = sp.sqrt(146)
    space = ExactSpace([[1, s, 0], [0, 1, s]], 3)
    assert space.rank() == 2 and space.contains([[1, 0, -146]])
    assert not space.contains([[1, 0, 0]])
