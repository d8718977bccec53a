"""Torch realisations of hard-routed mixtures of (P)ReLU MLP experts with exact parameter counts.

:func:`realise` builds the module of an :class:`~moetheory.bounds.architecture.Architecture`,
:func:`describe` reads the architecture back from a torch module, and
:func:`count_parameters` gives total / nonzero / active counts.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> arch = Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype")
    >>> describe(realise(arch)) == arch
    True
"""

from moetheory.layers.describe import describe
from moetheory.layers.moe import MoEMLP, count_parameters, realise

__all__ = ["MoEMLP", "count_parameters", "describe", "realise"]
