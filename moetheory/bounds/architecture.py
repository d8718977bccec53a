"""Architecture of a hard-routed mixture of (P)ReLU MLP experts, and its exact parameter counts.

An :class:`Architecture` is plain data: input dimension d, number of experts E, the experts'
hidden widths (depth J = number of hidden layers), activation, router kind (by name) and output
dimension. :meth:`Architecture.counts` gives the exact parameter counts; the torch module
realised from it (:func:`moetheory.layers.realise`) has exactly these ``numel`` sums, and
:func:`moetheory.layers.describe` reads an architecture back from a torch model.

Accounting (reference approximation_vc.md §1, package definitions [math])::

    total  = all router parameters + Σ_k parameters of expert k
    active = router parameters read while routing one input + parameters of the chosen
             expert(s)                       (the router stays resident; VRAM-loaded = active)

The router's own counts, argument checks and everything else about it come from its kind
(:attr:`Architecture.kind`, looked up by name in :mod:`moetheory.bounds.routers`;
approximation_vc.md §3). The built-in kinds (``kinds_table()``)::

    =============  ================================  ===========================================
    router         total parameters                  read per input (active)
    =============  ================================  ===========================================
    ``none``       0 (E = 1: a single network)       0
    ``grid``       Σ_i (K_i − 1) thresholds          Σ_i ⌈log₂ K_i⌉ (binary search per axis)
    ``prototype``  E·d prototype coordinates         E·d (nearest prototype, flat search)
    ``tree``       d·Σ_{l=1}^{s} 2^{dl}, E = 2^{ds}  s·2^d·d (nearest of 2^d children per level)
    ``linear``     E·(d + 1) (scores Wx + b, top-k)  E·(d + 1), and k experts are evaluated
    =============  ================================  ===========================================

Example::

    >>> a = Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype")
    >>> a.counts().per_expert, a.counts().router, a.counts().active
    (337, 8, 345)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.routers.registry import ROUTER_KINDS, router_kind
from moetheory.bounds.sizes import check_count
from moetheory.errors import SizeError

ACTIVATIONS = ("relu", "prelu")
SLOPES = ("trainable", "fixed")
KIND_FIELDS = {"grid": "grid cells"}
"""The optional fields a router kind may read (``RouterKind.fields``), with how errors name
them; a kind that does not read one refuses it."""


@dataclass(frozen=True)
class ParameterCounts:
    """Exact parameter counts of an :class:`Architecture` (dense: every stored entry)."""

    total: int
    router: int
    per_expert: int
    experts_total: int
    router_active: int
    active: int

    def to_json(self) -> dict:
        return {
            "total": self.total,
            "router": self.router,
            "per_expert": self.per_expert,
            "experts_total": self.experts_total,
            "router_active": self.router_active,
            "active": self.active,
        }


@dataclass(frozen=True)
class Architecture:
    """A hard-routed mixture of E (P)ReLU MLP experts on ℝ^d.

    ``hidden`` are the experts' hidden widths (depth J = ``len(hidden)``; J = 0 is an affine
    expert). ``activation`` is ``relu`` or ``prelu``; PReLU slopes are per hidden unit, either
    trainable (counted as parameters) or fixed (buffers, not counted). ``grid`` gives the
    cells per axis of a grid router (product E; default K per axis with K^d = E). ``top_k``
    is the number of experts a linear router mixes (softmax over the top-k scores).
    """

    dim: int
    experts: int
    hidden: tuple[int, ...]
    activation: str = "relu"
    router: str = "prototype"
    slopes: str = "trainable"
    top_k: int = 1
    output_dim: int = 1
    grid: tuple[int, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        for name, label in (
            ("dim", "dim"),
            ("experts", "experts"),
            ("output_dim", "output dim"),
            ("top_k", "top-k"),
        ):
            object.__setattr__(self, name, check_count(label, getattr(self, name)))
        object.__setattr__(self, "hidden", tuple(check_count("width", w) for w in self.hidden))
        if self.activation not in ACTIVATIONS:
            raise SizeError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.slopes not in SLOPES:
            raise SizeError(f"slopes must be one of {', '.join(SLOPES)}, got {self.slopes!r}")
        if self.activation == "relu":  # slopes describe PReLU only: one ReLU architecture
            object.__setattr__(self, "slopes", "trainable")
        kind = router_kind(self.router)
        if self.top_k > 1 and not kind.mixes:
            mixing = " or ".join(k.name for k in ROUTER_KINDS.values() if k.mixes)
            raise SizeError(
                f"top-k = {self.top_k} needs the {mixing} router; {self.router} "
                "routes each input to one expert"
            )
        if self.top_k > self.experts:
            raise SizeError(f"top-k = {self.top_k} exceeds the number of experts {self.experts}")
        for name, label in KIND_FIELDS.items():
            if getattr(self, name) is not None and name not in kind.fields:
                readers = " or ".join(k.name for k in ROUTER_KINDS.values() if name in k.fields)
                raise SizeError(
                    f"{label} are given only with the {readers} router, not {self.router}"
                )
        for name, value in kind.check(self).items():
            object.__setattr__(self, name, value)

    @property
    def kind(self) -> RouterKind:
        """The router kind of this architecture (:mod:`moetheory.bounds.routers`)."""
        return router_kind(self.router)

    @property
    def depth(self) -> int:
        """J, the number of hidden layers of an expert."""
        return len(self.hidden)

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(fan-in, fan-out) of each affine layer of one expert."""
        widths = [self.dim, *self.hidden, self.output_dim]
        return list(zip(widths[:-1], widths[1:], strict=True))

    def expert_parameters(self) -> int:
        """Parameters of one expert: Σ (fan-in + 1)·fan-out, plus one slope per hidden unit
        when PReLU slopes are trainable."""
        affine = sum((i + 1) * o for i, o in self.layer_sizes())
        slopes = sum(self.hidden) if self.trainable_slopes else 0
        return affine + slopes

    @property
    def trainable_slopes(self) -> bool:
        return self.activation == "prelu" and self.slopes == "trainable"

    def counts(self) -> ParameterCounts:
        """Exact dense parameter counts (total, router, per expert, active per input)."""
        per_expert = self.expert_parameters()
        router, router_active = self.kind.parameters(self)
        return ParameterCounts(
            total=router + self.experts * per_expert,
            router=router,
            per_expert=per_expert,
            experts_total=self.experts * per_expert,
            router_active=router_active,
            active=router_active + self.top_k * per_expert,
        )

    def to_json(self) -> dict:
        return {
            "dim": self.dim,
            "experts": self.experts,
            "hidden": list(self.hidden),
            "depth": self.depth,
            "activation": self.activation,
            "slopes": self.slopes if self.activation == "prelu" else None,
            "router": self.router,
            "top_k": self.top_k,
            "output_dim": self.output_dim,
            "grid": list(self.grid) if self.grid is not None else None,
        }
