"""Cosine router: softmax of β₁ᵀx / (‖β₁‖‖x‖) + β₀.

The score is homogeneous of degree 0 in β₁, which gives the relation β₁ᵀ∇_{β₁}u = 0 (P7) for
every expert. Needs d ≥ 2 (in d = 1 the gate is sign(β)·sign(x)).
Reference: cosine_router.md §1–2 [P 2405.14131].
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, norm, vector
from moetheory.symbolic.parser import make_symbol


def _build(d: int) -> Built:
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    score = dot(beta, x) / (norm(beta) * norm(x))
    return Built(sp.exp(score + beta0), x, beta, masses=(beta0,))


FAMILY = RouterFamily(
    name="cosine",
    score="cosine",
    summary="cosine router",
    formula="exp(β₁ᵀx / (‖β₁‖ ‖x‖) + β₀)",
    reference="2405.14131, cosine_router.md §1",
    builder=_build,
    min_dim=2,
)
