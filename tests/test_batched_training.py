"""Batched training of many small models (issue 16 item 2; experiments.md §3).

The oracle is independent of the code under test: ordinary ``nn.Sequential`` models built and
initialised here, each trained alone by a plain ``torch.optim.Adam`` loop written here.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from moetheory.bounds.architecture import Architecture
from moetheory.errors import SizeError
from moetheory.experiments.batched import (
    MLPShape,
    StackedMLP,
    train_stacked,
)
from moetheory.experiments.routing import (
    LearnedTop1MoE,
    fit_mixtures,
    grid_cells,
    kmeans_cells,
)
from moetheory.layers.moe import count_parameters, realise

F64 = torch.float64
ORACLE_RTOL = 1e-9
"""Batched versus one-at-a-time final losses, float64: the same arithmetic up to summation
order (padded products, fused Adam), measured ~1e-13 after 60 steps."""


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: spare intra-op threads only wait for each other on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- the oracle
def oracle_model(shape: MLPShape, seed: int) -> nn.Sequential:
    """nn.Linear / nn.ReLU / nn.PReLU with the documented initialisation: per layer the weight
    then the bias uniform on ±1/√fan-in from Generator(seed); PReLU slopes 0.25."""
    gen = torch.Generator().manual_seed(seed)
    sizes = [shape.d_in, *shape.widths, shape.d_out]
    layers: list[nn.Module] = []
    for j, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        lin = nn.Linear(fan_in, fan_out, dtype=F64)
        bound = 1 / math.sqrt(fan_in)
        with torch.no_grad():
            lin.weight.copy_(
                torch.empty(fan_out, fan_in, dtype=F64).uniform_(-bound, bound, generator=gen)
            )
            lin.bias.copy_(torch.empty(fan_out, dtype=F64).uniform_(-bound, bound, generator=gen))
        layers.append(lin)
        if j < len(shape.widths):
            layers.append(nn.ReLU() if shape.activation == "relu" else nn.PReLU(fan_out, dtype=F64))
    return nn.Sequential(*layers)


def oracle_train(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> float:
    """One model alone: Adam, cosine schedule lr·½(1 + cos(πt/T)), mean squared error."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for t in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * t / steps))
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(((net(x) - y) ** 2).mean())


def data(batch: int, n: int, d: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, n, d, generator=gen, dtype=F64)
    freq = 1 + 3 * torch.rand(batch, 1, d, generator=gen, dtype=F64)
    return x, torch.sin(3 * (x * freq).sum(2, keepdim=True))


@pytest.mark.parametrize("activation", ["relu", "prelu"])
def test_batch_equals_models_trained_one_at_a_time(activation):
    shapes = [MLPShape(2, w, 1, activation) for w in [(3, 5), (6, 2), (4, 4), (1, 6)]]
    seeds = [11, 5, 0, 123]
    x, y = data(len(shapes), 24)
    net = StackedMLP(shapes, seed=seeds, dtype=F64)
    # the initialisation is the documented one, bit for bit, and does not depend on the batch
    for b, (shape, seed) in enumerate(zip(shapes, seeds, strict=True)):
        mine, theirs = net.model(b), oracle_model(shape, seed)
        for p, q in zip(mine.parameters(), theirs.parameters(), strict=True):
            assert torch.equal(p, q)
        alone = StackedMLP([shape], seed=[seed], dtype=F64).model(0)
        assert all(
            torch.equal(p, q) for p, q in zip(alone.parameters(), mine.parameters(), strict=True)
        )
    result = train_stacked(net, x, y, steps=60, lr=2e-2, schedule="cosine")
    for b, (shape, seed) in enumerate(zip(shapes, seeds, strict=True)):
        oracle = oracle_model(shape, seed)
        loss = oracle_train(oracle, x[b], y[b], steps=60, lr=2e-2)
        assert float(result.loss[b]) == pytest.approx(loss, rel=ORACLE_RTOL)
        trained = net.model(b)
        for p, q in zip(trained.parameters(), oracle.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-8, atol=1e-10)
    assert result.loss.dtype == F64 and result.history.shape == (6, 4)


def test_padding_gives_exactly_the_unpadded_model():
    shapes = [MLPShape(3, (2, 7, 1), 2, "prelu"), MLPShape(3, (5, 3, 4), 2, "prelu")]
    net = StackedMLP(shapes, seed=[1, 2], dtype=F64)
    x = torch.rand(2, 9, 3, dtype=F64)
    out = net(x)
    for b, shape in enumerate(shapes):
        single = net.model(b)
        assert sum(p.numel() for p in single.parameters()) == shape.parameters()
        assert net.parameters_per_model()[b] == shape.parameters()
        torch.testing.assert_close(out[b], single(x[b]), rtol=0, atol=1e-14)
    # padded units stay exactly zero through training; their gradients are exactly zero
    train_stacked(net, x, torch.rand(2, 9, 2, dtype=F64), steps=20, lr=1e-2)
    net.zero_grad()
    net(x).sum().backward()
    for j, (fan_in, fan_out) in enumerate(zip([3, 5, 7, 4], [5, 7, 4, 2], strict=True)):
        w, bias = net.weights[j], net.biases[j]
        for b, shape in enumerate(shapes):
            fi, fo = shape.layer_sizes()[j]
            assert w[b, fo:].abs().sum() == 0 and w[b, :, fi:].abs().sum() == 0
            assert bias[b, fo:].abs().sum() == 0
            assert w.grad[b, fo:].abs().sum() == 0 and w.grad[b, :, fi:].abs().sum() == 0
        assert w.shape == (2, fan_out, fan_in)


def test_shared_input_equals_per_model_input():
    shapes = [MLPShape(2, (4,), 1)] * 3
    net = StackedMLP(shapes, seed=0, dtype=F64)
    x = torch.rand(10, 2, dtype=F64)
    torch.testing.assert_close(net(x), net(x.expand(3, 10, 2)), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("hidden", "activation"),
    [((16, 16), "relu"), ((3,), "prelu"), ((), "relu"), ((5, 2, 7), "prelu")],
)
def test_counts_equal_numel_and_the_bounds_calculator(hidden, activation):
    shape = MLPShape(3, hidden, 1, activation)
    single = StackedMLP([shape], seed=0).model(0)
    assert shape.parameters() == sum(p.numel() for p in single.parameters())
    arch = Architecture(dim=3, experts=4, hidden=hidden, activation=activation, router="prototype")
    assert shape.parameters() == arch.counts().per_expert


def test_a_model_never_sees_another_models_points():
    shapes = [MLPShape(1, (6,), 1)] * 3
    x, y = data(3, 20, d=1, seed=3)
    mask = torch.rand(3, 20, generator=torch.Generator().manual_seed(1)) < 0.6
    runs = []
    for variant in range(3):
        xv, yv = x.clone(), y.clone()
        if variant == 1:
            yv[~mask] = 1e3 * torch.randn(int((~mask).sum()), 1, dtype=F64)
            xv[~mask] = -7.0
        if variant == 2:
            yv[~mask] = float("nan")
            xv[~mask] = float("inf")
        net = StackedMLP(shapes, seed=4, dtype=F64)
        result = train_stacked(net, xv, yv, mask=mask, steps=30, lr=1e-2)
        runs.append((result.loss, [p.detach().clone() for p in net.parameters()]))
    for loss, params in runs[1:]:
        assert torch.equal(loss, runs[0][0])
        assert all(torch.equal(p, q) for p, q in zip(params, runs[0][1], strict=True))
    assert torch.equal(result.points, mask.sum(1))
    # and each model equals the oracle trained on its own points only
    for b in range(3):
        oracle = oracle_model(shapes[b], 4 + b)
        loss = oracle_train(oracle, x[b][mask[b]], y[b][mask[b]], steps=30, lr=1e-2)
        assert float(runs[0][0][b]) == pytest.approx(loss, rel=ORACLE_RTOL)


def test_classification_losses_and_convergence():
    x = torch.linspace(-1, 1, 16, dtype=F64).reshape(16, 1)
    labels = torch.stack([torch.sign(x[:, 0] + 0.05), -torch.sign(x[:, 0] - 0.3)])
    for loss in ("hinge", "logistic"):
        net = StackedMLP([MLPShape(1, (4,), 1)] * 2, seed=0, dtype=F64)
        result = train_stacked(net, x, labels, steps=400, lr=5e-2, loss=loss, record_every=50)
        assert result.history.shape == (8, 2)
        signs = torch.sign(net(x)[..., 0])
        assert torch.equal(signs, labels)
        if loss == "hinge":  # zero loss reached: no change over the last 10 %, converged
            assert bool((result.loss == 0).all()) and bool(result.converged.all())
    # a loss still falling by more than tol over the last 10 % of the steps: not converged
    short = train_stacked(StackedMLP([MLPShape(1, (4,), 1)], seed=0, dtype=F64), x, x, steps=5)
    assert not bool(short.converged.any())


def test_lbfgs_polish_is_per_model():
    shapes = [MLPShape(1, (5,), 1), MLPShape(1, (3,), 1)]
    x, y = data(2, 16, d=1, seed=5)
    net = StackedMLP(shapes, seed=[0, 1], dtype=F64)
    adam_only = train_stacked(StackedMLP(shapes, seed=[0, 1], dtype=F64), x, y, steps=50)
    polished = train_stacked(net, x, y, steps=50, lbfgs_polish=20)
    assert bool((polished.loss <= adam_only.loss).all())
    alone = StackedMLP([shapes[1]], seed=[1], dtype=F64)
    single = train_stacked(alone, x[1:], y[1:], steps=50, lbfgs_polish=20)
    assert float(single.loss[0]) == pytest.approx(float(polished.loss[1]), rel=1e-6)


def test_bad_arguments_are_refused():
    net = StackedMLP([MLPShape(1, (2,), 1)] * 2, seed=0)
    x = torch.rand(2, 5, 1)
    with pytest.raises(SizeError, match="schedule"):
        train_stacked(net, x, x, schedule="linear")
    with pytest.raises(SizeError, match="loss"):
        train_stacked(net, x, x, loss="l1")
    with pytest.raises(SizeError, match="targets"):
        train_stacked(net, x, torch.rand(3, 5, 1))
    with pytest.raises(SizeError, match="mask"):
        train_stacked(net, x, x, mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(SizeError, match="share"):
        StackedMLP([MLPShape(1, (2,), 1), MLPShape(1, (2, 2), 1)])
    with pytest.raises(SizeError, match="activation"):
        MLPShape(1, (2,), 1, "tanh")


# --------------------------------------------------------------------------- routing
def test_grid_cells_on_hand_made_points():
    pts = torch.tensor(
        [[0.0, 0.0], [0.5, 0.1], [0.99, 0.99], [1 / 3, 2 / 3], [1.0, 0.0], [0.2, 0.9]], dtype=F64
    )
    assert grid_cells(pts, 3).tolist() == [0, 3, 8, 5, 6, 2]
    assert grid_cells(pts, (2, 1)).tolist() == [0, 1, 1, 0, 1, 0]
    # the grid router of the realised module routes the same way
    rand = torch.rand(500, 2, dtype=F64)
    module = realise(Architecture(dim=2, experts=9, hidden=(2,), router="grid")).double()
    assert torch.equal(grid_cells(rand, 3), module.route(rand))


def test_kmeans_is_deterministic_and_finds_separated_clusters():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.1, 0.1], [0.9, 0.2], [0.5, 0.9]], dtype=F64)
    x = centres.repeat_interleave(30, 0) + 0.02 * torch.randn(90, 2, generator=gen, dtype=F64)
    c1, l1 = kmeans_cells(x, 3, seed=7)
    c2, l2 = kmeans_cells(x, 3, seed=7)
    assert torch.equal(c1, c2) and torch.equal(l1, l2)
    truth = torch.arange(3).repeat_interleave(30)
    for k in range(3):  # each found cluster is one true cluster
        assert len(set(truth[l1 == k].tolist())) == 1
    # labels are the nearest-prototype routing of the returned centres
    module = realise(Architecture(dim=2, experts=3, hidden=(2,), router="prototype")).double()
    with torch.no_grad():
        module.router.prototypes.copy_(c1)
    assert torch.equal(module.route(x), l1)


def test_learned_top1_counts_and_hard_routing():
    shapes = [MLPShape(2, (4, 3), 1, "prelu"), MLPShape(2, (6, 2), 1, "prelu")]
    moe = LearnedTop1MoE(shapes, experts=3, seed=[0, 9], dtype=F64)
    x = torch.rand(40, 2, dtype=F64)
    hard = moe.forward_hard(x)
    for b, shape in enumerate(shapes):
        arch = Architecture(
            dim=2, experts=3, hidden=shape.widths, activation="prelu", router="linear", top_k=1
        )
        counts = moe.counts_per_model()[b]
        assert (counts["total"], counts["active"]) == (arch.counts().total, arch.counts().active)
        module = moe.to_moe(b)
        counted = count_parameters(module)
        assert (counted["total"], counted["active"]) == (counts["total"], counts["active"])
        with torch.no_grad():
            torch.testing.assert_close(module(x), hard[b], rtol=0, atol=1e-14)
    # soft: the softmax-weighted sum of every expert
    scores = moe.scores(x)
    experts = moe._expert_outputs(x)
    soft = (torch.softmax(scores, -1).unsqueeze(-1) * experts.permute(0, 2, 1, 3)).sum(2)
    torch.testing.assert_close(moe.forward_soft(x), soft)


def test_learned_top1_trains_through_the_soft_gate():
    x = torch.rand(64, 1, dtype=F64, generator=torch.Generator().manual_seed(2))
    y = (x - 0.5).abs()
    moe = LearnedTop1MoE([MLPShape(1, (4,), 1)] * 2, experts=2, seed=0, dtype=F64)
    before = [p.detach().clone() for p in (moe.router_weight, moe.router_bias)]
    result = train_stacked(moe, x, y, steps=100, lr=2e-2)
    assert bool((result.loss < result.history[0]).all())
    assert not torch.equal(before[0], moe.router_weight)  # the router learns


@pytest.mark.parametrize("router", ["grid", "prototype", "learned"])
def test_fit_mixtures(router):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(96, 2, generator=gen, dtype=F64)
    y = (x - 0.5).abs().sum(1)
    configs = [
        {"experts": 4, "width": 3, "depth": 1, "seed": 1},
        {"experts": 1, "width": 6, "depth": 2, "seed": 2},
        {"experts": 4, "width": 5, "depth": 1, "seed": 3},
    ]
    results = fit_mixtures(configs, x, y, router=router, steps=60, lr=2e-2, seed=0)
    kind = {"grid": "grid", "prototype": "prototype", "learned": "linear"}[router]
    names = {
        "grid": "grid",
        "prototype": "kmeans-prototype",
        "learned": "learned-top1 (trained soft, evaluated hard)",
    }
    for cfg, r in zip(configs, results, strict=True):
        assert r["router"] == names[router]
        assert (r["experts"], r["width"], r["depth"], r["seed"]) == tuple(cfg.values())
        arch = Architecture(
            dim=2, experts=cfg["experts"], hidden=(cfg["width"],) * cfg["depth"], router=kind
        )
        assert r["parameters"] == {"total": arch.counts().total, "active": arch.counts().active}
        out = r["predictor"](x)
        assert out.shape == (96, 1) and out.dtype == F64
        assert r["loss_hard"] == pytest.approx(float(((out[:, 0] - y) ** 2).mean()))
        if router != "learned":  # training loss is the hard predictor's loss
            assert r["loss_hard"] == pytest.approx(r["loss"], rel=1e-5)
        if router == "learned":  # experts that win no training point are reported
            used = torch.unique(r["predictor"].route(x)).numel()
            assert r["empty_experts"] == cfg["experts"] - used
        else:
            assert r["empty_experts"] == 0
    if router == "grid":
        assert torch.equal(results[0]["predictor"].route(x), grid_cells(x, 2))


def test_fit_mixtures_empty_cell_predicts_zero():
    x = torch.linspace(0, 0.45, 20, dtype=F64).reshape(20, 1)  # cells 2, 3 of 4 are empty
    results = fit_mixtures(
        [{"experts": 4, "width": 2, "depth": 1}], x, x[:, 0] + 1, router="grid", steps=20
    )
    r = results[0]
    assert r["empty_experts"] == 2
    with torch.no_grad():
        assert r["predictor"](torch.tensor([[0.6], [0.9]], dtype=F64)).abs().max() == 0
    with pytest.raises(SizeError, match="power"):
        fit_mixtures(
            [{"experts": 3, "width": 2, "depth": 1}], x.expand(20, 2), x[:, 0], router="grid"
        )
    with pytest.raises(SizeError, match="width"):
        fit_mixtures([{"experts": 2, "depth": 1}], x, x[:, 0], router="grid")
