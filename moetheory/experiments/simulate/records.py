"""Recorded estimation-rate simulations: the ``summary.json`` of finished runs, read back, and
the run that stands for each (gate, expert) pair in the atlas's measured-slope column.

- :func:`load_summaries` — the summaries under run directories (a run directory holding
  ``summary.json``, or any directory searched recursively for them);
- :func:`measured_by_pair` — (gate, expert) → the summary with the most fits (ties: the
  first name in sorted order), for ``moetheory.present.atlas``'s ``measured`` argument.

A summary that cannot be used raises :class:`~moetheory.experiments.config.ConfigError` naming
its file, in one line (the CLI prints it and exits with status 2).

Example
-------
>>> import json, tempfile
>>> run = {"experiment": "simulate", "name": "cosine", "gate": "cosine",
...        "expert": "scaled-tanh", "fits": 200, "slope": -0.48}
>>> with tempfile.TemporaryDirectory() as d:
...     for name, fits in (("a", 200), ("b", 400)):
...         (Path(d) / name).mkdir()
...         _ = (Path(d) / name / "summary.json").write_text(
...             json.dumps({**run, "name": name, "fits": fits}))
...     summaries = load_summaries([Path(d)])
...     print([s["name"] for s in summaries])
...     print(measured_by_pair(summaries)["cosine", "scaled-tanh"]["name"])
['a', 'b']
b

Reference: ``shared/reference/experiments.md`` §5 (estimation-rate simulations).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from moetheory.experiments.config import ConfigError, load_config

SUMMARY = "summary.json"
"""The file a simulate run writes its summary to."""

EXPERIMENT = "simulate"
"""The ``experiment`` field of a simulate run's summary."""

REQUIRED = ("name", "gate", "expert", "fits")
"""Fields a summary must hold to be read back (the atlas column and the choice of run use
them)."""


ATLAS = "simulate-atlas"
"""The ``experiment`` field of a ``moetheory simulate --atlas`` run's summary (its ``pairs``
are simulate summaries)."""


def _read(path: Path) -> list[dict]:
    """The summaries in ``path`` (one, or an atlas run's pairs); :class:`ConfigError` naming
    the file when it cannot be used."""
    data = load_config(path)  # one line naming the file when it cannot be read or parsed
    if data.get("experiment") == ATLAS and isinstance(data.get("pairs"), list):
        return [_check(path, pair) for pair in data["pairs"]]
    return [_check(path, data)]


def _check(path: Path, data: object) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    if data.get("experiment") != EXPERIMENT:
        raise ConfigError(
            f"{path}: not a simulate summary (experiment = {data.get('experiment')!r})"
        )
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ConfigError(f"{path}: summary lacks {', '.join(repr(k) for k in missing)}")
    for key, kind in TYPES.items():
        if key in data and not _is(data[key], kind):
            raise ConfigError(f"{path}: field {key!r} = {data[key]!r}: expected {kind}")
    ci = data.get("ci", [None, None])
    if not (isinstance(ci, list) and len(ci) == 2 and all(_is(v, "number or null") for v in ci)):
        raise ConfigError(f"{path}: field 'ci' = {ci!r}: expected [low, high] (numbers or null)")
    return data


TYPES = {
    "name": "text",
    "gate": "text",
    "expert": "text",
    "loss": "text",
    "verdict": "text",
    "fits": "integer",
    "k_true": "integer",
    "k": "integer",
    "slope": "number or null",
    "intercept": "number or null",
    "predicted": "number or null",
    "level": "number or null",
}
"""The type of each summary field the atlas column and the choice of run read."""


def _is(value: object, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    return value is None or (isinstance(value, int | float) and math.isfinite(value))


def _files(path: Path) -> Iterable[Path]:
    """The summary files ``path`` names: itself (a ``summary.json``), the run directory's
    one, or every one below a directory (sorted)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigError(f"{path}: no such run directory")
    own = path / SUMMARY
    if own.is_file():
        return [own]
    found = sorted(p for p in path.rglob(SUMMARY) if p.is_file())
    if not found:
        raise ConfigError(f"{path}: no {SUMMARY} in this directory or below it")
    return found


def load_summaries(paths: Sequence[Path]) -> list[dict]:
    """The summaries of the runs under ``paths``, in the order given (a directory's runs in
    sorted path order), each file once.

    Each path is a run directory holding ``summary.json``, a ``summary.json`` itself, or a
    directory searched recursively for ``summary.json`` files; an atlas run's summary
    (``moetheory simulate --atlas``) gives the summary of each of its pairs. A path that does
    not exist or holds none, and a summary that cannot be read, does not parse, is not a
    simulate run's or lacks a field of :data:`REQUIRED`, raise :class:`ConfigError` naming the
    path, one line.

    >>> load_summaries([Path("/nonexistent/run")])
    Traceback (most recent call last):
    ...
    moetheory.experiments.config.ConfigError: /nonexistent/run: no such run directory
    """
    seen: set[Path] = set()
    out: list[dict] = []
    for path in map(Path, paths):
        for file in _files(path):
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            out.extend(_read(file))
    return out


def measured_by_pair(summaries: Sequence[dict]) -> dict[tuple[str, str], dict]:
    """(gate, expert) → the summary that stands for the pair: the one with the most fits; among
    equal fits the one whose name sorts first (so the choice does not depend on the order of
    ``summaries``). Keys are in order of first appearance.

    >>> runs = [{"name": "b", "gate": "g", "expert": "e", "fits": 20},
    ...         {"name": "a", "gate": "g", "expert": "e", "fits": 20},
    ...         {"name": "c", "gate": "g", "expert": "f", "fits": 10}]
    >>> {k: v["name"] for k, v in measured_by_pair(runs).items()}
    {('g', 'e'): 'a', ('g', 'f'): 'c'}
    """
    best: dict[tuple[str, str], dict] = {}
    for s in summaries:
        key = (str(s["gate"]), str(s["expert"]))
        held = best.get(key)
        if held is None or (-s["fits"], str(s["name"])) < (-held["fits"], str(held["name"])):
            best[key] = s
    return best
