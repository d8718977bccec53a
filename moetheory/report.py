"""The main job: identify a set of router–expert pairs and write a report directory.

Default set: every built-in router with the reference experts (linear, c·tanh, FFN with inner
bias, Gaussian linear); ``full=True`` takes every built-in pair. Files: ``identifiability.md``,
``identifiability.json`` (one verdict per pair, each re-checkable by ``moetheory verify``),
``summary.md`` (environment, seeds, timing).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

from moetheory.families import EXPERTS, ROUTERS
from moetheory.identify.api import identify
from moetheory.present.jsonio import dumps
from moetheory.present.markdown import verdict_table

DEFAULT_EXPERTS = ("linear", "scaled-tanh", "scaled-relu", "ffn-tanh", "gaussian-linear")


def write_report(out: Path, dim: int = 2, seed: int = 0, full: bool = False) -> Path:
    """Write the report under ``out`` and return the directory."""
    import flint
    import numpy
    import sympy

    out.mkdir(parents=True, exist_ok=True)
    experts = list(EXPERTS) if full else list(DEFAULT_EXPERTS)
    start = time.perf_counter()
    verdicts = [identify(g, e, dim=dim, seed=seed) for g in ROUTERS for e in experts]
    seconds = time.perf_counter() - start
    (out / "identifiability.md").write_text(
        f"# Identifiability of router–expert pairs (d = {dim}, order 2)\n\n"
        + verdict_table(verdicts))
    (out / "identifiability.json").write_text(dumps([v.to_json() for v in verdicts]) + "\n")
    (out / "summary.md").write_text(
        "# moetheory report\n\n"
        f"- pairs: {len(verdicts)} (d = {dim}, seed {seed}); identify took {seconds:.1f} s\n"
        f"- python {platform.python_version()}, sympy {sympy.__version__}, numpy "
        f"{numpy.__version__}, python-flint {flint.__version__}, {platform.machine()}\n"
        "- every verdict in identifiability.json carries its certificate: "
        "`moetheory verify` re-checks one saved verdict\n")
    return out
