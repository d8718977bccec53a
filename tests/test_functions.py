"""Tests of the special functions (moetheory.symbolic.functions) in every evaluation path.

Each function is compared, at random rational points, with an independent mpmath formula
computed at high precision: sympy's ``evalf`` (and ``sp.N``) must agree to the requested digits,
the numpy implementation (through ``sympy.lambdify``) to double precision, and the ball of
``BallEvaluator`` must contain the reference value.
"""

from __future__ import annotations

import math
import time
import warnings
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
import sympy as sp
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from moetheory.symbolic.balls import BallEvaluator
from moetheory.symbolic.functions import (
    CUSTOM_FUNCTIONS,
    Phi,
    erf,
    erfd,
    numpy_modules,
    phi,
    sigmoid,
    step,
)

t = sp.Symbol("t", real=True)

#: Independent definitions, evaluated by mpmath at the caller's working precision.
REFERENCE = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "Phi": mpmath.ncdf,
    "phi": mpmath.npdf,
    "erf": mpmath.erf,
    "erfd": lambda x: 2 * mpmath.exp(-x * x) / mpmath.sqrt(mpmath.pi),
    "step": lambda x: mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else mpmath.mpf(0.5),
}
SMOOTH = sorted(set(REFERENCE) - {"step"})
REFERENCE_BITS = 400


def reference(name: str, q: Fraction) -> mpmath.mpf:
    """The function at the exact point q, to REFERENCE_BITS bits."""
    with mpmath.workprec(REFERENCE_BITS + 20):
        x = mpmath.mpf(q.numerator) / q.denominator
        value = REFERENCE[name](x)
    with mpmath.workprec(REFERENCE_BITS):
        return +value


def rational(q: Fraction) -> sp.Rational:
    return sp.Rational(q.numerator, q.denominator)


#: Points: moderate rationals (both tails of every function) and large integers.
POINTS = st.one_of(
    st.fractions(min_value=-60, max_value=60, max_denominator=10**6),
    st.integers(min_value=-(10**12), max_value=10**12).map(Fraction),
)


# -- the three paths against mpmath --------------------------------------------------------------


@settings(deadline=None, max_examples=150)
@given(st.sampled_from(sorted(REFERENCE)), POINTS, st.sampled_from([5, 15, 30, 60]))
def test_evalf_matches_mpmath(name, q, digits):
    f = CUSTOM_FUNCTIONS[name]
    expected = reference(name, q)
    for got in (f(rational(q)).evalf(digits), sp.N(f(rational(q)), digits)):
        assert got.is_Number, got
        with mpmath.workprec(REFERENCE_BITS):
            error = abs(mpmath.mpf(got) - expected)
            assert error <= mpmath.mpf(10) ** (1 - digits) * abs(expected), (name, q, got)


@settings(deadline=None, max_examples=150)
@given(st.sampled_from(sorted(REFERENCE)), POINTS)
def test_numpy_matches_mpmath(name, q):
    compiled = sp.lambdify(t, CUSTOM_FUNCTIONS[name](t), modules=numpy_modules())
    expected = float(reference(name, q))
    got = compiled(float(q))
    assert math.isclose(float(got), expected, rel_tol=1e-9, abs_tol=1e-300), (name, q, got)
    vector = compiled(np.array([float(q), float(q)]))
    assert vector.shape == (2,) and float(vector[1]) == float(got)


@settings(deadline=None, max_examples=150)
@given(st.sampled_from(SMOOTH), POINTS)
def test_ball_contains_mpmath(name, q):
    ball = BallEvaluator({t: rational(q)}, prec=128)(CUSTOM_FUNCTIONS[name](t))
    assert ball.is_finite(), (name, q, ball)
    assert ball.contains(flint.arb(reference(name, q))), (name, q, ball)


@settings(deadline=None, max_examples=50)
@given(st.sampled_from(SMOOTH), st.fractions(min_value=-30, max_value=30, max_denominator=1000))
def test_ball_is_accurate_at_moderate_points(name, q):
    """No cancellation: at |t| ≤ 30 every ball keeps at least 100 of its 128 bits."""
    ball = BallEvaluator({t: rational(q)}, prec=128)(CUSTOM_FUNCTIONS[name](t))
    assert ball.rel_accuracy_bits() >= 100, (name, q, ball)


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("point", [-(10**300), 10**300, -(10**6), 10**6])
def test_ball_at_extreme_points_is_finite_and_contains_the_value(name, point):
    """σ(-10³⁰⁰) used to be NaN (e^{10³⁰⁰} overflows an arb ball); Φ(-10⁶) used to be a ball
    around 0 with no correct digit."""
    ball = BallEvaluator({t: sp.Integer(point)}, prec=128)(CUSTOM_FUNCTIONS[name](t))
    assert ball.is_finite(), ball
    with mpmath.workprec(2 * 1000 + 200):
        x = mpmath.mpf(point)
        if name == "Phi" and point == -(10**300):  # mpmath's erfc overflows here
            expected = mpmath.npdf(x) / -x  # Φ(x) = φ(x)/|x| · (1 - O(x⁻²))
        else:
            expected = REFERENCE[name](x)
    assert ball.contains(flint.arb(expected)), ball
    if abs(point) == 10**6:
        assert ball.rel_accuracy_bits() >= 80, ball


def test_ball_step():
    assert BallEvaluator({t: sp.Rational(1, 3)})(step(t)) == 1
    assert BallEvaluator({t: sp.Rational(-1, 3)})(step(t)) == 0


# -- regressions ---------------------------------------------------------------------------------


def test_phi_is_the_normal_density_not_the_golden_ratio():
    assert abs(float(phi(2).evalf()) - 0.05399096651318806) < 1e-16
    assert str(phi(2).evalf(30)) == "0.0539909665131880519505642004107"
    assert abs(float(sp.N(phi(-5))) - 1.4867195147342977e-06) < 1e-21
    assert abs(float(phi(0).evalf()) - 1 / math.sqrt(2 * math.pi)) < 1e-16
    assert abs(float(phi(sp.Rational(1, 2)).evalf()) - 0.3520653267642995) < 1e-16
    assert abs(float(phi(sp.Float(2))) - 0.05399096651318806) < 1e-16  # evaluated when built


def test_extreme_arguments_evaluate_quickly_and_correctly():
    start = time.perf_counter()
    with mpmath.workprec(2 * 1000 + 200):  # 10**300 and its square exactly, then 200 bits
        huge = mpmath.mpf(10) ** 300
        cases = [
            (sigmoid(-(10**300)), mpmath.exp(-huge)),
            (sigmoid(10**300), mpmath.mpf(1)),
            (phi(10**300), mpmath.exp(-huge * huge / 2) / mpmath.sqrt(2 * mpmath.pi)),
            (erfd(-(10**300)), 2 * mpmath.exp(-huge * huge) / mpmath.sqrt(mpmath.pi)),
            (Phi(-(10**300)), mpmath.exp(-huge * huge / 2) / mpmath.sqrt(2 * mpmath.pi) / huge),
            (Phi(10**300), mpmath.mpf(1)),
            (erf(10**300), mpmath.mpf(1)),
            (erf(-(10**300)), mpmath.mpf(-1)),
        ]
        for expr, expected in cases:
            got = mpmath.mpf(expr.evalf(30))
            assert abs(got - expected) <= mpmath.mpf(10) ** -29 * abs(expected), expr
    assert time.perf_counter() - start < 5


def test_numeric_arguments_at_construction():
    """Exact numbers stay exact (unevaluated); floats evaluate to the right value; nothing
    hangs, whatever the size of the number."""
    start = time.perf_counter()
    assert phi(0).args == (sp.S.Zero,) and isinstance(phi(0), phi)
    assert isinstance(Phi(sp.Rational(1, 2)), Phi)
    assert isinstance(erf(10**300), erf) and isinstance(sigmoid(-(10**300)), sigmoid)
    assert step(3) == 1 and step(-sp.Rational(1, 2)) == 0 and isinstance(step(0), step)
    assert step(0).evalf() == sp.Float(0.5)
    assert abs(float(Phi(sp.Float(-1.5))) - 0.0668072012688581) < 1e-15
    assert float(sigmoid(sp.Float("-1e300"))) == 0.0
    # far beyond MAX_EVALF_ARGUMENT_BITS: left unevaluated instead of computed for minutes
    for f in (phi, Phi, erfd, sigmoid):
        assert isinstance(f(sp.Float("-1e100000")), f)
    assert time.perf_counter() - start < 5


def test_symbolic_and_complex_arguments_stay_unevaluated():
    x = sp.Symbol("x")
    for f in CUSTOM_FUNCTIONS.values():
        assert f(x).evalf() == f(x)
        assert f(sp.I).evalf() == f(sp.I)
        assert f(x).evalf(subs={x: 3}).is_Number


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_numpy_accepts_huge_integers_and_object_arrays(name):
    compiled = sp.lambdify(t, CUSTOM_FUNCTIONS[name](t), modules=numpy_modules())
    limits = {
        "sigmoid": (0, 1),
        "Phi": (0, 1),
        "phi": (0, 0),
        "erf": (-1, 1),
        "erfd": (0, 0),
        "step": (0, 1),
    }[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        assert float(compiled(10**400)) == limits[1]
        assert float(compiled(-(10**400))) == limits[0]
        got = compiled(np.array([-(10**400), 0, 10**400], dtype=object))
        assert got.dtype == np.float64
        assert [got[0], got[2]] == list(limits)
        assert float(compiled(1e200)) == limits[1]
        assert float(compiled(-1e200)) == limits[0]


# -- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "formula", ["exp(p1*x1)/phi(-5)", "erf(1e300)*exp(p1*x1)", "exp(p1*x1)*sigmoid(-1e300)"]
)
def test_identify_with_constant_special_functions(capsys, formula):
    start = time.perf_counter()
    code, out, err = run_cli(
        capsys,
        "identify",
        "--gate-formula",
        formula,
        "--gate-params",
        "p1",
        "--expert",
        "linear",
        "--dim",
        "1",
        "--seconds",
        "2",
    )
    assert code == 0, err
    assert "Traceback" not in out + err
    assert time.perf_counter() - start < 30
