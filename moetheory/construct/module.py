"""``PReLUMoE``: the torch module of a constructed mixture of (P)ReLU experts.

A :class:`PReLUMoE` is a :class:`~moetheory.layers.moe.MoEMLP` (experts stacked, hard routing,
parameter ``numel`` sums equal to ``architecture.counts()``, the bounds calculator's formula)
loaded with the numbers of an :class:`~moetheory.construct.mixture.ExpertMixture`, in float64
by default. It accepts a float tensor (n, d) of any float dtype, computes in its own dtype and
returns (n, 1) in the input's dtype. Its domain is [0, 1]^d, where the guarantee holds: an
input outside it raises :class:`DomainError` naming each offending coordinate and its range,
unless ``outside`` is set to ``"clamp"`` (every coordinate clamped to [0, 1]; saved with the
module). ``construction`` records how it was built (target, α, λ, ε, norm, cells, sub-cells,
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
    >>> model(torch.tensor([[0.2], [0.7]], dtype=torch.float32)).dtype
    torch.float32
    >>> model(torch.tensor([[0.2], [1.5]]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    moetheory.construct.module.DomainError: input outside the domain [0, 1]^1: x1 (column 0)
    takes values in [0.2, 1.5]; 1 of 2 rows outside (set model.outside = 'clamp' to clamp
    inputs to the domain instead)
    >>> model.outside = "clamp"
    >>> model(torch.tensor([[-3.0], [1.5]])).flatten().tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

import numpy as np
import torch

from moetheory.errors import MoetheoryError
from moetheory.layers.moe import MoEMLP

OUTSIDE_MODES = ("error", "clamp")
"""What :class:`PReLUMoE` does with an input outside [0, 1]^d: refuse it, or clamp it."""


class DomainError(MoetheoryError, ValueError):
    """An input outside the domain [0, 1]^d of an approximator (the coordinates are named)."""


def check_outside(mode: object) -> str:
    """``mode`` if it is one of :data:`OUTSIDE_MODES`, else a ValueError naming the choices.

    Example::

        >>> check_outside("wrap")
        Traceback (most recent call last):
        ...
        ValueError: expected one of 'error', 'clamp', got 'wrap'
    """
    if not isinstance(mode, str) or mode not in OUTSIDE_MODES:
        shown = repr(mode)[:60] if isinstance(mode, str) else f"a {type(mode).__name__}"
        raise ValueError(f"expected one of {', '.join(map(repr, OUTSIDE_MODES))}, got {shown}")
    return mode


class PReLUMoE(MoEMLP):
    """A constructed hard-routed mixture of (P)ReLU experts (see the module docstring)."""

    construction: dict
    _outside: str = "error"

    @property
    def outside(self) -> str:
        """What :meth:`forward` does with an input outside [0, 1]^d: ``"error"`` (default)
        raises :class:`DomainError` naming each offending coordinate and its range,
        ``"clamp"`` clamps every coordinate to [0, 1]. Saved with the module
        (:func:`~moetheory.construct.saved.save_module`)."""
        return self._outside

    @outside.setter
    def outside(self, mode: str) -> None:
        self._outside = check_outside(mode)

    @classmethod
    def from_mixture(
        cls, mixture, construction: dict | None = None, dtype: torch.dtype = torch.float64
    ) -> PReLUMoE:
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
            arch = mixture.architecture
            for name, source in zip(arch.kind.shapes(arch), mixture.router_params, strict=True):
                _copy(module.router.get_parameter(name), source)
        return module

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    @property
    def expert_sizes(self) -> dict[str, int]:
        """Per-expert dense parameters and the largest per-expert non-zero count."""
        return {"dense": self.expert_numel(), "nonzero_max": int(self.expert_nonzero().max())}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (n, 1) for inputs (n, d) in [0, 1]^d, computed in ``dtype`` and returned in
        the input's dtype when it is a float dtype; outside the domain, see :attr:`outside`."""
        z = self._check_input(x).to(self.dtype)
        if self.outside == "clamp":
            z = z.clamp(0.0, 1.0)
        else:
            _check_domain(z)
        out = super().forward(z)
        return out.to(x.dtype) if x.is_floating_point() else out

    def extra_repr(self) -> str:
        arch = self.architecture
        return (
            f"experts={arch.experts}, router={arch.router}, hidden={list(arch.hidden)}, "
            f"total={arch.counts().total}, active={arch.counts().active}"
        )


def _check_domain(x: torch.Tensor) -> None:
    """Raise :class:`DomainError` unless every entry of ``x`` (n, d) lies in [0, 1] (NaN does
    not), naming each offending coordinate with the range of its values."""
    inside = (x >= 0) & (x <= 1)
    if bool(inside.all()):
        return
    parts = []
    for j in (~inside).any(0).nonzero().flatten().tolist():
        column = x[:, j]
        finite = column[~column.isnan()]
        span = (
            f"[{float(finite.min()):.6g}, {float(finite.max()):.6g}]"
            if len(finite)
            else "no number"
        )
        parts.append(
            f"x{j + 1} (column {j}) takes values in {span}"
            + (" and NaN" if len(finite) < len(column) else "")
        )
    rows = int((~inside).any(1).sum())
    raise DomainError(
        f"input outside the domain [0, 1]^{x.shape[1]}: {'; '.join(parts)}; "
        f"{rows} of {len(x)} rows outside (set model.outside = 'clamp' to clamp "
        "inputs to the domain instead)"
    )


def _copy(target: torch.Tensor, source: np.ndarray) -> None:
    """Copy ``source`` into ``target``; a stack broadcast along its first axis (stride 0) is
    copied from one slice and broadcast by torch (no materialised numpy copy)."""
    if source.ndim and source.shape[0] > 1 and source.strides[0] == 0:
        source = source[0]
    target.copy_(torch.from_numpy(np.array(source, dtype=np.float64)))
