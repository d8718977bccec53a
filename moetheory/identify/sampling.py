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


def parameter_point(model: Model, rng: np.random.Generator) -> dict[sp.Symbol, sp.Rational]:
    """Each parameter and mass in ±[1/4, 5/4] (positive ones in [1/4, 5/4]), dyadic."""
    out = {}
    positive = set(model.positive)
    for p in (*model.params, *model.masses):
        k = int(rng.integers(PARAM_DENOM // 4, 5 * PARAM_DENOM // 4 + 1))
        sign = 1 if p in positive or rng.random() < 0.5 else -1
        out[p] = sp.Rational(sign * k, PARAM_DENOM)
    return out


def input_points(model: Model, n: int, rng: np.random.Generator) -> list[dict[sp.Symbol,
                                                                              sp.Rational]]:
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
