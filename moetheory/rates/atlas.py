"""The identifiability atlas: every built-in router × expert pair, identified and matched
against the theorem catalogue.

A row holds the pair, its relations (counted classes first), its computed verdicts, the rates
the covering theorem gives (exact- and over-specified, sample complexity), the source and
whether the papers' own claims agree with the computation. Rows are plain data; rendering lives
in ``moetheory.present.atlas``. Nothing in a row depends on timing or on the machine, so the
rendered atlas is byte-identical across runs.

Pairs are identified in parallel worker processes (``workers``); each worker runs the same
seeded engine, so the result does not depend on the number of workers.

Example
-------
>>> rows = atlas_rows(gates=["softmax"], experts=["linear"], workers=1)
>>> rows[0].prediction.theorem.id
'softmax-linear-ls'

Reference: identifiability.md §6.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from moetheory.errors import MoetheoryError
from moetheory.families import EXPERTS, ROUTERS
from moetheory.files import deferred_interrupt
from moetheory.identify.api import identify
from moetheory.identify.classify import PAPERS_COUNT
from moetheory.identify.verdict import Verdict
from moetheory.rates.facts import pair_facts
from moetheory.rates.predict import Prediction, predict

SIZES = (2, 3)
"""Voronoi cell sizes M at which r̄-dependent over-specified rates are evaluated."""


@dataclass(frozen=True)
class AtlasRow:
    gate: str
    expert: str
    relations: tuple[tuple[str, str], ...]  # (class, sympy expression), counted classes first
    verdicts: dict[str, str]
    prediction: Prediction
    certificate_status: str  # the verdict's own status: complete, partial or none

    def relation_summary(self) -> str:
        """Counted classes with multiplicities, then the uncounted ones: 'gate-expert ×2; …'."""
        counts = Counter(cls for cls, _ in self.relations)
        counted = [f"{c} ×{counts[c]}" for c in PAPERS_COUNT if counts[c]]
        other = [f"{c} ×{n}" for c, n in sorted(counts.items()) if c not in PAPERS_COUNT]
        text = "; ".join(counted) if counted else "none counted"
        return text + (f" (not counted: {', '.join(other)})" if other else "")

    def to_json(self) -> dict:
        p = self.prediction.to_json()
        return {
            "gate": self.gate,
            "expert": self.expert,
            "relations": [{"class": c, "expression": e} for c, e in self.relations],
            "relation_summary": self.relation_summary(),
            "verdicts": dict(self.verdicts),
            "rates": p["rates"],
            "theorem": p["theorem"],
            "source": p["source"],
            "tag": p["tag"],
            "hypotheses": p["hypotheses"],
            "nearest": p["nearest"],
            "also": p["also"],
            "rbar": p["rbar"],
            "agrees_with_paper": p["agrees_with_paper"],
            "paper": p["paper"],
            "suggestion": p["suggestion"],
            "certificate_status": self.certificate_status,
        }


def _identify(job: tuple[str, str, int, int, float]) -> Verdict:
    gate, expert, dim, seed, seconds = job
    return identify(gate, expert, dim=dim, seed=seed, seconds=seconds)


def _ignore_interrupt() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group, and it is the parent's to
    handle (workers start with SIGINT blocked, so none arrives before this)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued pairs and end the workers now: a worker in the middle of a pair would
    otherwise hold the exit until its pair is done."""
    with deferred_interrupt():
        workers = list((pool._processes or {}).values())  # no public handle before 3.14
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        for process in workers:
            process.join()


Progress = Callable[[Iterator[Verdict], int], Iterable[Verdict]]
"""Watches the verdicts as they arrive, given the number of pairs; it yields them unchanged
(``functools.partial(moetheory.present.progress.progress, desc=...)`` draws a bar)."""


def identify_all(
    pairs: Sequence[tuple[str, str]],
    dim: int = 2,
    seed: int = 0,
    seconds: float = 60.0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[Verdict]:
    """Verdicts of ``pairs`` in order, computed in ``workers`` processes (default: all cores).

    Workers ignore Ctrl-C; on ``KeyboardInterrupt`` (or any error) in the parent the queued
    pairs are cancelled and the workers terminated before the exception propagates.
    ``progress`` sees the verdicts as they arrive (the caller's progress bar; the computation
    never draws one itself).

    >>> pairs = [("softmax", "linear"), ("softmax", "polynomial-2")]
    >>> [v.expert for v in identify_all(pairs, workers=2)]
    ['linear', 'polynomial-2']

    Reference: Python ``concurrent.futures.ProcessPoolExecutor``.
    """
    if workers is not None and workers < 1:
        raise MoetheoryError(f"workers must be a positive integer, got {workers}")
    jobs = [(g, e, dim, seed, seconds) for g, e in pairs]
    watch = progress or (lambda verdicts, total: verdicts)
    n = workers or os.cpu_count() or 1
    if n <= 1 or len(jobs) <= 1:
        return list(watch(map(_identify, jobs), len(jobs)))
    pool = ProcessPoolExecutor(max_workers=n, initializer=_ignore_interrupt)
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:  # workers start inside map; a Ctrl-C meanwhile waits and reaches the parent after
            results = pool.map(_identify, jobs, chunksize=1)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        verdicts = list(watch(results, len(jobs)))
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    return verdicts


def _order(verdict: Verdict) -> list[tuple[str, str]]:
    rank = {c: i for i, c in enumerate(PAPERS_COUNT)}
    rels = sorted(
        enumerate(verdict.relations),
        key=lambda ir: (ir[1].cls not in rank, rank.get(ir[1].cls, 0), ir[0]),
    )
    return [(r.cls, r.to_json()["expression"]) for _, r in rels]


def atlas_rows(
    gates: Sequence[str] | None = None,
    experts: Sequence[str] | None = None,
    dim: int = 2,
    seed: int = 0,
    workers: int | None = None,
    rbar: Callable[[int], int | None] | None = None,
    sizes: tuple[int, ...] = SIZES,
    progress: Progress | None = None,
) -> list[AtlasRow]:
    """Rows for every pair of ``gates`` × ``experts`` (default: all built-ins); ``progress``
    as in :func:`identify_all`."""
    pairs = [
        (g, e)
        for g in (ROUTERS if gates is None else gates)
        for e in (EXPERTS if experts is None else experts)
    ]
    verdicts = identify_all(pairs, dim=dim, seed=seed, workers=workers, progress=progress)
    return rows_from_verdicts(verdicts, dim, rbar, sizes)


def rows_from_verdicts(
    verdicts: Sequence[Verdict],
    dim: int,
    rbar: Callable[[int], int | None] | None = None,
    sizes: tuple[int, ...] = SIZES,
) -> list[AtlasRow]:
    """Atlas rows of already identified built-in pairs."""
    return [
        AtlasRow(
            v.gate,
            v.expert,
            tuple(_order(v)),
            dict(v.verdicts),
            predict(pair_facts(v, dim), rbar=rbar, sizes=sizes),
            v.certificate.get("status", "none"),
        )
        for v in verdicts
    ]
