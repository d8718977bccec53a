"""Target functions f: [0,1]^d → ℝ for the constructive approximators, with proved Hölder
constants where they are known.

The constructions approximate an α-Hölder f with constant λ,

    |f(x) − f(y)| ≤ λ·‖x − y‖^α,   α ∈ (0, 1],

in the ℓ₂ norm (``norm="l2"``) or the ℓ∞ norm (``"linf"``). A :class:`TargetFunction` is a
vectorised function (n, d) → (n,) whose every evaluation is validated (shape, finiteness), with
its proved constant λ(α, norm) when one is known.

Built-in targets (:data:`BUILTIN`), proofs below each:

``abs-power`` — f(x) = ‖x − c‖₂^α, c = (1/3, …, 1/3).
    |a^α − b^α| ≤ |a − b|^α for a, b ≥ 0 and |‖x − c‖₂ − ‖y − c‖₂| ≤ ‖x − y‖₂ give λ = 1 (ℓ₂,
    attained at y = c); ‖δ‖₂ ≤ √d·‖δ‖∞ gives λ = d^{α/2} (ℓ∞).
``sawtooth`` — a lacunary sum of triangle waves, α < 1 only:
    s(t) = dist(t, ℤ) (1-Lipschitz, values in [0, ½]),
    g(t) = Σ_{k=0}^{n−1} b^{−αk}·s(b^k·t), b = 4, n = 20 (a finite sum: 4^20 = 2^40, so float64
    evaluation is meaningful), f(x) = (1/d)·Σ_i g(x_i).
    For δ = |t − u| ≤ 1 let n₀ = ⌈log_b(1/δ)⌉, so b^{n₀−1} < 1/δ ≤ b^{n₀}. The terms k < n₀
    change by at most b^{−αk}·b^k·δ each, in all ≤ δ·Σ_{k<n₀} b^{(1−α)k}
    ≤ δ·b^{(1−α)n₀}/(b^{1−α} − 1) ≤ b^{1−α}·δ^α/(b^{1−α} − 1); the terms k ≥ n₀ by at most
    ½·b^{−αk} each, in all ≤ ½·b^{−αn₀}/(1 − b^{−α}) ≤ δ^α/(2(1 − b^{−α})). (For δ > 1 the
    second bound alone covers every term.) Hence, for every partial sum,

        λ_g = b^{1−α}/(b^{1−α} − 1) + 1/(2(1 − b^{−α})),

    and f has λ = λ_g in ℓ∞ ((1/d)·Σ_i λ_g·|δ_i|^α ≤ λ_g·‖δ‖∞^α) and λ = λ_g·d^{−α/2} in ℓ₂
    (Jensen: (1/d)·Σ_i t_i^α ≤ ((1/d)·Σ_i t_i)^α, then (1/d)·Σ_i t_i ≤ ‖t‖₂/√d). At α = 1 the
    first sum grows like δ·log(1/δ): the infinite series is the Takagi function, not Lipschitz.
``smooth`` — f(x) = Π_i sin(π·x_i), any α.
    f takes values in [0, 1] on the cube and ‖∇f‖₂² = π²·Σ_i cos²(πx_i)·Π_{j≠i} sin²(πx_j) ≤ π²
    (the probability of exactly one success among independent events of probabilities
    cos²(πx_i)), so |f(x) − f(y)| ≤ min(π‖δ‖₂, 1) ≤ (π‖δ‖₂)^α: λ = π^α (ℓ₂) and λ = (π√d)^α
    (ℓ∞).

Constants are exact :class:`~fractions.Fraction` values when rational (sawtooth at α = 1/2 has
λ_g = 3) and otherwise the least float above a 50-digit evaluation, so that a float constant
is still an upper bound.

Formula targets (:func:`formula_target`) are read by the safe parser
(:func:`moetheory.symbolic.parser.parse_formula`); callables (:func:`callable_target`) are
checked at each call. Neither has a known constant.

Example::

    >>> t = builtin_target("sawtooth", dim=1, alpha="1/2")
    >>> t.known_constant("1/2", "l2"), float(t([0.5]))
    (Fraction(3, 1), 0.5)

Reference: this package (proofs above); the lacunary sum is a Takagi–van der Waerden function
(Allaart & Kawamura, The Takagi function: a survey, Real Anal. Exchange 37, 2011/12);
approximation_vc.md §3 for the Hölder classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Context
from fractions import Fraction

import numpy as np
import sympy as sp

from moetheory.bounds.approximation import NORMS, to_fraction
from moetheory.bounds.architecture import check_count
from moetheory.errors import SizeError, TargetError
from moetheory.symbolic.functions import numpy_modules
from moetheory.symbolic.parser import Scope, parse_formula

#: Names of the built-in targets.
BUILTIN = ("abs-power", "sawtooth", "smooth")
#: Base b and number of terms n of the sawtooth sum.
SAW_BASE = 4
SAW_TERMS = 20
#: Decimal digits of the evaluation behind a float constant.
_DIGITS = 50

#: A proved Hölder constant λ(α, norm), None where unknown.
Constant = Callable[[Fraction, str], Fraction | float | None]


@dataclass(frozen=True)
class TargetFunction:
    """A target f: [0,1]^d → ℝ: a vectorised ``function`` (n, d) → (n,) and its proved Hölder
    constant ``constant(alpha, norm)`` (None when unknown).

    Calling the object validates: points (n, d) (or one point (d,), giving a 0-d array) in,
    float64 (n,) out; a scalar or (n, 1) output is broadcast or reshaped; anything else, a
    non-numeric output, NaN or ±inf, or an exception inside ``function`` is a
    :class:`~moetheory.errors.TargetError` naming the shape, the first bad point or the
    exception.

    Example::

        >>> t = builtin_target("smooth", dim=2, alpha=1)
        >>> t([[0.5, 0.5], [0.0, 0.5]]).tolist()
        [1.0, 0.0]
    """

    name: str
    dim: int
    text: str
    function: Callable[[np.ndarray], object]
    constant: Constant | None

    def __call__(self, x: object) -> np.ndarray:
        """f at the rows of ``x``, validated (see the class docstring)."""
        try:
            points = np.array(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise TargetError(
                f"target {self.name!r} takes numeric points, got {type(x).__name__}"
            ) from None
        single = points.shape == (self.dim,)
        if single:
            points = points[None, :]
        if points.ndim != 2 or points.shape[1] != self.dim:
            raise TargetError(
                f"target {self.name!r} takes points of shape (n, {self.dim}) or "
                f"({self.dim},), got {points.shape}"
            )
        try:
            with np.errstate(all="ignore"):
                raw = self.function(points)
        except Exception as exc:
            raise TargetError(f"target {self.name!r} raised {type(exc).__name__}: {exc}") from exc
        out = self._checked(raw, points)
        return out.reshape(()) if single else out

    def _checked(self, raw: object, points: np.ndarray) -> np.ndarray:
        n = points.shape[0]
        try:
            out = np.asarray(raw)
        except (TypeError, ValueError):
            raise TargetError(
                f"target {self.name!r} returned {type(raw).__name__}, not an array"
            ) from None
        if out.dtype.kind not in "biuf":
            raise TargetError(
                f"target {self.name!r} returned non-numeric output (dtype {out.dtype})"
            )
        if out.ndim == 0:
            out = np.full(n, out, dtype=np.float64)
        elif out.shape in ((n,), (n, 1)):
            out = out.astype(np.float64).reshape(n)
        else:
            raise TargetError(
                f"target {self.name!r} returned shape {out.shape} for {n} points; expected ({n},)"
            )
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            i = bad[0]
            raise TargetError(f"target {self.name!r} returned {out[i]} at x = {_point(points[i])}")
        return out

    def known_constant(self, alpha: object, norm: str = "l2") -> Fraction | float | None:
        """The proved Hölder constant for exponent ``alpha`` in ``norm``, or None if unknown.

        Example::

            >>> builtin_target("abs-power", dim=4, alpha=1).known_constant(1, "linf")
            Fraction(2, 1)
        """
        a, checked = _check_alpha(alpha), _check_norm(norm)
        return None if self.constant is None else self.constant(a, checked)


@dataclass(frozen=True)
class HolderSample:
    """The largest quotient |f(x) − f(y)|/‖x − y‖^α found by :func:`empirical_holder`, at the
    pair (x, y), over ``pairs`` pairs drawn with ``seed``."""

    quotient: float
    x: tuple[float, ...]
    y: tuple[float, ...]
    pairs: int
    seed: int


def builtin_target(name: str, dim: object, alpha: object) -> TargetFunction:
    """The built-in target ``name`` (one of :data:`BUILTIN`) on [0,1]^dim, built for exponent α.

    abs-power: f(x) = ‖x − c‖₂^α, λ = 1 (ℓ₂), d^{α/2} (ℓ∞); sawtooth (α < 1):
    f(x) = (1/d)·Σ_i Σ_{k<20} 4^{−αk}·dist(4^k·x_i, ℤ), λ = λ_g·d^{−α/2} (ℓ₂), λ_g (ℓ∞);
    smooth: f(x) = Π_i sin(π·x_i), λ = π^β (ℓ₂), (π√d)^β (ℓ∞) for every β. abs-power and
    sawtooth have a constant for the exponent they were built with only. Proofs in the module
    docstring.

    Example::

        >>> t = builtin_target("abs-power", dim=2, alpha="1/2")
        >>> float(t([1/3, 1/3])), t.known_constant("1/2")
        (0.0, Fraction(1, 1))

    Reference: this package (module docstring).
    """
    if name not in BUILTIN:
        raise TargetError(
            f"unknown built-in target {name!r}; the built-in targets are {', '.join(BUILTIN)}"
        )
    d, a = check_count("dim", dim), _check_alpha(alpha)
    if name == "abs-power":
        return _abs_power(d, a)
    if name == "sawtooth":
        return _sawtooth(d, a)
    return _smooth(d)


def _abs_power(d: int, a: Fraction) -> TargetFunction:
    power = float(a)

    def function(x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(x - 1 / 3, axis=1) ** power

    def constant(beta: Fraction, norm: str) -> Fraction | float | None:
        if beta != a:
            return None
        return Fraction(1) if norm == "l2" else _number(sp.Integer(d) ** (_rational(a) / 2))

    text = f"‖x − c‖₂^α, c = (1/3, …, 1/3), α = {a}, d = {d}"
    return TargetFunction("abs-power", d, text, function, constant)


def _sawtooth(d: int, a: Fraction) -> TargetFunction:
    if a == 1:
        raise TargetError(
            "sawtooth needs alpha < 1: the lacunary sum Σ 4^{−αk}·dist(4^k·t, ℤ) "
            "is only Hölder with exponent < 1 (α = 1 gives the Takagi function, "
            "which is not Lipschitz)"
        )
    weights = [SAW_BASE ** (-float(a) * k) for k in range(SAW_TERMS)]

    def function(x: np.ndarray) -> np.ndarray:
        total = np.zeros_like(x)
        for k, weight in enumerate(weights):
            y = x * float(SAW_BASE**k)  # a power of 2: exact
            total += weight * np.abs(y - np.rint(y))
        return total.mean(axis=1)

    def constant(beta: Fraction, norm: str) -> Fraction | float | None:
        if beta != a:
            return None
        alpha, b = _rational(a), sp.Integer(SAW_BASE)
        rise = b ** (1 - alpha)
        lam = rise / (rise - 1) + 1 / (2 * (1 - b ** (-alpha)))
        return _number(lam * sp.Integer(d) ** (-alpha / 2) if norm == "l2" else lam)

    text = (
        f"(1/d)·Σ_i Σ_{{k<{SAW_TERMS}}} {SAW_BASE}^(−αk)·dist({SAW_BASE}^k·x_i, ℤ), "
        f"α = {a}, d = {d}"
    )
    return TargetFunction("sawtooth", d, text, function, constant)


def _smooth(d: int) -> TargetFunction:
    def function(x: np.ndarray) -> np.ndarray:
        return np.prod(np.sin(np.pi * x), axis=1)

    def constant(beta: Fraction, norm: str) -> Fraction | float:
        scale = sp.pi if norm == "l2" else sp.pi * sp.sqrt(d)
        return _number(scale ** _rational(beta))

    return TargetFunction("smooth", d, f"Π_i sin(π·x_i), d = {d}", function, constant)


def formula_target(text: str, dim: object) -> TargetFunction:
    """A target read from a formula over x1, …, xD (or the vector x, e.g. ``norm(x)``).

    f(x) = the parsed expression; the text goes through the allowlist parser
    (:func:`~moetheory.symbolic.parser.parse_formula`, which raises
    :class:`~moetheory.errors.FormulaError`) and the sympy tree is compiled by
    ``sympy.lambdify``. No known constant.

    Example::

        >>> t = formula_target("x1*x2 + norm(x)", dim=2)
        >>> t([[3.0, 4.0]]).tolist()
        [17.0]

    Reference: :mod:`moetheory.symbolic.parser`.
    """
    d = check_count("dim", dim)
    scope = Scope.declare([], {"x": d})
    compiled = sp.lambdify(scope.vectors["x"], parse_formula(text, scope), modules=numpy_modules())

    def function(x: np.ndarray) -> object:
        return compiled(*x.T)

    return TargetFunction("formula", d, text, function, None)


def callable_target(fn: object, dim: object, name: str = "callable") -> TargetFunction:
    """A target from a Python callable taking (n, d) float64 points and returning (n,) values
    (checked at every call). No known constant.

    Example::

        >>> t = callable_target(lambda x: x.sum(axis=1), dim=3)
        >>> t([[0.5, 0.25, 0.25]]).tolist()
        [1.0]

    Reference: this package.
    """
    if not callable(fn):
        raise TargetError(f"target must be callable, got {type(fn).__name__}")
    text = getattr(fn, "__qualname__", type(fn).__name__)
    return TargetFunction(name, check_count("dim", dim), text, fn, None)


def resolve_target(target: object, dim: object, alpha: object) -> TargetFunction:
    """A :class:`TargetFunction` from a TargetFunction (of dimension ``dim``), a built-in name
    (:data:`BUILTIN`, built for ``alpha``) or a callable.

    Example::

        >>> resolve_target("smooth", 2, 1).name
        'smooth'

    Reference: this package.
    """
    d, a = check_count("dim", dim), _check_alpha(alpha)
    if isinstance(target, TargetFunction):
        if target.dim != d:
            raise TargetError(f"target {target.name!r} has dimension {target.dim}, not {d}")
        return target
    if isinstance(target, str):
        if target not in BUILTIN:
            raise TargetError(
                f"unknown target {target!r}: the built-in targets are "
                f"{', '.join(BUILTIN)}; for a formula use "
                "formula_target(text, dim)"
            )
        return builtin_target(target, d, a)
    if callable(target):
        return callable_target(target, d)
    raise TargetError(
        f"target must be a TargetFunction, a built-in name "
        f"({', '.join(BUILTIN)}) or a callable, got {type(target).__name__}"
    )


def check_declaration(
    target: TargetFunction, alpha: object, holder: object, norm: str = "l2"
) -> None:
    """Refuse a declared Hölder constant below the target's proved one.

    Raises :class:`~moetheory.errors.TargetError` when λ_declared < λ_proved(α, norm) (decided
    exactly: a float constant is compared by its exact binary value, an upper bound); passes
    when no constant is known. λ_declared ≤ 0 is a :class:`~moetheory.errors.SizeError`. The
    message suggests the proved constant, a float one rounded up to 12 digits.

    Example::

        >>> check_declaration(builtin_target("sawtooth", 1, "1/2"), "1/2", 3)  # λ_g = 3

    Reference: this package (module docstring).
    """
    declared = to_fraction("holder constant", holder)
    if declared <= 0:
        raise SizeError(f"holder constant must be > 0, got {holder}")
    proved = target.known_constant(alpha, norm)
    if proved is not None and declared < proved:
        shown = _show(proved)
        raise TargetError(
            f"{target.name} with α = {_check_alpha(alpha)} in {norm} has proved "
            f"Hölder constant {shown}; the declared constant {holder} is below "
            "it, so the construction's guarantee would not apply (use "
            f"--holder-constant ≥ {shown})"
        )


def empirical_holder(
    target: TargetFunction, alpha: object, norm: str = "l2", pairs: object = 20000, seed: object = 0
) -> HolderSample:
    """The largest |f(x) − f(y)|/‖x − y‖^α over random pairs in [0,1]^d: a lower bound on the
    true Hölder constant found by search, not a proof.

    Half of the pairs are independent uniform points; in the other half x is uniform and
    y = clip(x + 10^U·v, 0, 1), U ~ Uniform[−6, −1], v ~ Uniform[−1, 1]^d; all drawn with
    ``numpy.random.default_rng(seed)``. f is evaluated in float64, so for pairs closer than
    about 10^-9 its rounding (≈ 10^-16) can lift the quotient a hair above a tight constant.

    Example::

        >>> s = empirical_holder(builtin_target("smooth", 1, 1), 1, pairs=2000)
        >>> 0.9 * math.pi < s.quotient <= math.pi
        True

    Reference: this package.
    """
    a, checked = _check_alpha(alpha), _check_norm(norm)
    n, first = check_count("pairs", pairs), check_count("seed", seed, minimum=0)
    rng = np.random.default_rng(first)
    far, d = n // 2, target.dim
    x = rng.random((n, d))
    y = np.empty_like(x)
    y[:far] = rng.random((far, d))
    scale = 10.0 ** rng.uniform(-6, -1, size=(n - far, 1))
    y[far:] = np.clip(x[far:] + scale * rng.uniform(-1, 1, size=(n - far, d)), 0, 1)
    gap = np.abs(x - y)
    dist = np.linalg.norm(gap, axis=1) if checked == "l2" else gap.max(axis=1)
    rise = np.abs(target(x) - target(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.where(dist > 0, rise / dist ** float(a), 0.0)
    i = int(np.argmax(quotient))
    return HolderSample(float(quotient[i]), tuple(x[i].tolist()), tuple(y[i].tolist()), n, first)


def _check_alpha(value: object) -> Fraction:
    a = to_fraction("alpha", value)
    if not 0 < a <= 1:
        raise SizeError(f"alpha must lie in (0, 1], got {value}")
    return a


def _check_norm(norm: object) -> str:
    if norm not in NORMS:
        raise SizeError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return norm


def _rational(a: Fraction) -> sp.Rational:
    return sp.Rational(a.numerator, a.denominator)


def _number(value: sp.Expr) -> Fraction | float:
    """``value`` as a Fraction when rational, else the least float above its 50-digit value."""
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    approx = value.evalf(_DIGITS)
    up = float(approx)
    return up if sp.Float(up, _DIGITS) > approx else math.nextafter(up, math.inf)


def _show(value: Fraction | float) -> str:
    """A Fraction as it is, a float rounded up to 12 digits (still an upper bound)."""
    if isinstance(value, Fraction):
        return str(value)
    return f"{Context(prec=12, rounding=ROUND_CEILING).create_decimal(value):f}"


def _point(row: np.ndarray) -> str:
    return "(" + ", ".join(repr(float(v)) for v in row) + ")"
