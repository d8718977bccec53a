"""P1–P7′ of identifiability.md §3: each identity checked directly with sympy, and found by the
engine in its canonical basis with the expected class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from moetheory import identify
from moetheory.families import get_expert, get_router
from moetheory.symbolic.parser import make_symbol as S


@dataclass(frozen=True)
class Check:
    name: str
    claim: str
    source: str
    run: Callable[[], bool]


def _u(gate: str, expert: str, d: int = 2) -> sp.Expr:
    return get_router(gate).build(d).expr * get_expert(expert).build(d).expr


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


def _engine_has(gate: str, expert: str, cls: str, terms: set[str]) -> bool:
    v = identify(gate, expert)
    return any(r.cls == cls and set(r.term_names) == terms for r in v.relations)


def p1() -> bool:
    u = _u("softmax", "linear")
    ok = _zero(sp.diff(u, S("beta1"), S("b")) - sp.diff(u, S("a1")))
    return ok and _engine_has(
        "softmax", "linear", "gate-expert", {"Derivative(u, a1)", "Derivative(u, beta1, b)"}
    )


def p2() -> bool:
    u = _u("softmax", "gaussian-linear")
    ok = _zero(sp.diff(u, S("b"), 2) - 2 * sp.diff(u, S("nu")))
    return ok and _engine_has(
        "softmax", "gaussian-linear", "heat", {"Derivative(u, b, b)", "Derivative(u, nu)"}
    )


def p3() -> bool:
    ok = True
    for e in ("polynomial-3", "ffn-gelu", "ffn-sigmoid", "ffn-tanh", "ffn-relu"):
        u = _u("softmax", e)
        ok &= _zero(sp.diff(u, S("beta2"), S("b")) - sp.diff(u, S("a2")))
        ok &= _engine_has(
            "softmax", e, "gate-expert", {"Derivative(u, a2)", "Derivative(u, beta2, b)"}
        )
    return ok


def p4() -> bool:
    u = _u("temperature-softmax", "scaled-tanh")
    b1, b2, tau = S("beta1"), S("beta2"), S("tau")
    ok = _zero(b1 * sp.diff(u, b1) + b2 * sp.diff(u, b2) + tau * sp.diff(u, tau))
    return ok and _engine_has(
        "temperature-softmax",
        "scaled-tanh",
        "gate-internal",
        {"Derivative(u, beta1)", "Derivative(u, beta2)", "Derivative(u, tau)"},
    )


def p5() -> bool:
    u = _u("temperature-softmax", "linear")
    ok = _zero(sp.diff(u, S("beta1"), S("b")) - sp.diff(u, S("a1")) / S("tau"))
    return ok and _engine_has(
        "temperature-softmax",
        "linear",
        "gate-expert",
        {"Derivative(u, a1)", "Derivative(u, beta1, b)"},
    )


def p6() -> bool:
    t = sp.Symbol("t", real=True)
    from moetheory.symbolic.functions import ACTIVATIONS

    residual = {n: sp.simplify(t * sp.diff(f(t), t) - f(t)) for n, f in ACTIVATIONS.items()}
    keeps = {n for n, r in residual.items() if r == 0}
    engine = {
        n
        for n in ACTIVATIONS
        if any(
            r.cls == "gate-internal" and all(len(x) <= 1 for x in r.terms)
            for r in identify(f"act-temperature-softmax-{n}", "scaled-tanh").relations
        )
    }
    return keeps == {"identity", "relu"} == engine


def p7() -> bool:
    u = _u("cosine", "gaussian-linear")
    b1, b2 = S("beta1"), S("beta2")
    ok = _zero(b1 * sp.diff(u, b1) + b2 * sp.diff(u, b2))
    return ok and _engine_has(
        "cosine",
        "gaussian-linear",
        "gate-internal",
        {"Derivative(u, beta1)", "Derivative(u, beta2)"},
    )


def p7_prime() -> bool:
    u = _u("perturbed-cosine", "scaled-tanh")
    b1, b2 = S("beta1"), S("beta2")
    residual = b1 * sp.diff(u, b1) + b2 * sp.diff(u, b2)
    point = {
        b1: sp.Rational(1, 2),
        b2: sp.Rational(1, 3),
        S("c"): 1,
        S("a1"): 1,
        S("a2"): 2,
        S("beta0"): 0,
        S("x1"): sp.Rational(1, 2),
        S("x2"): 1,
    }
    nonzero = abs(sp.N(residual.subs(point))) > 1e-6
    v = identify("perturbed-cosine", "scaled-tanh")
    return bool(nonzero) and not [r for r in v.relations if r.cls == "gate-internal"]


CHECKS = [
    Check("P1", "softmax × linear: ∂²u/∂β₁∂b = ∂u/∂a (gate-expert)", "2505.10860, 2305.03288", p1),
    Check("P2", "Gaussian expert: ∂²u/∂b² = 2∂u/∂ν (heat)", "2505.10860", p2),
    Check("P3", "softmax × σ(aᵀx+b), (aᵀx+b)^p: ∂²u/∂β₁∂b = ∂u/∂a", "2402.02952 [math]", p3),
    Check("P4", "temperature gate: β₁ᵀ∇_{β₁}u + τ∂u/∂τ = 0 (gate-internal)", "2401.13875", p4),
    Check("P5", "temperature × linear: ∂²u/∂β₁∂b = (1/τ)∂u/∂a", "[math]", p5),
    Check("P6", "activation temperature keeps P4 iff σ(t) = tσ'(t): identity, ReLU", "[math]", p6),
    Check("P7", "cosine router: β₁ᵀ∇_{β₁}u = 0 for every expert", "2405.14131", p7),
    Check(
        "P7'",
        "perturbed cosine (τ₁ > 0): P7 residual ≠ 0, no gate-internal relation",
        "2405.14131",
        p7_prime,
    ),
]
