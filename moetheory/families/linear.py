"""Linear expert aᵀx + b.

Satisfies ∂h/∂a = x ∂h/∂b, hence P1 ∂²u/∂β₁∂b = ∂u/∂a under a softmax gate, and Euler's
identity h = aᵀ∂h/∂a + b ∂h/∂b. Reference: identifiability.md §1, §3 [R 2505.10860].
"""

from moetheory.families.base import Built, ExpertFamily, dot, inputs, vector
from moetheory.symbolic.parser import make_symbol


def _build(d: int) -> Built:
    x, a, b = inputs(d), vector("a", d), make_symbol("b")
    return Built(dot(a, x) + b, x, (*a, b))


FAMILY = ExpertFamily(
    name="linear",
    summary="linear expert",
    formula="aᵀx + b",
    reference="2505.10860, identifiability.md §1",
    builder=_build,
)
