"""Point sets for shattering experiments, stored as exact rationals.

A :class:`PointSet` holds m distinct points of ℝ^d as :class:`~fractions.Fraction` coordinates,
so that every certificate about it is checked in exact arithmetic. Its float copy
(:meth:`PointSet.array`) is *exactly* the same set of numbers whenever the coordinates are
dyadic with small numerators, which is how the random sets are drawn: a Gaussian or uniform
draw is rounded to a multiple of 2⁻¹⁶ (:data:`QUANTUM`), so the LP solver and the exact checks
see the very same points.

Sources (experiments.md §1):

- ``random``: seeded Gaussian N(0, I) (default) or uniform on [−1, 1]^d, rounded to 2⁻¹⁶;
  with ``general=True`` redrawn (same generator) until in general position.
- ``grid``: the first m points of {0, …, k−1}^d in lexicographic order, k = ⌈m^{1/d}⌉ —
  structured and, for d ≥ 2 and m ≥ 3, *not* in general position (collinear rows).
- ``moment``: the moment curve (t, t², …, t^d) at t_i = (2i − m + 1)/(m − 1) — a structured set
  in general position (any d + 1 of its points give a Vandermonde determinant ≠ 0).
- a CSV or JSON file of coordinates (:func:`load_points`): decimals are read exactly
  (``0.1`` is 1/10, not the float nearest to it); bad files raise :class:`PointSetError`
  (a :class:`~moetheory.experiments.config.ConfigError`: one line, exit 2 on the command line).

**General position** (:func:`general_position`), affine sense: every subset of at most d + 1
points is affinely independent; for m ≥ d + 1 this is ``det[x_i 1]_{i∈S} ≠ 0`` for every
(d+1)-subset S. Linear sense (homogeneous classifiers sgn(wᵀx)): every subset of at most d
points is linearly independent. Both are decided in exact rationals.

Example::

    >>> p = random_points(4, 2, seed=0)
    >>> p.m, p.dim, general_position(p.points)
    (4, 2, True)
    >>> general_position(grid_points(4, 2).points)   # (0,0), (0,1), (1,0), (1,1): fine
    True
    >>> general_position(grid_points(5, 2).points)   # (0,0), (0,1), (0,2) are collinear
    False

Reference: experiments.md §1; T. M. Cover, "Geometrical and statistical properties of systems
of linear inequalities with applications in pattern recognition", IEEE Trans. Electronic
Computers EC-14(3), 1965 (general position).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations, product
from pathlib import Path
from typing import Any

import numpy as np

from moetheory.experiments.config import ConfigError
from moetheory.schema import check_tree

QUANTUM = Fraction(1, 1 << 16)
"""Random coordinates are rounded to multiples of this (exact in float64)."""
MAX_POINTS_FILE_BYTES = 1 << 20
"""Largest points file read (1 MiB)."""
MAX_FILE_POINTS = 10_000
"""Most points a file may hold."""
MAX_DIGITS = 40
"""Most digits of one coordinate written in a file."""
MAX_EXPONENT = 30
"""Largest |exponent| of a coordinate written in scientific notation."""
GENERAL_POSITION_WORK = 2_000_000
"""Largest C(m, d+1)·(d+1)³ (subsets times elimination cost) :func:`general_position`
examines; beyond it answers None (not examined)."""
STRUCTURED = ("random", "uniform", "grid", "moment")
"""Point-set names that are not files."""

_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([-+]?[0-9]+))?")
_RATIO = re.compile(r"-?[0-9]+/[0-9]+")

Point = tuple[Fraction, ...]


class PointSetError(ConfigError):
    """A point set that cannot be used (bad file, wrong dimension, repeated points); the
    message names the offending value."""


@dataclass(frozen=True)
class PointSet:
    """m distinct points of ℝ^d with exact rational coordinates, and where they came from."""

    points: tuple[Point, ...]
    source: str

    @property
    def m(self) -> int:
        return len(self.points)

    @property
    def dim(self) -> int:
        return len(self.points[0]) if self.points else 0

    def array(self) -> np.ndarray:
        """The coordinates as an (m, d) float64 array (exact for the random sets)."""
        return np.array([[float(c) for c in p] for p in self.points], dtype=np.float64)

    def head(self, m: int) -> PointSet:
        """The first m points."""
        return PointSet(
            self.points[:m], self.source if m == self.m else f"{self.source}, first {m}"
        )

    def to_json(self) -> list[list[str]]:
        """Coordinates as exact rational strings 'p' or 'p/q'."""
        return [[str(c) for c in p] for p in self.points]


def _check_sizes(m: int, dim: int) -> None:
    if m < 1:
        raise PointSetError(f"number of points must be at least 1, got {m}")
    if dim < 1:
        raise PointSetError(f"dimension must be at least 1, got {dim}")


def _quantise(values: np.ndarray) -> list[Point]:
    scale = QUANTUM.denominator
    return [tuple(Fraction(int(round(float(v) * scale)), scale) for v in row) for row in values]


def random_points(
    m: int,
    dim: int,
    seed: int = 0,
    distribution: str = "gaussian",
    general: bool = True,
    tries: int = 100,
) -> PointSet:
    """m seeded random points in ℝ^d (Gaussian or uniform on [−1, 1]^d), rounded to 2⁻¹⁶ and
    distinct; with ``general`` redrawn until in general position (affine and linear sense)."""
    _check_sizes(m, dim)
    if distribution not in ("gaussian", "uniform"):
        raise PointSetError(f"distribution must be gaussian or uniform, got {distribution!r}")
    rng = np.random.default_rng(seed)
    for _ in range(tries):
        draw = (
            rng.standard_normal((m, dim))
            if distribution == "gaussian"
            else rng.uniform(-1.0, 1.0, (m, dim))
        )
        pts = _quantise(draw)
        if len(set(pts)) < m:
            continue
        if general and not (
            general_position(pts) is not False and general_position(pts, affine=False) is not False
        ):
            continue
        return PointSet(tuple(pts), f"random {distribution} (seed {seed})")
    raise PointSetError(f"no {m} distinct random points in general position in {tries} draws")


def grid_points(m: int, dim: int) -> PointSet:
    """The first m points of the integer grid {0, …, k−1}^d, k = ⌈m^{1/d}⌉ (lexicographic)."""
    _check_sizes(m, dim)
    k = 1
    while k**dim < m:
        k += 1
    pts = [tuple(Fraction(v) for v in idx) for idx in product(range(k), repeat=dim)][:m]
    return PointSet(tuple(pts), f"grid {k}^{dim}")


def moment_points(m: int, dim: int) -> PointSet:
    """m points (t, t², …, t^d) of the moment curve, t_i = (2i − m + 1)/(m − 1) in [−1, 1]."""
    _check_sizes(m, dim)
    ts = [Fraction(2 * i - m + 1, max(m - 1, 1)) for i in range(m)]
    return PointSet(tuple(tuple(t**k for k in range(1, dim + 1)) for t in ts), "moment curve")


def make_point_set(name: str, m: int, dim: int, seed: int = 0) -> PointSet:
    """The point set named on the command line: ``random`` (Gaussian), ``uniform``, ``grid``,
    ``moment`` or a file path (its first m points)."""
    if name == "random":
        return random_points(m, dim, seed)
    if name == "uniform":
        return random_points(m, dim, seed, distribution="uniform")
    if name == "grid":
        return grid_points(m, dim)
    if name == "moment":
        return moment_points(m, dim)
    return load_points(name, dim, m)


# ---------------------------------------------------------------------------- exact geometry


def rank(rows: Sequence[Sequence[Fraction]]) -> int:
    """Rank of a rational matrix (Gaussian elimination in exact arithmetic).

    >>> rank([[Fraction(1), Fraction(2)], [Fraction(2), Fraction(4)]])
    1
    """
    mat = [list(r) for r in rows]
    if not mat:
        return 0
    r = 0
    cols = len(mat[0])
    for c in range(cols):
        pivot = next((i for i in range(r, len(mat)) if mat[i][c] != 0), None)
        if pivot is None:
            continue
        mat[r], mat[pivot] = mat[pivot], mat[r]
        for i in range(r + 1, len(mat)):
            if mat[i][c] != 0:
                f = mat[i][c] / mat[r][c]
                mat[i] = [a - f * b for a, b in zip(mat[i], mat[r], strict=True)]
        r += 1
        if r == len(mat):
            break
    return r


def general_position(points: Sequence[Point], affine: bool = True) -> bool | None:
    """Whether every subset of at most d + 1 points is affinely independent (``affine``), or
    every subset of at most d points is linearly independent (not ``affine``); exact. None when
    the examination would exceed :data:`GENERAL_POSITION_WORK`."""
    m = len(points)
    if m == 0:
        return True
    d = len(points[0])
    size = d + 1 if affine else d
    rows = [[*p, Fraction(1)] if affine else list(p) for p in points]
    if m <= size:
        return rank(rows) == m
    if math.comb(m, size) * size**3 > GENERAL_POSITION_WORK:
        return None
    return all(rank([rows[i] for i in s]) == size for s in combinations(range(m), size))


# ---------------------------------------------------------------------------- files


def _coordinate(text: str, where: str) -> Fraction:
    """An exact rational from a decimal ('0.1', '-2.5e-3') or a ratio ('3/4')."""
    text = text.strip()
    if len(text) > MAX_DIGITS + 8:
        raise PointSetError(
            f"{where}: coordinate {text[:20]!r}… is longer than {MAX_DIGITS} digits"
        )
    if _RATIO.fullmatch(text):
        num, den = text.split("/")
        if int(den) == 0:
            raise PointSetError(f"{where}: zero denominator in {text!r}")
        return Fraction(int(num), int(den))
    match = _NUMBER.fullmatch(text)
    if not match:
        raise PointSetError(f"{where}: {text[:40]!r} is not a number")
    if match.group(1) is not None and abs(int(match.group(1))) > MAX_EXPONENT:
        raise PointSetError(f"{where}: exponent of {text!r} beyond ±{MAX_EXPONENT}")
    return Fraction(text)


def _json_number(text: str) -> Any:
    return _JsonNumber(text)


class _JsonNumber(str):
    """A JSON number literal kept as text, converted exactly later."""


def _refuse(text: str) -> Any:
    raise PointSetError(f"{text} is not a number")


def _parse_json(text: str, where: str) -> list:
    try:
        data = json.loads(
            text, parse_float=_json_number, parse_int=_json_number, parse_constant=_refuse
        )
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise PointSetError(f"{where} is not valid JSON: {str(exc)[:120]}") from None
    try:
        check_tree(data, where)
    except ConfigError:
        raise
    except Exception as exc:  # CertificateError: size or depth limits of moetheory.schema
        raise PointSetError(str(exc)) from None
    if isinstance(data, dict):
        if set(data) - {"points"} or "points" not in data:
            raise PointSetError(
                f'{where}: expected a list of points or an object {{"points": [...]}}'
            )
        data = data["points"]
    if not isinstance(data, list):
        raise PointSetError(f"{where}: expected a list of points")
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise PointSetError(f"{where}: point {i} is not a list of coordinates")
        out = []
        for j, v in enumerate(row):
            if not isinstance(v, str):  # bools, nulls, objects
                raise PointSetError(
                    f"{where}: point {i}, coordinate {j}: expected a number, got {type(v).__name__}"
                )
            out.append(_coordinate(v, f"{where}: point {i}, coordinate {j}"))
        rows.append(out)
    return rows


def _parse_csv(text: str, where: str) -> list:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f for f in re.split(r"[,;\s]+", line) if f]
        rows.append(
            [_coordinate(f, f"{where}: line {n}, column {j + 1}") for j, f in enumerate(fields)]
        )
    return rows


def load_points(path: str | Path, dim: int, m: int | None = None) -> PointSet:
    """The points of a CSV file (one point per line, comma/space separated, '#' comments) or a
    JSON file (a list of coordinate lists, or ``{"points": [...]}``), exactly; the first m when
    m is given. Every coordinate is a decimal or 'p/q'; the points must be distinct and have d
    coordinates each.

    >>> import tempfile, os
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    >>> _ = f.write("0.1, 2\\n-3/4, 1e-2\\n"); f.close()
    >>> load_points(f.name, dim=2).points[0]
    (Fraction(1, 10), Fraction(2, 1))
    >>> os.unlink(f.name)
    """
    p = Path(path)
    where = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_POINTS_FILE_BYTES:
            raise PointSetError(
                f"points file {where} is {size} bytes (limit {MAX_POINTS_FILE_BYTES})"
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise PointSetError(f"cannot read points file {where}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PointSetError(f"points file {where} is not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    is_json = p.suffix.lower() == ".json" or stripped.startswith(("[", "{"))
    rows = _parse_json(text, where) if is_json else _parse_csv(text, where)
    if not rows:
        raise PointSetError(f"points file {where} holds no points")
    if len(rows) > MAX_FILE_POINTS:
        raise PointSetError(
            f"points file {where} holds {len(rows)} points (limit {MAX_FILE_POINTS})"
        )
    for i, row in enumerate(rows):
        if len(row) != dim:
            raise PointSetError(
                f"points file {where}: point {i} has {len(row)} coordinates, --dim is {dim}"
            )
    if m is not None:
        if len(rows) < m:
            raise PointSetError(
                f"points file {where} holds {len(rows)} points, fewer than --points {m}"
            )
        rows = rows[:m]
    pts = [tuple(r) for r in rows]
    seen: dict[Point, int] = {}
    for i, pt in enumerate(pts):
        if pt in seen:
            raise PointSetError(
                f"points file {where}: points {seen[pt]} and {i} are equal "
                "(a repeated point cannot carry two labels)"
            )
        seen[pt] = i
    return PointSet(tuple(pts), f"file {p.name}")
