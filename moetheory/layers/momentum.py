"""MomentumSMoE (Teo & Nguyen 2410.14574): stacks of SMoE layers whose residual updates over
depth are optimiser steps (softmoe_momentum.md §3).

Each class stacks ``num_layers`` :class:`~moetheory.layers.sparse.SparseMoE` layers f_t and maps
x₀ ∈ ℝ^{B×T×d} to x_L of the same shape; the SMoE output f_t(x) plays −∇F. The clean equations
of §3 are implemented (no LayerNorm, no extra residual, unlike the authors' code):

* :class:`MomentumSMoE`, heavy ball, buffer p₀ = 0:
  ``p_t = μ p_{t−1} + f_t(x_t)``, ``x_{t+1} = x_t + γ p_t``  (μ = 0.7, γ = 1).
  μ = 0, γ = 1 is the plain residual SMoE stack ``x_{t+1} = x_t + f_t(x_t)``.
* :class:`AdamSMoE`: the first layer is an Adam step from zero moments, without bias
  correction, ``m = (1−β₁) f₀``, ``v = (1−β₂) f₀²``, ``x₁ = x₀ + γ₁ m / √(v + ε)``
  (≈ 3.16 γ₁ sign f₀ elementwise); the heavy-ball buffer starts as p₀ = f₀ (the authors' code
  accumulates it in the Adam layer too) and the other layers are heavy ball.
* :class:`RobustMomentumSMoE`: the Robust Momentum Method (Cyrus et al. 2018) with x₋₁ = x₀,
  ``y_t = x_t + γ_r (x_t − x_{t−1})``, ``x_{t+1} = x_t + β (x_t − x_{t−1}) + α f_t(y_t)``,
  α = κ(1−ρ)²(1+ρ)/L, β = κρ³/(κ−1), γ_r = ρ³/((κ−1)(1−ρ)²(1+ρ)), ρ ∈ [1 − 1/√κ, 1 − 1/κ].
  [open] The reference leaves the exact adaptation and hyperparameters open: here the SMoE output
  at y_t simply replaces −∇F(y_t), and the default ρ = 1 − 1/κ (the robust end of the range) with
  κ = 4, L = 1 is this module's choice, not the paper's.

The forward returns ``(x_L, aux)``: ``aux["layers"]`` the list of the layers' aux dicts and
``aux["balance_loss"]`` the sum of their load-balancing losses.

Example::

    >>> _ = torch.manual_seed(0)
    >>> stack = MomentumSMoE(dim=4, num_experts=4, top_k=2, num_layers=3)
    >>> y, aux = stack(torch.randn(2, 5, 4))
    >>> y.shape, len(aux["layers"]), aux["balance_loss"].shape
    (torch.Size([2, 5, 4]), 3, torch.Size([]))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from moetheory.errors import SizeError
from moetheory.layers.sparse import ExpertFactory, SparseMoE

ADAM_EPS = 1e-8  # inside the square root, as in the authors' code


class SMoEStack(nn.Module):
    """``num_layers`` SMoE layers; the subclasses define how their outputs update x over depth.

    Arguments of every stack: ``dim``, ``num_experts``, ``top_k``, ``num_layers``, ``router``
    (a name in :data:`~moetheory.layers.sparse.ROUTERS`), ``expert`` (an expert factory) and
    ``router_options``, passed to each :class:`~moetheory.layers.sparse.SparseMoE`.
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        top_k: int,
        num_layers: int,
        router: str = "linear",
        expert: ExpertFactory | None = None,
        router_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise SizeError(f"num_layers must be ≥ 1, got {num_layers}")
        self.layers = nn.ModuleList(
            SparseMoE(dim, num_experts, top_k, router, expert, router_options)
            for _ in range(num_layers)
        )

    def _step(self, t: int, x: torch.Tensor, auxes: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """f_t(x), recording the layer's aux dict."""
        if x.ndim != 3:
            raise SizeError(f"input must be (B, T, d), got {tuple(x.shape)}")
        f, aux = self.layers[t](x)
        auxes.append(aux)
        return f

    @staticmethod
    def _aux(auxes: list[dict[str, torch.Tensor]]) -> dict[str, Any]:
        return {
            "layers": auxes,
            "balance_loss": torch.stack([a["balance_loss"] for a in auxes]).sum(),
        }


class MomentumSMoE(SMoEStack):
    """Heavy-ball SMoE stack p_t = μ p_{t−1} + f_t(x_t), x_{t+1} = x_t + γ p_t, p₀ = 0 (§3).

    Example::

        >>> s = MomentumSMoE(dim=2, num_experts=2, top_k=1, num_layers=2, mu=0.0)
        >>> x = torch.randn(1, 3, 2)
        >>> f0 = s.layers[0](x)[0]; x1 = x + f0
        >>> bool(torch.allclose(s(x)[0], x1 + s.layers[1](x1)[0]))
        True
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        top_k: int,
        num_layers: int,
        mu: float = 0.7,
        gamma: float = 1.0,
        router: str = "linear",
        expert: ExpertFactory | None = None,
        router_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dim, num_experts, top_k, num_layers, router, expert, router_options)
        self.mu, self.gamma = mu, gamma

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """(x_L, aux) for x₀ = ``x`` (B, T, d)."""
        auxes: list[dict[str, torch.Tensor]] = []
        p = torch.zeros_like(x)
        for t in range(len(self.layers)):
            p = self.mu * p + self._step(t, x, auxes)
            x = x + self.gamma * p
        return x, self._aux(auxes)


class AdamSMoE(SMoEStack):
    """Adam in the first layer (zero moments, no bias correction), heavy ball afterwards (§3):
    x₁ = x₀ + γ₁ (1−β₁) f₀ / √((1−β₂) f₀² + ε), p₀ = f₀; then p_t = μ p_{t−1} + f_t(x_t),
    x_{t+1} = x_t + γ p_t.

    Example::

        >>> s = AdamSMoE(dim=2, num_experts=2, top_k=1, num_layers=1)
        >>> x = torch.randn(1, 3, 2)
        >>> f0 = s.layers[0](x)[0]  # the step is ≈ 3.16 · sign(f₀) where |f₀| ≫ 3e-4
        >>> bool(torch.allclose(s(x)[0] - x, 0.1 * f0 / torch.sqrt(0.001 * f0**2 + 1e-8)))
        True
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        top_k: int,
        num_layers: int,
        beta1: float = 0.9,
        beta2: float = 0.999,
        gamma1: float = 1.0,
        mu: float = 0.7,
        gamma: float = 1.0,
        eps: float = ADAM_EPS,
        router: str = "linear",
        expert: ExpertFactory | None = None,
        router_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dim, num_experts, top_k, num_layers, router, expert, router_options)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0):
            raise SizeError(f"need 0 ≤ beta1, beta2 < 1 and eps > 0, got {beta1}, {beta2}, {eps}")
        self.beta1, self.beta2, self.gamma1, self.eps = beta1, beta2, gamma1, eps
        self.mu, self.gamma = mu, gamma

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """(x_L, aux) for x₀ = ``x`` (B, T, d)."""
        auxes: list[dict[str, torch.Tensor]] = []
        f = self._step(0, x, auxes)
        m = (1 - self.beta1) * f
        v = (1 - self.beta2) * f.square()
        x = x + self.gamma1 * m / torch.sqrt(v + self.eps)
        p = f
        for t in range(1, len(self.layers)):
            p = self.mu * p + self._step(t, x, auxes)
            x = x + self.gamma * p
        return x, self._aux(auxes)


def robust_coefficients(kappa: float, rho: float, L: float) -> tuple[float, float, float]:
    """(α, β, γ) of the Robust Momentum Method (Cyrus et al. 2018; §3):
    α = κ(1−ρ)²(1+ρ)/L, β = κρ³/(κ−1), γ = ρ³/((κ−1)(1−ρ)²(1+ρ)),
    for κ > 1, L > 0 and ρ ∈ [1 − 1/√κ, 1 − 1/κ].

    Example::

        >>> robust_coefficients(4.0, 0.5, 1.0)
        (1.5, 0.16666666666666666, 0.1111111111111111)
    """
    if not (kappa > 1 and L > 0):
        raise SizeError(f"need kappa > 1 and L > 0, got {kappa}, {L}")
    low, high = 1 - 1 / math.sqrt(kappa), 1 - 1 / kappa
    if not low - 1e-12 <= rho <= high + 1e-12:
        raise SizeError(f"rho must lie in [{low:.6g}, {high:.6g}] for kappa = {kappa}, got {rho}")
    alpha = kappa * (1 - rho) ** 2 * (1 + rho) / L
    beta = kappa * rho**3 / (kappa - 1)
    gamma = rho**3 / ((kappa - 1) * (1 - rho) ** 2 * (1 + rho))
    return alpha, beta, gamma


class RobustMomentumSMoE(SMoEStack):
    """Robust momentum over depth (§3, adaptation [open]): x₋₁ = x₀,
    y_t = x_t + γ_r (x_t − x_{t−1}), x_{t+1} = x_t + β (x_t − x_{t−1}) + α f_t(y_t), with
    (α, β, γ_r) = :func:`robust_coefficients` (κ, ρ, L); ρ defaults to 1 − 1/κ.

    Attributes ``alpha``, ``beta``, ``gamma_r``.

    Example::

        >>> s = RobustMomentumSMoE(dim=2, num_experts=2, top_k=1, num_layers=1, kappa=4.0)
        >>> x = torch.randn(1, 3, 2)
        >>> bool(torch.allclose(s(x)[0], x + s.alpha * s.layers[0](x)[0]))
        True
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        top_k: int,
        num_layers: int,
        kappa: float = 4.0,
        rho: float | None = None,
        L: float = 1.0,
        router: str = "linear",
        expert: ExpertFactory | None = None,
        router_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dim, num_experts, top_k, num_layers, router, expert, router_options)
        if rho is None:
            rho = 1 - 1 / kappa if kappa > 1 else math.nan
        self.kappa, self.rho, self.L = kappa, rho, L
        self.alpha, self.beta, self.gamma_r = robust_coefficients(kappa, rho, L)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """(x_L, aux) for x₀ = ``x`` (B, T, d)."""
        auxes: list[dict[str, torch.Tensor]] = []
        previous = x
        for t in range(len(self.layers)):
            velocity = x - previous
            f = self._step(t, x + self.gamma_r * velocity, auxes)
            previous, x = x, x + self.beta * velocity + self.alpha * f
        return x, self._aux(auxes)
