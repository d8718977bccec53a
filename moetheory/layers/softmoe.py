"""The Soft MoE layer (Puigcerver et al. 2308.00951) and best-expert-subset selection
(Algorithm 1 of Chung et al. 2409.00879).

:class:`SoftMoE` maps X ∈ ℝ^{B×m×d} to the same shape (softmoe_momentum.md §1). With n experts
of p slots each and Φ ∈ ℝ^{d×(n·p)}:

    L = normalize(X) · (scale · normalize(Φ))    (normalize: ℓ2 along d, eps 1e-6; scale init 1)
    L = X Φ                                      (``normalize=False``)
    D = softmax_tokens(L),   C = softmax_slots(L),
    X̃ = Dᵀ X,   Ỹ_j = f_{⌈j/p⌉}(X̃_j),   Y = C Ỹ.

The slots are built from the un-normalised X, or — ``normalize_tokens=True``, the variant of
Chung et al. — from normalize(X), which makes the block blind to token norms (§1). There is no
top-k and no dropped token; the layer mixes the tokens of one sequence and is equivariant under
permutations of the tokens.

**Algorithm 1** (§2): per input, score expert e by its total combine mass
s_e = Σ_tokens Σ_{slots of e} C, keep the k best, run only those, give the dropped experts' slots
output 0 and combine with the original (not renormalised) C — :meth:`SoftMoE.keep_experts`, or
the ``experts_mask`` argument of the forward.

The forward returns ``(y, aux)`` with ``router_logits`` L (B, m, n·p), ``dispatch_weights`` D,
``combine_weights`` C (both (B, m, n·p)) and ``expert_mass`` s (B, n), summing to m per input.

Example::

    >>> _ = torch.manual_seed(0)
    >>> layer = SoftMoE(dim=4, num_experts=3, slots_per_expert=2)
    >>> x = torch.randn(2, 5, 4)
    >>> y, aux = layer(x)
    >>> y.shape, aux["combine_weights"].shape, float(aux["expert_mass"].detach().sum(-1)[0])
    (torch.Size([2, 5, 4]), torch.Size([2, 5, 6]), 5.0)
    >>> bool(torch.equal(layer.keep_experts(x, 3)[0], y))  # all experts kept: the full layer
    True
"""

from __future__ import annotations

import math

import torch
from torch import nn

from moetheory.errors import SizeError
from moetheory.layers.sparse import ExpertFactory, mlp_expert

NORMALIZE_EPS = 1e-6  # softmoe_momentum.md §1 (vmoe's soft router)


def normalize(x: torch.Tensor, dim: int = -1, eps: float = NORMALIZE_EPS) -> torch.Tensor:
    """ℓ2 normalisation of the Soft MoE router, x / √(Σ x² + eps) along ``dim`` (§1).

    Example::

        >>> normalize(torch.tensor([3.0, 4.0])).tolist()
        [0.6000000238418579, 0.800000011920929]
    """
    return x * torch.rsqrt(x.square().sum(dim=dim, keepdim=True) + eps)


def default_slots(tokens: int, num_experts: int, capacity_factor: float = 1.0) -> int:
    """The default slot count p = round(m · capacity_factor / n), at least 1 (§1).

    Example::

        >>> default_slots(196, 8)
        24
    """
    if tokens < 1 or num_experts < 1 or not capacity_factor > 0:
        raise SizeError(
            f"tokens, num_experts and capacity_factor must be positive, "
            f"got {tokens}, {num_experts}, {capacity_factor}"
        )
    return max(1, round(tokens * capacity_factor / num_experts))


def top_experts(expert_mass: torch.Tensor, k: int) -> torch.Tensor:
    """Algorithm 1's selection (§2): a boolean mask (B, n) of the k experts of largest combine
    mass s_e per input.

    Example::

        >>> top_experts(torch.tensor([[0.5, 2.0, 1.5]]), 2).tolist()
        [[False, True, True]]
    """
    n = expert_mass.shape[-1]
    if not 1 <= k <= n:
        raise SizeError(f"the number of kept experts must lie in 1..{n}, got {k}")
    index = expert_mass.topk(k, dim=-1).indices
    return torch.zeros_like(expert_mass, dtype=torch.bool).scatter(-1, index, True)


class SoftMoE(nn.Module):
    """Soft MoE layer (B, m, d) → (B, m, d); see the module docstring (§1, §2).

    Arguments: ``dim`` d, ``num_experts`` n, ``slots_per_expert`` p (see :func:`default_slots`),
    ``expert`` an :data:`~moetheory.layers.sparse.ExpertFactory` (default
    :func:`~moetheory.layers.sparse.mlp_expert`, d → 4d → d with GELU), ``normalize``
    (normalised logits with the trainable scalar ``scale``), ``normalize_tokens`` (slots from
    normalised tokens). Attributes: ``phi`` (d, n·p), ``scale`` (a parameter, or None when
    ``normalize=False``), ``experts``. Experts run one after another on their p slots for the
    whole batch.
    """

    def __init__(
        self,
        dim: int,
        num_experts: int,
        slots_per_expert: int,
        expert: ExpertFactory | None = None,
        normalize: bool = True,
        normalize_tokens: bool = False,
    ) -> None:
        super().__init__()
        if min(dim, num_experts, slots_per_expert) < 1:
            raise SizeError(
                f"dim, num_experts and slots_per_expert must be ≥ 1, "
                f"got {dim}, {num_experts}, {slots_per_expert}"
            )
        self.dim, self.num_experts, self.slots_per_expert = dim, num_experts, slots_per_expert
        self.normalize, self.normalize_tokens = normalize, normalize_tokens
        self.phi = nn.Parameter(torch.randn(dim, num_experts * slots_per_expert) / math.sqrt(dim))
        self.scale = nn.Parameter(torch.ones(())) if normalize else None
        factory = expert or mlp_expert
        self.experts = nn.ModuleList(factory(dim) for _ in range(num_experts))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Router logits L (B, m, n·p): normalize(X)·(scale·normalize(Φ)) or X Φ (§1)."""
        if self.scale is None:
            return x @ self.phi
        return normalize(x) @ (self.scale * normalize(self.phi, dim=0))

    def forward(
        self, x: torch.Tensor, experts_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(y, aux) for x (B, m, d). ``experts_mask``, boolean (n,) or (B, n), runs only the
        marked experts per input; the others' slot outputs are 0 and C is not renormalised
        (Algorithm 1, §2)."""
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise SizeError(f"input must be (B, m, {self.dim}), got {tuple(x.shape)}")
        b, m, _ = x.shape
        n, p = self.num_experts, self.slots_per_expert
        logits = self.logits(x)
        dispatch = torch.softmax(logits, dim=1)
        combine = torch.softmax(logits, dim=2)
        tokens = normalize(x) if self.normalize_tokens else x
        slots = (dispatch.transpose(1, 2) @ tokens).reshape(b, n, p, self.dim)
        mask = None if experts_mask is None else self._check_mask(experts_mask, b)
        outputs = []
        for e, expert in enumerate(self.experts):
            if mask is None or bool(mask[:, e].all()):
                outputs.append(expert(slots[:, e]))
                continue
            rows = mask[:, e].nonzero().squeeze(1)
            out = slots.new_zeros(b, p, self.dim)
            if rows.numel():
                out = out.index_copy(0, rows, expert(slots[rows, e]))
            outputs.append(out)
        y = combine @ torch.stack(outputs, dim=1).reshape(b, n * p, self.dim)
        aux = {
            "router_logits": logits,
            "dispatch_weights": dispatch,
            "combine_weights": combine,
            "expert_mass": combine.reshape(b, m, n, p).sum(dim=(1, 3)),
        }
        if mask is not None:
            aux["experts_mask"] = mask
        return y, aux

    def keep_experts(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Algorithm 1 (§2): per input keep the k experts of largest combine mass
        s_e = Σ_tokens Σ_slots C and run only those; aux gains ``experts_mask`` (B, n).

        Example::

            >>> layer = SoftMoE(dim=2, num_experts=4, slots_per_expert=1)
            >>> y, aux = layer.keep_experts(torch.randn(3, 6, 2), 1)
            >>> aux["experts_mask"].sum(-1).tolist()
            [1, 1, 1]
        """
        with torch.no_grad():
            mass = self.logits(x).softmax(dim=2)
            mass = mass.reshape(*mass.shape[:2], self.num_experts, -1).sum(dim=(1, 3))
        return self(x, experts_mask=top_experts(mass, k))

    def _check_mask(self, mask: torch.Tensor, batch: int) -> torch.Tensor:
        if mask.dtype != torch.bool or mask.shape not in {
            (self.num_experts,),
            (batch, self.num_experts),
        }:
            raise SizeError(
                f"experts_mask must be boolean (n,) or (B, n) with n = {self.num_experts}, "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        return mask.expand(batch, self.num_experts)
