"""(P)ReLU networks as data (moetheory.construct.network) and their torch realisation
(moetheory.construct.torch_io): evaluation against an exact per-layer reference in fractions,
the combinators against composing the parts pointwise, exact counts against shapes, the
architecture and torch numel, and torch / JSON round trips. Entries and inputs are dyadic, so
every comparison of values is exact."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from moetheory.construct.network import (
    Network,
    NetworkCounts,
    affine,
    affine_combination,
    compose,
    identity,
    pad,
    parallel,
)
from moetheory.construct.torch_io import from_torch, to_torch
from moetheory.errors import SizeError
from moetheory.layers import describe

FAST = settings(max_examples=40, deadline=None)
SLOPES = np.array([0.0, 0.25, 0.5, 1.0, -0.5, 2.0])


@st.composite
def networks(draw, input_dim: int | None = None, output_dim: int | None = None) -> Network:
    """Small networks: d, m in 1..3, depth 0..3, widths 1..5, ReLU or PReLU, integer or
    dyadic (k/4) entries in [−2, 2], some of them zero."""
    d = input_dim or draw(st.integers(1, 3))
    m = output_dim or draw(st.integers(1, 3))
    sizes = [d, *draw(st.lists(st.integers(1, 5), max_size=3)), m]
    scale = draw(st.sampled_from([1.0, 4.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    sparsity = draw(st.sampled_from([0.0, 0.5]))

    def entries(*shape: int) -> np.ndarray:
        values = (
            rng.integers(-8, 9, size=shape) / 4.0
            if scale == 4.0
            else rng.integers(-2, 3, size=shape).astype(float)
        )
        return values * (rng.random(shape) >= sparsity)

    weights = tuple(entries(o, i) for i, o in zip(sizes[:-1], sizes[1:], strict=True))
    biases = tuple(entries(o) for o in sizes[1:])
    slopes = None
    if draw(st.booleans()):
        slopes = tuple(rng.choice(SLOPES, size=w) for w in sizes[1:-1])
    return Network(weights, biases, slopes)


def points(net_or_dim: Network | int, seed: int = 0, n: int = 6) -> np.ndarray:
    """n dyadic points k/8 in [−2, 2]^d."""
    d = net_or_dim if isinstance(net_or_dim, int) else net_or_dim.input_dim
    return np.random.default_rng(seed).integers(-16, 17, size=(n, d)) / 8.0


def reference(net: Network, x: np.ndarray) -> list[float]:
    """f(x) layer by layer in exact rational arithmetic, one unit at a time."""
    h = [Fraction(v) for v in x]
    for j, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = [
            sum((Fraction(w[r, c]) * h[c] for c in range(len(h))), Fraction(b[r]))
            for r in range(w.shape[0])
        ]
        if j < net.depth:
            a = [0.0] * len(z) if net.slopes is None else net.slopes[j]
            z = [v if v >= 0 else Fraction(a[r]) * v for r, v in enumerate(z)]
        h = z
    return [float(v) for v in h]


def exact(net: Network, x: np.ndarray) -> np.ndarray:
    return np.array([reference(net, row) for row in x]).reshape(len(x), net.output_dim)


@FAST
@given(networks(), st.integers(0, 3))
def test_evaluate_matches_exact_reference(net, seed):
    x = points(net, seed)
    y = net.evaluate(x)
    assert y.dtype == np.float64 and y.shape == (len(x), net.output_dim)
    assert np.array_equal(y, exact(net, x))
    assert np.array_equal(net(x[0]), y[0]) and net(x[0]).shape == (net.output_dim,)
    assert net.evaluate(x.tolist()).tolist() == y.tolist()
    assert net.evaluate(x[:0]).shape == (0, net.output_dim)


def test_prelu_evaluation_by_hand():
    # units z = (x, −x) with slopes (0.5, 2): f(x) = PReLU_0.5(x) − PReLU_2(−x)
    net = Network(([[1.0], [-1.0]], [[1.0, -1.0]]), ([0.0, 0.0], [0.0]), ([0.5, 2.0],))
    assert net.evaluate([[3.0], [-3.0]]).tolist() == [[3.0 - (-6.0)], [-1.5 - 3.0]]
    relu = Network(net.weights, net.biases)
    assert relu.evaluate([[3.0], [-3.0]]).tolist() == [[3.0], [-3.0]]


@FAST
@given(st.data())
def test_compose_is_composition(data):
    inner = data.draw(networks())
    outer = data.draw(networks(input_dim=inner.output_dim))
    both = compose(outer, inner)
    x = points(inner)
    assert np.array_equal(both(x), outer(inner(x)))
    assert np.array_equal(both(x), exact(outer, exact(inner, x)))
    assert both.widths == inner.widths + outer.widths
    assert both.depth == inner.depth + outer.depth
    prelu = "prelu" in (inner.activation, outer.activation) and both.depth > 0
    assert both.activation == ("prelu" if prelu else "relu")
    if prelu:  # ReLU parts carry slopes 0, PReLU parts keep theirs
        kept = [a for net in (inner, outer) for a in net.with_slopes().slopes or ()]
        assert all(np.array_equal(a, b) for a, b in zip(both.slopes, kept, strict=True))


def test_compose_dense_counts_and_widths():
    def dense(*sizes: int) -> Network:
        return Network(
            tuple(np.ones((o, i)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)),
            tuple(np.ones(o) for o in sizes[1:]),
        )

    inner, outer = dense(2, 4, 3, 5), dense(5, 6, 1)
    both = compose(outer, inner)
    assert both.widths == (4, 3, 6)
    merged = (3 + 1) * 6  # the layers (3 → 5) and (5 → 6) become one (3 → 6)
    assert (
        both.counts().dense
        == inner.counts().dense + outer.counts().dense - (3 + 1) * 5 - (5 + 1) * 6 + merged
    )
    assert both.weights[2].tolist() == np.full((6, 3), 5.0).tolist()
    assert both.biases[2].tolist() == [6.0] * 6


@FAST
@given(st.lists(networks(input_dim=2), min_size=1, max_size=3), st.integers(0, 3))
def test_parallel_shared_input(nets, seed):
    x = points(2, seed)
    both = parallel(*nets)
    assert np.array_equal(both(x), np.hstack([net(x) for net in nets]))
    depth = max(net.depth for net in nets)
    assert both.depth == depth and both.input_dim == 2
    assert sum(both.widths) == sum(sum(pad(net, depth).widths) for net in nets)
    prelu = any(pad(net, depth).activation == "prelu" for net in nets)
    assert both.activation == ("prelu" if prelu else "relu")


@FAST
@given(st.lists(networks(), min_size=1, max_size=3), st.integers(0, 3))
def test_parallel_separate_inputs(nets, seed):
    both = parallel(*nets, shared_input=False)
    dims = [net.input_dim for net in nets]
    x = points(sum(dims), seed)
    parts = np.split(x, np.cumsum(dims)[:-1], axis=1)
    assert np.array_equal(both(x), np.hstack([net(p) for net, p in zip(nets, parts, strict=True)]))
    assert both.input_dim == sum(dims)
    assert both.output_dim == sum(net.output_dim for net in nets)


@FAST
@given(st.data())
def test_affine_combination(data):
    first = data.draw(networks())
    nets = [first, *data.draw(st.lists(networks(first.input_dim, first.output_dim), max_size=2))]
    coefficients = data.draw(
        st.lists(
            st.sampled_from([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0]),
            min_size=len(nets),
            max_size=len(nets),
        )
    )
    constant = data.draw(st.sampled_from([0.0, 1.5, "vector"]))
    if constant == "vector":
        constant = np.arange(first.output_dim) / 2.0 - 1.0
    combined = affine_combination(nets, coefficients, constant)
    x = points(first)
    expected = sum(c * net(x) for c, net in zip(coefficients, nets, strict=True)) + constant
    assert np.array_equal(combined(x), expected)
    assert combined.output_dim == first.output_dim


@FAST
@given(networks(), st.integers(0, 3))
def test_pad_keeps_the_function(net, extra):
    padded = pad(net, net.depth + extra)
    x = points(net)
    assert np.array_equal(padded(x), net(x))
    assert padded.depth == net.depth + extra
    assert padded.widths == net.widths + (net.output_dim,) * extra
    if extra:
        assert padded.activation == "prelu"
        assert all(np.array_equal(a, np.ones(net.output_dim)) for a in padded.slopes[net.depth :])
    else:
        assert padded is net


@pytest.mark.parametrize("width,depth", [(1, 0), (3, 0), (2, 1), (3, 3)])
def test_identity(width, depth):
    net = identity(width, depth)
    x = points(width, n=9)
    assert np.array_equal(net(x), x)
    assert net.widths == (width,) * depth
    assert net.activation == ("prelu" if depth else "relu")
    assert net.counts().nonzero == width * (depth + 1) + width * depth  # I blocks, slopes 1


@FAST
@given(networks(), st.integers(0, 3))
def test_shifted(net, seed):
    offset = points(net, seed + 10, n=1)[0]
    x = points(net, seed)
    assert np.array_equal(net.shifted(offset)(x), net(x - offset))
    assert net.shifted(offset).widths == net.widths


@FAST
@given(networks())
def test_with_slopes(net):
    slopes = net.with_slopes()
    x = points(net)
    assert np.array_equal(slopes(x), net(x))
    if net.activation == "prelu" or net.depth == 0:
        assert slopes is net
    else:
        assert slopes.activation == "prelu"
        assert all(not a.any() for a in slopes.slopes)
        assert not slopes.same_as(net)


@FAST
@given(networks())
def test_counts_against_shapes_architecture_and_torch(net):
    counts = net.counts()
    affine_part = sum((w.shape[1] + 1) * w.shape[0] for w in net.weights)
    slope_part = sum(net.widths) if net.slopes is not None else 0
    assert counts.dense == affine_part + slope_part
    assert counts.slopes == slope_part
    assert counts.dense == net.architecture().counts().total
    module = to_torch(net)
    assert counts.dense == sum(p.numel() for p in module.parameters())
    assert counts.nonzero == sum(int((p != 0).sum()) for p in module.parameters())


def test_counts_by_hand():
    net = Network(
        ([[1.0, 0.0], [0.0, 0.0], [2.0, 3.0]], [[1.0, 0.0, 1.0]]),
        ([0.0, 1.0, 0.0], [0.5]),
        ([0.0, 0.25, 1.0],),
    )
    # dense: (2 + 1)·3 + (3 + 1)·1 + 3 slopes; non-zero: 3 + 2 weights, 1 + 1 biases, 2 slopes
    assert net.counts() == NetworkCounts(dense=16, nonzero=9, slopes=3)
    assert Network(net.weights, net.biases).counts() == NetworkCounts(dense=13, nonzero=7, slopes=0)


@FAST
@given(networks(), st.integers(0, 3))
def test_torch_round_trip(net, seed):
    module = to_torch(net)
    assert from_torch(module).same_as(net)
    assert describe(module) == net.architecture()
    x = points(net, seed)
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, net(x), rtol=0, atol=1e-12)
    single = to_torch(net, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in single.parameters())
    assert from_torch(single).same_as(net)  # dyadic entries survive float32 exactly


def test_depth_zero_torch_module_is_a_single_linear():
    net = affine([[1.0, -2.0], [0.5, 0.0]], [1.0, 0.0])
    module = to_torch(net)
    assert len(module) == 1 and isinstance(module[0], nn.Linear)
    assert describe(module) == net.architecture()
    assert from_torch(module[0]).same_as(net)


def test_from_torch_hand_built_module():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(2, 3, bias=False),
        nn.PReLU(),
        nn.Linear(3, 4),
        nn.Identity(),
        nn.Linear(4, 2),
        nn.ReLU(),
        nn.Linear(2, 1),
    )
    with torch.no_grad():
        module[1].weight.fill_(-0.5)
    net = from_torch(module)
    assert net.widths == (3, 2) and net.activation == "prelu"
    assert net.slopes[0].tolist() == [-0.5] * 3 and net.slopes[1].tolist() == [0.0, 0.0]
    assert net.biases[0].tolist() == [0.0] * 3
    assert np.array_equal(net.weights[0], module[0].weight.detach().double().numpy())
    x = np.random.default_rng(1).standard_normal((7, 2))
    with torch.no_grad():
        expected = module.double()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), expected, rtol=1e-12, atol=1e-12)


def test_from_torch_merges_consecutive_linears():
    module = nn.Sequential(
        nn.Identity(), nn.Linear(1, 2), nn.Linear(2, 1, bias=False), nn.Identity()
    ).double()
    with torch.no_grad():
        module[1].weight.copy_(torch.tensor([[1.0], [2.0]]))
        module[1].bias.copy_(torch.tensor([0.5, -1.0]))
        module[2].weight.copy_(torch.tensor([[3.0, -1.0]]))
    net = from_torch(module)
    assert net.same_as(affine([[1.0]], [2.5]))


@FAST
@given(networks())
def test_json_round_trip(net):
    assert Network.from_json(json.loads(json.dumps(net.to_json()))).same_as(net)


def test_json_round_trip_of_arbitrary_floats():
    rng = np.random.default_rng(5)
    net = Network(
        (rng.standard_normal((3, 2)), rng.standard_normal((1, 3))),
        (rng.standard_normal(3), rng.standard_normal(1)),
        (rng.standard_normal(3),),
    )
    back = Network.from_json(json.loads(json.dumps(net.to_json())))
    assert back.same_as(net)
    nudged = Network(
        net.weights, (net.biases[0], np.nextafter(net.biases[1], np.inf)), net.slopes
    )  # one ulp off
    assert not back.same_as(nudged)


def test_arrays_are_read_only_copies():
    source = np.ones((1, 1))
    net = affine(source, [0.0])
    source[0, 0] = 5.0
    assert net.weights[0][0, 0] == 1.0
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 2.0
    assert net.weights[0].dtype == np.float64


def test_same_as_distinguishes():
    net = Network(([[1.0]], [[1.0]]), ([0.0], [0.0]))
    assert net.same_as(Network(([[1.0]], [[1.0]]), ([0.0], [0.0])))
    assert not net.same_as(Network(([[1.0]], [[1.0]]), ([0.0], [0.5])))
    assert not net.same_as(pad(net, 2))
    assert not net.same_as(affine([[1.0]], [0.0]))
    assert not net.same_as("network")


def test_depth_zero_slopes_are_normalised():
    net = Network(([[1.0]],), ([0.0],), ())
    assert net.slopes is None and net.activation == "relu"


def bad_slope_shape():
    Network(([[1.0], [1.0]], [[1.0, 1.0]]), ([0.0, 0.0], [0.0]), ([0.5],))


def two_slope_prelu():
    from_torch(nn.Sequential(nn.Linear(1, 3), nn.PReLU(2), nn.Linear(3, 1)))


def nan_linear():
    linear = nn.Linear(1, 1).requires_grad_(False)
    linear.weight.fill_(float("nan"))
    from_torch(linear)


ERRORS = {  # name: (call, a piece of the expected message)
    "nan weight": (lambda: Network(([[np.nan]],), ([0.0],)), "layer 1 weight has non-finite"),
    "inf slope": (
        lambda: Network(([[1.0]], [[1.0]]), ([0.0], [0.0]), ([np.inf],)),
        "layer 1 slopes has non-finite",
    ),
    "no layers": (lambda: Network((), ()), "at least one"),
    "weight 1-D": (lambda: Network(([1.0],), ([0.0],)), "2-D array, got shape (1,)"),
    "empty weight": (lambda: Network((np.zeros((1, 0)),), ([0.0],)), "shape (1, 0)"),
    "shapes do not chain": (
        lambda: Network(([[1.0]], [[1.0, 1.0]]), ([0.0], [0.0])),
        "layer 2 weight (1, 2) takes 2 inputs",
    ),
    "bias shape": (lambda: Network(([[1.0]],), ([0.0, 0.0],)), "layer 1 bias has shape (2,)"),
    "bias count": (lambda: Network(([[1.0]],), ()), "0 biases for 1 layers"),
    "bad slope shape": (bad_slope_shape, "layer 1 slopes have shape (1,); its width is 2"),
    "slope count": (
        lambda: Network(([[1.0]], [[1.0]]), ([0.0], [0.0]), ([0.5], [0.5])),
        "2 slope vectors for 1 hidden",
    ),
    "text entries": (lambda: Network((["ab"],), ([0.0],)), "layer 1 weight is not a numeric"),
    "weights not a sequence": (lambda: Network(3, ([0.0],)), "weights must be a sequence"),
    "input shape": (
        lambda: affine([[1.0, 1.0]], [0.0]).evaluate([[1.0, 2.0, 3.0]]),
        "input has shape (1, 3)",
    ),
    "input 3-D": (
        lambda: affine([[1.0]], [0.0]).evaluate(np.zeros((1, 1, 1))),
        "input has shape (1, 1, 1)",
    ),
    "offset shape": (lambda: affine([[1.0, 1.0]], [0.0]).shifted([1.0]), "offset has shape"),
    "compose dims": (
        lambda: compose(affine([[1.0, 1.0]], [0.0]), affine([[1.0]], [0.0])),
        "takes 2 inputs",
    ),
    "pad smaller": (lambda: pad(identity(2, 2), 1), "depth 2 to depth 1"),
    "pad negative": (lambda: pad(identity(2), -1), "depth must be an integer ≥ 0, got -1"),
    "identity width": (lambda: identity(0), "width must be an integer ≥ 1, got 0"),
    "parallel empty": (lambda: parallel(), "at least one network"),
    "parallel dims": (lambda: parallel(identity(1), identity(2)), "input dims, got [1, 2]"),
    "combination count": (
        lambda: affine_combination([identity(1)], [1.0, 2.0]),
        "coefficients has shape (2,)",
    ),
    "combination outputs": (
        lambda: affine_combination([identity(1), affine([[1.0], [1.0]], [0.0, 0.0])], [1.0, 1.0]),
        "output dims, got [1, 2]",
    ),
    "combination constant": (
        lambda: affine_combination([identity(2)], [1.0], [1.0, 2.0, 3.0]),
        "constant has shape (3,)",
    ),
    "combination empty": (lambda: affine_combination([], []), "at least one network"),
    "json keys": (lambda: Network.from_json({"weights": [[[1.0]]]}), "lacks biases"),
    "json type": (lambda: Network.from_json([1]), "got list"),
    "torch tanh": (
        lambda: from_torch(nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1))),
        "layer 1 is Tanh",
    ),
    "torch size mismatch": (
        lambda: from_torch(nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(3, 1))),
        "layer 2 is nn.Linear(3, 1) but receives 2",
    ),
    "torch merged mismatch": (
        lambda: from_torch(nn.Sequential(nn.Linear(1, 2), nn.Linear(3, 1))),
        "layer 1 is nn.Linear(3, 1) but receives 2",
    ),
    "torch empty": (lambda: from_torch(nn.Sequential()), "no nn.Linear"),
    "torch only identity": (lambda: from_torch(nn.Sequential(nn.Identity())), "no nn.Linear"),
    "torch activation first": (
        lambda: from_torch(nn.Sequential(nn.ReLU(), nn.Linear(1, 1))),
        "layer 0 is nn.ReLU",
    ),
    "torch activation last": (
        lambda: from_torch(nn.Sequential(nn.Linear(1, 1), nn.PReLU(), nn.Identity())),
        "layer 1, nn.PReLU",
    ),
    "torch two activations": (
        lambda: from_torch(nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.ReLU(), nn.Linear(1, 1))),
        "layer 2 is nn.ReLU",
    ),
    "torch prelu slopes": (two_slope_prelu, "layer 1 is nn.PReLU with 2 slopes for 3 units"),
    "torch not sequential": (lambda: from_torch(nn.Conv1d(1, 1, 1)), "cannot read a Conv1d"),
    "torch nan": (nan_linear, "non-finite"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_input_raises_size_error(name):
    call, message = ERRORS[name]
    with pytest.raises(SizeError, match=re.escape(message)):
        call()
