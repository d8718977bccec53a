"""Top-K sparse softmax router: softmax(TopK(β₁ᵀx, K; β₀)).

On the open region of inputs where an expert is among the K largest scores its gate numerator is
exp(β₁ᵀx + β₀), so the local Taylor family equals the softmax router's; the engine analyses that
region. Convergence conditions on the fitted K (2309.13850) are a rate question, not a PDE one.
Reference: identifiability.md §1 [R 2505.10860 App. F], [P 2309.13850].
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, vector
from moetheory.symbolic.parser import make_symbol


def _build(d: int) -> Built:
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    note = "top-K: analysed on the open region where this expert is selected"
    return Built(sp.exp(dot(beta, x) + beta0), x, beta, masses=(beta0,), notes=(note,))


FAMILY = RouterFamily(
    name="topk-softmax",
    summary="top-K sparse softmax router (local analysis where the expert is selected)",
    formula="softmax(TopK(β₁ᵀx, K; β₀))",
    reference="2309.13850; 2505.10860 App. F",
    builder=_build,
    normalisation="top-K",
)
