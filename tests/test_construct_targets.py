"""Target functions (moetheory.construct.targets).

Values are recomputed independently (math, exact fractions for the sawtooth), proved constants
are checked against a random search and against hand-computed closed forms (exact sympy
comparisons for the rounded-up floats), and every validation path is exercised."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moetheory.bounds.approximation import NORMS
from moetheory.construct import targets as tg
from moetheory.errors import FormulaError, SizeError, TargetError, UnknownSymbolError

FAST = settings(max_examples=60, deadline=None)
DIMS = (1, 2, 3)
CASES = [
    ("abs-power", "1/2"),
    ("abs-power", 1),
    ("sawtooth", "1/2"),
    ("sawtooth", "3/4"),
    ("smooth", "1/2"),
    ("smooth", 1),
]
#: Absolute slack on |f(x) − f(y)| for float64 rounding of f (values are O(1)).
ROUNDING = 1e-13


# ------------------------------------------------------------------ independent helpers


def saw_exact(t: float, alpha: Fraction) -> float:
    """g(t) with exact rational distances to ℤ (t's exact binary value) and math weights."""
    q = Fraction(t)
    total = 0.0
    for k in range(20):
        y = q * 4**k
        total += 4.0 ** (-float(alpha) * k) * float(abs(y - round(y)))
    return total


def reference(name: str, point: np.ndarray, alpha: Fraction) -> float:
    if name == "abs-power":
        return math.dist(point, [1 / 3] * len(point)) ** float(alpha)
    if name == "smooth":
        return math.prod(math.sin(math.pi * v) for v in point)
    return sum(saw_exact(v, alpha) for v in point) / len(point)


def gap(x, y, norm: str) -> float:
    diff = np.abs(np.subtract(x, y))
    return float(np.linalg.norm(diff) if norm == "l2" else diff.max())


def at_least(value: float, exact: sp.Expr) -> bool:
    """The float's exact binary value ≥ the exact number (decided by sympy)."""
    return bool(sp.Rational(Fraction(value).numerator, Fraction(value).denominator) >= exact)


# ------------------------------------------------------------------ built-in values


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize(("name", "alpha"), CASES)
def test_builtin_values(name, alpha, d):
    t = tg.builtin_target(name, d, alpha)
    a = Fraction(str(alpha))
    x = np.random.default_rng(d).random((50, d))
    out = t(x)
    assert out.shape == (50,) and out.dtype == np.float64 and np.isfinite(out).all()
    assert out == pytest.approx([reference(name, p, a) for p in x], rel=1e-12, abs=1e-14)
    assert (t.name, t.dim) == (name, d)


@pytest.mark.parametrize("d", DIMS)
def test_builtin_known_points(d):
    assert tg.builtin_target("abs-power", d, "1/2")([1 / 3] * d) == 0
    assert tg.builtin_target("smooth", d, 1)([0.5] * d) == 1
    saw = tg.builtin_target("sawtooth", d, "1/2")
    assert saw([0.0] * d) == 0
    # g(1/2) = s(1/2) = 1/2 (4^k/2 is an integer for k ≥ 1); g(1/3) = (1/3)·Σ_k 4^{−k/2}
    assert saw([0.5] * d) == pytest.approx(0.5, abs=1e-15)
    # (the float 1/3 is off by ε ≈ 2e-17, which the 20 terms amplify to Σ 2^k·ε ≈ 2e-11)
    third = sum(2.0**-k for k in range(20)) / 3
    assert saw([1 / 3] * d) == pytest.approx(third, abs=1e-10)


def test_single_point_gives_a_scalar():
    out = tg.builtin_target("smooth", 2, 1)([0.5, 0.5])
    assert out.shape == () and float(out) == 1.0


def test_sawtooth_needs_alpha_below_one():
    with pytest.raises(TargetError, match="Takagi"):
        tg.builtin_target("sawtooth", 2, 1)


@pytest.mark.parametrize(
    ("dim", "alpha"), [(0, 1), (1.5, 1), (1, 0), (1, "3/2"), (1, "x"), (True, 1)]
)
def test_builtin_bad_sizes(dim, alpha):
    with pytest.raises(SizeError):
        tg.builtin_target("smooth", dim, alpha)


def test_unknown_builtin_lists_the_names():
    with pytest.raises(TargetError, match="abs-power, sawtooth, smooth"):
        tg.builtin_target("wiggly", 1, 1)


# ------------------------------------------------------------------ proved constants


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize(("name", "alpha"), CASES)
def test_proved_constant_not_violated(name, alpha, d, norm):
    t = tg.builtin_target(name, d, alpha)
    lam = t.known_constant(alpha, norm)
    s = tg.empirical_holder(t, alpha, norm, pairs=3000)
    power = float(Fraction(str(alpha)))
    assert 0 < s.quotient <= float(lam) + ROUNDING / gap(s.x, s.y, norm) ** power


@pytest.mark.parametrize("d", DIMS)
def test_constants_are_tight_where_they_should_be(d):
    lipschitz = tg.builtin_target("abs-power", d, 1)
    assert tg.empirical_holder(lipschitz, 1, pairs=3000).quotient >= 0.9
    smooth = tg.builtin_target("smooth", d, 1)
    assert tg.empirical_holder(smooth, 1, pairs=20000).quotient >= 0.9 * math.pi
    # abs-power, α = 1/2: a point next to c and one further out on the same ray
    half = tg.builtin_target("abs-power", d, "1/2")
    c = np.full(d, 1 / 3)
    x, y = c + 1e-9, c + 0.3
    quotient = abs(float(half(x) - half(y))) / gap(x, y, "l2") ** 0.5
    assert 0.9 <= quotient <= 1


def test_known_constant_closed_forms():
    saw = tg.builtin_target("sawtooth", 1, "1/2")
    assert saw.known_constant("1/2", "l2") == Fraction(3)  # 2/(2 − 1) + 1/(2·(1 − 1/2))
    assert tg.builtin_target("sawtooth", 3, "1/2").known_constant("1/2", "linf") == 3
    assert tg.builtin_target("sawtooth", 16, "1/2").known_constant("1/2", "l2") == Fraction(3, 2)
    lam = tg.builtin_target("sawtooth", 2, "3/4").known_constant("3/4", "l2")
    r2 = sp.sqrt(2)
    exact = (r2 / (r2 - 1) + 1 / (2 * (1 - 2 ** sp.Rational(-3, 2)))) * 2 ** sp.Rational(-3, 8)
    assert isinstance(lam, float) and at_least(lam, exact)
    assert lam == pytest.approx(float(exact), rel=1e-15)
    assert saw.known_constant("1/4", "l2") is None  # only the exponent it was built with

    assert tg.builtin_target("abs-power", 4, 1).known_constant(1, "linf") == Fraction(2)
    root2 = tg.builtin_target("abs-power", 2, 1).known_constant(1, "linf")
    assert isinstance(root2, float) and at_least(root2, sp.sqrt(2))
    assert tg.builtin_target("abs-power", 3, "1/2").known_constant("1/2", "l2") == 1

    smooth = tg.builtin_target("smooth", 3, 1)
    assert at_least(smooth.known_constant(1, "l2"), sp.pi)
    assert smooth.known_constant("1/2", "linf") == pytest.approx(math.sqrt(math.pi * 3**0.5))
    with pytest.raises(SizeError, match="norm"):
        smooth.known_constant(1, "l1")


@FAST
@given(
    st.sampled_from(["1/4", "1/2", "3/4", "9/10"]),
    st.floats(0, 1),
    st.floats(-12, 0),
    st.booleans(),
)
def test_sawtooth_holder_inequality(alpha, t, exponent, left):
    g = tg.builtin_target("sawtooth", 1, alpha)
    u = min(max(t + (-1 if left else 1) * 10.0**exponent, 0.0), 1.0)
    lam = float(g.known_constant(alpha, "l2"))
    rise = abs(float(g([t]) - g([u])))
    assert rise <= lam * abs(t - u) ** float(Fraction(alpha)) + ROUNDING


def test_empirical_holder_reports_its_pair():
    t = tg.builtin_target("smooth", 2, "1/2")
    s = tg.empirical_holder(t, "1/2", "linf", pairs=500, seed=7)
    assert (s.pairs, s.seed) == (500, 7)
    assert all(0 <= v <= 1 for v in s.x + s.y)
    again = abs(float(t(s.x) - t(s.y))) / gap(s.x, s.y, "linf") ** 0.5
    assert s.quotient == pytest.approx(again, rel=1e-12)
    assert tg.empirical_holder(t, "1/2", "linf", pairs=500, seed=7) == s
    assert tg.empirical_holder(t, "1/2", "linf", pairs=500, seed=8) != s
    with pytest.raises(SizeError):
        tg.empirical_holder(t, "1/2", pairs=0)


def test_empirical_holder_searches_fine_scales():
    # a 1-Lipschitz triangle wave of period 1e-5: slope 1 is only seen by pairs closer than 1e-5
    ripple = tg.callable_target(lambda x: 1e-5 * np.abs(1e5 * x[:, 0] - np.rint(1e5 * x[:, 0])), 1)
    assert 0.9 <= tg.empirical_holder(ripple, 1, pairs=2000).quotient <= 1 + 1e-6


# ------------------------------------------------------------------ formulas


def test_formula_matches_numpy():
    t = tg.formula_target("sin(pi*x1)*x2", 2)
    x = np.random.default_rng(0).random((20, 2))
    assert t(x) == pytest.approx(np.sin(np.pi * x[:, 0]) * x[:, 1], rel=1e-14)
    assert (t.name, t.text, t.known_constant(1)) == ("formula", "sin(pi*x1)*x2", None)


def test_formula_vector_norm_and_constant():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert tg.formula_target("norm(x)", 2)(x).tolist() == [5.0, 0.0]
    assert tg.formula_target("2", 2)(x).tolist() == [2.0, 2.0]


@pytest.mark.parametrize(
    ("text", "error"), [("x3", UnknownSymbolError), ("__import__('os')", FormulaError)]
)
def test_formula_refused(text, error):
    with pytest.raises(error):
        tg.formula_target(text, 2)


def test_formula_with_non_finite_values():
    with pytest.raises(TargetError, match=r"-inf at x = \(0.0, 0.5\)"):
        tg.formula_target("log(x1)", 2)([[0.5, 0.5], [0.0, 0.5]])


# ------------------------------------------------------------------ callables


def test_callable_must_be_callable():
    with pytest.raises(TargetError, match="target must be callable, got int"):
        tg.callable_target(3, 2)


def test_callable_nan_names_the_point():
    t = tg.callable_target(lambda x: np.where(x[:, 1] == 0.25, np.nan, 1.0), 2)
    with pytest.raises(TargetError, match=r"returned nan at x = \(0.5, 0.25\)"):
        t([[0.1, 0.2], [0.5, 0.25], [0.3, 0.25]])


def test_callable_wrong_shape():
    t = tg.callable_target(lambda x: np.zeros((len(x), 2)), 2)
    with pytest.raises(TargetError, match=r"shape \(3, 2\)"):
        t(np.zeros((3, 2)))
    with pytest.raises(TargetError, match=r"shape \(1, 3\)"):
        tg.callable_target(lambda x: x[:, 0][None, :], 2)(np.zeros((3, 2)))


def test_callable_exception_is_wrapped():
    def broken(x):
        raise ValueError("no luck")

    with pytest.raises(TargetError, match="ValueError: no luck"):
        tg.callable_target(broken, 1)([[0.5]])


def test_callable_outputs_reshaped_or_refused():
    x = np.zeros((3, 2))
    assert tg.callable_target(lambda x: 1.5, 2)(x).tolist() == [1.5] * 3
    assert tg.callable_target(lambda x: x[:, :1] + 1, 2)(x).tolist() == [1.0] * 3
    with pytest.raises(TargetError, match="non-numeric"):
        tg.callable_target(lambda x: ["a"] * len(x), 2)(x)
    with pytest.raises(TargetError, match=r"shape \(n, 2\)"):
        tg.callable_target(lambda x: x[:, 0], 2)(np.zeros((3, 3)))


# ------------------------------------------------------------------ resolve and declare


def test_resolve_target():
    smooth = tg.builtin_target("smooth", 2, 1)
    assert tg.resolve_target(smooth, 2, 1) is smooth
    assert tg.resolve_target("sawtooth", 2, "1/2").name == "sawtooth"
    assert tg.resolve_target(np.sum, 3, 1).name == "callable"
    with pytest.raises(TargetError, match="dimension 2, not 3"):
        tg.resolve_target(smooth, 3, 1)
    with pytest.raises(TargetError, match="formula_target"):
        tg.resolve_target("sin(pi*x1)", 1, 1)
    with pytest.raises(TargetError, match="got int"):
        tg.resolve_target(5, 1, 1)


def test_check_declaration_refuses_small_constants():
    saw = tg.builtin_target("sawtooth", 1, "1/2")
    with pytest.raises(TargetError, match="proved Hölder constant 3;.*--holder-constant ≥ 3"):
        tg.check_declaration(saw, "1/2", 1)
    with pytest.raises(TargetError):
        tg.check_declaration(saw, "1/2", "2.9999999999")
    tg.check_declaration(saw, "1/2", 3)
    tg.check_declaration(saw, "1/2", 10)

    irrational = tg.builtin_target("sawtooth", 2, "3/4")
    lam = irrational.known_constant("3/4", "linf")
    tg.check_declaration(irrational, "3/4", Fraction(lam), "linf")
    with pytest.raises(TargetError, match="4.18767") as refused:
        tg.check_declaration(irrational, "3/4", Fraction(lam) - Fraction(1, 10**30), "linf")
    advised = str(refused.value).rsplit("≥ ", 1)[1].rstrip(")")
    tg.check_declaration(irrational, "3/4", advised, "linf")  # the advice is enough


def test_check_declaration_without_known_constant():
    for t in (tg.formula_target("x1", 1), tg.callable_target(np.sum, 1)):
        tg.check_declaration(t, 1, "0.001")
    for bad in (0, -1):
        with pytest.raises(SizeError):
            tg.check_declaration(tg.formula_target("x1", 1), 1, bad)
