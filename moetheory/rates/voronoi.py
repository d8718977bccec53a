"""Voronoi losses D1 and D2 between a fitted and a true softmax-gated mixing measure.

A softmax-gated mixing measure with k atoms is ``G = Σ_i exp(β_{0i}) δ_{(β_{1i}, η_i, ν_i)}``
(reference identifiability.md §1): ``β_{0i}`` is the gate intercept (it enters only as the mass
``exp(β_{0i})``), ``β_{1i} ∈ ℝ^d`` the gate slope, ``η_i ∈ ℝ^p`` the expert parameters and
``ν_i > 0`` an optional Gaussian variance. The losses compare a fitted measure G (k atoms) with
the truth G* (k* atoms) through the Voronoi cells of the fitted atoms around the true ones
(identifiability.md §5):

* :func:`voronoi_cells` — ``A_j = {i : ‖θ_i − θ*_j‖ ≤ ‖θ_i − θ*_ℓ‖ ∀ℓ ≠ j}``,
  ``θ_i = (β_{1i}, η_i, ν_i)`` (β_0 excluded);
* :func:`d1_loss` — the loss for strongly identifiable experts (2505.10860 eq. 4);
* :func:`d2_loss` — the loss for linear Gaussian experts under a softmax gate (2305.03288 Thm 2),
  with the exponent r̄(|A_j|) supplied by the caller.

Everything is batched over a leading replicate axis R and implemented twice, in numpy and in
torch (differentiable, on any device); one public function per loss dispatches on the array type.
Both losses can be taken raw, after the authors' "last gate at 0" gauge, or as an (upper bound
on the) infimum over the softmax translation ``(β_{1i}, β_{0i}) → (β_{1i} + t_1, β_{0i} + t_0)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Union

import numpy as np
import torch

from moetheory.errors import MoetheoryError

__all__ = [
    "LossInputError",
    "MixingMeasure",
    "voronoi_cells",
    "d1_loss",
    "d2_loss",
]

Array = Union[np.ndarray, torch.Tensor]
Translation = Literal["none", "infimum", "fix-last"]
RBar = Union[Callable[[int], int], Mapping[int, int]]

_TRANSLATIONS = ("none", "infimum", "fix-last")


class LossInputError(MoetheoryError, ValueError):
    """Bad input to a Voronoi loss: inconsistent shapes, non-finite values, k < 1, a missing r̄.

    The message names the offending array (``beta0``, ``beta1``, ``eta``, ``nu``, of the fitted
    or the true measure) or argument and its shape or value.
    """


# ---------------------------------------------------------------------------------------------
# The mixing measure
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MixingMeasure:
    """A softmax-gated mixing measure ``Σ_i exp(β_{0i}) δ_{(β_{1i}, η_i, ν_i)}``, batched.

    Shapes (R = replicates, k = atoms, d = gate dimension, p = expert parameters):

    ========  =============  =================
    field     batched        unbatched
    ========  =============  =================
    beta0     (R, k)         (k,)
    beta1     (R, k, d)      (k, d)
    eta       (R, k, p)      (k, p)
    nu        (R, k) / None  (k,) / None
    ========  =============  =================

    ``eta`` holds the expert parameters flattened (e.g. ``(a_1..a_d, b)`` for a linear expert
    ``aᵀx + b``); ``nu`` the Gaussian variances (must be > 0), or None for a model without them.
    The arrays may be numpy arrays (or nested lists), or torch tensors: if any field is a torch
    tensor, the others are converted to torch on its device (all torch fields must share one
    device) and the common floating dtype (integer tensors → ``torch.get_default_dtype()``);
    otherwise all fields are stored as numpy float64. Tensors are kept as given (no copy, no
    detach), so a loss of a measure built from tensors with ``requires_grad`` is differentiable.

    Raises :class:`LossInputError` for inconsistent shapes, k < 1, R < 1, non-numeric or
    non-finite entries, or a non-positive variance.

    Example:
        >>> import numpy as np
        >>> truth = MixingMeasure(beta0=[0.0], beta1=[[0.0]], eta=[[1.0, 0.0]], nu=[1.0])
        >>> truth.k, truth.dim, truth.n_expert_params, truth.batch_shape
        (1, 1, 2, ())
    """

    beta0: Array
    beta1: Array
    eta: Array
    nu: Array | None = None

    def __post_init__(self) -> None:
        raw = {"beta0": self.beta0, "beta1": self.beta1, "eta": self.eta, "nu": self.nu}
        conv = _convert_fields(raw)
        _check_shapes(conv)
        _check_values(conv)
        for name, value in conv.items():
            object.__setattr__(self, name, value)

    @property
    def is_torch(self) -> bool:
        """True when the fields are torch tensors."""
        return isinstance(self.beta0, torch.Tensor)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """``(R,)`` for a batched measure, ``()`` for an unbatched one."""
        return tuple(self.beta0.shape[:-1])

    @property
    def k(self) -> int:
        """Number of atoms."""
        return int(self.beta0.shape[-1])

    @property
    def dim(self) -> int:
        """Gate dimension d (length of β_1)."""
        return int(self.beta1.shape[-1])

    @property
    def n_expert_params(self) -> int:
        """Number p of expert parameters (length of η)."""
        return int(self.eta.shape[-1])

    def translate(self, t1: Any, t0: Any = 0.0) -> MixingMeasure:
        """The same gates shifted by ``(β_{1i}, β_{0i}) → (β_{1i} + t1, β_{0i} + t0)`` for all i.

        ``t1`` has shape (d,) or (R, d), ``t0`` is a scalar or has shape (R,). The softmax gate
        of the result equals that of ``self`` (the mixing measure does not: its masses are
        multiplied by ``exp(t0)``).
        """
        ops = _TORCH if self.is_torch else _NUMPY
        t1 = ops.like(t1, self.beta1)
        t0 = ops.like(t0, self.beta0)
        if t1.ndim not in (1, 2) or t1.shape[-1] != self.dim:
            raise LossInputError(
                f"t1 has shape {tuple(t1.shape)}; expected (d,) or (R, d) with d = {self.dim}"
            )
        if t0.ndim > 1:
            raise LossInputError(f"t0 has shape {tuple(t0.shape)}; expected () or (R,)")
        beta1 = self.beta1 + t1[..., None, :]
        beta0 = self.beta0 + t0[..., None]
        lead = tuple(beta1.shape[:-1])
        if tuple(beta0.shape) != lead:
            beta0 = ops.broadcast_to(beta0, lead)
        eta = ops.broadcast_to(self.eta, lead + (self.n_expert_params,))
        nu = None if self.nu is None else ops.broadcast_to(self.nu, lead)
        return MixingMeasure(beta0=beta0, beta1=beta1, eta=eta, nu=nu)


def _convert_fields(raw: dict[str, Any]) -> dict[str, Any]:
    ref = next((v for v in raw.values() if isinstance(v, torch.Tensor)), None)
    out: dict[str, Any] = {}
    if ref is None:
        for name, value in raw.items():
            if value is None:
                out[name] = None
                continue
            try:
                arr = np.asarray(value)
            except (ValueError, TypeError) as exc:
                raise LossInputError(f"{name} is not a rectangular numeric array: {exc}") from exc
            if arr.dtype.kind not in "iuf":
                raise LossInputError(
                    f"{name} must be a real numeric array, got dtype {arr.dtype} "
                    f"and shape {arr.shape}"
                )
            out[name] = arr.astype(np.float64)
        return out
    floats = []
    for name, value in raw.items():
        if isinstance(value, torch.Tensor):
            if value.device != ref.device:
                raise LossInputError(
                    f"{name} is on device {value.device} but another field is on {ref.device}"
                )
            if value.dtype == torch.bool or value.is_complex():
                raise LossInputError(
                    f"{name} must be a real numeric tensor, got dtype "
                    f"{value.dtype} and shape {tuple(value.shape)}"
                )
            if value.is_floating_point():
                floats.append(value.dtype)
    dtype = torch.get_default_dtype()
    if floats:
        dtype = floats[0]
        for dt in floats[1:]:
            dtype = torch.promote_types(dtype, dt)
    for name, value in raw.items():
        if value is None:
            out[name] = None
        elif isinstance(value, torch.Tensor):
            out[name] = value if value.dtype == dtype else value.to(dtype)
        else:
            arr = _convert_fields({name: value})[name]
            out[name] = torch.as_tensor(arr, dtype=dtype, device=ref.device)
    return out


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in x.shape)


def _check_shapes(f: dict[str, Any]) -> None:
    b0 = f["beta0"]
    s0 = _shape(b0)
    if len(s0) not in (1, 2):
        raise LossInputError(f"beta0 has shape {s0}; expected (R, k) or, unbatched, (k,)")
    if s0[-1] < 1:
        raise LossInputError(f"beta0 has shape {s0}: the measure needs k >= 1 atoms")
    if len(s0) == 2 and s0[0] < 1:
        raise LossInputError(f"beta0 has shape {s0}: the batch needs R >= 1 replicates")
    lead = "R, k" if len(s0) == 2 else "k"
    for name, extra in (("beta1", "d"), ("eta", "p")):
        s = _shape(f[name])
        if len(s) != len(s0) + 1 or s[:-1] != s0:
            raise LossInputError(
                f"{name} has shape {s}; expected ({lead}, {extra}) with ({lead}) = {s0} from beta0"
            )
    if f["nu"] is not None and _shape(f["nu"]) != s0:
        raise LossInputError(f"nu has shape {_shape(f['nu'])}; expected ({lead}) = {s0} from beta0")


def _check_values(f: dict[str, Any]) -> None:
    for name, value in f.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
        else:
            finite = bool(np.isfinite(value).all())
        if not finite:
            raise LossInputError(f"{name} (shape {_shape(value)}) has non-finite entries")
    nu = f["nu"]
    if nu is not None:
        positive = (
            bool((nu.detach() > 0).all()) if isinstance(nu, torch.Tensor) else bool((nu > 0).all())
        )
        if not positive:
            raise LossInputError(f"nu (shape {_shape(nu)}) holds variances and must be > 0")


# ---------------------------------------------------------------------------------------------
# Array back ends: the same core code runs on numpy and on torch
# ---------------------------------------------------------------------------------------------


class _Ops(Protocol):
    """The array operations the losses run on, implemented by :class:`_NumpyOps` (arrays are
    ``np.ndarray``) and :class:`_TorchOps` (``torch.Tensor``). Arrays are typed ``Any`` here:
    which back end a call uses is decided at run time, and one call never mixes them."""

    exp: Callable[..., Any]
    abs: Callable[..., Any]
    log: Callable[..., Any]
    where: Callable[..., Any]

    def like(self, x: Any, ref: Any) -> Any: ...
    def sum(self, x: Any, axis: int) -> Any: ...
    def min(self, x: Any, axis: int) -> Any: ...
    def argmin(self, x: Any, axis: int) -> Any: ...
    def take(self, x: Any, idx: Any, axis: int) -> Any: ...
    def concat(self, xs: Sequence[Any], axis: int) -> Any: ...
    def stack(self, xs: Sequence[Any], axis: int) -> Any: ...
    def broadcast_to(self, x: Any, shape: tuple[int, ...]) -> Any: ...
    def arange(self, n: int, ref: Any) -> Any: ...
    def eye(self, n: int, ref: Any) -> Any: ...
    def table(self, values: Sequence[float], ref: Any) -> Any: ...
    def zeros_like(self, x: Any) -> Any: ...
    def ones_like(self, x: Any) -> Any: ...
    def to_float(self, x: Any, ref: Any) -> Any: ...
    def to_int(self, x: Any) -> Any: ...
    def max(self, x: Any, axis: int) -> Any: ...
    def ints(self, x: Any) -> list[int]: ...
    def any(self, x: Any) -> bool: ...
    def isnan(self, x: Any) -> Any: ...
    def detach(self, x: Any) -> Any: ...
    def no_grad(self) -> Any: ...


class _NumpyOps:
    exp = staticmethod(np.exp)
    abs = staticmethod(np.abs)
    log = staticmethod(np.log)
    where = staticmethod(np.where)

    @staticmethod
    def like(x: Any, ref: np.ndarray) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            raise LossInputError("a torch tensor was given for a numpy measure")
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def sum(x: np.ndarray, axis: int) -> np.ndarray:
        return x.sum(axis=axis)

    @staticmethod
    def min(x: np.ndarray, axis: int) -> np.ndarray:
        return x.min(axis=axis)

    @staticmethod
    def argmin(x: np.ndarray, axis: int) -> np.ndarray:
        return x.argmin(axis=axis)

    @staticmethod
    def take(x: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
        """``x`` indexed along ``axis`` by ``idx`` (same ndim; other axes broadcast)."""
        return np.take_along_axis(x, idx, axis=axis)

    @staticmethod
    def concat(xs: Sequence[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def stack(xs: Sequence[np.ndarray], axis: int) -> np.ndarray:
        return np.stack(xs, axis=axis)

    @staticmethod
    def broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(x, shape)

    @staticmethod
    def arange(n: int, ref: np.ndarray) -> np.ndarray:
        return np.arange(n)

    @staticmethod
    def eye(n: int, ref: np.ndarray) -> np.ndarray:
        return np.eye(n)

    @staticmethod
    def table(values: Sequence[float], ref: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    @staticmethod
    def zeros_like(x: np.ndarray) -> np.ndarray:
        return np.zeros_like(x)

    @staticmethod
    def ones_like(x: np.ndarray) -> np.ndarray:
        return np.ones_like(x)

    @staticmethod
    def to_float(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return x.astype(ref.dtype)

    @staticmethod
    def to_int(x: np.ndarray) -> np.ndarray:
        return x.astype(np.int64)

    @staticmethod
    def max(x: np.ndarray, axis: int) -> np.ndarray:
        return x.max(axis=axis)

    @staticmethod
    def ints(x: np.ndarray) -> list[int]:
        return [int(v) for v in np.unique(x)]

    @staticmethod
    def any(x: np.ndarray) -> bool:
        return bool(np.any(x))

    @staticmethod
    def isnan(x: np.ndarray) -> np.ndarray:
        return np.isnan(x)

    @staticmethod
    def detach(x: np.ndarray) -> np.ndarray:
        return x

    @staticmethod
    def no_grad() -> Any:
        return _NullContext()


class _TorchOps:
    exp = staticmethod(torch.exp)
    abs = staticmethod(torch.abs)
    log = staticmethod(torch.log)
    where = staticmethod(torch.where)

    @staticmethod
    def like(x: Any, ref: torch.Tensor) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.to(device=ref.device, dtype=ref.dtype)
        return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=ref.dtype, device=ref.device)

    @staticmethod
    def sum(x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.sum(dim=axis)

    @staticmethod
    def min(x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.amin(dim=axis)

    @staticmethod
    def argmin(x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.argmin(dim=axis)

    @staticmethod
    def take(x: torch.Tensor, idx: torch.Tensor, axis: int) -> torch.Tensor:
        axis = axis % x.ndim
        shape = torch.broadcast_shapes(
            tuple(s for a, s in enumerate(x.shape) if a != axis),
            tuple(s for a, s in enumerate(idx.shape) if a != axis),
        )
        shape_x = list(shape)
        shape_x.insert(axis, x.shape[axis])
        shape_i = list(shape)
        shape_i.insert(axis, idx.shape[axis])
        return torch.gather(x.expand(shape_x), axis, idx.expand(shape_i))

    @staticmethod
    def concat(xs: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.cat(list(xs), dim=axis)

    @staticmethod
    def stack(xs: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.stack(list(xs), dim=axis)

    @staticmethod
    def broadcast_to(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return x.expand(shape)

    @staticmethod
    def arange(n: int, ref: torch.Tensor) -> torch.Tensor:
        return torch.arange(n, device=ref.device)

    @staticmethod
    def eye(n: int, ref: torch.Tensor) -> torch.Tensor:
        return torch.eye(n, dtype=ref.dtype, device=ref.device)

    @staticmethod
    def table(values: Sequence[float], ref: torch.Tensor) -> torch.Tensor:
        return torch.tensor(list(values), dtype=ref.dtype, device=ref.device)

    @staticmethod
    def zeros_like(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    @staticmethod
    def ones_like(x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)

    @staticmethod
    def to_float(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return x.to(ref.dtype)

    @staticmethod
    def to_int(x: torch.Tensor) -> torch.Tensor:
        return x.long()

    @staticmethod
    def max(x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.amax(dim=axis)

    @staticmethod
    def ints(x: torch.Tensor) -> list[int]:
        return [int(v) for v in torch.unique(x).tolist()]

    @staticmethod
    def any(x: torch.Tensor) -> bool:
        return bool(torch.any(x))

    @staticmethod
    def isnan(x: torch.Tensor) -> torch.Tensor:
        return torch.isnan(x)

    @staticmethod
    def detach(x: torch.Tensor) -> torch.Tensor:
        return x.detach()

    @staticmethod
    def no_grad() -> Any:
        return torch.no_grad()


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NUMPY: _Ops = _NumpyOps()
_TORCH: _Ops = _TorchOps()


def _spow(ops: _Ops, s: Any, e: Any) -> Any:
    """``s**e`` for ``s >= 0``, ``e > 0``, with value and gradient 0 at ``s == 0`` (no NaN)."""
    pos = s > 0
    base = ops.where(pos, s, ops.ones_like(s))
    return ops.where(pos, base**e, ops.zeros_like(s))


# ---------------------------------------------------------------------------------------------
# Preparing a (fit, truth) pair
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Pair:
    ops: _Ops
    out_shape: tuple[int, ...]
    fb0: Any
    fb1: Any
    feta: Any
    fnu: Any
    tb0: Any
    tb1: Any
    teta: Any
    tnu: Any


def _fields_as(m: MixingMeasure, ref: torch.Tensor | None) -> list[Any]:
    vals = [m.beta0, m.beta1, m.eta, m.nu]
    if ref is None:
        return vals
    return [None if v is None else _TORCH.like(v, ref) for v in vals]


def _prepare(fit: MixingMeasure, truth: MixingMeasure) -> _Pair:
    if not isinstance(fit, MixingMeasure) or not isinstance(truth, MixingMeasure):
        raise LossInputError(
            f"fit and truth must be MixingMeasure instances, got "
            f"{type(fit).__name__} and {type(truth).__name__}"
        )
    if fit.dim != truth.dim:
        raise LossInputError(
            f"fit.beta1 has shape {_shape(fit.beta1)} and truth.beta1 "
            f"{_shape(truth.beta1)}: gate dimensions d differ"
        )
    if fit.n_expert_params != truth.n_expert_params:
        raise LossInputError(
            f"fit.eta has shape {_shape(fit.eta)} and truth.eta "
            f"{_shape(truth.eta)}: numbers of expert parameters p differ"
        )
    if (fit.nu is None) != (truth.nu is None):
        which = "fit" if fit.nu is None else "truth"
        raise LossInputError(f"{which}.nu is None but the other measure has variances nu")
    bf, bt = fit.batch_shape, truth.batch_shape
    if bf and bt and bf != bt and 1 not in (bf[0], bt[0]):
        raise LossInputError(
            f"fit.beta0 has shape {_shape(fit.beta0)} and truth.beta0 "
            f"{_shape(truth.beta0)}: replicate axes R differ"
        )
    out_shape: tuple[int, ...] = ()
    if bf or bt:
        out_shape = (max(bf[0] if bf else 1, bt[0] if bt else 1),)
    ref: torch.Tensor | None = None
    fit_b0, truth_b0 = fit.beta0, truth.beta0
    if isinstance(fit_b0, torch.Tensor) and isinstance(truth_b0, torch.Tensor):  # both is_torch
        if fit_b0.device != truth_b0.device:
            raise LossInputError(f"fit is on device {fit_b0.device}, truth on {truth_b0.device}")
        dtype = torch.promote_types(fit_b0.dtype, truth_b0.dtype)
        ref = fit_b0.to(dtype)
    elif isinstance(fit_b0, torch.Tensor):
        ref = fit_b0
    elif isinstance(truth_b0, torch.Tensor):
        ref = truth_b0
    ops = _TORCH if ref is not None else _NUMPY
    B = out_shape[0] if out_shape else 1

    def batched(m: MixingMeasure) -> list[Any]:
        b0, b1, eta, nu = _fields_as(m, ref)
        if nu is None:
            nu = ops.zeros_like(b0)
        arrs = [b0, b1, eta, nu]
        if not m.batch_shape:
            arrs = [a[None] for a in arrs]
        return [ops.broadcast_to(a, (B,) + tuple(a.shape[1:])) for a in arrs]

    fb0, fb1, feta, fnu = batched(fit)
    tb0, tb1, teta, tnu = batched(truth)
    return _Pair(ops, out_shape, fb0, fb1, feta, fnu, tb0, tb1, teta, tnu)


def _finish(pair: _Pair, value: Any) -> Any:
    return value.reshape(pair.out_shape)


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def _cells(ops: _Ops, fb1: Any, feta: Any, fnu: Any, tb1: Any, teta: Any, tnu: Any) -> Any:
    """Cell index (leading..., k) of each fitted atom; ties → the smallest truth index j."""
    theta = ops.concat([fb1, feta, fnu[..., None]], -1)
    theta_t = ops.concat([tb1, teta, tnu[..., None]], -1)
    diff = ops.detach(theta)[..., :, None, :] - ops.detach(theta_t)[..., None, :, :]
    sq = ops.sum(diff * diff, -1)
    return ops.argmin(sq, -1)  # numpy and torch both return the first minimiser


def voronoi_cells(fit: MixingMeasure, truth: MixingMeasure) -> Array:
    """Voronoi cell of each fitted atom: the index j of its nearest true atom.

    ``A_j = {i : ‖θ_i − θ*_j‖ ≤ ‖θ_i − θ*_ℓ‖ ∀ℓ ≠ j}`` with ``θ_i = (β_{1i}, η_i, ν_i)``
    concatenated (β_0 excluded; ν omitted when the measures have none) and ‖·‖ the Euclidean
    norm. An atom equidistant from several true atoms is put in the cell with the smallest
    index j, so the cells partition the fitted atoms (the set definition lets an atom belong to
    several cells; the authors' code then counts it twice).

    Args:
        fit: fitted measure, k atoms (batched (R, k, ...) or unbatched).
        truth: true measure G*, k* atoms, batched with the same R (or R = 1) or unbatched.

    Returns:
        Integer array (int64) of shape (R, k) — (k,) when both measures are unbatched — with
        entries in ``0..k*-1``; numpy for numpy measures, a torch tensor (on the measures'
        device) when either measure holds tensors.

    Example:
        >>> truth = MixingMeasure([0.0, 0.0], [[0.0], [2.0]], [[0.0], [0.0]])
        >>> fit = MixingMeasure([0.0, 0.0, 0.0], [[0.1], [1.0], [1.9]], [[0.], [0.], [0.]])
        >>> voronoi_cells(fit, truth).tolist()   # the middle atom is a tie: cell 0
        [0, 0, 1]

    Reference: identifiability.md §5; 2505.10860 eq. 4; 2305.03288 §3.
    """
    pair = _prepare(fit, truth)
    ops = pair.ops
    cells = _cells(ops, pair.fb1, pair.feta, pair.fnu, pair.tb1, pair.teta, pair.tnu)
    return cells.reshape(pair.out_shape + (fit.k,))


# ---------------------------------------------------------------------------------------------
# Loss core
# ---------------------------------------------------------------------------------------------


class _Brackets:
    """Per-atom brackets of D1 or D2 (the factor multiplying exp(β_{0i}))."""

    def __init__(
        self,
        kind: str,
        p: int,
        k: int,
        rbar: RBar | None = None,
        slope: list[int] | None = None,
        intercept: int | None = None,
    ):
        self.kind = kind
        self.p = p
        self.k = k
        self.rbar = rbar
        self.slope = slope
        self.intercept = intercept
        self._cache: dict[int, float | None] = {}
        self._errors: dict[int, str] = {}

    def _lookup(self, m: int) -> float | None:
        if m in self._cache:
            return self._cache[m]
        rbar = self.rbar
        if rbar is None:  # only D2 looks r̄ up, and d2_loss requires it
            raise LossInputError("rbar is required for the D2 loss")
        value: Any
        try:
            value = rbar[m] if isinstance(rbar, Mapping) else rbar(m)
        except (
            LookupError,
            ValueError,
            TypeError,
            ArithmeticError,
            NotImplementedError,
            MoetheoryError,
        ) as exc:
            self._cache[m] = None
            self._errors[m] = f"rbar has no value for cell size {m} ({type(exc).__name__}: {exc})"
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            self._cache[m] = None
            self._errors[m] = f"rbar({m}) = {value!r}; r̄ must be a positive integer"
            return None
        self._cache[m] = float(value)
        return self._cache[m]

    def exponents(self, ops: _Ops, count: Any, ref: Any, strict: bool) -> tuple[Any, Any]:
        """Per-atom r̄ (1.0 where unused or missing) and a mask of atoms with a missing r̄."""
        vals = [1.0] * (self.k + 1)
        missing = [0.0] * (self.k + 1)
        for m in ops.ints(count):
            if m < 2:
                continue
            v = self._lookup(m)
            if v is None:
                if strict:
                    raise LossInputError(self._errors[m])
                missing[m] = 1.0
            else:
                vals[m] = v
        return ops.table(vals, ref)[count], ops.table(missing, ref)[count] > 0

    def __call__(
        self, ops: _Ops, d_b1: Any, d_eta: Any, d_nu: Any, count: Any, strict: bool
    ) -> tuple[Any, Any]:
        """Bracket per atom (leading..., k) and a per-atom 'missing r̄' mask (or None)."""
        sq_b1 = ops.sum(d_b1 * d_b1, -1)
        sq_nu = d_nu * d_nu
        single = count == 1
        if self.kind == "d1":
            sq_eta = ops.sum(d_eta * d_eta, -1)
            first = _spow(ops, sq_b1, 0.5) + _spow(ops, sq_eta, 0.5) + _spow(ops, sq_nu, 0.5)
            second = sq_b1 + sq_eta + sq_nu
            return ops.where(single, first, second), None
        assert self.slope is not None and self.intercept is not None
        d_a = d_eta[..., self.slope]
        d_b = d_eta[..., self.intercept]
        sq_a = ops.sum(d_a * d_a, -1)
        sq_b = d_b * d_b
        first = (
            _spow(ops, sq_b1, 0.5)
            + _spow(ops, sq_a, 0.5)
            + _spow(ops, sq_b, 0.5)
            + _spow(ops, sq_nu, 0.5)
        )
        r, missing = self.exponents(ops, count, d_nu, strict)
        second = (
            _spow(ops, sq_b1, r / 2)
            + _spow(ops, sq_b, r / 2)
            + _spow(ops, sq_a, r / 4)
            + _spow(ops, sq_nu, r / 4)
        )
        return ops.where(single, first, second), missing


def _parts(
    ops: _Ops,
    brackets: _Brackets,
    fb0: Any,
    fb1: Any,
    feta: Any,
    fnu: Any,
    tb0: Any,
    tb1: Any,
    teta: Any,
    tnu: Any,
    strict: bool,
) -> tuple[Any, Any, Any, Any]:
    """Cell masses W (…, k*), true masses m (…, k*), C = Σ_i exp(β_0i)·bracket_i (…) and a
    per-row 'missing r̄' mask (or None). All inputs share their leading shape.

    The loss of the fit shifted by t_0 is ``Σ_j |e^{t_0} W_j − m_j| + e^{t_0} C``.
    """
    kstar = tb0.shape[-1]
    cells = _cells(ops, fb1, feta, fnu, tb1, teta, tnu)
    onehot = cells[..., None] == ops.arange(kstar, fb0)
    counts = ops.sum(ops.to_int(onehot), -2)
    count = ops.take(counts, cells, -1)
    idx = cells[..., None]
    d_b1 = fb1 - ops.take(tb1, idx, -2)
    d_eta = feta - ops.take(teta, idx, -2)
    d_nu = fnu - ops.take(tnu, cells, -1)
    bracket, missing = brackets(ops, d_b1, d_eta, d_nu, count, strict)
    w = ops.exp(fb0)
    W = ops.sum(ops.to_float(onehot, fb0) * w[..., None], -2)
    m = ops.exp(tb0)
    C = ops.sum(w * bracket, -1)
    row_missing = None if missing is None else ops.sum(ops.to_float(missing, fb0), -1) > 0
    return W, m, C, row_missing


def _best_scale(ops: _Ops, W: Any, m: Any, C: Any) -> tuple[Any, Any]:
    """Exact min over s = e^{t_0} ∈ [0, ∞) of the convex piecewise-linear ``Σ|sW − m| + sC``.

    The minimum is at a kink ``s = m_j / W_j`` (W_j > 0) or at the limit s → 0 (t_0 → −∞).
    Returns (value, s).
    """
    pos = W > 0
    cand = ops.where(pos, m / ops.where(pos, W, ops.ones_like(W)), ops.zeros_like(W))
    cand = ops.concat([ops.zeros_like(W[..., :1]), cand], -1)  # (…, k*+1)
    vals = ops.sum(ops.abs(cand[..., :, None] * W[..., None, :] - m[..., None, :]), -1) + (
        cand * C[..., None]
    )
    best = ops.argmin(vals, -1)
    s = ops.take(cand, best[..., None], -1)[..., 0]
    return ops.min(vals, -1), s


def _evaluate(
    fit: MixingMeasure, truth: MixingMeasure, brackets: _Brackets, translation: str, max_iter: int
) -> Array:
    if translation not in _TRANSLATIONS:
        raise LossInputError(f"translation={translation!r}; expected one of {_TRANSLATIONS}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 0:
        raise LossInputError(f"max_iter={max_iter!r}; expected a non-negative integer")
    pair = _prepare(fit, truth)
    ops = pair.ops
    fb0, fb1, feta, fnu = pair.fb0, pair.fb1, pair.feta, pair.fnu
    tb0, tb1, teta, tnu = pair.tb0, pair.tb1, pair.teta, pair.tnu
    if translation == "fix-last":
        fb0, fb1 = fb0 - fb0[..., -1:], fb1 - fb1[..., -1:, :]
        tb0, tb1 = tb0 - tb0[..., -1:], tb1 - tb1[..., -1:, :]
    if translation in ("none", "fix-last"):
        W, m, C, _ = _parts(ops, brackets, fb0, fb1, feta, fnu, tb0, tb1, teta, tnu, True)
        return _finish(pair, ops.sum(ops.abs(W - m), -1) + C)
    t1, snap, which = _search_translation(ops, brackets, pair, int(max_iter))
    if snap is not None:
        # Snapped to an alignment t1 = β*_{1j} − β_{1i}: rebuild it inside the graph so the
        # gradient follows the kink where the minimum sits.
        B, k, d = fb1.shape
        align = (tb1[:, None, :, :] - fb1[:, :, None, :]).reshape(B, -1, d)
        t1 = ops.where(snap[:, None], ops.take(align, which[:, None, None], 1)[:, 0], t1)
    W, m, C, _ = _parts(
        ops, brackets, fb0, fb1 + t1[..., None, :], feta, fnu, tb0, tb1, teta, tnu, True
    )
    # exact minimum over t0, with the minimising e^{t0} = m_j / W_j kept in the graph
    value, _ = _best_scale(ops, W, m, C)
    return _finish(pair, value)


def _search_translation(
    ops: _Ops, brackets: _Brackets, pair: _Pair, max_iter: int
) -> tuple[Any, Any, Any]:
    """Best t_1 (B, d) found by batched compass search of g(t_1) = min_{t_0} loss(t_1, t_0).

    Starts: t_1 = 0 and every alignment β*_{1j} − β_{1i} (which includes the fix-last one,
    i = k, j = k*). The search runs without autograd; t_0 is solved exactly by `_best_scale`.
    Returns (t_1, snap, which): where ``snap`` (B,) is true the exact alignment number
    ``which = i·k* + j`` nearest to t_1 is at least as good and replaces it (None when d = 0).
    """
    fb0, fb1, feta, fnu = (ops.detach(x) for x in (pair.fb0, pair.fb1, pair.feta, pair.fnu))
    tb0, tb1, teta, tnu = (ops.detach(x) for x in (pair.tb0, pair.tb1, pair.teta, pair.tnu))
    B, k, d = fb1.shape
    kstar = tb1.shape[1]
    if d == 0:
        return fb1[:, 0, :], None, None
    with ops.no_grad():

        def g(t: Any) -> Any:
            lead = tuple(t.shape[:-1])

            def bc(x: Any) -> Any:
                return ops.broadcast_to(x, lead + tuple(x.shape[1:]))

            W, m, C, miss = _parts(
                ops,
                brackets,
                bc(fb0),
                bc(fb1) + t[..., None, :],
                bc(feta),
                bc(fnu),
                bc(tb0),
                bc(tb1),
                bc(teta),
                bc(tnu),
                False,
            )
            val, _ = _best_scale(ops, W, m, C)
            if miss is not None:
                val = ops.where(miss, math.inf * ops.ones_like(val), val)
            return val

        starts = [ops.zeros_like(fb1[:, 0, :])]
        starts += [
            tb1[:, j, :] - fb1[:, i, :]
            for j in range(kstar - 1, -1, -1)
            for i in range(k - 1, -1, -1)
        ]
        t = ops.stack(starts, 0)  # (S, B, d)
        val = g(t)
        scale = 1.0 + ops.max(ops.abs(ops.concat([fb1, tb1], 1)).reshape(B, -1), -1)
        h = 0.5 * ops.broadcast_to(scale, tuple(val.shape))
        tol = 1e-9 * scale
        eye = ops.eye(d, fb1)
        dirs = ops.concat([eye, -eye], 0)  # (2d, d)
        for _ in range(max_iter):
            cand = t[:, None, :, :] + h[:, None, :, None] * dirs[None, :, None, :]
            cv = g(cand)  # (S, 2d, B)
            best = ops.argmin(cv, 1)  # (S, B)
            best_val = ops.min(cv, 1)
            improve = best_val < val
            moved = ops.take(cand, best[:, None, :, None], 1)[:, 0]
            t = ops.where(improve[..., None], moved, t)
            val = ops.where(improve, best_val, val)
            h = ops.where(improve, h, 0.5 * h)
            if not ops.any(h > tol):
                break
        pick = ops.argmin(val, 0)  # (B,)
        t_best = ops.take(t, pick[None, :, None], 0)[0]
        v_best = ops.min(val, 0)
        # The minimum often sits at a kink ‖Δβ_{1ij}‖ = 0: try the nearest exact alignment.
        align = (tb1[:, None, :, :] - fb1[:, :, None, :]).reshape(B, k * kstar, d)
        dist = ops.sum((align - t_best[:, None, :]) ** 2, -1)
        which = ops.argmin(dist, -1)  # (B,) index i·k* + j
        snapped = ops.take(align, which[:, None, None], 1)[:, 0]
        snap = g(snapped[None])[0] <= v_best
        return t_best, snap, which


# ---------------------------------------------------------------------------------------------
# Public losses
# ---------------------------------------------------------------------------------------------


def d1_loss(
    fit: MixingMeasure,
    truth: MixingMeasure,
    *,
    translation: Translation = "none",
    max_iter: int = 200,
) -> Array:
    """Voronoi loss D1 for strongly identifiable experts (2505.10860 eq. 4), batched.

    With cells ``A_j`` from :func:`voronoi_cells`, ``Δβ_{1ij} = β_{1i} − β*_{1j}``,
    ``Δη_{ij} = η_i − η*_j``, ``Δν_{ij} = ν_i − ν*_j`` and Euclidean norms::

        D1(G, G*) = Σ_j |Σ_{i∈A_j} exp(β_{0i}) − exp(β*_{0j})|
                  + Σ_{j:|A_j|=1} Σ_{i∈A_j} exp(β_{0i}) (‖Δβ_{1ij}‖ + ‖Δη_{ij}‖ + |Δν_{ij}|)
                  + Σ_{j:|A_j|>1} Σ_{i∈A_j} exp(β_{0i}) (‖Δβ_{1ij}‖² + ‖Δη_{ij}‖² + |Δν_{ij}|²)

    (ν terms dropped when the measures have no variances; empty cells contribute only their
    mass term ``exp(β*_{0j})``). Read by the rule of identifiability.md §5: a loss of order
    n^{-1/2} gives exact-specified parameters at n^{-1/2} and over-specified ones at n^{-1/4}.

    Args:
        fit: fitted measure G (k atoms), batched over R replicates or unbatched.
        truth: true measure G* (k* atoms), unbatched or batched with the same R (or R = 1).
        translation: how the softmax translation ``(β_{1i}, β_{0i}) → (β_{1i} + t_1,
            β_{0i} + t_0)`` (all atoms of the *fitted* measure; it leaves the gates unchanged)
            is handled:

            * ``"none"`` — the raw loss of the given parameters;
            * ``"fix-last"`` — the authors' code convention: both measures are put in the gauge
              where their *last* atom has ``β_1 = 0, β_0 = 0`` (fit shifted by minus its last
              gate, truth likewise — a no-op when, as in the papers' setups, the truth already
              has its last gate at 0). Meaningful when the last fitted atom estimates the last
              true one;
            * ``"infimum"`` — ``inf_{t ∈ ℝ^{d+1}}`` of the loss of the shifted fit, as in the
              papers' definitions. For fixed t_1 the minimisation over t_0 is exact (the loss
              is convex piecewise-linear in ``e^{t_0}``; its infimum may be the limit
              ``t_0 → −∞``, value ``Σ_j exp(β*_{0j})``); t_1 is searched numerically by a
              batched compass (pattern) search from t_1 = 0 and from every alignment
              ``β*_{1j} − β_{1i}`` (including the fix-last one), halving the step down to
              1e-9·scale or ``max_iter`` iterations. The loss is not convex in t_1 (the cells
              move with t_1), so the result is the best value found: an **upper bound** on the
              infimum, never above the ``"none"`` value (nor the ``"fix-last"`` one when the
              truth's last gate is 0). If the exact alignment nearest to the t_1 found is at
              least as good, it replaces it (minima often sit at such kinks ‖Δβ_{1ij}‖ = 0).
              In torch the search runs without autograd; the loss is then evaluated at the
              result with the minimising ``e^{t_0} = exp(β*_{0j}) / Σ_{i∈A_j} exp(β_{0i})`` and
              a snapped alignment kept in the graph, other t_1 as constants: the gradient of
              the infimum wherever its minimiser is locally stable (Danskin's theorem).
        max_iter: iteration cap of the compass search (``"infimum"`` only).

    Returns:
        Array of shape (R,) — () when both measures are unbatched — numpy for numpy measures,
        otherwise a torch tensor on the measures' device, differentiable in the fitted (and true)
        parameters wherever the loss is (cells are piecewise constant; norms get gradient 0 at
        zero, never NaN).

    Example:
        >>> truth = MixingMeasure([0.0], [[0.0]], [[0.0]])
        >>> half = float(np.log(0.5))
        >>> fit = MixingMeasure([half, half], [[0.1], [-0.1]], [[0.0], [0.0]])
        >>> round(float(d1_loss(fit, truth)), 12)   # 0.5·0.01 + 0.5·0.01, second order
        0.01

    Reference: Nguyen et al., arXiv 2505.10860, eq. (4); identifiability.md §5.
    """
    return _evaluate(fit, truth, _Brackets("d1", fit.n_expert_params, fit.k), translation, max_iter)


def _expert_split(
    p: int, slope_index: Sequence[int] | int | slice | None, intercept_index: int
) -> tuple[list[int], int]:
    if isinstance(intercept_index, bool) or not isinstance(intercept_index, numbers.Integral):
        raise LossInputError(f"intercept_index={intercept_index!r}; expected an integer")
    if not -p <= intercept_index < p:
        raise LossInputError(
            f"intercept_index={intercept_index} is out of range for eta with "
            f"p = {p} expert parameters"
        )
    b = int(intercept_index) % p
    if slope_index is None:
        slope = [i for i in range(p) if i != b]
    else:
        if isinstance(slope_index, slice):
            raw = list(range(p))[slope_index]
        elif isinstance(slope_index, numbers.Integral):
            raw = [int(slope_index)]
        else:
            raw = list(slope_index)
        slope = []
        for i in raw:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not -p <= i < p:
                raise LossInputError(
                    f"slope_index entry {i!r} is out of range for eta with "
                    f"p = {p} expert parameters"
                )
            slope.append(int(i) % p)
    if len(set(slope)) != len(slope) or b in slope:
        raise LossInputError(
            f"slope_index {slope} repeats an index or contains the intercept_index {b}"
        )
    if sorted(slope + [b]) != list(range(p)):
        raise LossInputError(
            f"slope_index {slope} and intercept_index {b} do not cover eta's "
            f"p = {p} components: D2 is defined for linear experts aᵀx + b"
        )
    return slope, b


def d2_loss(
    fit: MixingMeasure,
    truth: MixingMeasure,
    *,
    rbar: RBar,
    slope_index: Sequence[int] | int | slice | None = None,
    intercept_index: int = -1,
    translation: Translation = "none",
    max_iter: int = 200,
) -> Array:
    """Voronoi loss D2 for linear Gaussian experts under a softmax gate (2305.03288), batched.

    The expert of atom i is ``N(y | a_iᵀx + b_i, ν_i)``, with ``η_i`` holding a_i at
    ``slope_index`` and b_i at ``intercept_index``. With cells ``A_j`` from
    :func:`voronoi_cells` (on the whole θ = (β_1, η, ν)) and ``r̄_j = rbar(|A_j|)``::

        D2(G, G*) = Σ_j |Σ_{i∈A_j} exp(β_{0i}) − exp(β*_{0j})|
                  + Σ_{j:|A_j|=1} Σ_{i∈A_j} exp(β_{0i})
                        (‖Δβ_{1ij}‖ + ‖Δa_{ij}‖ + |Δb_{ij}| + |Δν_{ij}|)
                  + Σ_{j:|A_j|>1} Σ_{i∈A_j} exp(β_{0i})
                        (‖Δβ_{1ij}‖^{r̄_j} + |Δb_{ij}|^{r̄_j} + ‖Δa_{ij}‖^{r̄_j/2} + |Δν_{ij}|^{r̄_j/2})

    The first-order bracket separates a and b as in the paper's and the authors' code
    (``‖Δa‖ + |Δb|``, not D1's ``‖Δη‖``; the two differ by at most a factor √2). By
    identifiability.md §5, β_1 and b are then estimated at n^{-1/(2r̄)} and a, ν at n^{-1/r̄}.

    Args:
        fit, truth: as in :func:`d1_loss` (``nu`` may be None: the ν terms are dropped).
        rbar: r̄ as a function of the cell size M ≥ 2 — a mapping ``{M: r̄(M)}`` or a callable
            ``M -> r̄(M)`` (e.g. the r̄ solver). Only the sizes that occur are looked up; a
            missing size (KeyError/LookupError, ValueError, NotImplementedError, … from the
            callable) or a value that is not a positive integer raises
            :class:`LossInputError`. No r̄ values are built in.
        slope_index: the components of η holding the slope a (a sequence of indices, one index
            or a slice); default: every component except ``intercept_index``.
        intercept_index: the component of η holding the intercept b; default the last one, for
            η = (a_1, …, a_d, b). Slope and intercept must partition η's components.
        translation, max_iter: as in :func:`d1_loss`. With ``"infimum"``, translations at which
            a cell size without r̄ appears are skipped (treated as +∞) during the search.

    Returns:
        Array of shape (R,) (or ()), numpy or torch as in :func:`d1_loss`.

    Example:
        >>> truth = MixingMeasure([0.0], [[0.0]], [[0.0, 0.0]], [1.0])
        >>> half = float(np.log(0.5))
        >>> fit = MixingMeasure([half, half], [[0.5], [-0.5]], [[0.0, 0.5], [0.0, -0.5]],
        ...                     [1.0, 1.0])
        >>> float(d2_loss(fit, truth, rbar={2: 4}))   # 2 · 0.5·(|Δβ_1|⁴ + |Δb|⁴) = 2 · 0.0625
        0.125

    Reference: Nguyen, Nguyen, Ho, arXiv 2305.03288, Thm 2 and Lemma 1 (r̄); authors' code
    (github Trung-TinNGUYEN/CRPE-SGaME); identifiability.md §4–§5.
    """
    if not (callable(rbar) or isinstance(rbar, Mapping)):
        raise LossInputError(
            f"rbar must be a mapping or a callable from cell size to r̄, got {type(rbar).__name__}"
        )
    p = fit.n_expert_params
    if p < 2:
        raise LossInputError(
            f"fit.eta has shape {_shape(fit.eta)}: a linear expert needs a "
            f"slope and an intercept (p >= 2)"
        )
    slope, b = _expert_split(p, slope_index, intercept_index)
    return _evaluate(fit, truth, _Brackets("d2", p, fit.k, rbar, slope, b), translation, max_iter)
