"""(P)ReLU MLPs as plain data: exact evaluation, exact parameter counts and combinators.

A :class:`Network` with J hidden layers is the function

    f(x) = A_{J+1} σ_J(A_J σ_{J−1}(… σ_1(A_1 x + b_1) …) + b_J) + b_{J+1},

A_j of shape (out_j, in_j), with σ_j = ReLU, or PReLU_a(z) = z (z ≥ 0), a·z (z < 0) with one
slope a per hidden unit (a = 0 is ReLU, a = 1 the identity). Its dense parameter count is
Σ_j (in_j + 1)·out_j, plus Σ widths for PReLU (the slopes are trainable parameters).

The combinators build networks from networks by multiplying and stacking matrices only, so
with dyadic entries and inputs every result is exact in float64:

========================================  =================================================
``affine(A, b)``                          x ↦ A x + b (no hidden layer)
``identity(w, J)``                        x ↦ x on ℝ^w, J hidden layers of PReLU slope 1
``compose(g, f)``                         g ∘ f, depth J_g + J_f (adjacent affine maps merge)
``pad(f, J)``                             f with J hidden layers (identity layers appended)
``parallel(f_1, …, f_n)``                 x ↦ (f_1(x), …, f_n(x)), or, with separate inputs,
                                          (x_1, …, x_n) ↦ (f_1(x_1), …, f_n(x_n))
``affine_combination(f, c, c_0)``         x ↦ Σ_i c_i·f_i(x) + c_0
========================================  =================================================

:func:`moetheory.construct.torch_io.to_torch` realises a network as a torch module with
exactly ``counts().dense`` parameters.

Example::

    >>> absolute = Network(weights=([[1.0], [-1.0]], [[1.0, 1.0]]), biases=([0, 0], [0]))
    >>> absolute.evaluate([[-2.0], [3.0]]).tolist()
    [[2.0], [3.0]]
    >>> compose(affine([[2.0]], [1.0]), absolute)([-3.0]).tolist()
    [7.0]
    >>> absolute.counts()
    NetworkCounts(dense=7, nonzero=4, slopes=0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from moetheory.bounds.architecture import Architecture, check_count
from moetheory.errors import SizeError


def frozen_array(name: str, value: object, ndim: int) -> np.ndarray:
    """``value`` as a read-only float64 copy with ``ndim`` non-empty axes and finite entries,
    or a :class:`SizeError` naming it."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SizeError(f"{name} is not a numeric array: {exc}") from exc
    if array.ndim != ndim or 0 in array.shape:
        raise SizeError(f"{name} must be a non-empty {ndim}-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise SizeError(f"{name} has non-finite entries")
    array.setflags(write=False)
    return array


def vector(name: str, value: object, size: int) -> np.ndarray:
    """``value`` as a read-only finite float64 vector of shape (size,)."""
    array = frozen_array(name, value, 1)
    if array.shape != (size,):
        raise SizeError(f"{name} has shape {array.shape}, expected ({size},)")
    return array


def items(name: str, value: object) -> tuple:
    """The entries of a sequence of arrays, or a :class:`SizeError` naming it."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise SizeError(f"{name} must be a sequence of arrays, got {type(value).__name__}")
    return tuple(value)


@dataclass(frozen=True)
class NetworkCounts:
    """Exact parameter counts of a :class:`Network`: ``dense`` = Σ_j (in_j + 1)·out_j (+ Σ
    widths for PReLU), ``nonzero`` = non-zero stored entries, ``slopes`` = PReLU slopes."""

    dense: int
    nonzero: int
    slopes: int


@dataclass(frozen=True, eq=False)
class Network:
    """f(x) = A_{J+1} σ_J(… σ_1(A_1 x + b_1) …) + b_{J+1}: J hidden layers, affine output.

    ``weights[j − 1]`` is A_j of shape (out_j, in_j) and ``biases[j − 1]`` is b_j, j = 1..J+1
    (layers are numbered from 1 in error messages, as in the formula). ``slopes`` is None when
    every hidden activation is ReLU, otherwise one vector (width_j,) per hidden layer:
    PReLU_a(z) = z for z ≥ 0, a·z for z < 0. Arrays are stored as read-only float64 copies. A
    network without hidden layers has no activation: its ``slopes`` are normalised to None.

    Example::

        >>> net = Network(weights=([[1.0, -1.0]], [[2.0]]), biases=([0.0], [1.0]),
        ...               slopes=([0.5],))
        >>> net.evaluate([[0.0, 2.0], [3.0, 1.0]]).tolist()
        [[-1.0], [5.0]]
        >>> net.depth, net.widths, net.activation
        (1, (1,), 'prelu')
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    slopes: tuple[np.ndarray, ...] | None = None

    def __post_init__(self) -> None:
        weights = tuple(
            frozen_array(f"layer {j} weight", w, 2)
            for j, w in enumerate(items("weights", self.weights), 1)
        )
        biases = tuple(
            frozen_array(f"layer {j} bias", b, 1)
            for j, b in enumerate(items("biases", self.biases), 1)
        )
        if not weights:
            raise SizeError("a network needs at least one (output) layer, got 0 weights")
        if len(biases) != len(weights):
            raise SizeError(f"{len(biases)} biases for {len(weights)} layers")
        for j, (w, b) in enumerate(zip(weights, biases, strict=True), 1):
            if b.shape != w.shape[:1]:
                raise SizeError(
                    f"layer {j} bias has shape {b.shape}; its weight {w.shape} "
                    f"needs ({w.shape[0]},)"
                )
        for j in range(1, len(weights)):
            if weights[j].shape[1] != weights[j - 1].shape[0]:
                raise SizeError(
                    f"layer {j + 1} weight {weights[j].shape} takes "
                    f"{weights[j].shape[1]} inputs but layer {j} weight "
                    f"{weights[j - 1].shape} gives {weights[j - 1].shape[0]}"
                )
        slopes = None
        if self.slopes is not None:
            slopes = tuple(
                frozen_array(f"layer {j} slopes", a, 1)
                for j, a in enumerate(items("slopes", self.slopes), 1)
            )
            if len(slopes) != len(weights) - 1:
                raise SizeError(f"{len(slopes)} slope vectors for {len(weights) - 1} hidden layers")
            for j, (a, w) in enumerate(zip(slopes, weights, strict=False), 1):
                if a.shape != w.shape[:1]:
                    raise SizeError(
                        f"layer {j} slopes have shape {a.shape}; its width is {w.shape[0]}"
                    )
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "biases", biases)
        object.__setattr__(self, "slopes", slopes or None)

    @property
    def input_dim(self) -> int:
        """d, the fan-in of the first layer."""
        return self.weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        """m, the fan-out of the output layer."""
        return self.weights[-1].shape[0]

    @property
    def depth(self) -> int:
        """J, the number of hidden layers."""
        return len(self.weights) - 1

    @property
    def widths(self) -> tuple[int, ...]:
        """The hidden widths (out_1, …, out_J)."""
        return tuple(w.shape[0] for w in self.weights[:-1])

    @property
    def activation(self) -> str:
        """``relu`` (no slopes) or ``prelu``."""
        return "relu" if self.slopes is None else "prelu"

    def evaluate(self, x: object) -> np.ndarray:
        """f at the rows of ``x`` (n, d) as an (n, m) float64 array; a vector (d,) gives (m,).

        Example::

            >>> identity(2, depth=1).evaluate([-1.0, 2.0]).tolist()
            [-1.0, 2.0]
        """
        try:
            points = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SizeError(f"input is not a numeric array: {exc}") from exc
        if points.ndim not in (1, 2) or points.shape[-1] != self.input_dim:
            raise SizeError(
                f"input has shape {points.shape}; expected (n, {self.input_dim}) "
                f"or ({self.input_dim},)"
            )
        h = np.atleast_2d(points)
        for j, (w, b) in enumerate(zip(self.weights[:-1], self.biases[:-1], strict=True)):
            h = h @ w.T + b
            h = (
                np.maximum(h, 0.0)
                if self.slopes is None
                else np.where(h >= 0, h, self.slopes[j] * h)
            )
        out = h @ self.weights[-1].T + self.biases[-1]
        return out[0] if points.ndim == 1 else out

    __call__ = evaluate

    def counts(self) -> NetworkCounts:
        """Dense = Σ_j (in_j + 1)·out_j (+ Σ widths for PReLU), non-zero entries, slopes.

        Example::

            >>> identity(3, depth=2).counts()
            NetworkCounts(dense=42, nonzero=15, slopes=6)
        """
        slopes = sum(a.size for a in self.slopes or ())
        dense = sum((w.shape[1] + 1) * w.shape[0] for w in self.weights) + slopes
        arrays = (*self.weights, *self.biases, *(self.slopes or ()))
        return NetworkCounts(
            dense=dense, nonzero=sum(int(np.count_nonzero(a)) for a in arrays), slopes=slopes
        )

    def architecture(self) -> Architecture:
        """The single-network (E = 1, router ``none``) architecture, trainable slopes; its
        ``counts().total`` is ``counts().dense``.

        Example::

            >>> identity(2, depth=1).architecture().counts().total
            14
        """
        return Architecture(
            dim=self.input_dim,
            experts=1,
            hidden=self.widths,
            activation=self.activation,
            router="none",
            slopes="trainable",
            output_dim=self.output_dim,
        )

    def with_slopes(self) -> Network:
        """The same function as a PReLU network: ReLU layers get slopes 0 (a PReLU network and
        a network without hidden layers are returned unchanged).

        Example::

            >>> relu = Network(([[1.0]], [[1.0]]), ([0.0], [0.0]))
            >>> [a.tolist() for a in relu.with_slopes().slopes]
            [[0.0]]
        """
        if self.slopes is not None or self.depth == 0:
            return self
        return Network(self.weights, self.biases, hidden_slopes(self))

    def shifted(self, offset: object) -> Network:
        """x ↦ f(x − offset): the first bias becomes b_1 − A_1·offset.

        Example::

            >>> affine([[2.0]], [1.0]).shifted([3.0])([3.0]).tolist()
            [1.0]
        """
        offset = vector("offset", offset, self.input_dim)
        first = self.biases[0] - self.weights[0] @ offset
        return Network(self.weights, (first, *self.biases[1:]), self.slopes)

    def same_as(self, other: object) -> bool:
        """Same activation kind and exactly equal weights, biases and slopes.

        Example::

            >>> relu = Network(([[1.0]], [[1.0]]), ([0.0], [0.0]))
            >>> relu.same_as(relu.with_slopes()), relu.same_as(relu.shifted([0.0]))
            (False, True)
        """
        if (
            not isinstance(other, Network)
            or self.activation != other.activation
            or self.depth != other.depth
        ):
            return False
        mine = (*self.weights, *self.biases, *(self.slopes or ()))
        theirs = (*other.weights, *other.biases, *(other.slopes or ()))
        return all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))

    def to_json(self) -> dict:
        """Weights, biases and slopes (or None) as nested lists; :meth:`from_json` inverts it
        exactly.

        Example::

            >>> affine([[1.5, -2.0]], [0.25]).to_json()
            {'weights': [[[1.5, -2.0]]], 'biases': [[0.25]], 'slopes': None}
        """
        return {
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "slopes": None if self.slopes is None else [a.tolist() for a in self.slopes],
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Network:
        """The network of :meth:`to_json`'s dict.

        Example::

            >>> net = identity(2, depth=1)
            >>> Network.from_json(net.to_json()).same_as(net)
            True
        """
        if not isinstance(data, Mapping):
            raise SizeError(f"a network's JSON must be an object, got {type(data).__name__}")
        missing = [key for key in ("weights", "biases") if key not in data]
        if missing:
            raise SizeError(f"a network's JSON lacks {', '.join(missing)}")
        return cls(data["weights"], data["biases"], data.get("slopes"))


def hidden_slopes(net: Network) -> tuple[np.ndarray, ...]:
    """The slope vector of each hidden layer, zeros for ReLU layers."""
    if net.slopes is not None:
        return net.slopes
    return tuple(np.zeros(width) for width in net.widths)


def block_diagonal(blocks: list[np.ndarray]) -> np.ndarray:
    """diag(B_1, …, B_n): the blocks along the diagonal, zeros elsewhere."""
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)))
    row = col = 0
    for b in blocks:
        out[row : row + b.shape[0], col : col + b.shape[1]] = b
        row, col = row + b.shape[0], col + b.shape[1]
    return out


def affine(weight: object, bias: object) -> Network:
    """x ↦ A x + b, a network without hidden layers (A of shape (m, d), b of shape (m,)).

    Example::

        >>> affine([[1.0, 1.0]], [0.5])([1.0, 2.0]).tolist()
        [3.5]
    """
    return Network(
        (frozen_array("layer 1 weight", weight, 2),), (frozen_array("layer 1 bias", bias, 1),)
    )


def identity(width: int, depth: int = 0) -> Network:
    """x ↦ x on ℝ^width. Depth 0 is the affine map I x + 0; depth J ≥ 1 has J hidden layers of
    ``width`` units, A_j = I, b_j = 0 and PReLU slopes 1 (PReLU_1(z) = z).

    Example::

        >>> identity(2, depth=2).widths, identity(2, depth=2).activation
        ((2, 2), 'prelu')
    """
    width = check_count("width", width)
    depth = check_count("depth", depth, minimum=0)
    eye, zero = np.eye(width), np.zeros(width)
    return Network(
        (eye,) * (depth + 1), (zero,) * (depth + 1), (np.ones(width),) * depth if depth else None
    )


def compose(outer: Network, inner: Network) -> Network:
    """outer ∘ inner: inner's output map and outer's first map merge into one affine layer,

        A = A^outer_1 A^inner_{J+1},   b = A^outer_1 b^inner_{J+1} + b^outer_1,

    so depth = J_outer + J_inner and widths = inner.widths + outer.widths. The result is PReLU
    if either part is (ReLU layers get slopes 0).

    Example::

        >>> relu = Network(([[1.0]], [[1.0]]), ([0.0], [0.0]))
        >>> twice = compose(relu, affine([[-1.0]], [1.0]))
        >>> twice.widths, twice(np.array([[0.0], [3.0]])).tolist()
        ((1,), [[1.0], [0.0]])
    """
    if outer.input_dim != inner.output_dim:
        raise SizeError(
            f"cannot compose: the outer network takes {outer.input_dim} inputs, "
            f"the inner one gives {inner.output_dim} outputs"
        )
    first = outer.weights[0]
    merged = first @ inner.weights[-1]
    bias = first @ inner.biases[-1] + outer.biases[0]
    slopes = None
    if "prelu" in (outer.activation, inner.activation):
        slopes = hidden_slopes(inner) + hidden_slopes(outer)
    return Network(
        (*inner.weights[:-1], merged, *outer.weights[1:]),
        (*inner.biases[:-1], bias, *outer.biases[1:]),
        slopes,
    )


def pad(net: Network, depth: int) -> Network:
    """The same function with ``depth`` ≥ J hidden layers: compose(identity(m, depth − J), net).
    The first added hidden layer is the old output map (slopes 1), later ones are identities
    of width m, and the output layer is the identity; the result is PReLU. ``depth`` = J
    returns ``net`` itself.

    Example::

        >>> padded = pad(affine([[1.0, -1.0]], [0.0]), 2)
        >>> padded.widths, padded([1.0, 3.0]).tolist()
        ((1, 1), [-2.0])
    """
    depth = check_count("depth", depth, minimum=0)
    if depth < net.depth:
        raise SizeError(f"cannot pad a network of depth {net.depth} to depth {depth}")
    if depth == net.depth:
        return net
    return compose(identity(net.output_dim, depth - net.depth), net)


def parallel(*nets: Network, shared_input: bool = True) -> Network:
    """Networks side by side, padded (:func:`pad`) to the largest depth J first:

        shared_input:      x ↦ (f_1(x), …, f_n(x)),     A_1 = [A_1^(1); …; A_1^(n)] stacked
        separate inputs:   (x_1, …, x_n) ↦ (f_1(x_1), …, f_n(x_n)),   A_1 = diag(A_1^(i))

    and A_j = diag(A_j^(1), …, A_j^(n)) for j ≥ 2, biases and slopes concatenated (widths
    add up). The result is PReLU if any padded part is (ReLU parts get slopes 0).

    Example::

        >>> both = parallel(affine([[1.0]], [0.0]), affine([[2.0]], [1.0]), shared_input=False)
        >>> both([3.0, 4.0]).tolist()
        [3.0, 9.0]
    """
    if not nets:
        raise SizeError("parallel needs at least one network, got 0")
    if shared_input and len({net.input_dim for net in nets}) > 1:
        raise SizeError(
            "parallel with a shared input needs equal input dims, got "
            f"{[net.input_dim for net in nets]}"
        )
    depth = max(net.depth for net in nets)
    padded = [pad(net, depth) for net in nets]
    firsts = [net.weights[0] for net in padded]
    weights = [np.vstack(firsts) if shared_input else block_diagonal(firsts)]
    weights += [block_diagonal([net.weights[j] for net in padded]) for j in range(1, depth + 1)]
    biases = [np.concatenate([net.biases[j] for net in padded]) for j in range(depth + 1)]
    slopes: tuple[np.ndarray, ...] | None = None
    if any(net.slopes is not None for net in padded):
        parts = [hidden_slopes(net) for net in padded]
        slopes = tuple(np.concatenate([part[j] for part in parts]) for j in range(depth))
    return Network(tuple(weights), tuple(biases), slopes)


def affine_combination(
    nets: Iterable[Network], coefficients: object, constant: npt.ArrayLike = 0.0
) -> Network:
    """x ↦ Σ_i c_i·f_i(x) + c_0 for networks of one input dim and one output dim m
    (``constant`` c_0 a scalar or an (m,) vector):

        compose(affine([c_1·I_m, …, c_n·I_m], c_0), parallel(f_1, …, f_n)).

    Example::

        >>> f, g = affine([[1.0]], [0.0]), affine([[0.0]], [1.0])
        >>> affine_combination([f, g], [2.0, -1.0], 0.5)([3.0]).tolist()
        [5.5]
    """
    nets = tuple(nets)
    if not nets:
        raise SizeError("affine_combination needs at least one network, got 0")
    coefficients = vector("coefficients", coefficients, len(nets))
    m = nets[0].output_dim
    if any(net.output_dim != m for net in nets):
        raise SizeError(
            f"affine_combination needs equal output dims, got {[net.output_dim for net in nets]}"
        )
    try:
        scalar = np.ndim(constant) == 0
    except ValueError as exc:  # a ragged nesting
        raise SizeError(f"constant is not a numeric array: {exc}") from exc
    if scalar:
        constant = np.full(m, constant)
    combine = np.hstack([c * np.eye(m) for c in coefficients])
    return compose(affine(combine, vector("constant", constant, m)), parallel(*nets))
