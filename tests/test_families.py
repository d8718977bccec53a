"""Family contract (scikit-learn ``check_estimator`` style): every built-in must pass.

* declared parameters are complete: the formula's free symbols are exactly inputs, parameters
  and masses;
* declared masses satisfy ∂ log u/∂m free of the inputs (what ``detect_masses`` computes);
* declared output scales satisfy u = c ∂u/∂c; declared variances are positive;
* symbolic and numeric values and derivatives agree at random points: float evaluation against
  ball arithmetic, and symbolic first derivatives against central differences.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from moetheory.families import EXPERTS, ROUTERS
from moetheory.identify.api import detect_masses
from moetheory.identify.model import evaluate
from moetheory.symbolic.balls import BallEvaluator

FAMILIES = [(f, d) for f in (*ROUTERS.values(), *EXPERTS.values())
            for d in (1, 2, 3) if d >= f.min_dim]


def _point(built, rng):
    pos = set(built.positive)
    vals = {}
    for s in sorted(built.expr.free_symbols, key=str):
        k = int(rng.integers(16, 80))
        vals[s] = sp.Rational(k if s in pos or rng.random() < 0.5 else -k, 64)
    return vals


@pytest.mark.parametrize("family,dim", FAMILIES, ids=lambda x: getattr(x, "name", str(x)))
def test_family_contract(family, dim):
    built = family.build(dim)
    declared = set(built.inputs) | set(built.params) | set(built.masses)
    if built.output is not None:
        declared.add(built.output)
    assert built.expr.free_symbols == declared
    assert len(set(built.params)) == len(built.params)
    inputs = tuple(built.inputs) + ((built.output,) if built.output is not None else ())
    assert detect_masses(built.expr, inputs, built.masses) == built.masses
    for c in built.scales:
        assert sp.simplify(c * sp.diff(built.expr, c) - built.expr) == 0
    if built.variance is not None:
        assert built.variance in built.positive

    rng = np.random.default_rng(dim)
    symbols = tuple(sorted(built.expr.free_symbols, key=str))
    for _ in range(3):
        vals = _point(built, rng)
        row = np.array([[float(vals[s]) for s in symbols]])
        exact = BallEvaluator(vals, prec=128)(built.expr)
        assert abs(evaluate(built.expr, symbols, row)[0] - float(exact.mid())) < 1e-9
        for p in built.params[:3]:
            h = 1e-6
            plus, minus = row.copy(), row.copy()
            j = symbols.index(p)
            plus[0, j] += h
            minus[0, j] -= h
            fd = (evaluate(built.expr, symbols, plus) - evaluate(built.expr, symbols, minus))
            sym = evaluate(sp.diff(built.expr, p), symbols, row)
            assert abs(fd[0] / (2 * h) - sym[0]) < 1e-5 * (1 + abs(sym[0]))


def test_unknown_family_is_a_clear_error():
    from moetheory.errors import FamilyError
    from moetheory.families import get_router

    with pytest.raises(FamilyError, match="unknown router"):
        get_router("soft-max")


@pytest.mark.parametrize("name", list(ROUTERS))
def test_router_declares_its_score_class_truthfully(name):
    """The declared score class is one of SCORES, and "linear" holds exactly when the
    computation finds the score β₁ᵀx + β₀ (the class the rate catalogue relies on)."""
    from moetheory.families.base import NORMALISATIONS, SCORES
    from moetheory.rates.facts import score_is_linear

    family = ROUTERS[name]
    assert family.score in SCORES and family.normalisation in NORMALISATIONS
    for d in range(family.min_dim, 4):
        b = family.build(d)
        assert score_is_linear(b.expr, b.inputs, b.params, b.masses) == (family.score == "linear")
