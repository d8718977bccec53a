"""Issue 14, item 8: Gaussian experts with mean c·σ(aᵀx) (2505.10860 Thm 1), the temperature
sigmoid router, and the sigmoid-gating rows of the rate catalogue (2405.13997, 2602.01466).

Relations the engine reports are re-checked here with sympy on formulas written out by hand
(not built by the library), at random rational points. Paper values are expectations
(identifiability.md §6); the library computes the facts and the rates.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction

import pytest
import sympy as sp
from conftest import verdict

from moetheory.families import EXPERTS, ROUTERS
from moetheory.identify.verify import verify_json
from moetheory.rates.catalogue import THEOREMS
from moetheory.rates.facts import pair_facts
from moetheory.rates.predict import predict

SCALED = ("gaussian-scaled-gelu", "gaussian-scaled-sigmoid", "gaussian-scaled-tanh")


# the family contract (moetheory.testing) runs on the new families with every built-in, in
# tests/test_families.py
def test_temperature_sigmoid_declares_its_classes():
    g = ROUTERS["temperature-sigmoid"]
    assert (g.normalisation, g.score) == ("sigmoid", "temperature")


@pytest.mark.parametrize("name", SCALED)
def test_scaled_gaussian_declarations(name):
    b = EXPERTS[name].build(2)
    a1, a2, c, nu, y = sp.symbols("a1 a2 c nu y", real=True)
    assert [str(p) for p in b.params] == ["a1", "a2", "c", "nu"]
    assert b.variance is not None and str(b.variance) == "nu" and str(b.output) == "y"
    assert b.scales == () and EXPERTS[name].kind == "gaussian"
    # the mean is c·σ(aᵀx): no intercept, linear in c
    assert sp.simplify(sp.diff(b.mean, b.params[2], 2)) == 0
    assert "b" not in {str(s) for s in b.expr.free_symbols}


# -- identify + verify round trip ----------------------------------------------------------
DUPLICATE = "Derivative(u, beta1, a2) - Derivative(u, beta2, a1)"


@pytest.mark.parametrize("expert", SCALED)
@pytest.mark.parametrize("dim", [1, 2])
def test_softmax_scaled_gaussian_identify_and_verify(expert, dim):
    v = verdict("softmax", expert, dim)
    assert v.verdicts == {
        "strong": "yes",
        "strong_literal": "yes" if dim == 1 else "no",
        "weak": "yes",
        "interaction_free": "yes",
    }
    assert v.certificate["complete"] is True
    relations = [(r.cls, str(r.expression), r.verified) for r in v.relations]
    # no heat relation (no intercept b), no gate–expert interaction; in d = 2 only the
    # symmetric duplicate of identifiability.md §3
    assert relations == ([] if dim == 1 else [("duplicate", DUPLICATE, "symbolic")])
    report = verify_json(json.loads(json.dumps(v.to_json())))
    assert report.ok, report.failed


def test_temperature_sigmoid_identify_and_verify():
    v = verdict("temperature-sigmoid", "gaussian-linear", 1)
    first_order = "beta0*Derivative(u, beta0) + beta1*Derivative(u, beta1) + tau*Derivative(u, tau)"
    found = {str(r.expression): r.cls for r in v.relations if r.verified == "symbolic"}
    assert found.get(first_order) == "gate-internal"
    assert v.verdicts["strong"] == "no" and v.certificate["complete"] is True
    report = verify_json(json.loads(json.dumps(v.to_json())))
    assert report.ok, report.failed


# -- independent sympy checks ---------------------------------------------------------------
def _points(symbols, count=4, seed=14):
    rng = random.Random(seed)
    for _ in range(count):
        yield {
            s: sp.Rational(rng.randint(17, 79), 32) * rng.choice((1, -1))
            if str(s) not in ("nu", "tau")
            else sp.Rational(rng.randint(17, 79), 32)
            for s in symbols
        }


def _vanishes(expr, symbols):
    return all(abs(sp.N(expr.subs(p), 30)) < 1e-20 for p in _points(symbols))


x1, x2, y, a1, a2, c, nu, b0, b1, b2, tau = sp.symbols(
    "x1 x2 y a1 a2 c nu beta0 beta1 beta2 tau", real=True
)
ACTS = {
    "gaussian-scaled-gelu": lambda t: t * (1 + sp.erf(t / sp.sqrt(2))) / 2,
    "gaussian-scaled-sigmoid": lambda t: 1 / (1 + sp.exp(-t)),
    "gaussian-scaled-tanh": sp.tanh,
}


def _u_softmax_scaled(name):
    mean = c * ACTS[name](a1 * x1 + a2 * x2)
    density = sp.exp(-((y - mean) ** 2) / (2 * nu)) / sp.sqrt(2 * sp.pi * nu)
    return sp.exp(b0 + b1 * x1 + b2 * x2) * density


@pytest.mark.parametrize("name", SCALED)
def test_duplicate_relation_holds_and_heat_form_does_not(name):
    u = _u_softmax_scaled(name)
    symbols = (x1, x2, y, a1, a2, c, nu, b0, b1, b2)
    assert _vanishes(sp.diff(u, b1, a2) - sp.diff(u, b2, a1), symbols)
    # P2 in the form ∂²u/∂c² = 2∂u/∂ν fails (c is not an intercept) …
    assert not _vanishes(sp.diff(u, c, 2) - 2 * sp.diff(u, nu), symbols)
    # … and u is not linear in c (c is no output scale)
    assert not _vanishes(c * sp.diff(u, c) - u, symbols)


def test_temperature_sigmoid_p4_type_relation():
    u = 1 / (1 + sp.exp(-(b1 * x1 + b2 * x2 + b0) / tau))
    relation = (
        b1 * sp.diff(u, b1) + b2 * sp.diff(u, b2) + b0 * sp.diff(u, b0) + tau * sp.diff(u, tau)
    )
    assert _vanishes(relation, (x1, x2, b0, b1, b2, tau))
    # without β₀ the relation is not P4 of identifiability.md §3 (β₀ is divided by τ here)
    assert not _vanishes(relation - b0 * sp.diff(u, b0), (x1, x2, b0, b1, b2, tau))


# -- catalogue -----------------------------------------------------------------------------
def _predict(gate, expert, dim=1):
    return predict(pair_facts(verdict(gate, expert, dim)))


@pytest.mark.parametrize("expert", SCALED)
def test_softmax_scaled_gaussian_gets_thm1(expert):
    p = _predict("softmax", expert)
    assert p.theorem.id == "softmax-strong" and "2505.10860 Thm 1" in p.source
    assert [e.rate.exponent for e in p.rates["exact"]] == [Fraction(1, 2)]
    assert [e.rate.exponent for e in p.rates["over"]] == [Fraction(1, 4)]
    assert p.agrees_with_paper is True


@pytest.mark.parametrize(
    "expert", ["ffn-relu", "ffn-gelu", "scaled-relu", "scaled-gelu", "polynomial-2"]
)
def test_sigmoid_gate_row(expert):
    p = _predict("sigmoid", expert)
    assert p.theorem.id == "sigmoid-ffn" and "2405.13997" in p.source and p.theorem.tag == "P"
    for kind in ("exact", "over"):
        regression, params = p.rates[kind]
        assert regression.parameters == "regression function f_Ĝ"
        assert regression.rate.exponent == Fraction(1, 2)
        assert params.rate.kind == "open" and params.rate.exponent is None
    assert "faster than under softmax" in p.rates["over"][1].rate.note
    assert p.agrees_with_paper is True


@pytest.mark.parametrize("expert", ["linear", "scaled-tanh", "ffn-sigmoid", "gaussian-linear"])
def test_sigmoid_gate_row_is_not_stretched(expert):
    """Affine experts, tanh/sigmoid FFN experts and Gaussian experts are outside the row."""
    assert _predict("sigmoid", expert).theorem is None


def test_temperature_sigmoid_row_is_stated_but_not_applied():
    t = next(t for t in THEOREMS if t.id == "sigmoid-temperature")
    assert "2602.01466" in t.source and "Euclidean" in t.statement
    assert [r.rate(None).kind for r in t.exact] == ["open"]
    assert [r.rate(None).kind for r in t.over] == ["logarithmic"]
    p = _predict("temperature-sigmoid", "gaussian-linear")
    assert p.theorem is None and p.nearest.id == "sigmoid-temperature"
    assert [c.text for c in p.failing] == ["multinomial logistic experts (classification)"]
    # the softmax temperature theorem (2401.13875) does not claim a sigmoid gate
    assert "temperature" not in p.also
    assert _predict("temperature-softmax", "gaussian-linear").theorem.id == "temperature"


@pytest.mark.parametrize(
    "expert, covered",
    [
        ("c*step(a*x1)", False),
        ("c*Phi(a*x1)", False),
        ("c*relu(a*x1)", True),
        ("c*gelu(a*x1)", True),
    ],
)
def test_sigmoid_ffn_row_needs_the_activation_itself(expert, covered):
    """The step of ReLU or the Φ of GELU alone is not that activation: c·H(ax) and c·Φ(ax)
    get no 2405.13997 row (review: they were read as ReLU and GELU)."""
    from moetheory import identify
    from moetheory.identify.api import formula_model
    from moetheory.rates.facts import formula_facts
    from moetheory.rates.predict import predict

    m = formula_model("sigmoid(b*x1 + b0)", ["b", "b0"], expert, ["a", "c"], inputs=["x1"])
    v = identify(model=m)
    g, e = m.factors
    facts = formula_facts(
        v,
        g.expr,
        g.params,
        e.expr,
        e.params,
        m.inputs,
        m.output,
        m.variance,
        normalisation="sigmoid",
    )
    p = predict(facts)
    assert (p.theorem is not None and p.theorem.id == "sigmoid-ffn") == covered
