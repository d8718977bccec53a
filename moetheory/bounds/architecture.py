"""Architecture of a hard-routed mixture of (P)ReLU MLP experts, and its exact parameter counts.

An :class:`Architecture` is plain data: input dimension d, number of experts E, the experts'
hidden widths (depth J = number of hidden layers), activation, router kind and output
dimension. :meth:`Architecture.counts` gives the exact parameter counts; the torch module
realised from it (:func:`moetheory.layers.realise`) has exactly these ``numel`` sums, and
:meth:`Architecture.from_torch` reads an architecture back from a torch model.

Accounting (reference approximation_vc.md §1, package definitions [math])::

    total  = all router parameters + Σ_k parameters of expert k
    active = router parameters read while routing one input + parameters of the chosen
             expert(s)                       (the router stays resident; VRAM-loaded = active)

Router kinds (approximation_vc.md §3):

============  ===================================  ============================================
router        total parameters                     read per input (active)
============  ===================================  ============================================
``none``      0 (E = 1: a single network)          0
``grid``      Σ_i (K_i − 1) thresholds             Σ_i ⌈log₂ K_i⌉ (binary search per axis)
``prototype`` E·d prototype coordinates            E·d (nearest prototype, flat search)
``tree``      d·Σ_{l=1}^{s} 2^{dl}, E = 2^{ds}     s·2^d·d (nearest of 2^d children per level)
``linear``    E·(d + 1) (scores Wx + b, top-k)     E·(d + 1), and k experts are evaluated
============  ===================================  ============================================

Example::

    >>> a = Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype")
    >>> a.counts().per_expert, a.counts().router, a.counts().active
    (337, 8, 345)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from moetheory.bounds.monotone import floor_root
from moetheory.errors import SizeError

ROUTERS = ("none", "grid", "prototype", "tree", "linear")
ACTIVATIONS = ("relu", "prelu")
SLOPES = ("trainable", "fixed")
MAX_GRID_AXES = 1000
"""Most axes of a grid router (it keeps one set of thresholds per axis)."""


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum``, or a :class:`SizeError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SizeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise SizeError(f"{name} must be an integer ≥ {minimum}, got {value}")
    return value


def integer_root(n: int, d: int) -> int | None:
    """The integer K with K**d == n, or None.

    >>> integer_root(64, 3), integer_root(5, 10**12)
    (4, None)
    """
    if n.bit_length() <= d:  # n < 2^d: K ≤ 1 (and 2^d may be too large to compute)
        return n if n <= 1 else None
    k = floor_root(n, d)
    return k if k**d == n else None


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
        return {"total": self.total, "router": self.router, "per_expert": self.per_expert,
                "experts_total": self.experts_total, "router_active": self.router_active,
                "active": self.active}


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
        for name, label in (("dim", "dim"), ("experts", "experts"),
                            ("output_dim", "output dim"), ("top_k", "top-k")):
            object.__setattr__(self, name, check_count(label, getattr(self, name)))
        object.__setattr__(self, "hidden", tuple(check_count("width", w) for w in self.hidden))
        if self.activation not in ACTIVATIONS:
            raise SizeError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                            f"got {self.activation!r}")
        if self.slopes not in SLOPES:
            raise SizeError(f"slopes must be one of {', '.join(SLOPES)}, got {self.slopes!r}")
        if self.activation == "relu":  # slopes describe PReLU only: one ReLU architecture
            object.__setattr__(self, "slopes", "trainable")
        if self.router not in ROUTERS:
            raise SizeError(f"router must be one of {', '.join(ROUTERS)}, got {self.router!r}")
        if self.top_k > 1 and self.router != "linear":
            raise SizeError(f"top-k = {self.top_k} needs the linear router; {self.router} routes "
                            "each input to one expert")
        if self.top_k > self.experts:
            raise SizeError(f"top-k = {self.top_k} exceeds the number of experts {self.experts}")
        if self.router == "none" and self.experts != 1:
            raise SizeError(f"router none means a single network; experts = {self.experts}")
        if self.router == "grid":
            object.__setattr__(self, "grid", self._grid_cells())
        elif self.grid is not None:
            raise SizeError(f"grid cells are given only with the grid router, not {self.router}")
        if self.router == "tree":
            self.tree_depth()  # validates E = 2^{ds}

    def _grid_cells(self) -> tuple[int, ...]:
        if self.dim > MAX_GRID_AXES:
            raise SizeError(f"a grid router keeps thresholds per axis: at most {MAX_GRID_AXES} "
                            f"axes, got dim = {self.dim}")
        if self.grid is None:
            k = integer_root(self.experts, self.dim)
            if k is None:
                raise SizeError(f"experts = {self.experts} is not a {self.dim}-th power; a grid "
                                "router needs K per axis with K^d = E (or give the cells per axis)")
            return (k,) * self.dim
        cells = tuple(check_count("grid cells per axis", k) for k in self.grid)
        if len(cells) != self.dim:
            raise SizeError(f"grid has {len(cells)} axes, dim is {self.dim}")
        if math.prod(cells) != self.experts:
            raise SizeError(f"grid cells {'x'.join(map(str, cells))} make {math.prod(cells)} "
                            f"experts, not {self.experts}")
        return cells

    @property
    def depth(self) -> int:
        """J, the number of hidden layers of an expert."""
        return len(self.hidden)

    def tree_depth(self) -> int:
        """s with E = 2^{d·s} (tree router), or a :class:`SizeError`."""
        s, rem = divmod(self.experts.bit_length() - 1, self.dim)
        if rem or 1 << (self.dim * s) != self.experts:
            raise SizeError(f"experts = {self.experts} is not 2^(d·s) for d = {self.dim}; a "
                            "2^d-ary tree router needs E = 2^(d·s)")
        return s

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

    def router_parameters(self) -> tuple[int, int]:
        """(total, read per input) router parameters; see the module table."""
        d, e = self.dim, self.experts
        if self.router == "none":
            return 0, 0
        if self.router == "grid":
            cells = self.grid or ()
            return (sum(k - 1 for k in cells),
                    sum((k - 1).bit_length() for k in cells))  # ⌈log₂ K⌉
        if self.router == "prototype":
            return e * d, e * d
        if self.router == "tree":
            s = self.tree_depth()
            return d * sum(1 << (d * level) for level in range(1, s + 1)), s * (1 << d) * d
        return e * (d + 1), e * (d + 1)

    def counts(self) -> ParameterCounts:
        """Exact dense parameter counts (total, router, per expert, active per input)."""
        per_expert = self.expert_parameters()
        router, router_active = self.router_parameters()
        return ParameterCounts(total=router + self.experts * per_expert, router=router,
                               per_expert=per_expert, experts_total=self.experts * per_expert,
                               router_active=router_active,
                               active=router_active + self.top_k * per_expert)

    def to_json(self) -> dict:
        return {"dim": self.dim, "experts": self.experts, "hidden": list(self.hidden),
                "depth": self.depth, "activation": self.activation,
                "slopes": self.slopes if self.activation == "prelu" else None,
                "router": self.router, "top_k": self.top_k, "output_dim": self.output_dim,
                "grid": list(self.grid) if self.grid is not None else None}

    @classmethod
    def from_torch(cls, module) -> Architecture:
        """The architecture of a torch model (see :func:`moetheory.layers.describe`)."""
        from moetheory.layers.describe import describe

        return describe(module)
