"""Activation dense-to-sparse router: softmax of (σ(β₁ᵀx) + β₀)/τ, one family per activation.

P6: the temperature relation P4 survives iff σ(t) = tσ'(t) (identity, ReLU); GELU, sigmoid
and tanh break it. Reference: identifiability.md §1, §3 [P 2401.13875, form open].
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, vector
from moetheory.symbolic.functions import ACTIVATIONS
from moetheory.symbolic.parser import make_symbol


def _builder(activation: str):
    sigma = ACTIVATIONS[activation]

    def build(d: int) -> Built:
        x, beta = inputs(d), vector("beta", d)
        beta0, tau = make_symbol("beta0"), make_symbol("tau")
        return Built(
            sp.exp((sigma(dot(beta, x)) + beta0) / tau),
            x,
            (*beta, tau),
            masses=(beta0,),
            positive=(tau,),
        )

    return build


FAMILIES = tuple(
    RouterFamily(
        name=f"act-temperature-softmax-{name}",
        score="activation-temperature",
        summary=f"activation dense-to-sparse softmax, σ = {name}",
        formula=f"exp(({name}(β₁ᵀx) + β₀) / τ)",
        reference="2401.13875, identifiability.md §3 P6",
        builder=_builder(name),
    )
    for name in ("identity", "relu", "gelu", "sigmoid", "tanh")
)
