"""The VC bounds printed beside a shattering run, taken from the bounds calculator.

Which function answers for which model (reference approximation_vc.md §5):

- ``halfspace`` sgn(wᵀx + b): :func:`moetheory.bounds.vc.vc_bounds` of the one-expert affine
  network (``Architecture(dim=d, experts=1, hidden=(), router="none")``): the layer-by-layer
  Warren bound (upper; loose — the exact VC dimension is d + 1) and the halfspace construction
  (lower, d + 1).
- ``linear`` sgn(wᵀx): the same upper bound (a subclass of the affine one); lower d, the
  standard basis e_1, …, e_d being shattered [math] (the calculator's d + 1 needs a bias).
- ``linear-router`` / ``prototype-router`` with constant experts: the calculator's labelled
  nearest-prototype bound log₂Π ≤ log₂Π_route(m) + E·min(m/E, 1) inverted in interval
  arithmetic (:func:`moetheory.bounds.growth.invert` of ``mixture_growth(linear_router_growth,
  label_growth)``; its regression values 266 (E = 8, d = 2) are checked by ``proofs_check``);
  it bounds the linear router, hence the prototype router it contains. Lower bound max(E, d+1)
  for E ≥ 2 [math, §5]: E points each their own prototype; two mirror prototypes realise any
  halfspace. E = 1: a constant, VC dimension 1.
- ``moe`` (PReLU experts of depth J, width W, a learned top-1 linear router):
  :func:`moetheory.bounds.vc.vc_bounds` of ``Architecture(dim, E, (W,)*J, "prelu",
  router="linear")`` — whole-model upper and lower bounds.

Example::

    >>> b = calculator_bounds("halfspace", dim=2)
    >>> b["vc_lower"], b["vc_upper"] >= 3
    (3, True)
    >>> calculator_bounds("prototype-router", dim=2, experts=8)["vc_upper"]
    266
"""

from __future__ import annotations

from typing import Any


def calculator_bounds(
    model: str, dim: int, experts: int = 1, width: int = 1, depth: int = 0
) -> dict[str, Any]:
    """{"vc_upper", "vc_lower", "vc_sources": {"upper", "lower"}} for a model (module
    docstring); a value is None where no bound is available."""
    from moetheory.bounds import growth
    from moetheory.bounds.architecture import Architecture
    from moetheory.bounds.vc import vc_bounds
    from moetheory.experiments.shatter.exact import CLASSIFIER_MODELS

    if model in CLASSIFIER_MODELS:
        b = vc_bounds(Architecture(dim=dim, experts=1, hidden=(), router="none"))
        lower = dim + 1 if model == "halfspace" else dim
        return {
            "vc_upper": b.upper.value,
            "vc_lower": lower,
            "vc_sources": {
                "upper": "moetheory.bounds.vc.vc_bounds, affine network (Warren, "
                "interval-certified)"
                + ("; contains the homogeneous class" if model == "linear" else ""),
                "lower": (
                    "moetheory.bounds.vc.vc_bounds (halfspace construction, d + 1)"
                    if model == "halfspace"
                    else "d: the standard basis is shattered by sgn(wᵀx) [math]"
                ),
            },
        }
    if model in ("linear-router", "prototype-router"):
        inversion = growth.invert(
            growth.mixture_growth(
                growth.linear_router_growth(experts, dim), growth.label_growth(), experts
            )
        )
        lower = max(experts, dim + 1) if experts >= 2 else 1
        return {
            "vc_upper": inversion.value,
            "vc_lower": lower,
            "vc_sources": {
                "upper": "moetheory.bounds.growth: labelled nearest-prototype bound, "
                "invert(mixture_growth(linear_router_growth(E, d), label_growth(), E)) "
                "(approximation_vc.md §5)",
                "lower": (
                    "max(E, d + 1): prototypes on E points; two mirror prototypes give any "
                    "halfspace (approximation_vc.md §5) [math]"
                    if experts >= 2
                    else "E = 1: a constant label shatters one point"
                ),
            },
        }
    if model == "moe":
        arch = Architecture(
            dim=dim,
            experts=experts,
            hidden=(width,) * depth,
            activation="prelu",
            router="linear" if experts > 1 else "none",
        )
        b = vc_bounds(arch)
        return {
            "vc_upper": b.upper.value,
            "vc_lower": b.lower.value,
            "vc_sources": {
                "upper": f"moetheory.bounds.vc.vc_bounds: {b.upper.name} "
                f"({b.upper.note or 'ReLU'})",
                "lower": f"moetheory.bounds.vc.vc_bounds: {b.lower.name} ({b.lower.note})",
            },
        }
    raise ValueError(f"no bounds for model {model!r}")
