"""A top-K sparse mixture of experts (SMoE) with linear, cosine and perturbed-cosine routers.

:class:`SparseMoE` maps tokens (N, d) or (B, T, d) to the same shape. A router gives one logit
per expert, g(x) ∈ ℝⁿ; each token keeps its K largest logits and mixes those experts with
weights softmax over the selected logits (softmoe_momentum.md §3):

    S(x) = top-K indices of g(x),   w_i(x) = exp g_i(x) / Σ_{j∈S(x)} exp g_j(x)  (i ∈ S(x)),
    f(x) = Σ_{i∈S(x)} w_i(x) f_i(x).

Routers (:data:`ROUTERS`, dispatched by name through that dict, never by comparing strings):

* ``"linear"``: g(x) = W x + b (the SMoE of MomentumSMoE, softmoe_momentum.md §3);
* ``"cosine"``: g_i(x) = β_iᵀx / (‖β_i‖ ‖x‖) / t + b_i (cosine_router.md §1);
* ``"perturbed-cosine"``: g_i(x) = β_iᵀx / ((‖β_i‖ + τ₁)(‖x‖ + τ₂)) / t + b_i with τ₁ = τ₂ = 0.1
  added to the norms (cosine_router.md §1, §4 pitfall 4 — not ``F.normalize``'s max(‖x‖, ε)).

The temperature t (default 1, the reference form) is the usual cosine-router temperature: the
cosine scores lie in [−1, 1], so without it the gates are nearly uniform (cosine_router.md §4
pitfall 5).

The forward returns ``(y, aux)`` with ``aux`` holding ``router_logits`` (…, n),
``gate_weights`` (…, K), ``expert_index`` (…, K), ``expert_load`` (n,) and ``balance_loss``, the
Switch-Transformer load-balancing loss (Fedus et al. 2021, with top-K counting):

    f_e = (1/(N·K)) Σ_tokens Σ_{k≤K} 1[index_k(x) = e]    (fraction of assignments to e),
    P_e = (1/N) Σ_tokens softmax(g(x))_e                  (mean router probability),
    balance_loss = n · Σ_e f_e P_e                        (= 1 when perfectly balanced).

Example::

    >>> _ = torch.manual_seed(0)
    >>> layer = SparseMoE(dim=4, num_experts=3, top_k=2, router="perturbed-cosine")
    >>> y, aux = layer(torch.randn(2, 5, 4))
    >>> y.shape, aux["expert_index"].shape, float(aux["expert_load"].sum())
    (torch.Size([2, 5, 4]), torch.Size([2, 5, 2]), 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from moetheory.errors import SizeError

ExpertFactory = Callable[[int], nn.Module]
"""A callable ``dim -> nn.Module`` building one expert mapping (…, dim) → (…, dim)."""

PERTURBATION = 0.1  # τ₁ = τ₂ of the perturbed cosine router (CompeteSMoE's θ, cosine_router.md §1)
COSINE_EPS = 1e-12  # the plain cosine router's guard against 0/0 (cosine_router.md §4 pitfall 1)


def mlp_expert(dim: int) -> nn.Module:
    """The default expert: a 2-layer MLP dim → 4·dim → dim with GELU,
    f(x) = W₂ GELU(W₁ x + b₁) + b₂.

    Example::

        >>> mlp_expert(3)(torch.zeros(2, 3)).shape
        torch.Size([2, 3])
    """
    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))


class LinearRouter(nn.Module):
    """Linear router g(x) = W x + b, W ∈ ℝ^{n×d} (softmoe_momentum.md §3).

    Example::

        >>> LinearRouter(3, 4)(torch.zeros(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, dim: int, num_experts: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, num_experts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n) of tokens x (N, d)."""
        return self.linear(x)


class CosineRouter(nn.Module):
    """Cosine router g_i(x) = β_iᵀx / (‖β_i‖ ‖x‖) / t + b_i (cosine_router.md §1).

    The temperature t (default 1: the reference form) only rescales the bounded cosine scores.
    A norm below :data:`COSINE_EPS` is clamped to it (the score is 0/0 at x = 0 or β_i = 0,
    cosine_router.md §4 pitfall 1).

    Example::

        >>> r = CosineRouter(2, 3)
        >>> bool(torch.allclose(r(torch.tensor([[1.0, 1.0]])), r(torch.tensor([[5.0, 5.0]]))))
        True
    """

    def __init__(self, dim: int, num_experts: int, temperature: float = 1.0) -> None:
        super().__init__()
        if not temperature > 0:
            raise SizeError(f"temperature must be positive, got {temperature}")
        self.weight = nn.Parameter(torch.empty(num_experts, dim))
        self.bias = nn.Parameter(torch.zeros(num_experts))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n) of tokens x (N, d)."""
        x_norm = x.norm(dim=-1, keepdim=True).clamp_min(COSINE_EPS)
        w_norm = self.weight.norm(dim=-1).clamp_min(COSINE_EPS)
        return (x @ self.weight.T) / (x_norm * w_norm) / self.temperature + self.bias


class PerturbedCosineRouter(nn.Module):
    """Perturbed cosine router g_i(x) = β_iᵀx / ((‖β_i‖ + τ₁)(‖x‖ + τ₂)) / t + b_i with the
    perturbations τ₁, τ₂ (default 0.1) *added* to the norms (cosine_router.md §1, §4 pitfall 4).

    Example::

        >>> r = PerturbedCosineRouter(2, 1)
        >>> with torch.no_grad():
        ...     _ = r.weight.copy_(torch.tensor([[3.0, 4.0]]))
        >>> round(float(r(torch.tensor([[0.0, 1e-3]])).detach()), 6)  # 4e-3 / (5.1 · 0.101)
        0.007765
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        temperature: float = 1.0,
        tau1: float = PERTURBATION,
        tau2: float = PERTURBATION,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise SizeError(f"temperature must be positive, got {temperature}")
        if not (tau1 > 0 and tau2 > 0):
            raise SizeError(f"perturbations tau1, tau2 must be positive, got {tau1}, {tau2}")
        self.weight = nn.Parameter(torch.empty(num_experts, dim))
        self.bias = nn.Parameter(torch.zeros(num_experts))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.temperature, self.tau1, self.tau2 = temperature, tau1, tau2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n) of tokens x (N, d)."""
        x_norm = x.norm(dim=-1, keepdim=True) + self.tau2
        w_norm = self.weight.norm(dim=-1) + self.tau1
        return (x @ self.weight.T) / (x_norm * w_norm) / self.temperature + self.bias


ROUTERS: dict[str, Callable[..., nn.Module]] = {
    "linear": LinearRouter,
    "cosine": CosineRouter,
    "perturbed-cosine": PerturbedCosineRouter,
}
"""Router name → constructor ``(dim, num_experts, **options) -> nn.Module``."""


def make_router(
    name: str, dim: int, num_experts: int, options: Mapping[str, Any] | None = None
) -> nn.Module:
    """The router called ``name`` in :data:`ROUTERS`, or a :class:`SizeError` naming them.

    Example::

        >>> type(make_router("cosine", 2, 3, {"temperature": 0.1})).__name__
        'CosineRouter'
    """
    build = ROUTERS.get(name) if isinstance(name, str) else None
    if build is None:
        raise SizeError(f"router must be one of {', '.join(ROUTERS)}, got {name!r}")
    return build(dim, num_experts, **dict(options or {}))


def balance_loss(logits: torch.Tensor, index: torch.Tensor, num_experts: int) -> torch.Tensor:
    """Switch-Transformer load-balancing loss n · Σ_e f_e P_e with f_e the fraction of the N·K
    token-expert assignments sent to e and P_e the mean of softmax(logits)_e over tokens.

    ``logits`` (N, n), ``index`` (N, K). Equals 1 for a perfectly balanced router.

    Example::

        >>> float(balance_loss(torch.zeros(4, 2), torch.tensor([[0], [1], [0], [1]]), 2))
        1.0
    """
    load = expert_load(index, num_experts)
    probs = torch.softmax(logits, dim=-1).mean(0)
    return num_experts * (load * probs).sum()


def expert_load(index: torch.Tensor, num_experts: int) -> torch.Tensor:
    """f_e = fraction of the token-expert assignments ``index`` (N, K) sent to expert e, (n,).

    Example::

        >>> expert_load(torch.tensor([[0, 1], [0, 2]]), 3).tolist()
        [0.5, 0.25, 0.25]
    """
    counts = torch.bincount(index.reshape(-1), minlength=num_experts)
    return counts.to(torch.get_default_dtype()) / max(index.numel(), 1)


class SparseMoE(nn.Module):
    """Top-K SMoE layer; see the module docstring (softmoe_momentum.md §3).

    Arguments: ``dim`` d, ``num_experts`` n, ``top_k`` K ≤ n, ``router`` a name in
    :data:`ROUTERS`, ``expert`` an :data:`ExpertFactory` (default :func:`mlp_expert`),
    ``router_options`` keyword arguments of the router (``temperature``, ``tau1``, ``tau2``).
    Experts run one after another, each on the tokens routed to it.
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        top_k: int,
        router: str = "linear",
        expert: ExpertFactory | None = None,
        router_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if dim < 1 or num_experts < 1:
            raise SizeError(f"dim and num_experts must be ≥ 1, got {dim}, {num_experts}")
        if not 1 <= top_k <= num_experts:
            raise SizeError(f"top_k must lie in 1..{num_experts}, got {top_k}")
        self.dim, self.num_experts, self.top_k = dim, num_experts, top_k
        self.router_name = router
        self.router = make_router(router, dim, num_experts, router_options)
        factory = expert or mlp_expert
        self.experts = nn.ModuleList(factory(dim) for _ in range(num_experts))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(y, aux) for tokens x of shape (N, d) or (B, T, d); y has x's shape."""
        if x.ndim not in (2, 3) or x.shape[-1] != self.dim:
            raise SizeError(f"input must be (N, {self.dim}) or (B, T, {self.dim}), got {x.shape}")
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.dim)
        logits = self.router(flat)
        top_logits, index = logits.topk(self.top_k, dim=-1)
        gates = torch.softmax(top_logits, dim=-1)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            token, slot = (index == e).nonzero(as_tuple=True)
            if token.numel() == 0:
                continue
            weighted = gates[token, slot].unsqueeze(-1) * expert(flat[token])
            out = out.index_add(0, token, weighted)
        aux = {
            "router_logits": logits.reshape(*lead, self.num_experts),
            "gate_weights": gates.reshape(*lead, self.top_k),
            "expert_index": index.reshape(*lead, self.top_k),
            "expert_load": expert_load(index, self.num_experts),
            "balance_loss": balance_loss(logits, index, self.num_experts),
        }
        return out.reshape(x.shape), aux
