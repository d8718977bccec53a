"""Named simulation configurations, and random truths for any built-in pair.

The named configurations are plain TOML files shipped with the package
(``moetheory/experiments/simulate/configs/NAME.toml``, also reachable as
``experiments/configs/simulate/``): each holds the simulation fields
(:data:`~moetheory.experiments.simulate.truth.SIMULATION_FIELDS`), a ``name`` and
``description``, optional ``[quick]`` / ``[full]`` overrides and, where a paper reports one, a
``[reference]`` slope with its source (printed beside the measured slope, never used in a
computation).

:func:`random_config` builds a configuration for any built-in router × expert pair with a
random truth drawn from a seed — what ``moetheory simulate --gate G --expert E`` and
``--atlas`` run when no truth is given.

>>> "gaussian-linear-k3" in named_configs()
True
>>> cfg = random_config("softmax", "scaled-tanh", dim=1, seed=0)
>>> cfg["k"], len(cfg["atoms"]), cfg["atoms"][-1]["beta0"]
(3, 2, 0.0)
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from moetheory.experiments.config import ConfigError, load_config
from moetheory.experiments.simulate.models import TOP_K

__all__ = ["CONFIG_DIR", "load_named", "named_configs", "random_config"]

CONFIG_DIR = Path(__file__).with_name("configs")
"""Where the named configurations live."""


def named_configs() -> dict[str, Path]:
    """Every named configuration, name → file, sorted by name."""
    return {p.stem: p for p in sorted(CONFIG_DIR.glob("*.toml"))}


def load_named(name: str) -> dict[str, Any]:
    """The plain data of a named configuration; an unknown name raises ConfigError."""
    known = named_configs()
    if name not in known:
        raise ConfigError(
            f"unknown simulation {name!r}: not a named configuration ({', '.join(known)}) "
            "nor an existing file"
        )
    return dict(load_config(known[name]))


def random_config(
    gate: str, expert: str, *, dim: int = 2, seed: int = 0, k_true: int = 2
) -> dict[str, Any]:
    """A simulation configuration for a built-in pair with a random true measure.

    Atoms: real parameters ~ N(0, 1.5²) (``random.Random(seed)``, drawn in layout order),
    positive ones (temperatures) exp(N(0, 0.3²)), Gaussian variances 0.05; the last atom's mass
    parameter is 0, so that the fits' gauge removes the score shift (:func:`~moetheory.
    experiments.simulate.fit_ls.softmax_gauge`). Fitted k = k* + 1 (over-specified) when the gate
    has a mass parameter to split, else k*; a top-K router selects K = k*. X ~ U[−2, 2]^d;
    regression noise σ = 0.1. Sizes and
    replicates as the named configurations (``[quick]`` and ``[full]`` included).
    """
    from moetheory.experiments.simulate.models import TorchMoE

    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 64:
        raise ConfigError(f"dim = {dim!r}: expected an integer from 1 to 64")
    from moetheory.families import get_router

    top_k = k_true if get_router(gate).normalisation == TOP_K else None
    model = TorchMoE.from_families(gate, expert, dim, top_k=top_k)
    rng = random.Random(f"{gate}|{expert}|{dim}|{seed}")
    atoms = []
    for i in range(k_true):
        atom: dict[str, float] = {}
        for sym, name, pos in zip(
            model.param_symbols, model.param_names, model.positive_mask, strict=True
        ):
            if sym == model.variance:
                atom[name] = 0.05
            elif pos:
                atom[name] = round(2.718281828459045 ** rng.gauss(0.0, 0.3), 6)
            elif sym in model.masses and i == k_true - 1:
                atom[name] = 0.0
            else:
                atom[name] = round(rng.gauss(0.0, 1.5), 6)
        atoms.append(atom)
    gaussian = model.variance is not None
    cfg: dict[str, Any] = {
        "name": f"{gate}--{expert}",
        "description": f"{gate} × {expert}, random truth (seed {seed}), d = {dim}",
        "gate": gate,
        "expert": expert,
        "dim": dim,
        "k": k_true + 1 if model.masses and model.normalisation == "softmax" else k_true,
        "atoms": atoms,
        "input": {"law": "uniform", "low": [-2.0] * dim, "high": [2.0] * dim},
        "replicates": 20,
        "seed": seed,
        "sizes": [200, 400, 800, 1600, 3200, 6400],
        "fit": {
            "starts": 3,
            "init": "near-truth",
            "init_scale": 0.1,
            "max_iter": 1000 if gaussian else 200,
            "tol": 1e-6 if gaussian else 1e-10,
        },
        "quick": {"sizes": [250, 500, 1000, 2000, 4000], "replicates": 6},
        "full": {
            "sizes": [{"from": 100, "to": 100000, "count": 16, "spacing": "log"}],
            "replicates": 40,
        },
    }
    if not gaussian:
        cfg["noise"] = 0.1
    if top_k is not None:
        cfg["top_k"] = top_k
    if model.normalisation in ("sigmoid", "none") and gaussian:
        raise ConfigError(
            f"{gate} × {expert}: an unnormalised gate with a Gaussian expert has no likelihood"
        )
    return cfg
