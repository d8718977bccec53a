"""The base class of architecture router kinds: what one kind declares, in one place.

A router sends each input x ∈ ℝ^d of a mixture of E experts to one expert (or mixes the top-k).
A :class:`RouterKind` declares everything the rest of the package needs to know about one way
of routing, so that no module outside the kind's own file ever names it (reference
approximation_vc.md §1 for the accounting, §3 for the routers, §5 for growth functions):

* **arguments** — :meth:`~RouterKind.check` validates the kind's own arguments of an
  :class:`~moetheory.bounds.architecture.Architecture` and returns the fields it normalises;
  ``fields`` names the optional architecture fields it reads (e.g. ``grid``), ``mixes`` says
  whether it mixes the top-k experts (top_k > 1 allowed);
* **counts** — :meth:`~RouterKind.parameters`: (total, read per input), so that
  ``total = router + E·per_expert`` and ``active = router read + top_k·per_expert``;
* **VC facts** — :meth:`~RouterKind.growth`, a bound log₂ Π_route(m) on the number of ways it
  splits m points (a :class:`~moetheory.bounds.growth.Growth`), its closed form
  :meth:`~RouterKind.growth_formula` in the size symbols of :mod:`moetheory.bounds.sizes`, and
  ``affine_scores`` (routes by the argmax of E scores affine in x: the closed-form cross-check
  of :mod:`moetheory.bounds.vc` applies);
* **torch module** — :meth:`~RouterKind.module` (torch imported only when it is called) and
  :meth:`~RouterKind.shapes`, its parameter names and shapes: Σ numel = total;
* **approximation plan** (``approximates``: it can route x to the cell min(⌊K·x_i⌋, K − 1) of
  the K^d-cell grid of [0,1]^d) — :meth:`~RouterKind.round_cells` (the cells per axis it can
  make), :meth:`~RouterKind.cell_fields` and :meth:`~RouterKind.cell_parameters` (its numbers
  for those cells), :meth:`~RouterKind.route_array` (numpy routing with given numbers,
  independent of torch), :meth:`~RouterKind.intervals` (d = 1 cells) and
  :meth:`~RouterKind.fields_of` (fields read back from its numbers); ``flat`` when routing
  compares each input with every expert;
* **documentation** — ``summary``, ``total_rule`` and ``read_rule``, one line each for the
  table :func:`~moetheory.bounds.routers.registry.kinds_table`.

A new kind is one such class and one :func:`~moetheory.bounds.routers.registry.register` call;
:func:`~moetheory.bounds.routers.contract.check_router_kind` checks it.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> arch = Architecture(dim=2, experts=4, hidden=(3,), router="prototype")
    >>> arch.kind.parameters(arch), arch.kind.shapes(arch)
    ((8, 8), {'prototypes': (4, 2)})
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import sympy as sp

from moetheory.bounds.growth import Growth
from moetheory.errors import SizeError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from moetheory.bounds.architecture import Architecture


class RouterKind(ABC):
    """One kind of router (module docstring). Subclasses set the class attributes and
    implement the abstract methods; the approximation plan and the numpy routing are optional
    (their defaults refuse with a :class:`SizeError` naming the kind)."""

    name: ClassVar[str]
    """Registry key, the ``router`` of an architecture and a CLI choice."""
    summary: ClassVar[str]
    """How it routes, one line."""
    total_rule: ClassVar[str]
    """Its total parameter count, one line (docs table)."""
    read_rule: ClassVar[str]
    """Parameters read while routing one input, one line (docs table)."""
    fields: ClassVar[tuple[str, ...]] = ()
    """Optional architecture fields it reads; the others must be left unset."""
    mixes: ClassVar[bool] = False
    """Mixes the top-k experts (softmax of their scores; the module has ``top(x)``)."""
    affine_scores: ClassVar[bool] = False
    """Routes by the argmax of E scores affine in x (nearest prototype included)."""
    approximates: ClassVar[bool] = False
    """Builds the K^d-cell grid partition of [0,1]^d for every K (constructions)."""
    flat: ClassVar[bool] = False
    """Routing compares each input with every expert."""

    def check(self, arch: Architecture) -> dict[str, Any]:
        """Validate the kind's own arguments of ``arch`` (a :class:`SizeError` naming the bad
        one) and return the fields it normalises (none by default)."""
        return {}

    @abstractmethod
    def parameters(self, arch: Architecture) -> tuple[int, int]:
        """(total, read per input) router parameters of ``arch``."""

    @abstractmethod
    def growth(self, arch: Architecture) -> Growth:
        """A bound on log₂ Π_route(m), the number of ways the router can split m points."""

    @abstractmethod
    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        """log₂ Π_route at ``points`` in the size symbols (Warren regime where it applies)."""

    def formula_values(self, arch: Architecture) -> dict[sp.Symbol, int] | None:
        """Values of the kind's own symbols in :meth:`growth_formula` for ``arch`` (none by
        default), or None when the formula does not describe ``arch``."""
        return {}

    @abstractmethod
    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        """Parameter name → shape of :meth:`module` (``arch``); Σ numel = total."""

    @abstractmethod
    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        """The torch router of ``arch`` with its default initialisation: ``route(x)`` gives
        the expert index per row of x (n, d); a mixing router also has ``top(x)``, the
        (indices, scores) of the top-k experts."""

    def round_cells(self, cells: int) -> int:
        """The least number of cells per axis ≥ ``cells`` the kind can make."""
        return cells

    def cell_fields(self, cells: int, dim: int) -> dict[str, Any]:
        """Architecture fields of the router of the ``cells``^``dim`` grid cells (none by
        default), or a :class:`SizeError` when it cannot make them."""
        return {}

    def cell_parameters(self, cells: int, dim: int) -> tuple[np.ndarray, ...]:
        """The router's numbers routing x to the cell min(⌊K·x_i⌋, K − 1), row-major."""
        raise SizeError(f"the {self.name} router builds no cell partition")

    def route_array(self, params: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        """Expert index per row of ``x`` (n, d) with the router's numbers ``params`` (in the
        order of :meth:`shapes`), in numpy."""
        raise SizeError(f"router {self.name!r} has no data evaluation here")

    def intervals(self, params: tuple[np.ndarray, ...]) -> list[tuple[float, float]]:
        """For d = 1: the interval of [0, 1] routed to each expert (empty ones as (a, a))."""
        raise SizeError(f"router {self.name!r} has no routing intervals here")

    def fields_of(self, params: tuple[np.ndarray, ...]) -> dict[str, Any]:
        """Architecture fields read from the router's numbers (none by default)."""
        return {}

    def __repr__(self) -> str:
        return f"<router kind {self.name}>"
