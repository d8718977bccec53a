"""Torch layers (moetheory.layers): realised parameter counts equal Architecture.counts(),
describe inverts realise, the batched forward equals a per-input loop, the routers agree with
their closed forms, describe reads plain torch MLPs / MoEs, and nonzero counting."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from moetheory.bounds.architecture import Architecture
from moetheory.bounds.routers.modules import GridRouter, TreeRouter
from moetheory.errors import SizeError
from moetheory.layers import MoEMLP, count_parameters, describe, realise


@st.composite
def architectures(draw) -> Architecture:
    """Small architectures of every router kind (experts compatible with the router)."""
    dim = draw(st.integers(1, 3))
    router = draw(st.sampled_from(["none", "grid", "prototype", "tree", "linear"]))
    grid = None
    if router == "none":
        experts = 1
    elif router == "grid":
        grid = tuple(draw(st.lists(st.integers(1, 3), min_size=dim, max_size=dim)))
        experts = math.prod(grid)
    elif router == "tree":
        experts = 1 << (dim * draw(st.integers(0, 2 if dim < 3 else 1)))
    else:
        experts = draw(st.integers(1, 12))
    return Architecture(
        dim=dim,
        experts=experts,
        router=router,
        grid=grid,
        hidden=tuple(draw(st.lists(st.integers(1, 6), max_size=3))),
        activation=draw(st.sampled_from(["relu", "prelu"])),
        slopes=draw(st.sampled_from(["trainable", "fixed"])),
        output_dim=draw(st.integers(1, 2)),
        top_k=draw(st.integers(1, experts)) if router == "linear" else 1,
    )


def numel(params) -> int:
    return sum(p.numel() for p in params)


@settings(max_examples=80, deadline=None)
@given(architectures(), st.integers(0, 3))
def test_realised_counts_describe_and_forward(arch, seed):
    model = realise(arch, seed)
    counts = arch.counts()
    assert numel(model.parameters()) == counts.total
    assert numel(model.router.parameters()) == counts.router
    assert model.num_experts == arch.experts
    assert all(numel(model.expert_parameters(k)) == counts.per_expert for k in range(arch.experts))
    assert describe(model) == arch
    reported = count_parameters(model)
    assert (reported["total"], reported["router"], reported["per_expert"], reported["active"]) == (
        counts.total,
        counts.router,
        counts.per_expert,
        counts.active,
    )
    x = torch.rand(9, arch.dim, generator=torch.Generator().manual_seed(seed))
    y = model(x)
    assert y.shape == (9, arch.output_dim) and bool(torch.isfinite(y).all())
    assert model.route(x).shape == (9,)
    assert model(x[:0]).shape == (0, arch.output_dim)


def test_realise_is_seeded():
    arch = Architecture(dim=2, experts=5, hidden=(4,), router="prototype")
    same = [
        torch.cat([p.flatten() for p in realise(arch, seed).parameters()]) for seed in (1, 1, 2)
    ]
    assert torch.equal(same[0], same[1]) and not torch.equal(same[0], same[2])


def test_gradients_reach_experts_and_linear_router():
    model = realise(
        Architecture(dim=2, experts=5, hidden=(3,), router="linear", top_k=2, activation="prelu")
    )
    model(torch.rand(40, 2, generator=torch.Generator().manual_seed(0))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


# reference implementation: one input at a time, explicit matmuls -----------------------------


def reference_route(model: MoEMLP, v: torch.Tensor) -> tuple[list[int], torch.Tensor]:
    """(experts, mixing weights) of one input v (d,)."""
    arch, router = model.architecture, model.router
    if arch.router == "linear":
        scores = router.linear.weight @ v + router.linear.bias
        top = scores.topk(arch.top_k)
        return top.indices.tolist(), torch.softmax(top.values, 0)
    if arch.router == "grid":
        axes = [int((t <= v[i]).sum()) for i, t in enumerate(router.thresholds)]
        k = sum(a * math.prod(arch.grid[i + 1 :]) for i, a in enumerate(axes))
    elif arch.router == "prototype":
        k = int(((router.prototypes - v) ** 2).sum(1).argmin())
    elif arch.router == "tree":
        node = [0] * arch.dim
        for level, protos in enumerate(router.levels, start=1):
            children = [
                [2 * j + b for j, b in zip(node, bits, strict=True)]
                for bits in itertools.product((0, 1), repeat=arch.dim)
            ]
            dist = [float(((protos[flat(c, 1 << level)] - v) ** 2).sum()) for c in children]
            node = children[dist.index(min(dist))]
        k = flat(node, 1 << router.depth)
    else:
        k = 0
    return [k], torch.ones(1, dtype=v.dtype)


def flat(multi: list[int], cells: int) -> int:
    return sum(j * cells ** (len(multi) - 1 - i) for i, j in enumerate(multi))


def reference_expert(model: MoEMLP, k: int, v: torch.Tensor) -> torch.Tensor:
    arch = model.architecture
    for j, (weight, bias) in enumerate(zip(model.weights, model.biases, strict=True)):
        v = weight[k] @ v + bias[k]
        if j < arch.depth:
            slope = getattr(model, f"slope{j}")[k] if arch.activation == "prelu" else 0.0
            v = torch.where(v >= 0, v, slope * v)
    return v


def reference_forward(model: MoEMLP, x: torch.Tensor) -> torch.Tensor:
    rows = []
    for v in x:
        experts, gates = reference_route(model, v)
        rows.append(
            sum(g * reference_expert(model, k, v) for k, g in zip(experts, gates, strict=True))
        )
    return torch.stack(rows)


LOOP_CASES = [
    Architecture(dim=2, experts=9, hidden=(5, 3), router="grid"),
    Architecture(dim=2, experts=6, hidden=(4,), router="grid", grid=(3, 2), activation="prelu"),
    Architecture(
        dim=3,
        experts=7,
        hidden=(6, 2, 3),
        router="prototype",
        activation="prelu",
        slopes="fixed",
        output_dim=2,
    ),
    Architecture(dim=2, experts=16, hidden=(4,), router="tree", activation="prelu"),
    Architecture(dim=1, experts=8, hidden=(3,), router="tree"),
    Architecture(
        dim=2, experts=5, hidden=(4, 4), router="linear", top_k=3, output_dim=2, activation="prelu"
    ),
    Architecture(dim=3, experts=10, hidden=(), router="linear", top_k=2),
    Architecture(dim=2, experts=1, hidden=(6,), router="none", activation="prelu"),
]


@pytest.mark.parametrize("arch", LOOP_CASES, ids=lambda a: f"{a.router}-{a.experts}")
@pytest.mark.parametrize("chunk,group_min", [(None, 10**9), (3, 10**9), (None, 1)])
def test_forward_equals_per_input_loop(arch, chunk, group_min, monkeypatch):
    """Gathered weights in chunks (group_min huge) and expert-by-expert products (1)."""
    monkeypatch.setattr("moetheory.layers.moe.GROUP_MIN", group_min)
    model = realise(arch, seed=5).double()
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():  # move every parameter (router included) off its default value
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    if chunk is not None:
        model.chunk_size = chunk
    x = torch.rand(23, arch.dim, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference_forward(model, x))


# routers against their closed forms ------------------------------------------------------------


def interior_points(n: int, dim: int, cells: int, seed: int) -> torch.Tensor:
    """Uniform points of [0,1]^dim at least 1e-6 from every cell boundary k/cells."""
    x = torch.rand(4 * n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    scaled = x * cells
    keep = ((scaled - scaled.round()).abs() > 1e-6).all(1)
    return x[keep][:n]


@pytest.mark.parametrize("dim,cells", [(1, 5), (2, 3), (3, 4), (2, 1)])
def test_grid_router_default_is_floor(dim, cells):
    x = interior_points(500, dim, cells, seed=cells)
    axes = torch.clamp((cells * x).floor().long(), max=cells - 1)
    expected = sum(axes[:, i] * cells ** (dim - 1 - i) for i in range(dim))
    assert torch.equal(GridRouter((cells,) * dim).route(x), expected)


def test_grid_router_uneven_cells():
    x = interior_points(300, 2, 6, seed=3)
    expected = (3 * x[:, 0]).floor().long() * 2 + (2 * x[:, 1]).floor().long()
    assert torch.equal(GridRouter((3, 2)).route(x), expected)


@pytest.mark.parametrize("dim,depth", [(1, 3), (2, 2), (3, 1), (2, 0)])
def test_tree_router_default_is_grid(dim, depth):
    x = interior_points(500, dim, 1 << depth, seed=dim + depth)
    grid = GridRouter((1 << depth,) * dim).route(x)
    assert torch.equal(TreeRouter(dim, depth).route(x), grid)


# describe on plain torch modules ---------------------------------------------------------------


def mlp(widths: list[int], act=nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for j, (i, o) in enumerate(itertools.pairwise(widths)):
        layers += [nn.Linear(i, o)] + ([act(o)] if j < len(widths) - 2 else [])
    return nn.Sequential(*layers)


def relu(width: int) -> nn.Module:
    return nn.ReLU()


def test_describe_relu_sequential():
    arch = describe(mlp([3, 5, 4, 2], relu))
    assert arch == Architecture(dim=3, experts=1, hidden=(5, 4), router="none", output_dim=2)
    assert describe(nn.Sequential(nn.Linear(2, 1))).hidden == ()


def test_describe_prelu_trainable_and_fixed():
    net = mlp([2, 6, 1], nn.PReLU)
    arch = describe(net)
    assert (arch.activation, arch.slopes, arch.hidden) == ("prelu", "trainable", (6,))
    assert arch.counts().total == numel(net.parameters())
    net[1].weight.requires_grad_(False)
    fixed = describe(net)
    assert fixed.slopes == "fixed"
    assert fixed.counts().total == numel(net.parameters()) - 6


class GatedMoE(nn.Module):
    """A generic MoE as users write it: a ModuleList of experts and a linear gate."""

    def __init__(
        self, experts: int, widths: list[int], top_k: int, act=relu, gate_name: str = "gate"
    ) -> None:
        super().__init__()
        self.experts = nn.ModuleList(mlp(widths, act) for _ in range(experts))
        setattr(self, gate_name, nn.Linear(widths[0], experts))
        self.top_k = top_k


def test_describe_generic_moe():
    moe = GatedMoE(4, [3, 8, 2], top_k=2, act=nn.PReLU)
    arch = describe(moe)
    assert arch == Architecture(
        dim=3, experts=4, hidden=(8,), activation="prelu", router="linear", top_k=2, output_dim=2
    )
    assert arch.counts().total == numel(moe.parameters())
    routed = GatedMoE(3, [2, 4, 1], top_k=1, gate_name="router")
    del routed.top_k
    routed.k = 3
    assert describe(routed).top_k == 3


def test_describe_errors():
    with pytest.raises(SizeError, match="supported"):
        describe(nn.Conv1d(2, 3, 1))
    with pytest.raises(SizeError, match="shared"):
        describe(nn.Sequential(nn.Linear(2, 4), nn.PReLU(), nn.Linear(4, 1)))
    with pytest.raises(SizeError, match="Tanh"):
        describe(nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)))
    with pytest.raises(SizeError, match="bias"):
        describe(nn.Sequential(nn.Linear(2, 4, bias=False), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(SizeError, match="inputs"):
        describe(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(3, 1)))
    with pytest.raises(SizeError, match="end with"):
        describe(nn.Sequential(nn.Linear(2, 4), nn.ReLU()))
    with pytest.raises(SizeError, match="mixed"):
        describe(
            nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3), nn.PReLU(3), nn.Linear(3, 1))
        )


def test_describe_generic_moe_errors():
    extra = GatedMoE(2, [2, 3, 1], top_k=1)
    extra.scale = nn.Parameter(torch.ones(5))
    with pytest.raises(SizeError, match=r"scale \(5\)"):
        describe(extra)
    differing = GatedMoE(2, [2, 3, 1], top_k=1)
    differing.experts[1] = mlp([2, 4, 1], relu)
    with pytest.raises(SizeError, match="expert 1 differs"):
        describe(differing)
    wrong_gate = GatedMoE(2, [2, 3, 1], top_k=1)
    wrong_gate.gate = nn.Linear(2, 3)
    with pytest.raises(SizeError, match="gate"):
        describe(wrong_gate)
    no_gate = GatedMoE(2, [2, 3, 1], top_k=1)
    no_gate.gate = nn.Identity()
    with pytest.raises(SizeError, match="no nn.Linear"):
        describe(no_gate)
    with pytest.raises(SizeError, match="top-k"):
        describe(GatedMoE(2, [2, 3, 1], top_k=3))


def test_describe_tampered_moemlp():
    model = realise(Architecture(dim=2, experts=4, hidden=(3,), router="grid"))
    model.weights[0] = nn.Parameter(torch.zeros(4, 5, 2))
    with pytest.raises(SizeError, match=r"weights\.0"):
        describe(model)


def test_input_shape_checked():
    model = realise(Architecture(dim=2, experts=2, hidden=(3,), router="linear"))
    with pytest.raises(SizeError, match=r"\(n, 2\)"):
        model(torch.rand(4, 3))


# nonzero counting ------------------------------------------------------------------------------


def test_count_parameters_nonzero():
    arch = Architecture(dim=2, experts=3, hidden=(4,), router="linear", top_k=2, activation="prelu")
    model = realise(arch)
    full = count_parameters(model)
    assert full["nonzero"] == full["total"]
    assert full["active_nonzero"] == full["active"]
    with torch.no_grad():
        model.weights[0][1].zero_()  # expert 1 loses 8 weights: the max over experts is kept
    one = count_parameters(model)
    assert (one["total"], one["nonzero"]) == (full["total"], full["total"] - 8)
    assert one["active_nonzero"] == full["active_nonzero"]
    with torch.no_grad():
        model.weights[0].zero_()  # every expert loses its 8 first-layer weights
    assert count_parameters(model)["active_nonzero"] == full["active_nonzero"] - 2 * 8
    net = mlp([2, 3, 1], relu)
    with torch.no_grad():
        net[0].bias.zero_()
    assert count_parameters(net) == {"total": 13, "nonzero": 10}
