"""Constructive approximators: (P)ReLU networks as data, mixtures of experts built for an
α-Hölder target and an accuracy ε, realised as torch modules, with verified error.

This package's construction (reference approximation_vc.md §3), not the unread one of
Kratsios et al. 2402.03460.

Example::

    >>> v = construct_and_verify("abs-power", alpha=1, dim=2, eps="0.1", points=4000)
    >>> v.within_eps, v.construction.num_experts
    (True, 225)
"""

from moetheory.construct.approximate import Construction, approximate, baseline
from moetheory.construct.check import Verification, construct_and_verify, verify_construction
from moetheory.construct.module import PReLUMoE
from moetheory.construct.network import (
    Network,
    affine,
    affine_combination,
    compose,
    identity,
    pad,
    parallel,
)
from moetheory.construct.saved import load_module, save_module
from moetheory.construct.targets import builtin_target, callable_target, formula_target
from moetheory.construct.torch_io import from_torch, to_torch

__all__ = [
    "Construction",
    "Network",
    "PReLUMoE",
    "Verification",
    "affine",
    "affine_combination",
    "approximate",
    "baseline",
    "builtin_target",
    "callable_target",
    "compose",
    "construct_and_verify",
    "formula_target",
    "from_torch",
    "identity",
    "load_module",
    "pad",
    "parallel",
    "save_module",
    "to_torch",
    "verify_construction",
]
