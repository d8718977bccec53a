"""Seeded generic points: exact dyadic rationals, so floats and balls see the same numbers."""

from __future__ import annotations

import numpy as np
import sympy as sp

from moetheory.identify.model import Model

PARAM_DENOM = 128
INPUT_DENOM = 64


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
    """n points with inputs in [-1, 1] (never 0) and a Gaussian output in [-2, 2]."""
    pts = []
    for _ in range(n):
        pt = {}
        for s in model.inputs:
            lim = 2 * INPUT_DENOM if model.output is s else INPUT_DENOM
            k = int(rng.integers(1, lim + 1)) * (1 if rng.random() < 0.5 else -1)
            pt[s] = sp.Rational(k, INPUT_DENOM)
        pts.append(pt)
    return pts
