"""Torch realisations of hard-routed mixtures of (P)ReLU MLP experts with exact parameter counts,
and MoE-library style layers (issue 18): Soft MoE, top-K sparse MoE and momentum SMoE stacks.

:func:`realise` builds the module of an :class:`~moetheory.bounds.architecture.Architecture`,
:func:`describe` reads the architecture back from a torch module, and
:func:`count_parameters` gives total / nonzero / active counts.
:class:`SoftMoE` (:mod:`~moetheory.layers.softmoe`), :class:`SparseMoE`
(:mod:`~moetheory.layers.sparse`) and :class:`MomentumSMoE`, :class:`AdamSMoE`,
:class:`RobustMomentumSMoE` (:mod:`~moetheory.layers.momentum`) return ``(y, aux)`` with aux a
dict of router logits, dispatch / combine weights and load statistics.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> arch = Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype")
    >>> describe(realise(arch)) == arch
    True
"""

from moetheory.layers.describe import describe
from moetheory.layers.moe import MoEMLP, count_parameters, realise
from moetheory.layers.momentum import AdamSMoE, MomentumSMoE, RobustMomentumSMoE
from moetheory.layers.softmoe import SoftMoE
from moetheory.layers.sparse import SparseMoE

__all__ = [
    "AdamSMoE",
    "MoEMLP",
    "MomentumSMoE",
    "RobustMomentumSMoE",
    "SoftMoE",
    "SparseMoE",
    "count_parameters",
    "describe",
    "realise",
]
