"""Read an :class:`~moetheory.bounds.architecture.Architecture` back from a torch module.

Supported modules:

* an :class:`~moetheory.layers.moe.MoEMLP` — its own architecture, once its parameter shapes
  are checked against it;
* an ``nn.Sequential`` Linear, act, Linear, …, Linear (a bare ``nn.Linear`` is the J = 0
  case) with act ``nn.ReLU`` or ``nn.PReLU(width)`` — one slope per hidden unit, trainable, or
  fixed when the slope tensor has ``requires_grad=False`` — and every Linear with a bias:
  a single network (E = 1, router ``none``);
* a module with ``experts`` (an ``nn.ModuleList`` of such Sequentials, all alike) and an
  ``nn.Linear(d, E)`` ``router`` or ``gate``: a linear router, top-k from the module's
  ``top_k`` or ``k`` attribute (default 1).

In each case every parameter of the module must be covered by the description, and the
counted ones must sum to ``counts().total`` (fixed PReLU slopes are not counted).

Example::

    >>> from torch import nn
    >>> describe(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))).hidden
    (8,)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from moetheory.bounds.architecture import Architecture
from moetheory.errors import SizeError
from moetheory.layers.moe import MoEMLP, parameter_shapes

SUPPORTED = (
    "supported: a moetheory MoEMLP, an nn.Sequential of nn.Linear layers separated by "
    "nn.ReLU or per-channel nn.PReLU, or a module with `experts` (an nn.ModuleList of "
    "such Sequentials) and an nn.Linear `router` or `gate`"
)


@dataclass(frozen=True)
class Reading:
    """An architecture read from a module, with the parameters it counts and the parameters
    it reads as fixed (uncounted) PReLU slopes."""

    arch: Architecture
    counted: list[nn.Parameter]
    fixed: list[nn.Parameter]


def describe(module: nn.Module) -> Architecture:
    """The :class:`Architecture` of a torch module (see the module docstring), or a
    :class:`SizeError` saying why it has none.

    Example::

        >>> from moetheory.layers import realise
        >>> a = Architecture(dim=2, experts=4, hidden=(3,), router="tree")
        >>> describe(realise(a)) == a
        True
    """
    reading = read(module)
    check_covered(module, reading)
    return reading.arch


def read(module: nn.Module) -> Reading:
    """Dispatch on the module kind; the parameters are not yet checked for coverage."""
    if isinstance(module, MoEMLP):
        return read_moe(module)
    if isinstance(module, (nn.Sequential, nn.Linear)):
        return read_mlp(module)
    if isinstance(getattr(module, "experts", None), nn.ModuleList):
        return read_gated(module)
    raise SizeError(f"cannot describe a {type(module).__name__}; {SUPPORTED}")


def read_moe(module: MoEMLP) -> Reading:
    """An MoEMLP's own architecture, after checking its parameter names and shapes."""
    arch = module.architecture
    expected = parameter_shapes(arch)
    actual = {name: tuple(p.shape) for name, p in module.named_parameters()}
    wrong = sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )
    if wrong:
        raise SizeError(
            "MoEMLP parameters no longer match its architecture: "
            + ", ".join(
                f"{name} is {actual.get(name)}, expected {expected.get(name)}" for name in wrong
            )
        )
    return Reading(arch, list(module.parameters()), [])


def read_mlp(module: nn.Sequential | nn.Linear) -> Reading:
    """A single (P)ReLU MLP: ``nn.Sequential`` Linear, act, …, Linear, or a bare Linear."""
    layers: list[nn.Module] = [module] if isinstance(module, nn.Linear) else list(module)
    linears: list[nn.Linear] = []
    acts: list[nn.ReLU | nn.PReLU] = []
    for position, layer in enumerate(layers):
        if position % 2 == 0 and isinstance(layer, nn.Linear):
            linears.append(layer)
        elif position % 2 == 1 and isinstance(layer, (nn.ReLU, nn.PReLU)):
            acts.append(layer)
        else:
            wanted = (nn.Linear,) if position % 2 == 0 else (nn.ReLU, nn.PReLU)
            raise SizeError(
                f"layer {position} is {type(layer).__name__}; expected "
                f"{' or '.join(f'nn.{w.__name__}' for w in wanted)} (an MLP "
                "alternates nn.Linear and nn.ReLU/nn.PReLU)"
            )
    if len(layers) % 2 == 0:
        raise SizeError("an MLP must end with an nn.Linear layer")
    check_linears(linears)
    hidden = tuple(layer.out_features for layer in linears[:-1])
    kinds = {
        activation_kind(act, width, 2 * j + 1)
        for j, (act, width) in enumerate(zip(acts, hidden, strict=True))
    }
    if len(kinds) > 1:
        raise SizeError(
            f"mixed activations {sorted(kinds)}; an architecture has one "
            "activation (relu, prelu with trainable or with fixed slopes)"
        )
    activation, slopes = kinds.pop() if kinds else ("relu", "trainable")
    arch = Architecture(
        dim=linears[0].in_features,
        experts=1,
        hidden=hidden,
        activation=activation,
        router="none",
        slopes=slopes,
        output_dim=linears[-1].out_features,
    )
    prelu = [act.weight for act in acts if isinstance(act, nn.PReLU)]
    counted = [p for layer in linears for p in layer.parameters()]
    if arch.trainable_slopes:
        return Reading(arch, counted + prelu, [])
    return Reading(arch, counted, prelu)


def check_linears(linears: list[nn.Linear]) -> None:
    """Every layer has a bias and each fan-in is the previous fan-out."""
    for j, layer in enumerate(linears):
        if layer.bias is None:
            raise SizeError(
                f"Linear layer {j} has no bias; expert layers are affine "
                "(weights and bias are counted)"
            )
    for j, (a, b) in enumerate(zip(linears[:-1], linears[1:], strict=True)):
        if a.out_features != b.in_features:
            raise SizeError(
                f"Linear layer {j} has {a.out_features} outputs but layer {j + 1} "
                f"takes {b.in_features} inputs"
            )


def activation_kind(act: nn.ReLU | nn.PReLU, width: int, position: int) -> tuple[str, str]:
    """(activation, slopes) of an activation layer after ``width`` hidden units."""
    if isinstance(act, nn.ReLU):
        return "relu", "trainable"
    slopes = act.weight.numel()
    if slopes == 1 and width > 1:
        raise SizeError(
            f"layer {position}: nn.PReLU with one slope shared by {width} units is "
            f"not representable (one slope per hidden unit); use nn.PReLU({width})"
        )
    if slopes != width:
        raise SizeError(f"layer {position}: nn.PReLU has {slopes} slopes for {width} units")
    return "prelu", "trainable" if act.weight.requires_grad else "fixed"


def read_gated(module: nn.Module) -> Reading:
    """A ModuleList of alike MLP experts behind an ``nn.Linear(d, E)`` router or gate."""
    experts_list = getattr(module, "experts", None)
    if not isinstance(experts_list, nn.ModuleList):
        raise SizeError(
            f"`experts` of a {type(module).__name__} is not an nn.ModuleList; {SUPPORTED}"
        )
    readings = []
    for k, expert in enumerate(experts_list):
        if not isinstance(expert, (nn.Sequential, nn.Linear)):
            raise SizeError(f"expert {k} is a {type(expert).__name__}; {SUPPORTED}")
        readings.append(read_mlp(expert))
    if not readings:
        raise SizeError("`experts` is an empty ModuleList")
    first = readings[0].arch
    for k, reading in enumerate(readings):
        if reading.arch != first:
            raise SizeError(
                f"expert {k} differs from expert 0: {reading.arch.to_json()} vs {first.to_json()}"
            )
    gate = find_gate(module)
    experts = len(readings)
    if gate.bias is None or (gate.in_features, gate.out_features) != (first.dim, experts):
        raise SizeError(
            f"the gate must be nn.Linear({first.dim}, {experts}) with a bias, got "
            f"nn.Linear({gate.in_features}, {gate.out_features}, "
            f"bias={gate.bias is not None})"
        )
    top_k = getattr(module, "top_k", getattr(module, "k", 1))
    arch = dataclasses.replace(first, experts=experts, router="linear", top_k=top_k)
    counted = [p for r in readings for p in r.counted] + list(gate.parameters())
    return Reading(arch, counted, [p for r in readings for p in r.fixed])


def find_gate(module: nn.Module) -> nn.Linear:
    """The module's ``router`` or, failing that, ``gate``, which must be an ``nn.Linear``."""
    for name in ("router", "gate"):
        candidate = getattr(module, name, None)
        if isinstance(candidate, nn.Linear):
            return candidate
    raise SizeError(
        f"{type(module).__name__} has experts but no nn.Linear `router` or `gate`; {SUPPORTED}"
    )


def check_covered(module: nn.Module, reading: Reading) -> None:
    """Every parameter is counted or a fixed slope, and the counted ones (each once) sum to
    the architecture's ``counts().total``."""
    covered = {id(p) for p in reading.counted + reading.fixed}
    extra = [
        f"{name} ({p.numel()})" for name, p in module.named_parameters() if id(p) not in covered
    ]
    if extra:
        raise SizeError(
            f"{type(module).__name__} has parameters outside the description "
            f"{reading.arch.to_json()}: {', '.join(extra)}"
        )
    counted = sum(p.numel() for p in {id(p): p for p in reading.counted}.values())
    total = reading.arch.counts().total
    if counted != total:
        raise SizeError(
            f"the architecture counts {total} parameters but the module has "
            f"{counted} (shared or tied parameters?)"
        )
