"""Dense-to-sparse (temperature) softmax router, with β₀ outside or inside the temperature.

``temperature-softmax``: exp(β₁ᵀx/τ + β₀); ``temperature-softmax-b0``: exp((β₁ᵀx + β₀)/τ).
Whether 2401.13875 divides β₀ by τ is [open], so both are offered. Relations P4, P5.
Reference: identifiability.md §1, §3 [P 2401.13875].
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, vector
from moetheory.symbolic.parser import make_symbol


def _outside(d: int) -> Built:
    x, beta, beta0, tau = inputs(d), vector("beta", d), make_symbol("beta0"), make_symbol("tau")
    return Built(
        sp.exp(dot(beta, x) / tau + beta0), x, (*beta, tau), masses=(beta0,), positive=(tau,)
    )


def _inside(d: int) -> Built:
    x, beta, beta0, tau = inputs(d), vector("beta", d), make_symbol("beta0"), make_symbol("tau")
    return Built(
        sp.exp((dot(beta, x) + beta0) / tau), x, (*beta, tau), masses=(beta0,), positive=(tau,)
    )


FAMILY = RouterFamily(
    name="temperature-softmax",
    score="temperature",
    summary="dense-to-sparse softmax with learned temperature τ (β₀ not divided by τ)",
    formula="exp(β₁ᵀx / τ + β₀)",
    reference="2401.13875, identifiability.md §1",
    builder=_outside,
)

FAMILY_B0 = RouterFamily(
    name="temperature-softmax-b0",
    score="temperature",
    summary="dense-to-sparse softmax with learned temperature τ (β₀ divided by τ)",
    formula="exp((β₁ᵀx + β₀) / τ)",
    reference="2401.13875, identifiability.md §1",
    builder=_inside,
)
