"""Constructive approximators: the acceptance matrix (error ≤ ε on the test's own random
points, counts equal to the bounds formula, torch equal to the data), the Kuhn experts' exact
properties, the d = 1 proof against a dense grid, continuity, and clear refusals."""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import numpy as np
import pytest
import torch

from moetheory.bounds.approximation import Target, plan_constant, plan_pwl, pwl_approximator
from moetheory.bounds.kuhn import kuhn_parameters, kuhn_widths
from moetheory.construct import (
    approximate,
    baseline,
    construct_and_verify,
    load_module,
    save_module,
)
from moetheory.construct.approximate import build, default_holder
from moetheory.construct.experts import kuhn_expert, kuhn_template, max_network, nodes
from moetheory.construct.targets import builtin_target, callable_target
from moetheory.construct.verify import (
    exact_sup_1d,
    face_jump,
    grid,
    linear_pieces,
    max_error,
    module_function,
)
from moetheory.errors import SizeError, TargetError

ALPHA = {"abs-power": 1, "smooth": 1, "sawtooth": Fraction(3, 4)}
CASES = [
    (name, d, eps, expert)
    for name in ALPHA
    for d in (1, 2, 3)
    for eps in ("0.1", "0.01")
    for expert in ("constant", "pwl")
]


def formula_total(c) -> tuple[int, int]:
    """(total, active) from the bounds formula, recomputed here: grid router d(K − 1)
    thresholds, d⌈log₂K⌉ read per input; constant experts d + 1, Kuhn experts
    kuhn_parameters(d, M) dense parameters each."""
    d, k = c.plan.target.dim, c.plan.cells
    per = d + 1 if c.expert == "constant" else kuhn_parameters(d, c.plan.sub)[0]
    router = d * (k - 1)
    read = d * math.ceil(math.log2(k)) if k > 1 else 0
    return router + k**d * per, read + per


@cache
def planned_total(name: str, d: int, eps: str, expert: str) -> int:
    f = builtin_target(name, d, ALPHA[name])
    t = Target.of(d, ALPHA[name], default_holder(f, ALPHA[name]))
    plan = plan_constant(t, eps) if expert == "constant" else plan_pwl(t, eps)
    return plan.architecture.counts().total


@pytest.mark.parametrize("case", CASES, ids=lambda case: "-".join(map(str, case)))
def test_acceptance_matrix(case):
    name, d, eps, expert = case
    if planned_total(*case) > 1 << 26:  # does not fit: a clear refusal naming the size
        with pytest.raises(SizeError, match="dense parameters"):
            approximate(name, ALPHA[name], None, d, eps, expert=expert)
        return
    c = approximate(name, ALPHA[name], None, d, eps, expert=expert)
    module = c.module()
    # counts: torch numel sums = the bounds formula, recomputed independently
    total, active = formula_total(c)
    assert sum(p.numel() for p in module.parameters()) == total == c.counts()["total"]
    assert c.counts()["active"] == active
    # error ≤ ε on the test's own random points (and the cube's corners)
    rng = np.random.default_rng(20261125)
    x = np.vstack([rng.random((20000, d)), grid(d, 2**d)])
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    assert out.shape == (len(x), 1)
    f = builtin_target(name, d, ALPHA[name])
    assert np.max(np.abs(f(x) - out[:, 0])) <= float(Fraction(eps)) + 1e-12  # float64 rounding
    # the torch module equals the data representation
    assert np.max(np.abs(out[:, 0] - c.mixture.evaluate(x))) <= 1e-12


@pytest.mark.parametrize("name", list(ALPHA))
@pytest.mark.parametrize("expert", ["constant", "pwl"])
def test_exact_sup_1d_agrees_with_dense_grid(name, expert):
    c = approximate(name, ALPHA[name], None, 1, "0.01", expert=expert)
    t = c.plan.target
    sup = exact_sup_1d(c.mixture, c.target, t.alpha, t.holder)
    assert sup.complete and sup.lower <= sup.upper <= sup.lower * (1 + 1e-3) + 1e-15
    x = grid(1, 200001)
    found = np.max(np.abs(c.target(x) - c.mixture.evaluate(x)))
    # a grid of spacing s misses the sup by at most λ(s/2)^α + (max slope)(s/2)
    slope = max(np.max(np.abs(np.diff(c.mixture.evaluate(x)) / np.diff(x[:, 0]))), 0.0)
    half = 0.5 / 200000
    slack = float(t.holder) * half ** float(t.alpha) + slope * half
    assert found <= sup.upper + 1e-12
    assert found >= sup.lower - slack
    assert sup.lower <= c.plan.guaranteed_error + 1e-12  # the construction's inequality


def test_exact_sup_catches_a_planted_error():
    c = approximate("smooth", 1, None, 1, "0.1")
    bias = np.array(c.mixture.biases[-1])
    bias[3] += 0.25
    from dataclasses import replace

    broken = replace(c.mixture, biases=(*c.mixture.biases[:-1], bias))
    t = c.plan.target
    sup = exact_sup_1d(broken, c.target, t.alpha, t.holder)
    assert sup.lower >= 0.25 - c.plan.guaranteed_error
    search = max_error(lambda x: broken.evaluate(x), c.target, 1, points=1000)
    assert search.max_error >= 0.25 - c.plan.guaranteed_error


def test_linear_pieces_of_a_known_network():
    t = kuhn_template(1, 4, cells=1)  # hats at 0, 1/4, …, 1: kinks at the inner nodes
    pts = linear_pieces(kuhn_expert(t, np.zeros(1), np.array([0.0, 1, 0, 1, 0])), 0.0, 1.0)
    assert np.allclose(pts, [0, 0.25, 0.5, 0.75, 1.0])


@pytest.mark.parametrize("d,sub", [(1, 1), (1, 3), (2, 1), (2, 2), (3, 1), (3, 2), (4, 1)])
def test_kuhn_template_layout_and_exactness(d, sub):
    cells = 3
    t = kuhn_template(d, sub, cells)
    assert list(t.widths) == kuhn_widths(d, sub)
    assert t.counts().dense == kuhn_parameters(d, sub)[0] - (len(nodes(d, sub)) + 1) + (
        len(nodes(d, sub)) + 1
    ) * len(nodes(d, sub))  # the template outputs every hat
    rng = np.random.default_rng(d * 10 + sub)
    corner = rng.integers(0, cells, d) / cells
    a, b = rng.normal(size=d), rng.normal()
    v = corner + nodes(d, sub) / (cells * sub)
    expert = kuhn_expert(t, corner, v @ a + b)
    # partition of unity and affine reproduction on the cell
    x = corner + rng.random((500, d)) / cells
    hats = t.shifted(corner).evaluate(x)
    assert np.allclose(hats.sum(1), 1.0, atol=1e-12) and hats.min() >= 0
    assert np.allclose(expert.evaluate(x)[:, 0], x @ a + b, atol=1e-11)
    # structural non-zeros with generic values
    assert expert.counts().nonzero <= kuhn_parameters(d, sub)[1]
    assert expert.counts().dense == kuhn_parameters(d, sub)[0]


def test_max_network():
    rng = np.random.default_rng(0)
    for n in range(1, 8):
        z = rng.random((50, n))
        assert np.allclose(max_network(n).evaluate(z)[:, 0], z.max(1))


def test_stacked_experts_equal_the_combinator_expert():
    c = approximate("smooth", 1, None, 2, "0.1")
    t = kuhn_template(2, c.plan.sub, c.plan.cells)
    k = c.plan.cells
    for index in (0, 7, c.num_experts - 1):
        corner = np.array(divmod(index, k)) / k
        values = c.target(corner + nodes(2, c.plan.sub) / (k * c.plan.sub))
        e = kuhn_expert(t, corner, values)
        stacked = c.mixture.expert(index)
        for got, want in zip(stacked.weights + stacked.biases, e.weights + e.biases, strict=True):
            assert np.allclose(got, want, atol=1e-12)


def test_continuity_across_cell_faces():
    pwl = approximate("abs-power", 1, None, 2, "0.1")
    const = approximate("abs-power", 1, None, 2, "0.1", expert="constant")
    assert face_jump(pwl.mixture, pwl.plan.cells) <= 1e-12
    assert face_jump(const.mixture, const.plan.cells) > 1e-3


@pytest.mark.parametrize("router", ["prototype", "tree"])
def test_routers_agree_off_faces(router):
    fn = builtin_target("smooth", 2, 1)
    t = Target.of(2, 1, 4)
    ref = build(pwl_approximator(t, 8, 2, "grid"), fn, "pwl")
    other = build(pwl_approximator(t, 8, 2, router), fn, "pwl")
    x = np.random.default_rng(1).random((3000, 2))
    assert np.array_equal(ref.mixture.route(x), other.mixture.route(x))
    assert np.max(np.abs(module_function(other.module())(x) - ref.mixture.evaluate(x))) < 1e-12
    assert other.counts()["router"] == (128 if router == "prototype" else 2 * (4 + 16 + 64))


def test_baseline_is_a_single_network_of_the_same_accuracy():
    c = baseline("abs-power", 1, None, 2, "0.1")
    assert c.num_experts == 1 and c.mixture.architecture.router == "none"
    m = approximate("abs-power", 1, None, 2, "0.1")
    assert c.plan.guaranteed_error <= 0.1 and m.plan.guaranteed_error <= 0.1
    x = np.random.default_rng(2).random((4000, 2))
    assert np.max(np.abs(c.target(x) - c.mixture.evaluate(x))) <= 0.1
    assert c.counts()["total"] > m.counts()["active"]


def test_linf_norm_and_formula_and_callable_targets():
    v = construct_and_verify("smooth", 1, None, 2, "0.1", norm="linf", points=4000)
    assert v.within_eps and v.holder.consistent
    f = callable_target(lambda x: np.abs(x[:, 0] - 0.4), 1)
    v = construct_and_verify(f, 1, 1, 1, "0.05", expert="constant", points=4000)
    assert v.within_eps and v.sup_1d is not None and v.sup_1d.lower <= 0.05 + 1e-12


def test_false_holder_declaration_is_detected():
    f = callable_target(lambda x: np.sin(60 * x[:, 0]), 1)
    v = construct_and_verify(f, 1, 1, 1, "0.1", points=4000)
    assert not v.holder.consistent and not v.within_eps


def test_saved_module_loads_and_accepts_float32(tmp_path):
    c = approximate("abs-power", 1, None, 2, "0.1")
    path = tmp_path / "m.pt"
    save_module(c.module(), path)
    loaded = load_module(path)
    x = torch.rand(100, 2)
    assert torch.equal(loaded(x), c.module()(x))
    assert loaded.construction["num_experts"] == c.num_experts
    assert loaded.expert_sizes["dense"] == kuhn_parameters(2, c.plan.sub)[0]
    assert loaded.expert_sizes["nonzero_max"] <= kuhn_parameters(2, c.plan.sub)[1]
    assert loaded(x).shape == (100, 1)


@pytest.mark.parametrize(
    "kwargs,error,needle",
    [
        ({"target": 3}, TargetError, "callable"),
        ({"target": "no-such"}, TargetError, "abs-power"),
        ({"alpha": 0}, SizeError, "alpha"),
        ({"alpha": "1.5"}, SizeError, "alpha"),
        ({"eps": 0}, SizeError, "eps"),
        ({"eps": "-1"}, SizeError, "eps"),
        ({"dim": 0}, SizeError, "dim"),
        ({"router": "linear"}, SizeError, "router"),
        ({"expert": "deep"}, SizeError, "expert"),
        ({"holder": "0.5"}, TargetError, "below"),
        ({"max_parameters": 10}, SizeError, "limit"),
        ({"target": "sawtooth", "alpha": 1}, TargetError, "Takagi"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, error, needle):
    args = {
        "target": "smooth",
        "alpha": 1,
        "holder": None,
        "dim": 1,
        "eps": "0.1",
        "router": "grid",
        "expert": "pwl",
    } | kwargs
    with pytest.raises(error, match=needle):
        approximate(**args)


def test_nan_target_is_refused():
    f = callable_target(lambda x: np.where(x[:, 0] > 0.5, np.nan, 0.0), 1)
    with pytest.raises(TargetError, match="nan"):
        approximate(f, 1, 1, 1, "0.1")


@pytest.mark.parametrize("expert", ["constant", "pwl"])
def test_data_evaluation_paths_agree(expert, monkeypatch):
    """Expert-by-expert dense products and per-input gathered weights give the same numbers."""
    c = approximate(
        "abs-power", 1, None, 2, "0.1", expert=expert, tradeoff="0.5" if expert == "pwl" else 1
    )
    x = np.random.default_rng(3).random((5000, 2))
    idx = c.mixture.route(x)
    monkeypatch.setattr("moetheory.construct.mixture.GROUP_MIN", 1)
    grouped = c.mixture.evaluate(x), c.mixture.features(x, idx)
    monkeypatch.setattr("moetheory.construct.mixture.GROUP_MIN", 10**9)
    gathered = c.mixture.evaluate(x), c.mixture.features(x, idx)
    for a, b in zip(grouped, gathered, strict=True):
        assert a.shape == b.shape and np.max(np.abs(a - b)) <= 1e-12
    assert c.mixture.evaluate(x[:0]).shape == (0,)


def test_prelu_mixture_from_networks_round_trips_through_torch():
    """A mixture of padded (PReLU) networks: torch module = data; describe reads it back."""
    from moetheory.construct.mixture import ExpertMixture
    from moetheory.construct.network import pad
    from moetheory.layers import describe

    t = kuhn_template(1, 2, cells=2)
    left = pad(kuhn_expert(t, np.zeros(1), np.array([0.0, 1.0, 0.5])), 3)
    right = pad(kuhn_expert(t, np.array([0.5]), np.array([0.5, 0.5, 0.5])), 3)
    assert right.widths == left.widths == (6, 3, 1) and left.activation == "prelu"
    mix = ExpertMixture.of_experts("grid", (np.array([0.5]),), [left, right])
    module = mix.module()
    x = np.random.default_rng(4).random((400, 1))
    assert mix.architecture.activation == "prelu"
    assert np.max(np.abs(module_function(module)(x) - mix.evaluate(x))) <= 1e-12
    assert np.allclose(mix.evaluate(np.array([[0.25], [0.75]])), [1.0, 0.5])
    assert describe(module) == mix.architecture
    assert sum(p.numel() for p in module.parameters()) == mix.architecture.counts().total


def test_d1_bracket_is_void_when_the_declaration_is_false():
    f = callable_target(lambda x: np.sin(200 * x[:, 0]), 1)
    v = construct_and_verify(f, 1, 1, 1, "0.1", points=1000)
    data = v.to_json()
    assert not data["exact_sup_1d"]["proved"] and "no proof" in data["exact_sup_1d"]["statement"]
    assert "void" in data["guarantee"] and not v.within_eps


def test_repeated_prototypes_get_empty_intervals():
    """Ties go to the lower index: a repeated prototype's cell is empty, in routing and in the
    d = 1 proof (which must not count expert 1, never used)."""
    from moetheory.construct.experts import constant_expert
    from moetheory.construct.mixture import ExpertMixture

    mix = ExpertMixture.of_experts(
        "prototype", (np.array([[0.5], [0.5]]),), [constant_expert(1, 0.0), constant_expert(1, 5.0)]
    )
    assert mix.intervals() == [(0.0, 1.0), (0.5, 0.5)]
    assert set(mix.route(np.linspace(0, 1, 101)[:, None]).tolist()) == {0}
    f = builtin_target("smooth", 1, 1)
    sup = exact_sup_1d(mix, f, 1, 4)
    assert sup.upper <= 1.0 + 1e-2 and sup.lower >= 1.0 - 1e-9  # sup |sin(πx) − 0| = 1


@pytest.mark.parametrize(
    "router,params,needle",
    [
        ("prototype", (np.array([[0.5]]),), "shapes"),
        ("grid", (np.array([np.nan]),), "finite"),
        ("grid", (), "axes"),
    ],
)
def test_mixture_router_parameters_are_checked(router, params, needle):
    from moetheory.construct.experts import constant_expert
    from moetheory.construct.mixture import ExpertMixture

    with pytest.raises(SizeError, match=needle):
        ExpertMixture.of_experts(router, params, [constant_expert(1, 0.0)] * 2)
    with pytest.raises(SizeError, match="non-empty"):
        ExpertMixture.of_experts("grid", (), [])


def test_seeds_points_and_limits_are_checked():
    c = approximate("smooth", 1, None, 1, "0.1")
    from moetheory.construct import verify_construction

    with pytest.raises(SizeError, match="seed"):
        verify_construction(c, 1000, seed=-1)
    assert verify_construction(c, 1000, seed=2**40).within_eps  # any non-negative seed
    with pytest.raises(SizeError, match="at most"):
        verify_construction(c, 10**13)
    with pytest.raises(SizeError, match="max parameters"):
        approximate("smooth", 1, None, 1, "0.1", max_parameters="10")
    with pytest.raises(SizeError, match="trade-off"):
        approximate("smooth", 1, None, 1, "0.1", expert="constant", tradeoff="0.5")
    big = approximate("smooth", 1, None, 3, "0.05", router="prototype", expert="constant")
    with pytest.raises(SizeError, match="grid or tree"):
        verify_construction(big, 10**6)


def test_continuity_is_relative_to_the_scale_of_f():
    f = callable_target(lambda x: 1e7 * x[:, 0] * x[:, 1], 2)
    v = construct_and_verify(f, 1, "2e7", 2, "1e6", points=1000)
    assert v.to_json()["continuous"] and v.within_eps
