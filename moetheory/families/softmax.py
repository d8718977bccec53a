"""Softmax (linear) router: exp(β₁ᵀx + β₀) / Σⱼ exp(β₁ⱼᵀx + β₀ⱼ).

Reference: identifiability.md §1 [R 2505.10860]; the intercept β₀ is the atom's mass.
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, vector
from moetheory.symbolic.parser import make_symbol


def _build(d: int) -> Built:
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    return Built(sp.exp(dot(beta, x) + beta0), x, beta, masses=(beta0,))


FAMILY = RouterFamily(
    name="softmax",
    summary="linear softmax router",
    formula="exp(β₁ᵀx + β₀) / Σ_j exp(β₁ⱼᵀx + β₀ⱼ)",
    reference="2505.10860 (restating 2305.03288), identifiability.md §1",
    builder=_build,
)
