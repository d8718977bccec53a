"""Perturbed cosine router: softmax of β₁ᵀx / ((‖β₁‖ + τ₁)(‖x‖ + τ₂)) + β₀, τ₁ = τ₂ = 1/10.

τ₁, τ₂ are fixed constants (CompeteSMoE uses 0.1), not parameters. τ₁ > 0 breaks the cosine
router's scale invariance P7 (P7′).  Reference: cosine_router.md §1–2 [P 2405.14131].
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, norm, vector
from moetheory.symbolic.parser import make_symbol

TAU1 = sp.Rational(1, 10)
TAU2 = sp.Rational(1, 10)


def _build(d: int) -> Built:
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    score = dot(beta, x) / ((norm(beta) + TAU1) * (norm(x) + TAU2))
    return Built(sp.exp(score + beta0), x, beta, masses=(beta0,))


FAMILY = RouterFamily(
    name="perturbed-cosine",
    score="perturbed-cosine",
    summary="perturbed cosine router, τ₁ = τ₂ = 1/10",
    formula="exp(β₁ᵀx / ((‖β₁‖ + τ₁)(‖x‖ + τ₂)) + β₀)",
    reference="2405.14131, cosine_router.md §1",
    builder=_build,
)
