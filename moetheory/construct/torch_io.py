"""A :class:`~moetheory.construct.network.Network` as a torch ``nn.Sequential``, and back.

:func:`to_torch` realises f(x) = A_{J+1} σ_J(… σ_1(A_1 x + b_1) …) + b_{J+1} as Linear, act,
Linear, …, Linear (act ``nn.ReLU`` or ``nn.PReLU(width)``), whose parameters number exactly
``net.counts().dense`` and which :func:`moetheory.layers.describe` reads as
``net.architecture()``. :func:`from_torch` reads such a module back in float64; it also skips
``nn.Identity``, merges Linear layers with no activation between them,

    A_2(A_1 x + b_1) + b_2 = (A_2 A_1) x + (A_2 b_1 + b_2),

reads a Linear without bias as bias 0 and a single-slope ``nn.PReLU()`` as that slope on every
unit.

Example::

    >>> from moetheory.construct.network import identity
    >>> module = to_torch(identity(2, depth=1))
    >>> [type(layer).__name__ for layer in module]
    ['Linear', 'PReLU', 'Linear']
    >>> from_torch(module).same_as(identity(2, depth=1))
    True
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from moetheory.construct.network import Network
from moetheory.errors import SizeError

READABLE = (
    "an nn.Sequential of nn.Linear layers separated by nn.ReLU, nn.PReLU or nn.Identity, "
    "or a bare nn.Linear"
)


def to_torch(net: Network, dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """Linear, act, Linear, …, Linear with the network's values copied in (a network without
    hidden layers gives a Sequential holding one Linear); act is ``nn.ReLU()`` or
    ``nn.PReLU(width)`` holding the slopes.

    Example::

        >>> from moetheory.construct.network import affine
        >>> module = to_torch(affine([[1.0, 2.0]], [0.5]))
        >>> module(torch.tensor([[1.0, 1.0]], dtype=torch.float64)).tolist()
        [[3.5]]
    """
    layers: list[nn.Module] = []
    for j, (weight, bias) in enumerate(zip(net.weights, net.biases, strict=True)):
        if j:
            if net.slopes is None:
                layers.append(nn.ReLU())
            else:
                act = nn.PReLU(num_parameters=net.widths[j - 1], dtype=dtype)
                copy_into(act.weight, net.slopes[j - 1])
                layers.append(act)
        linear = nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
        copy_into(linear.weight, weight)
        copy_into(linear.bias, bias)
        layers.append(linear)
    return nn.Sequential(*layers)


def copy_into(parameter: torch.Tensor, values: np.ndarray) -> None:
    """Overwrite ``parameter`` with ``values`` (converted to its dtype)."""
    with torch.no_grad():
        parameter.copy_(torch.from_numpy(values.copy()))


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float64 numpy copy of a tensor."""
    return tensor.detach().to(device="cpu", dtype=torch.float64).numpy().copy()


def from_torch(module: nn.Module) -> Network:
    """The network of an ``nn.Sequential`` (or bare ``nn.Linear``) of Linear layers separated
    by ReLU, PReLU (one slope per unit, or one shared slope) or Identity, read in float64.
    Mixed ReLU and PReLU layers give a PReLU network with slopes 0 for the ReLU layers.

    Example::

        >>> net = from_torch(nn.Sequential(nn.Linear(2, 3, bias=False), nn.PReLU(),
        ...                                nn.Identity(), nn.Linear(3, 1)))
        >>> net.widths, net.activation, net.slopes[0].tolist(), net.biases[0].tolist()
        ((3,), 'prelu', [0.25, 0.25, 0.25], [0.0, 0.0, 0.0])
    """
    layers: list[nn.Module]
    if isinstance(module, nn.Linear):
        layers = [module]
    elif isinstance(module, nn.Sequential):
        layers = list(module)
    else:
        raise SizeError(f"cannot read a {type(module).__name__} as a network; expected {READABLE}")
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    slopes: list[np.ndarray | None] = []
    last_activation = ""  # "position, kind" of the latest activation
    pending: tuple[np.ndarray, np.ndarray] | None = None  # affine map since the last activation
    for position, layer in enumerate(layers):
        if isinstance(layer, nn.Linear):
            weight = as_numpy(layer.weight)
            bias = np.zeros(weight.shape[0]) if layer.bias is None else as_numpy(layer.bias)
            fan_in = (
                pending[0].shape[0]
                if pending is not None
                else (weights[-1].shape[0] if weights else weight.shape[1])
            )
            if weight.shape[1] != fan_in:
                raise SizeError(
                    f"layer {position} is nn.Linear({weight.shape[1]}, "
                    f"{weight.shape[0]}) but receives {fan_in} features"
                )
            pending = (
                (weight, bias)
                if pending is None
                else (weight @ pending[0], weight @ pending[1] + bias)
            )
        elif isinstance(layer, (nn.ReLU, nn.PReLU)):
            if pending is None:
                raise SizeError(
                    f"layer {position} is nn.{type(layer).__name__} with no "
                    "nn.Linear before it (since the start or the last activation)"
                )
            weights.append(pending[0])
            biases.append(pending[1])
            slopes.append(read_slopes(layer, pending[0].shape[0], position))
            last_activation = f"{position}, nn.{type(layer).__name__}"
            pending = None
        elif not isinstance(layer, nn.Identity):
            raise SizeError(
                f"layer {position} is {type(layer).__name__}; expected nn.Linear, "
                "nn.ReLU, nn.PReLU or nn.Identity"
            )
    if pending is None:
        raise SizeError(
            "the module has no nn.Linear layer"
            if not weights
            else f"the module ends with an activation (layer {last_activation}); the "
            "output layer must be an nn.Linear"
        )
    weights.append(pending[0])
    biases.append(pending[1])
    if all(a is None for a in slopes):
        return Network(tuple(weights), tuple(biases))
    filled = [np.zeros(len(b)) if a is None else a for a, b in zip(slopes, biases, strict=False)]
    return Network(tuple(weights), tuple(biases), tuple(filled))


def read_slopes(act: nn.ReLU | nn.PReLU, width: int, position: int) -> np.ndarray | None:
    """None for ``nn.ReLU``; the (width,) slopes of an ``nn.PReLU`` with ``width`` slopes or
    one shared slope."""
    if isinstance(act, nn.ReLU):
        return None
    slopes = as_numpy(act.weight).reshape(-1)
    if slopes.size == 1:
        return np.full(width, slopes[0])
    if slopes.size != width:
        raise SizeError(f"layer {position} is nn.PReLU with {slopes.size} slopes for {width} units")
    return slopes
