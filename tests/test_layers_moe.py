"""MoE-library style layers (issue 18 item 1): Soft MoE with Algorithm 1, the top-K SMoE with
linear / cosine / perturbed-cosine routers, and the momentum SMoE stacks (reference:
softmoe_momentum.md §1–§3, cosine_router.md §1, §4)."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from moetheory.errors import SizeError
from moetheory.layers import AdamSMoE, MomentumSMoE, RobustMomentumSMoE, SoftMoE, SparseMoE
from moetheory.layers.momentum import robust_coefficients
from moetheory.layers.sparse import ROUTERS, balance_loss

ROUTER_NAMES = list(ROUTERS)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _stacks(**kw) -> list[nn.Module]:
    return [
        MomentumSMoE(4, 3, 2, 3, **kw),
        AdamSMoE(4, 3, 2, 3, **kw),
        RobustMomentumSMoE(4, 3, 2, 3, **kw),
    ]


# ------------------------------------------------------------------ shapes and aux


def test_soft_moe_shapes_and_aux():
    torch.manual_seed(0)
    layer = SoftMoE(dim=5, num_experts=3, slots_per_expert=2)
    y, aux = layer(torch.randn(4, 7, 5))
    assert y.shape == (4, 7, 5)
    for key in ("router_logits", "dispatch_weights", "combine_weights"):
        assert aux[key].shape == (4, 7, 6)
    assert aux["expert_mass"].shape == (4, 3)
    ones = torch.ones(4, 6)
    assert torch.allclose(aux["dispatch_weights"].sum(1), ones)  # D: softmax over tokens
    assert torch.allclose(aux["combine_weights"].sum(2), torch.ones(4, 7))  # C: over slots
    assert torch.allclose(aux["expert_mass"].sum(1), torch.full((4,), 7.0))
    with pytest.raises(SizeError):
        layer(torch.randn(7, 5))


@pytest.mark.parametrize("router", ROUTER_NAMES)
def test_sparse_moe_shapes_and_aux(router):
    torch.manual_seed(1)
    layer = SparseMoE(dim=4, num_experts=5, top_k=2, router=router)
    for shape in ((9, 4), (2, 6, 4)):
        y, aux = layer(torch.randn(shape))
        lead = shape[:-1]
        assert y.shape == shape
        assert aux["router_logits"].shape == (*lead, 5)
        assert aux["gate_weights"].shape == aux["expert_index"].shape == (*lead, 2)
        assert torch.allclose(aux["gate_weights"].sum(-1), torch.ones(lead))
        assert aux["expert_load"].shape == (5,) and math.isclose(aux["expert_load"].sum(), 1.0)
        assert aux["balance_loss"].shape == ()


def test_stack_shapes_and_summed_balance_loss():
    torch.manual_seed(2)
    x = torch.randn(2, 6, 4)
    for stack in _stacks():
        y, aux = stack(x)
        assert y.shape == x.shape and len(aux["layers"]) == 3
        total = sum(a["balance_loss"] for a in aux["layers"])
        assert torch.allclose(aux["balance_loss"], total)


def test_unknown_router_and_bad_sizes():
    with pytest.raises(SizeError, match="router must be one of linear, cosine, perturbed-cosine"):
        SparseMoE(4, 3, 1, router="grid")
    with pytest.raises(SizeError):
        SparseMoE(4, 3, 4)
    with pytest.raises(SizeError):
        RobustMomentumSMoE(4, 3, 1, 2, kappa=4.0, rho=0.9)
    with pytest.raises(SizeError):
        SoftMoE(4, 3, 1)(torch.randn(1, 2, 4), experts_mask=torch.ones(2, dtype=torch.bool))


# ------------------------------------------------------------------ Soft MoE


def test_soft_moe_follows_reference_formulas():
    """§1 written out per sequence: L, D, C, X̃ = DᵀX (un-normalised X), Ỹ, Y = CỸ."""
    torch.manual_seed(3)
    for norm in (True, False):
        for norm_tokens in (True, False):
            layer = SoftMoE(3, 2, 2, normalize=norm, normalize_tokens=norm_tokens).double()
            x = torch.randn(2, 5, 3, dtype=torch.float64)
            y, _ = layer(x)
            for b in range(2):
                X = x[b]
                if norm:
                    Xn = X / torch.sqrt((X**2).sum(1, keepdim=True) + 1e-6)
                    Pn = layer.phi / torch.sqrt((layer.phi**2).sum(0, keepdim=True) + 1e-6)
                    L = Xn @ (layer.scale * Pn)
                else:
                    L = X @ layer.phi
                D, C = torch.softmax(L, 0), torch.softmax(L, 1)
                source = X / torch.sqrt((X**2).sum(1, keepdim=True) + 1e-6) if norm_tokens else X
                slots = D.T @ source
                out = torch.cat([layer.experts[j // 2](slots[j : j + 1]) for j in range(4)])
                assert torch.allclose(y[b], C @ out)


def test_normalize_tokens_makes_the_block_blind_to_token_norms():
    torch.manual_seed(4)
    layer = SoftMoE(3, 2, 1, normalize_tokens=True)
    x = torch.randn(1, 4, 3)
    scaled = x * torch.tensor([3.0, 0.5, 1.0, 7.0]).reshape(1, 4, 1)
    assert torch.allclose(layer(x)[0], layer(scaled)[0], atol=1e-4)
    assert not torch.allclose(SoftMoE(3, 2, 1)(x)[0], SoftMoE(3, 2, 1)(scaled)[0], atol=1e-2)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(1, 6).flatmap(lambda m: st.permutations(list(range(m)))),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 2),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_soft_moe_is_permutation_equivariant(batch, perm, dim, n, p, norm, norm_tokens, seed):
    torch.manual_seed(seed)
    layer = SoftMoE(dim, n, p, normalize=norm, normalize_tokens=norm_tokens).double()
    x = torch.randn(batch, len(perm), dim, dtype=torch.float64)
    index = torch.tensor(perm)
    y, aux = layer(x)
    y_perm, aux_perm = layer(x[:, index])
    assert torch.allclose(y_perm, y[:, index], atol=1e-10)
    assert torch.allclose(aux_perm["expert_mass"], aux["expert_mass"], atol=1e-10)


# ------------------------------------------------------------------ Algorithm 1


def test_algorithm1_with_every_expert_kept_is_the_full_layer():
    torch.manual_seed(5)
    layer = SoftMoE(4, 4, 2)
    x = torch.randn(3, 6, 4)
    y, _ = layer(x)
    assert torch.equal(layer.keep_experts(x, 4)[0], y)
    assert torch.equal(layer(x, experts_mask=torch.ones(4, dtype=torch.bool))[0], y)
    assert torch.equal(layer(x, experts_mask=torch.ones(3, 4, dtype=torch.bool))[0], y)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_algorithm1_dropped_experts_contribute_nothing(k):
    """A per-input, per-expert loop: s_e = Σ_tokens Σ_slots C, top-k experts, Y = Σ_kept C_e Ỹ_e
    with the original C; the dropped experts are never run on that input."""
    torch.manual_seed(6 + k)
    n, p = 4, 2
    layer = SoftMoE(3, n, p).double()
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    calls: list[int] = []
    hooks = [
        e.register_forward_hook(lambda _m, i, _o: calls.append(len(i[0]))) for e in layer.experts
    ]
    y, aux = layer.keep_experts(x, k)
    for h in hooks:
        h.remove()
    mask = aux["experts_mask"]
    assert mask.sum(1).tolist() == [k] * 3
    assert calls == [int(mask[:, e].sum()) for e in range(n) if mask[:, e].any()]
    for b in range(3):
        _, full = layer(x[b : b + 1])
        C, D = full["combine_weights"][0].detach(), full["dispatch_weights"][0]
        mass = [float(C[:, e * p : (e + 1) * p].sum()) for e in range(n)]
        kept = sorted(range(n), key=lambda e: -mass[e])[:k]
        assert sorted(kept) == mask[b].nonzero().squeeze(1).tolist()
        ref = torch.zeros(5, 3, dtype=torch.float64)
        for e in kept:
            cols = slice(e * p, (e + 1) * p)
            ref += C[:, cols] @ layer.experts[e](D[:, cols].T @ x[b])
        assert torch.allclose(y[b], ref)
    # changing an expert no input keeps changes nothing
    dropped = [e for e in range(n) if not mask[:, e].any()]
    if dropped:
        with torch.no_grad():
            for param in layer.experts[dropped[0]].parameters():
                param.add_(1.0)
        assert torch.equal(layer.keep_experts(x, k)[0], y)


# ------------------------------------------------------------------ sparse MoE


@pytest.mark.parametrize("router", ROUTER_NAMES)
def test_sparse_moe_equals_a_per_token_loop(router):
    torch.manual_seed(7)
    layer = SparseMoE(3, 4, 2, router=router).double()
    x = torch.randn(10, 3, dtype=torch.float64)
    y, aux = layer(x)
    logits = aux["router_logits"].detach()
    for i in range(10):
        top = sorted(range(4), key=lambda e: -float(logits[i, e]))[:2]
        weights = torch.softmax(logits[i, top], 0)
        ref = sum(w * layer.experts[e](x[i : i + 1])[0] for w, e in zip(weights, top, strict=True))
        assert torch.allclose(y[i], ref)
        assert sorted(aux["expert_index"][i].tolist()) == sorted(top)


def test_router_formulas():
    torch.manual_seed(8)
    x = torch.randn(6, 3)
    linear = SparseMoE(3, 4, 1, router="linear").router
    w, b = linear.linear.weight, linear.linear.bias
    assert torch.allclose(linear(x), x @ w.T + b)
    cosine = SparseMoE(3, 4, 1, router="cosine", router_options={"temperature": 0.5}).router
    expected = (x @ cosine.weight.T) / (x.norm(dim=1, keepdim=True) * cosine.weight.norm(dim=1))
    assert torch.allclose(cosine(x), expected / 0.5 + cosine.bias)
    pert = SparseMoE(3, 4, 1, router="perturbed-cosine").router
    denom = (x.norm(dim=1, keepdim=True) + 0.1) * (pert.weight.norm(dim=1) + 0.1)
    assert torch.allclose(pert(x), (x @ pert.weight.T) / denom + pert.bias)


def test_perturbed_cosine_adds_tau_at_a_tiny_norm():
    """At ‖x‖ = 1e-7 the perturbed score is ≈ βᵀx/(0.1(‖β‖+0.1)) ≈ 0, not the cosine (≈ ±1) that
    F.normalize's max(‖x‖, eps) would give (cosine_router.md §4 pitfall 4)."""
    router = ROUTERS["perturbed-cosine"](2, 2)
    with torch.no_grad():
        router.weight.copy_(torch.tensor([[3.0, 4.0], [-1.0, 0.0]]))
        router.bias.zero_()
    x = torch.tensor([[0.6e-7, 0.8e-7]], dtype=torch.float64)
    got = router.double()(x)[0]
    tiny = 1e-7
    expected = torch.tensor(
        [5.0 * tiny / (5.1 * (tiny + 0.1)), -0.6 * tiny / (1.1 * (tiny + 0.1))], dtype=torch.float64
    )
    assert torch.allclose(got, expected, rtol=1e-9, atol=0)
    normalized = (
        torch.nn.functional.normalize(x, eps=1e-12)
        @ torch.nn.functional.normalize(router.weight, eps=1e-12).T
    )
    assert (
        abs(float(normalized[0, 0].detach()) - 1.0) < 1e-9
    )  # the unperturbed score: the full cosine
    assert torch.equal(router(torch.zeros(1, 2, dtype=torch.float64)), torch.zeros(1, 2).double())


def test_balance_loss_equals_a_hand_computation():
    # P = (3/4, 1/4) for every token; f = (3/4, 1/4): 2 · (9/16 + 1/16) = 1.25
    logits = torch.tensor([[math.log(3.0), 0.0]] * 4)
    index = torch.tensor([[0], [0], [1], [0]])
    assert math.isclose(float(balance_loss(logits, index, 2)), 1.25, rel_tol=1e-6)
    # top-2 of 3: f_e = assignments / (N·K), P_e = mean softmax
    torch.manual_seed(9)
    layer = SparseMoE(3, 3, 2)
    _, aux = layer(torch.randn(7, 3))
    idx, lg = aux["expert_index"].tolist(), aux["router_logits"].detach()
    f = [sum(row.count(e) for row in idx) / 14 for e in range(3)]
    probs = [[math.exp(v) for v in row] for row in lg.tolist()]
    P = [sum(r[e] / sum(r) for r in probs) / 7 for e in range(3)]
    assert math.isclose(
        float(aux["balance_loss"].detach()),
        3 * sum(a * b for a, b in zip(f, P, strict=True)),
        rel_tol=1e-5,
    )
    assert aux["expert_load"].tolist() == pytest.approx(f)


# ------------------------------------------------------------------ momentum stacks


def _plain(stack: nn.Module, x: torch.Tensor, start: int = 0) -> torch.Tensor:
    for layer in list(stack.layers)[start:]:
        x = x + layer(x)[0]
    return x


def test_momentum_at_mu_zero_is_the_plain_residual_stack():
    torch.manual_seed(10)
    x = torch.randn(2, 5, 4)
    stack = MomentumSMoE(4, 3, 2, 3, mu=0.0, gamma=1.0)
    assert torch.allclose(stack(x)[0], _plain(stack, x))


@pytest.mark.parametrize("router", ROUTER_NAMES)
def test_heavy_ball_follows_its_recursion(router):
    torch.manual_seed(11)
    x = torch.randn(2, 5, 4)
    stack = MomentumSMoE(4, 3, 2, 4, mu=0.6, gamma=0.8, router=router)
    p, h = torch.zeros_like(x), x
    for layer in stack.layers:
        p = 0.6 * p + layer(h)[0]
        h = h + 0.8 * p
    assert torch.allclose(stack(x)[0], h)


def test_adam_first_layer_then_heavy_ball():
    torch.manual_seed(12)
    x = torch.randn(2, 5, 4)
    beta1, beta2, gamma1, mu, gamma = 0.8, 0.99, 0.5, 0.7, 0.9
    stack = AdamSMoE(4, 3, 2, 3, beta1=beta1, beta2=beta2, gamma1=gamma1, mu=mu, gamma=gamma)
    f0 = stack.layers[0](x)[0]
    m, v = (1 - beta1) * f0, (1 - beta2) * f0**2  # moments from 0, no bias correction
    h = x + gamma1 * m / torch.sqrt(v + 1e-8)
    p = f0
    for layer in list(stack.layers)[1:]:
        p = mu * p + layer(h)[0]
        h = h + gamma * p
    assert torch.allclose(stack(x)[0], h)
    # μ = 0: after the Adam layer, the plain residual stack
    plain = AdamSMoE(4, 3, 2, 3, mu=0.0, gamma=1.0)
    f0 = plain.layers[0](x)[0]
    x1 = x + 0.1 * f0 / torch.sqrt(0.001 * f0**2 + 1e-8)
    assert torch.allclose(plain(x)[0], _plain(plain, x1, start=1))


def test_robust_momentum_follows_its_recursion():
    torch.manual_seed(13)
    kappa, rho, L = 9.0, 0.8, 2.0
    alpha, beta, gamma = robust_coefficients(kappa, rho, L)
    assert math.isclose(alpha, kappa * (1 - rho) ** 2 * (1 + rho) / L)
    assert math.isclose(beta, kappa * rho**3 / (kappa - 1))
    assert math.isclose(gamma, rho**3 / ((kappa - 1) * (1 - rho) ** 2 * (1 + rho)))
    stack = RobustMomentumSMoE(4, 3, 2, 3, kappa=kappa, rho=rho, L=L)
    x = torch.randn(2, 5, 4)
    prev, h = x, x
    for layer in stack.layers:
        y = h + gamma * (h - prev)
        prev, h = h, h + beta * (h - prev) + alpha * layer(y)[0]
    assert torch.allclose(stack(x)[0], h)
    assert math.isclose(RobustMomentumSMoE(4, 3, 2, 1, kappa=4.0).rho, 0.75)


# ------------------------------------------------------------------ gradients


def _modules() -> list[nn.Module]:
    mods: list[nn.Module] = [
        SoftMoE(4, 3, 2),
        SoftMoE(4, 3, 2, normalize=False),
        SoftMoE(4, 3, 2, normalize_tokens=True),
    ]
    mods += [SparseMoE(4, 3, 2, router=r) for r in ROUTER_NAMES]
    mods += _stacks(router="perturbed-cosine")
    return mods


def test_gradients_reach_every_parameter():
    torch.manual_seed(14)
    for module in _modules():
        x = torch.randn(2, 16, 4)
        y, aux = module(x)
        loss = (y * torch.randn_like(y)).sum()
        if "balance_loss" in aux:
            loss = loss + aux["balance_loss"]
        loss.backward()
        for name, param in module.named_parameters():
            assert param.grad is not None and param.grad.abs().sum() > 0, (module, name)


# ------------------------------------------------------------------ torch.compile


def _compile_available() -> str | None:
    if not hasattr(torch, "compile"):
        return "this torch has no torch.compile"
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        return "torch.compile's inductor backend needs a C++ compiler, none found"
    return None


@pytest.mark.slow  # about 20 s on 2 CPU cores: inductor compiles C++ kernels
@pytest.mark.skipif(_compile_available() is not None, reason=str(_compile_available()))
def test_torch_compile_gives_the_same_outputs():
    torch.manual_seed(15)
    x = torch.randn(2, 6, 4)
    modules = (SoftMoE(4, 3, 2), SparseMoE(4, 3, 2, router="cosine"), MomentumSMoE(4, 3, 2, 2))
    try:
        for module in modules:
            y, aux = module(x)
            y_c, aux_c = torch.compile(module)(x)
            assert torch.allclose(y_c, y, atol=1e-5)
            key = "balance_loss" if "balance_loss" in aux else "expert_mass"
            assert torch.allclose(aux_c[key], aux[key], atol=1e-5)
    finally:
        torch._dynamo.reset()
