"""Sweeps: units of work run in this process or on Dask distributed, results recorded as they
finish, finished units skipped on resume.

A sweep is a list of :class:`Unit` (a stable id, a seed, JSON parameters) and a module-level
pure function ``work(unit) -> dict``. :func:`run_sweep` skips the units already in the run
directory's ``results.jsonl`` and runs the rest:

- ``scheduler=None``: one after the other in this process;
- ``scheduler="local"``: on a ``distributed.LocalCluster(n_workers, threads_per_worker=1,
  processes=True, dashboard_address=None)`` started for the sweep and closed after it
  (``n_workers`` from the keyword, else the environment variable ``MOETHEORY_DASK_WORKERS``,
  else 2);
- any other string: ``distributed.Client(address)`` on an existing cluster
  (``tcp://HOST:PORT``), whose workers must have moetheory (and the module defining ``work``)
  installed.

A script that calls ``run_sweep(..., scheduler="local")`` needs the ``if __name__ ==
"__main__":`` guard: the LocalCluster's worker processes are started with ``spawn``, which
imports the main module again.

Results come back to this process through ``distributed.as_completed`` and only this process
writes them (one writer), each as ``work(unit)`` plus ``{"unit": id, "seed": seed, "seconds":
wall time of the unit}``; a killed run loses only what was in flight. ``work`` must depend on the
unit only (its ``seed`` and ``params``; no global random state), so a retried or resumed unit
gives the same result, and a sweep's results do not depend on where it ran.

Batched units. Experiments that train many units in one tensor program pass ``batch(units) ->
[result, ...]`` (same order); the units are grouped in chunks fixed by the unit list alone
(``chunk_key``, then ``batch_size``; default: all in one), each chunk is one task, and each result
is recorded as its chunk returns. A chunk recorded in part before a kill is trained again whole,
its missing units alone recorded: a model's numbers may depend on the models trained beside it,
so this is what makes a resumed run equal an uninterrupted one. A unit's ``"seconds"`` is its
share of the chunk's wall time (chunk time / chunk size).

Example
-------
>>> import shutil, tempfile
>>> from pathlib import Path
>>> from moetheory.experiments.rundir import RunDirectory
>>> root = Path(tempfile.mkdtemp())
>>> units = grid_units({"E": [1, 2], "W": [4]}, base_seed=0)
>>> [u.id for u in units]
['E=1/W=4', 'E=2/W=4']
>>> run = RunDirectory(root / "run", experiment="demo", config={}, device="cpu")
>>> out = run_sweep(units, _example_work, run)
>>> [(r["unit"], r["size"]) for r in out]
[('E=1/W=4', 4), ('E=2/W=4', 8)]
>>> again = RunDirectory(root / "run", experiment="demo", config={}, device="cpu", resume=True)
>>> run_sweep(units, _example_work, again) == out  # nothing left to run
True
>>> shutil.rmtree(root)

Reference: ``shared/reference/experiments.md`` §5; dask.distributed documentation
(``LocalCluster``, ``Client.submit``, ``as_completed``:
https://distributed.dask.org/en/stable/api.html).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from moetheory.experiments.config import ConfigError
from moetheory.experiments.rundir import RunDirectory, json_default
from moetheory.files import deferred_interrupt
from moetheory.present.progress import progress

if TYPE_CHECKING:
    from distributed import Client

WORKERS_VARIABLE = "MOETHEORY_DASK_WORKERS"
"""Environment variable: the number of LocalCluster workers (default 2)."""

_RESERVED = ("unit", "seed", "seconds")


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``id`` stable and unique within its sweep (``"budget=1000/E=4/seed=3"``),
    ``seed`` its own seed (recorded with its result), ``params`` JSON data."""

    id: str
    seed: int
    params: dict = field(default_factory=dict)


def unit_seed(base_seed: int, unit_id: str) -> int:
    """A seed in ``[0, 2**63)`` for the unit ``unit_id`` of a sweep with seed ``base_seed``.

    ``SeedSequence([base_seed, w_0, …, w_7]).generate_state(1, uint64)[0] >> 1`` where the
    ``w_i`` are the eight 32-bit little-endian words of SHA-256(``unit_id`` in UTF-8): the same
    on every machine and Python process (unlike ``hash``), and unrelated between ids.

    >>> unit_seed(0, "E=4/W=8") == unit_seed(0, "E=4/W=8") != unit_seed(0, "E=4/W=9")
    True
    >>> 0 <= unit_seed(12345, "a") < 2**63
    True
    """
    if isinstance(base_seed, bool) or not isinstance(base_seed, int | np.integer):
        raise ValueError(f"base seed {base_seed!r}: expected an integer")
    if base_seed < 0:
        raise ValueError(f"base seed {base_seed}: expected a non-negative integer")
    digest = hashlib.sha256(unit_id.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    state = np.random.SeedSequence([int(base_seed), *words]).generate_state(1, dtype=np.uint64)
    return int(state[0]) >> 1


def unit_id(params: Mapping[str, object]) -> str:
    """``key=value`` pairs joined by ``/`` in the mapping's order.

    >>> unit_id({"budget": 1000, "E": 4, "seed": 3})
    'budget=1000/E=4/seed=3'
    """
    return "/".join(f"{k}={v}" for k, v in params.items())


def grid_units(axes: Mapping[str, Sequence[object]], base_seed: int) -> list[Unit]:
    """The units of the Cartesian product of ``axes`` (the last axis varies fastest), each with
    ``id = unit_id(params)`` and ``seed = unit_seed(base_seed, id)``.

    >>> [u.params for u in grid_units({"E": [1, 2], "seed": [0]}, 7)]
    [{'E': 1, 'seed': 0}, {'E': 2, 'seed': 0}]
    """
    names = list(axes)
    units = []
    for values in itertools.product(*(axes[n] for n in names)):
        params = dict(zip(names, values, strict=True))
        uid = unit_id(params)
        units.append(Unit(uid, unit_seed(base_seed, uid), params))
    _check_unique(units)
    return units


def _check_unique(units: Sequence[Unit]) -> None:
    seen: set[str] = set()
    for u in units:
        if u.id in seen:
            raise ValueError(f"unit id {u.id!r} occurs twice in the sweep")
        seen.add(u.id)


def _example_work(unit: Unit) -> dict:
    """The docstring example's work: a pure function of the unit."""
    return {"size": unit.params["E"] * unit.params["W"]}


def _execute(
    work: Callable[[Unit], dict] | None,
    batch: Callable[[list[Unit]], list[dict]] | None,
    chunk: list[Unit],
) -> list[tuple[object, float]]:
    """Run one task: (result, seconds) per unit of ``chunk`` (on a worker or here)."""
    if batch is None:
        assert work is not None
        out: list[tuple[object, float]] = []
        for unit in chunk:
            start = time.perf_counter()
            result = work(unit)
            out.append((result, time.perf_counter() - start))
        return out
    start = time.perf_counter()
    results = batch(list(chunk))
    share = (time.perf_counter() - start) / max(len(chunk), 1)
    if not isinstance(results, list | tuple) or len(results) != len(chunk):
        raise ValueError(
            f"batch returned {len(results) if isinstance(results, list | tuple) else results!r}"
            f" results for {len(chunk)} units"
        )
    return [(r, share) for r in results]


def _workers(n_workers: int | None) -> int:
    """The LocalCluster's worker count: the keyword, else ``MOETHEORY_DASK_WORKERS``, else 2."""
    if n_workers is None:
        text = os.environ.get(WORKERS_VARIABLE, "").strip()
        if not text:
            return 2
        try:
            n_workers = int(text)
        except ValueError:
            raise ConfigError(f"{WORKERS_VARIABLE}={text!r}: expected a positive integer") from None
        if n_workers < 1:
            raise ConfigError(f"{WORKERS_VARIABLE}={text!r}: expected a positive integer")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"n_workers={n_workers!r}: expected a positive integer")
    return n_workers


@contextmanager
def dask_client(scheduler: str, n_workers: int | None = None) -> Iterator[Client]:
    """A ``distributed.Client``: on a LocalCluster started here for ``"local"`` (closed with
    the client when the block ends), else connected to the scheduler at the address
    ``scheduler`` (:class:`ConfigError` when it cannot be reached)."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=_workers(n_workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        try:
            client = Client(cluster)
        except BaseException:
            with deferred_interrupt():
                cluster.close()
            raise
        try:
            yield client
        finally:
            with deferred_interrupt():
                client.close()
                cluster.close()
        return
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ConfigError(f"--scheduler {scheduler!r}: expected 'local' or an address")
    try:
        client = Client(scheduler)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
    try:
        yield client
    finally:
        with deferred_interrupt():
            client.close()


def _line(unit: Unit, result: object, seconds: float) -> dict:
    """The recorded line of ``unit``: its result plus unit, seed and seconds, as JSON reads it
    back."""
    if not isinstance(result, dict):
        raise ValueError(f"unit {unit.id!r}: work returned {type(result).__name__}, not a dict")
    line = {**result, "unit": unit.id, "seed": unit.seed, "seconds": seconds}
    return json.loads(json.dumps(line, default=json_default))


def _chunks(
    units: Sequence[Unit], key: Callable[[Unit], Hashable] | None, size: int | None
) -> list[list[Unit]]:
    """The units grouped by ``key`` (in order of first appearance), each group cut every
    ``size`` units (whole when None).

    >>> us = [Unit(f"u{i}", i) for i in range(5)]
    >>> [[u.id for u in c] for c in _chunks(us, lambda u: u.seed % 2, 2)]
    [['u0', 'u2'], ['u4'], ['u1', 'u3']]
    """
    groups: dict[Hashable, list[Unit]] = {}
    for u in units:
        groups.setdefault(key(u) if key is not None else None, []).append(u)
    out = []
    for group in groups.values():
        step = size or len(group)
        out += [group[i : i + step] for i in range(0, len(group), step)]
    return out


def _on_dask(
    client: Client,
    work: Callable[[Unit], dict] | None,
    batch: Callable[[list[Unit]], list[dict]] | None,
    chunks: list[list[Unit]],
    record: Callable[[list[Unit], list[tuple[object, float]]], None],
    desc: str,
) -> None:
    """Submit one task per chunk and record each as it completes (this process only)."""
    from distributed import as_completed

    tag = secrets.token_hex(4)  # fresh keys: never reuse another sweep's results
    futures = [
        client.submit(_execute, work, batch, c, key=f"moetheory-{tag}-{c[0].id}") for c in chunks
    ]
    by_key: dict[Any, list[Unit]] = {f.key: c for f, c in zip(futures, chunks, strict=True)}
    try:
        for future in progress(as_completed(futures), total=len(futures), desc=desc):
            record(by_key[future.key], future.result())
    except BaseException:
        client.cancel(futures)
        raise


def run_sweep(
    units: Sequence[Unit],
    work: Callable[[Unit], dict] | None,
    run: RunDirectory,
    *,
    scheduler: str | None = None,
    desc: str = "",
    batch: Callable[[list[Unit]], list[dict]] | None = None,
    batch_size: int | None = None,
    n_workers: int | None = None,
    chunk_key: Callable[[Unit], Hashable] | None = None,
    client: Client | None = None,
) -> list[dict]:
    """Run the units not yet recorded in ``run`` and return every result in the order of
    ``units``.

    Where they run (``scheduler``), what is recorded and how ``batch`` groups units: see the
    module docstring. ``work`` is not called when ``batch`` is given (it may be ``None`` then).
    With ``batch`` the chunks are fixed by ``units`` alone — the units of one ``chunk_key``
    (all units if None), in order, cut every ``batch_size`` — never by what is already done: a
    chunk that a killed run recorded in part is trained again whole and only its missing units
    are recorded, so a resumed run records what an uninterrupted one would (a model's numbers
    may depend on the others trained beside it). Each chunk is one task, so chunks run in
    parallel on Dask. ``client``: an open Dask client to use (``scheduler`` is then ignored),
    so that a caller can connect before it creates the run directory.
    A recorded unit whose seed differs from its unit's is a :class:`ConfigError` (the sweep
    changed under a resumed run). The wall time of the whole call is added to
    ``run.json["seconds"][desc or "sweep"]``. A unit that raises stops the sweep (the exception
    propagates after the units finished so far are recorded; resume to continue).
    """
    units = list(units)
    _check_unique(units)
    if batch is None and work is None:
        raise TypeError("run_sweep needs work or batch")
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise ConfigError(f"batch_size={batch_size!r}: expected a positive integer")
    started = time.perf_counter()
    done = run.done()
    for u in units:
        if u.id in done and done[u.id].get("seed") != u.seed:
            raise ConfigError(
                f"{run.results_path}: unit {u.id!r} was recorded with seed "
                f"{done[u.id].get('seed')!r} but the sweep gives it {u.seed}"
            )
    if batch is None:
        chunks = [[u] for u in units if u.id not in done]
    else:
        chunks = [
            c for c in _chunks(units, chunk_key, batch_size) if any(u.id not in done for u in c)
        ]
    new: dict[str, dict] = {}

    def record(chunk: list[Unit], outcome: list[tuple[object, float]]) -> None:
        for unit, (result, seconds) in zip(chunk, outcome, strict=True):
            if unit.id in done:  # recorded before a kill: its line stands
                continue
            line = _line(unit, result, seconds)
            run.record(line)
            new[unit.id] = line

    if chunks and scheduler is None and client is None:
        for chunk in progress(chunks, total=len(chunks), desc=desc):
            record(chunk, _execute(work, batch, chunk))
    elif chunks and client is not None:
        _on_dask(client, work, batch, chunks, record, desc)
    elif chunks:
        assert scheduler is not None
        with dask_client(scheduler, n_workers) as own:
            _on_dask(own, work, batch, chunks, record, desc)
    run.timing(desc or "sweep", time.perf_counter() - started)
    return [done[u.id] if u.id in done else new[u.id] for u in units]
