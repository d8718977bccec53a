"""Special functions whose derivatives stay inside a finite set of atoms.

The engine rewrites every member of a Taylor family as a polynomial in the inputs and a few
transcendental *atoms*. That only works if differentiation never leaves the set of atoms, so the
activations are defined here with closed derivative rules:

========  =================================  =======================================
name      definition                         derivative
========  =================================  =======================================
sigmoid   1 / (1 + exp(-t))                  sigmoid(t) (1 - sigmoid(t))
step      Heaviside step (1/2 at 0)          0 (almost everywhere)
Phi       standard normal CDF                phi(t)
phi       exp(-t²/2) / sqrt(2π)              -t phi(t)
erf       error function                     erfd(t)
erfd      2 exp(-t²) / sqrt(π)               -2 t erfd(t)
relu(t)   t · step(t)                        (ReLU, derivatives almost everywhere)
gelu(t)   t · Phi(t)                         (GELU, exact form)
========  =================================  =======================================

``tanh`` and ``exp`` are sympy's own (tanh' = 1 - tanh²).  Each function has three numerical
implementations that agree with the definitions above: ``evalf`` (mpmath, at any precision; see
:class:`_RealFunction`), numpy (:func:`numpy_modules`, for ``sympy.lambdify``) and ball
arithmetic (python-flint ``arb``, :mod:`moetheory.symbolic.balls`).

ReLU derivatives are taken almost everywhere (away from the kink aᵀx = 0), as in the papers.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.core.evalf import PrecisionExhausted

#: Largest argument, in bits of magnitude (|t| < 2**MAX_EVALF_ARGUMENT_BITS ≈ 1e4932), that
#: ``evalf`` evaluates; beyond it a function value stays unevaluated (the Gaussian factor
#: exp(-t²/2) would need about 2·16384 bits of working precision to get its digits right).
MAX_EVALF_ARGUMENT_BITS = 2**14
#: Extra bits carried through every numerical evaluation.
_GUARD_BITS = 30
#: Φ(t) for t below -2**_TAIL_BITS comes from its asymptotic series (mpmath's erfc overflows
#: for arguments near 2**512; at 2**64 the series converges after a handful of terms).
_TAIL_BITS = 64


def _real_value(arg: sp.Expr, prec: int) -> mpmath.mpf | None:
    """``arg`` as an mpmath number accurate to ``prec`` bits, or None where it is not one.

    None for symbolic, complex, infinite or undefined arguments, and for arguments whose
    value sympy cannot certify to ``prec`` bits (an unsimplified zero, say).
    """
    if not arg.is_number:
        return None
    try:
        value = arg.evalf(prec_to_dps(prec), strict=True)
    except PrecisionExhausted:
        return None
    if value.is_zero:
        return mpmath.mpf(0)
    if not (value.is_Float and value.is_finite):
        return None
    with mpmath.workprec(prec):
        return mpmath.mpf(value)


def _exp_minus(y: mpmath.mpf, prec: int) -> mpmath.mpf:
    """exp(-y) for y ≥ 0 given to the working precision, accurate to ``prec`` bits.

    With y = n·ln 2 + r, exp(-y) = 2⁻ⁿ·exp(-r): only the reduction runs at the (high)
    working precision and exp(-r) at ``prec`` bits, where mpmath's own exp of a huge argument
    takes seconds.
    """
    n = int(mpmath.floor(y / mpmath.ln2))
    r = y - n * mpmath.ln2
    with mpmath.workprec(prec + _GUARD_BITS):
        return mpmath.ldexp(mpmath.exp(-r), -n)


class _RealFunction(sp.Function):
    """A real function of one real argument whose numerical value comes from :meth:`_value`.

    ``_eval_evalf`` evaluates the argument with enough guard bits for the function's condition
    number (at most t² + 1 for the functions here) and rounds the value to the requested
    precision, so sympy never looks the function's name up in mpmath (where ``phi`` is the
    golden ratio). Symbolic, complex and non-finite arguments, and arguments of more than
    :data:`MAX_EVALF_ARGUMENT_BITS` bits, leave the function unevaluated.
    """

    nargs = 1

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        """The function at ``t``, accurate to ``prec`` bits (mpmath's working precision is
        ``prec`` plus twice the magnitude of ``t`` plus guard bits)."""
        raise NotImplementedError

    def _eval_evalf(self, prec: int) -> sp.Float | None:
        arg = self.args[0]
        t = _real_value(arg, prec + _GUARD_BITS)
        if t is None:
            return None
        bits = max(int(mpmath.mag(t)), 0) if t else 0
        if bits > MAX_EVALF_ARGUMENT_BITS:
            return None
        work = prec + 2 * bits + _GUARD_BITS
        if bits:
            t = _real_value(arg, work)
            if t is None:
                return None
        with mpmath.workprec(work):
            value = self._value(t, prec)
        return sp.Float(value, precision=prec)


class sigmoid(_RealFunction):  # noqa: N801  (sympy function names are lower case)
    """Logistic function σ(t) = 1/(1 + e^{-t}); σ' = σ(1 - σ).

    Evaluated as 1/(1 + e^{-t}) for t ≥ 0 and e^{t}/(1 + e^{t}) for t < 0, so no exponential
    of a large positive number is ever formed.

    Example::

        >>> sigmoid(0).evalf(5), sigmoid(-1000).evalf(5)
        (0.50000, 5.0760e-435)

    Reference: Goodfellow, Bengio & Courville, *Deep Learning* (2016), §3.10.
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        if t >= 0:
            return 1 / (1 + _exp_minus(t, prec))
        e = _exp_minus(-t, prec)
        return e / (1 + e)


class step(_RealFunction):  # noqa: N801
    """Heaviside step H(t) = 1 for t > 0, 0 for t < 0 and 1/2 at t = 0 (as numpy's
    ``heaviside(t, 0.5)``); differentiated almost everywhere (H' = 0), and H² = H.

    Numbers of known sign evaluate at construction; ``evalf`` gives 1/2 on the kink.

    Example::

        >>> step(3), step(-2), step(0).evalf(3)
        (1, 0, 0.500)

    Reference: DLMF 1.16.13 (https://dlmf.nist.gov/1.16.E13).
    """

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

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        return mpmath.mpf(1) if t > 0 else mpmath.mpf(0) if t < 0 else mpmath.mpf(0.5)


class Phi(_RealFunction):  # noqa: N801
    """Standard normal CDF Φ(t) = (1 + erf(t/√2))/2 = erfc(-t/√2)/2; Φ' = φ.

    Evaluated with erf for t ≥ 0, erfc for -2⁶⁴ < t < 0 (no cancellation in the lower tail),
    and below -2⁶⁴ with the asymptotic series Φ(t) = φ(t)/|t| · Σₖ (-1)ᵏ (2k-1)!!/t²ᵏ, which
    alternates, so the first omitted term bounds the error.

    Example::

        >>> Phi(0).evalf(5), Phi(-40).evalf(5)
        (0.50000, 3.6559e-350)

    Reference: Abramowitz & Stegun, *Handbook of Mathematical Functions*, 26.2.2, 26.2.29 and
    26.2.12 (asymptotic series).
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return phi(self.args[0])

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        if t >= 0:
            return (1 + mpmath.erf(t / mpmath.sqrt(2))) / 2
        if mpmath.mag(t) <= _TAIL_BITS:
            return mpmath.erfc(-t / mpmath.sqrt(2)) / 2
        x2 = t * t
        term = total = mpmath.mpf(1)
        k = 1
        while abs(term) > mpmath.ldexp(1, -(prec + _GUARD_BITS)):
            term = -term * (2 * k - 1) / x2
            total += term
            k += 1
        return phi._value(t, prec) / -t * total


class phi(_RealFunction):  # noqa: N801
    """Standard normal density φ(t) = exp(-t²/2)/√(2π); φ' = -t φ.

    Example::

        >>> phi(2).evalf(5), phi(-5).evalf(5)
        (0.053991, 1.4867e-6)

    Reference: Abramowitz & Stegun, *Handbook of Mathematical Functions*, 26.2.1.
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -self.args[0] * phi(self.args[0])

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        return _exp_minus(t * t / 2, prec) / mpmath.sqrt(2 * mpmath.pi)


class erf(_RealFunction):  # noqa: N801
    """Error function erf(t) = (2/√π) ∫₀ᵗ exp(-s²) ds; erf' = erfd (kept apart from sympy's
    erf so derivatives stay closed).

    Example::

        >>> erf(1).evalf(5), erf(-10**300).evalf(5)
        (0.84270, -1.0000)

    Reference: DLMF 7.2.1 (https://dlmf.nist.gov/7.2.E1).
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return erfd(self.args[0])

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        return mpmath.erf(t)


class erfd(_RealFunction):  # noqa: N801
    """Derivative of erf: erfd(t) = 2 exp(-t²)/√π; erfd' = -2 t erfd.

    Example::

        >>> erfd(0).evalf(5), erfd(3).evalf(5)
        (1.1284, 0.00013925)

    Reference: DLMF 7.2.1 (https://dlmf.nist.gov/7.2.E1), differentiated.
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -2 * self.args[0] * erfd(self.args[0])

    @staticmethod
    def _value(t: mpmath.mpf, prec: int) -> mpmath.mpf:
        return 2 * _exp_minus(t * t, prec) / mpmath.sqrt(mpmath.pi)


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


def _float_array(t: object) -> np.ndarray:
    """``t`` (a number, a huge integer, a sequence or an object array) as a float64 array.

    Values beyond the float range become ±inf instead of raising ``OverflowError``.

    Example::

        >>> _float_array([2, 10**400, -10**400]).tolist()
        [2.0, inf, -inf]
    """
    try:
        return np.asarray(t, dtype=float)
    except OverflowError:
        return np.vectorize(_to_float, otypes=[float])(np.asarray(t, dtype=object))


def _to_float(value: object) -> float:
    """``float(value)``, or ±inf where the value is too large for a float."""
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        return math.inf if value > 0 else -math.inf  # type: ignore[operator]


def _gaussian(t: object, c: float) -> np.ndarray:
    """exp(-c t²) as a float64 array; t² overflowing to inf gives 0 without a warning."""
    x = _float_array(t)
    with np.errstate(over="ignore"):
        return np.exp(-c * (x * x))


def numpy_modules() -> list:
    """Modules for ``sympy.lambdify`` that give the custom functions numpy implementations.

    Every implementation first converts its argument to a float64 array (huge Python integers,
    which the printer emits for large exact constants, become ±inf), then applies a form that
    is stable on the whole line: scipy's ``expit``, ``ndtr`` and ``erf`` saturate, and
    exp(-c t²) goes to 0 when t² overflows.

    Example::

        >>> import sympy as sp
        >>> t = sp.Symbol("t")
        >>> f = sp.lambdify(t, phi(t) + erf(t), modules=numpy_modules())
        >>> round(float(f(0)), 6), float(f(10**400))
        (0.398942, 1.0)

    Reference: scipy.special (``expit``, ``ndtr``, ``erf``), numpy ``heaviside``.
    """
    from scipy import special

    table = {
        "sigmoid": lambda t: special.expit(_float_array(t)),
        "step": lambda t: np.heaviside(_float_array(t), 0.5),
        "Phi": lambda t: special.ndtr(_float_array(t)),
        "phi": lambda t: _gaussian(t, 0.5) / np.sqrt(2 * np.pi),
        "erf": lambda t: special.erf(_float_array(t)),
        "erfd": lambda t: 2.0 * _gaussian(t, 1.0) / np.sqrt(np.pi),
    }
    return [table, "numpy"]
