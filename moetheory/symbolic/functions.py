"""Special functions whose derivatives stay inside a finite set of atoms.

The engine rewrites every member of a Taylor family as a polynomial in the inputs and a few
transcendental *atoms*. That only works if differentiation never leaves the set of atoms, so the
activations are defined here with closed derivative rules:

========  =================================  =======================================
name      definition                         derivative
========  =================================  =======================================
sigmoid   1 / (1 + exp(-t))                  sigmoid(t) (1 - sigmoid(t))
step      Heaviside step (a.e.)              0 (almost everywhere)
Phi       standard normal CDF                phi(t)
phi       exp(-t²/2) / sqrt(2π)              -t phi(t)
erf       error function                     erfd(t)
erfd      2 exp(-t²) / sqrt(π)               -2 t erfd(t)
relu(t)   t · step(t)                        (ReLU, derivatives almost everywhere)
gelu(t)   t · Phi(t)                         (GELU, exact form)
========  =================================  =======================================

``tanh`` and ``exp`` are sympy's own (tanh' = 1 - tanh²).  Each function has a numpy and a
ball-arithmetic (python-flint ``arb``) implementation, used by the evaluators.

ReLU derivatives are taken almost everywhere (away from the kink aᵀx = 0), as in the papers.
"""

from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801  (sympy function names are lower case)
    """Logistic function σ(t) = 1/(1 + e^{-t}); σ' = σ(1 - σ)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real


class step(sp.Function):  # noqa: N801
    """Heaviside step, differentiated almost everywhere (derivative 0); step² = step."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    @classmethod
    def eval(cls, t: sp.Expr) -> sp.Expr | None:  # safe: sympy's auto-evaluation hook, no text
        if t.is_Number:
            if t.is_positive:
                return sp.S.One
            if t.is_negative:
                return sp.S.Zero
        return None


class Phi(sp.Function):  # noqa: N801
    """Standard normal CDF Φ; Φ' = φ."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return phi(self.args[0])


class phi(sp.Function):  # noqa: N801
    """Standard normal density φ(t) = exp(-t²/2)/√(2π); φ' = -t φ."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -self.args[0] * phi(self.args[0])


class erf(sp.Function):  # noqa: N801
    """Error function; erf' = erfd (kept apart from sympy's erf so derivatives stay closed)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return erfd(self.args[0])


class erfd(sp.Function):  # noqa: N801
    """Derivative of erf: 2 exp(-t²)/√π; erfd' = -2 t erfd."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -2 * self.args[0] * erfd(self.args[0])


def relu(t: sp.Expr) -> sp.Expr:
    """ReLU(t) = t · step(t)."""
    return t * step(t)


def gelu(t: sp.Expr) -> sp.Expr:
    """GELU(t) = t · Φ(t)."""
    return t * Phi(t)


ACTIVATIONS = {
    "identity": lambda t: t,
    "relu": relu,
    "gelu": gelu,
    "sigmoid": sigmoid,
    "tanh": sp.tanh,
}
"""Activations by name, as sympy expression builders."""

#: Custom function classes, for evaluators and printers.
CUSTOM_FUNCTIONS: dict[str, type[sp.Function]] = {
    "sigmoid": sigmoid,
    "step": step,
    "Phi": Phi,
    "phi": phi,
    "erf": erf,
    "erfd": erfd,
}


def numpy_modules() -> list:
    """Modules for ``sympy.lambdify`` that give the custom functions numpy implementations."""
    import numpy as np
    from scipy import special

    table = {
        "sigmoid": lambda t: special.expit(t),
        "step": lambda t: np.heaviside(t, 0.5),
        "Phi": lambda t: special.ndtr(t),
        "phi": lambda t: np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi),
        "erf": lambda t: special.erf(t),
        "erfd": lambda t: 2.0 * np.exp(-t * t) / np.sqrt(np.pi),
    }
    return [table, "numpy"]
