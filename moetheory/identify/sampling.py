"""Seeded generic points: exact dyadic rationals, so floats and balls see the same numbers."""

from __future__ import annotations

import numpy as np
import sympy as sp

from moetheory.identify.model import Model

PARAM_DENOM = 128
INPUT_DENOM = 64
INPUT_RANGE = 4
"""Inputs are drawn from [-4, 4]: on [-1, 1] the columns of families such as e^{βx}·σ(ax + b)
(parameters near 1) are so close to polynomials that their smallest honest singular values fall
to 1e-13 … 1e-15, below what float64 tells from zero; on [-4, 4] they stay above 1e-10."""


def parameter_point(
    model: Model, rng: np.random.Generator, positive: frozenset[sp.Symbol] = frozenset()
) -> dict[sp.Symbol, sp.Rational]:
    """Each parameter and mass in ±[1/4, 5/4] (the model's positive ones and ``positive`` in
    [1/4, 5/4]), dyadic with denominator 128, never ±1/2 or ±1: values at which formulas often
    simplify (e^{-(x - m)²} at m = -1 shows a relation that does not hold generically)."""
    out = {}
    all_positive = set(model.positive) | set(positive)
    special = {PARAM_DENOM // 2, PARAM_DENOM}
    for p in (*model.params, *model.masses):
        k = PARAM_DENOM
        while k in special:
            k = int(rng.integers(PARAM_DENOM // 4, 5 * PARAM_DENOM // 4 + 1))
        sign = 1 if p in all_positive or rng.random() < 0.5 else -1
        out[p] = sp.Rational(sign * k, PARAM_DENOM)
    return out


def under_roots(model: Model) -> frozenset[sp.Symbol]:
    """Parameters inside the argument of a logarithm or of a non-integer power (√, fractional
    powers): sampled positive unless declared, since a negative value there often leaves the
    family undefined or complex. Only a guide for sampling: finiteness is checked at every
    point.

    >>> from moetheory.identify.api import formula_model
    >>> m = formula_model("exp(b*x1)", ["b"], "sqrt(s)*tanh(a*x1)", ["s", "a"], inputs=["x1"])
    >>> sorted(map(str, under_roots(m)))
    ['s']
    """
    params = set(model.params) | set(model.masses)
    found: set[sp.Symbol] = set()
    for node in sp.preorder_traversal(model.u):
        if isinstance(node, sp.log):
            found |= node.args[0].free_symbols & params
        elif isinstance(node, sp.Pow) and not node.exp.is_integer:
            found |= node.base.free_symbols & params
    return frozenset(found - set(model.positive))


def input_points(
    model: Model, n: int, rng: np.random.Generator
) -> list[dict[sp.Symbol, sp.Rational]]:
    """n points with inputs in [-4, 4] (never 0) and a Gaussian output in [-2, 2], dyadic."""
    pts = []
    for _ in range(n):
        pt = {}
        for s in model.inputs:
            lim = (2 if model.output is s else INPUT_RANGE) * INPUT_DENOM
            k = int(rng.integers(1, lim + 1)) * (1 if rng.random() < 0.5 else -1)
            pt[s] = sp.Rational(k, INPUT_DENOM)
        pts.append(pt)
    return pts
