"""The registry of built-in families: one line per family file."""

from __future__ import annotations

from moetheory.errors import FamilyError
from moetheory.families import (
    activation_temperature,
    cosine,
    ffn,
    gaussian,
    hierarchical,
    linear,
    perturbed_cosine,
    polynomial,
    sigmoid_gate,
    softmax,
    temperature,
    topk,
)
from moetheory.families.base import ExpertFamily, RouterFamily

ROUTERS: dict[str, RouterFamily] = {
    f.name: f
    for f in (
        softmax.FAMILY,
        cosine.FAMILY,
        perturbed_cosine.FAMILY,
        temperature.FAMILY,
        temperature.FAMILY_B0,
        *activation_temperature.FAMILIES,
        topk.FAMILY,
        *hierarchical.FAMILIES,
        sigmoid_gate.FAMILY,
        sigmoid_gate.FAMILY_TEMPERATURE,
    )
}

EXPERTS: dict[str, ExpertFamily] = {
    f.name: f
    for f in (
        linear.FAMILY,
        *polynomial.FAMILIES,
        *ffn.BIAS,
        *ffn.SCALED,
        gaussian.LINEAR,
        *gaussian.FFN,
        *gaussian.SCALED,
    )
}


def get_router(name: str) -> RouterFamily:
    """The built-in router called ``name``."""
    try:
        return ROUTERS[name]
    except KeyError:
        raise FamilyError(f"unknown router {name!r}; known: {', '.join(ROUTERS)}") from None


def get_expert(name: str) -> ExpertFamily:
    """The built-in expert called ``name``."""
    try:
        return EXPERTS[name]
    except KeyError:
        raise FamilyError(f"unknown expert {name!r}; known: {', '.join(EXPERTS)}") from None
