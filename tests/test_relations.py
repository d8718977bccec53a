"""The relations P1–P7′ of identifiability.md §3 and the acceptance verdicts of issue 4.

Expected relations are the reference's [math] identities; the engine must find each one
literally in its canonical basis (up to a constant factor) with the stated class.
"""

from __future__ import annotations

import pytest
from helpers import D, S, find

from moetheory.families import EXPERTS

REGRESSION = ["linear", "polynomial-2", "ffn-tanh", "ffn-relu", "scaled-tanh", "scaled-gelu"]


@pytest.mark.parametrize("expert", ["linear", "gaussian-linear"])
@pytest.mark.parametrize("dim", [1, 2])
def test_p1_softmax_linear(get_verdict, expert, dim):
    v = get_verdict("softmax", expert, dim)
    for i in range(1, dim + 1):
        rel = find(v, D(f"a{i}") - D(f"beta{i}", "b"))
        assert rel is not None and rel.cls == "gate-expert" and rel.verified == "symbolic"
    assert v.verdicts["strong"] == "no"


@pytest.mark.parametrize("gate", ["softmax", "cosine", "perturbed-cosine", "sigmoid"])
def test_p2_heat_equation(get_verdict, gate):
    rel = find(get_verdict(gate, "gaussian-linear"), D("b", "b") - 2 * D("nu"))
    assert rel is not None and rel.cls == "heat"


@pytest.mark.parametrize(
    "expert", ["polynomial-2", "polynomial-3", "ffn-relu", "ffn-gelu", "ffn-sigmoid", "ffn-tanh"]
)
def test_p3_inner_bias(get_verdict, expert):
    v = get_verdict("softmax", expert)
    rel = find(v, D("a2") - D("beta2", "b"))
    assert rel is not None and rel.cls == "gate-expert"
    assert v.verdicts["interaction_free"] == "no"


@pytest.mark.parametrize("expert", ["linear", "scaled-tanh", "gaussian-linear"])
def test_p4_temperature(get_verdict, expert):
    v = get_verdict("temperature-softmax", expert)
    rel = find(v, S("beta1") * D("beta1") + S("beta2") * D("beta2") + S("tau") * D("tau"))
    assert rel is not None and rel.cls == "gate-internal"


def test_p4_temperature_with_intercept_inside(get_verdict):
    v = get_verdict("temperature-softmax-b0", "scaled-tanh")
    beta0, tau = S("beta0"), S("tau")
    expected = (
        S("beta1") * D("beta1") + S("beta2") * D("beta2") + tau * D("tau") + beta0 / tau * D()
    )
    rel = find(v, expected)
    assert rel is not None and rel.cls == "gate-internal"


def test_p5_temperature_linear(get_verdict):
    rel = find(get_verdict("temperature-softmax", "linear"), D("a1") - S("tau") * D("beta1", "b"))
    assert rel is not None and rel.cls == "gate-expert"


@pytest.mark.parametrize(
    "activation,keeps",
    [("identity", True), ("relu", True), ("gelu", False), ("sigmoid", False), ("tanh", False)],
)
def test_p6_activation_temperature(get_verdict, activation, keeps):
    v = get_verdict(f"act-temperature-softmax-{activation}", "scaled-tanh")
    tau = S("tau")
    expected = (
        S("beta1") * D("beta1") + S("beta2") * D("beta2") + tau * D("tau") + S("beta0") / tau * D()
    )
    assert (find(v, expected) is not None) is keeps
    first_order_gate = [
        r for r in v.relations if r.cls == "gate-internal" and all(len(t) <= 1 for t in r.terms)
    ]
    assert bool(first_order_gate) is keeps


@pytest.mark.parametrize("expert", sorted(EXPERTS))
def test_p7_cosine_scale_invariance_every_expert(get_verdict, expert):
    v = get_verdict("cosine", expert)
    rel = find(v, S("beta1") * D("beta1") + S("beta2") * D("beta2"))
    assert rel is not None and rel.cls == "gate-internal" and rel.verified == "symbolic"
    assert v.verdicts["strong"] == "no" and v.verdicts["weak"] == "no"


@pytest.mark.parametrize("expert", sorted(EXPERTS))
def test_p7_prime_perturbed_cosine_breaks_it(get_verdict, expert):
    v = get_verdict("perturbed-cosine", expert)
    assert find(v, S("beta1") * D("beta1") + S("beta2") * D("beta2")) is None
    assert not [r for r in v.relations if r.cls == "gate-internal"]


@pytest.mark.parametrize("gate", ["softmax", "perturbed-cosine"])
def test_strongly_identifiable_pairs_report_duplicates(get_verdict, gate):
    v = get_verdict(gate, "scaled-tanh")
    assert v.verdicts["strong"] == "yes"
    assert v.verdicts["strong_literal"] == "no"
    assert v.certificate["status"] == "complete"
    dups = [r for r in v.relations if r.cls == "duplicate"]
    assert len(dups) == 1 and all(k == "ge" for k in (len(t) == 2 and "ge" for t in dups[0].terms))
    if gate == "softmax":
        assert find(v, D("beta1", "a2") - D("beta2", "a1")) is dups[0]
    else:
        assert len(dups[0].terms) == 4


def test_softmax_linear_is_not_strongly_identifiable(get_verdict):
    v = get_verdict("softmax", "linear")
    assert v.verdicts == {
        "strong": "no",
        "strong_literal": "no",
        "weak": "yes",
        "interaction_free": "no",
    }


def test_caveat_output_scale_relations_are_expert_rescalings(get_verdict):
    v = get_verdict("softmax", "scaled-gelu")
    c = S("c")
    for expected in (
        D() - c * D("c"),
        D("beta1") - c * D("beta1", "c"),
        D("a2") - c * D("c", "a2"),
    ):
        rel = find(v, expected)
        assert rel is not None and rel.cls == "expert-rescaling"
    assert find(v, D("c", "c")).cls == "zero"
    assert v.scales == ("c",)


def test_caveat_relu_homogeneity(get_verdict):
    v = get_verdict("softmax", "scaled-relu")
    rel = find(v, D() - S("a1") * D("a1") - S("a2") * D("a2"))
    assert rel is not None and rel.cls == "homogeneity"
    assert v.verdicts["strong"] == "no"


@pytest.mark.parametrize("gate", ["softmax", "perturbed-cosine", "sigmoid"])
def test_caveat_linear_euler_identity(get_verdict, gate):
    v = get_verdict(gate, "linear")
    rel = find(v, D() - S("a1") * D("a1") - S("a2") * D("a2") - S("b") * D("b"))
    assert rel is not None and rel.cls == "homogeneity"


def test_caveat_sigmoid_gate_intercept_duplicate(get_verdict):
    v = get_verdict("sigmoid", "linear", 1)
    rel = find(v, D("beta1", "b") - D("beta0", "a1"))
    assert rel is not None and rel.cls == "duplicate"


@pytest.mark.parametrize("expert", REGRESSION)
def test_every_relation_is_proved_and_rank_certified(get_verdict, expert):
    v = get_verdict("softmax", expert)
    assert all(r.verified == "symbolic" for r in v.relations)
    assert v.certificate["complete"] and v.certificate["status"] == "complete"


@pytest.mark.parametrize("expert", ["scaled-gelu", "scaled-tanh", "gaussian-scaled-sigmoid"])
def test_caveat_rotated_laplace_duplicate(get_verdict, expert):
    """identifiability.md §3: a Laplace gate under a softmax level shows the rotated form of the
    duplicate, ∂²u/∂ω₁∂β₂ − ∂²u/∂ω₂∂β₁ = β₁∂u/∂β₂ − β₂∂u/∂β₁ — reported, not deciding strong."""
    import sympy as sp

    v = get_verdict("hierarchical-SL", expert)
    b1, b2 = S("beta1"), S("beta2")
    rel = find(v, D("omega1", "beta2") - D("omega2", "beta1") - b1 * D("beta2") + b2 * D("beta1"))
    assert rel is not None and rel.cls == "duplicate"
    # the identity itself, by direct differentiation of the gate (not the engine's path)
    x1, x2, w1, w2, y1, y2 = sp.symbols("x1 x2 w1 w2 y1 y2", real=True)
    g = sp.exp(w1 * x1 + w2 * x2 - sp.sqrt((y1 - x1) ** 2 + (y2 - x2) ** 2))
    lhs = sp.diff(g, w1, y2) - sp.diff(g, w2, y1) - y1 * sp.diff(g, y2) + y2 * sp.diff(g, y1)
    assert sp.simplify(lhs) == 0
    assert v.verdicts["strong"] == "yes" and v.verdicts["strong_literal"] == "no"


def test_the_swap_rule_leaves_counted_relations_counted(get_verdict):
    """Two softmax levels enter through ω + β: their second-order relations are derivatives of
    the first-order gate-internal ones and stay counted; the inner bias's P3 still decides."""
    ss = get_verdict("hierarchical-SS", "ffn-sigmoid")
    assert find(ss, D("beta1", "beta2") - D("omega1", "omega2")).cls == "gate-internal"
    sl = get_verdict("hierarchical-SL", "ffn-sigmoid")
    assert find(sl, D("a1") - D("omega1", "b")).cls == "gate-expert"
    assert sl.verdicts["strong"] == "no"


def test_swapped_pairs_needs_opposite_coefficients_across_two_vectors():
    import sympy as sp

    from moetheory.identify.classify import RelationData, swapped_pairs

    symbols = sp.symbols("omega1 omega2 beta1 beta2 c")
    rotated = ((0, 3), (1, 2))  # ∂ω₁∂β₂, ∂ω₂∂β₁
    assert swapped_pairs(RelationData(rotated, (1.0, -1.0), None, True), symbols)
    assert not swapped_pairs(RelationData(rotated, (1.0, 1.0), None, True), symbols)
    same_vector = ((0, 0), (1, 1))  # ∂²ω₁ − ∂²ω₂: no swap of two different vectors
    assert not swapped_pairs(RelationData(same_vector, (1.0, -1.0), None, True), symbols)
    p1 = ((0, 4), (2,))  # one top-order term (P1-like)
    assert not swapped_pairs(RelationData(p1, (1.0, -1.0), None, True), symbols)
