"""``PReLUMoE``: the torch module of a constructed mixture of (P)ReLU experts.

A :class:`PReLUMoE` is a :class:`~moetheory.layers.moe.MoEMLP` (experts stacked, hard routing,
parameter ``numel`` sums equal to ``architecture.counts()``, the bounds calculator's formula)
loaded with the numbers of an :class:`~moetheory.construct.mixture.ExpertMixture`, in float64
by default. It accepts a float tensor (n, d) of any float dtype (cast to its own) and returns
(n, 1). ``construction`` records how it was built (target, α, λ, ε, norm, cells, sub-cells,
expert kind, guaranteed error); ``num_experts`` and ``expert_sizes`` give its sizes,
:func:`~moetheory.layers.moe.count_parameters` all its counts.

:func:`~moetheory.construct.saved.save_module` writes it as a safe model file (plain data and
tensors, no pickled classes) and :func:`~moetheory.construct.saved.load_module` reads it back.

Example::

    >>> import numpy as np
    >>> from moetheory.construct.experts import constant_expert
    >>> from moetheory.construct.mixture import ExpertMixture
    >>> mix = ExpertMixture.of_experts("grid", (np.array([0.5]),),
    ...                                [constant_expert(1, 0.0), constant_expert(1, 1.0)])
    >>> model = mix.module()
    >>> model(torch.tensor([[0.2], [0.7]])).flatten().tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

import numpy as np
import torch

from moetheory.layers.moe import MoEMLP
from moetheory.layers.routers import GridRouter, PrototypeRouter, TreeRouter


class PReLUMoE(MoEMLP):
    """A constructed hard-routed mixture of (P)ReLU experts (see the module docstring)."""

    construction: dict

    @classmethod
    def from_mixture(cls, mixture, construction: dict | None = None,
                     dtype: torch.dtype = torch.float64) -> PReLUMoE:
        """The module holding ``mixture``'s router parameters and expert weights."""
        module = cls(mixture.architecture).to(dtype)
        module.construction = dict(construction or {})
        with torch.no_grad():
            for target, source in zip(module.weights, mixture.weights, strict=True):
                _copy(target, source)
            for target, source in zip(module.biases, mixture.biases, strict=True):
                _copy(target, source)
            for target, source in zip(module.slopes(), mixture.slopes or (), strict=True):
                _copy(target, source)
            router = module.router
            params = mixture.router_params
            if isinstance(router, GridRouter):
                for target, source in zip(router.thresholds, params, strict=True):
                    _copy(target, source)
            elif isinstance(router, PrototypeRouter):
                _copy(router.prototypes, params[0])
            elif isinstance(router, TreeRouter):
                for target, source in zip(router.levels, params, strict=True):
                    _copy(target, source)
        return module

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    @property
    def expert_sizes(self) -> dict[str, int]:
        """Per-expert dense parameters and the largest per-expert non-zero count."""
        return {"dense": self.expert_numel(), "nonzero_max": int(self.expert_nonzero().max())}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (n, 1) for inputs (n, d) of any float dtype (computed in ``dtype``)."""
        return super().forward(x.to(self.dtype))

    def extra_repr(self) -> str:
        arch = self.architecture
        return (f"experts={arch.experts}, router={arch.router}, hidden={list(arch.hidden)}, "
                f"total={arch.counts().total}, active={arch.counts().active}")


def _copy(target: torch.Tensor, source: np.ndarray) -> None:
    """Copy ``source`` into ``target``; a stack broadcast along its first axis (stride 0) is
    copied from one slice and broadcast by torch (no materialised numpy copy)."""
    if source.ndim and source.shape[0] > 1 and source.strides[0] == 0:
        source = source[0]
    target.copy_(torch.from_numpy(np.array(source, dtype=np.float64)))
