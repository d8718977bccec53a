"""Explicit shattering networks: the constructions behind the package's VC lower bounds.

A (P)ReLU network on ℝ^d with hidden widths w_1..w_J shatters ``max(d + 1, 2 + B)`` points,
B the breakpoint capacity of :func:`breakpoint_capacity` [math, this package]:

- **d + 1 (halfspaces).** Any labels on 0, e_1, …, e_d are the signs of an affine function;
  one unit carries it through every hidden layer, shifted to stay positive on the data.
- **2 + B (interpolation on a line).** Points t_1 < … < t_m on the first axis; the piecewise
  linear interpolant of any labels y_j has the form
  y_1 + s_1(x − t_1) + Σ_{j=2}^{m−1} (s_j − s_{j−1})·ReLU(x − t_j), i.e. m − 2 breakpoints
  and a linear term. Layer 1 spends one unit on a *carrier* x + S (S makes it positive on the
  data, so (P)ReLU passes it) and w_1 − 1 units on breakpoints; every later layer of width
  ≥ 2 keeps the carrier, one *accumulator* (the sum so far, shifted positive) and spends the
  rest on new breakpoints. A width-1 layer after the first ends the construction: its unit
  carries the finished interpolant. PReLU with a fixed slope a ≠ 1 works the same way, since
  ReLU(z) = (PReLU_a(z) − a·z)/(1 − a) and z is affine in the carrier.

Every network is built and evaluated in exact rational arithmetic; :func:`verify_shattering`
checks all 2^m labellings.

Example::

    >>> breakpoint_capacity((3, 3))
    3
    >>> verify_shattering((3, 3), dim=1)   # 2 + 3 = 5 points, all 32 labellings
    5
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

Affine = tuple[list[list[Fraction]], list[Fraction]]  # (weight rows, biases)


def breakpoint_capacity(hidden: tuple[int, ...]) -> int:
    """B: breakpoints the line construction places (module docstring)."""
    total = 0
    for layer, width in enumerate(hidden):
        if layer == 0:
            total += width - 1
        elif width == 1:
            break
        else:
            total += width - 1 - (total > 0)
    return total


def lower_bound(hidden: tuple[int, ...], dim: int) -> int:
    """Points shattered by the explicit constructions: max(d + 1, 2 + B)."""
    return max(dim + 1, 2 + breakpoint_capacity(hidden)) if hidden else dim + 1


def _act(z: Fraction, slope: Fraction) -> Fraction:
    return z if z >= 0 else slope * z


def evaluate(layers: list[Affine], x: list[Fraction], slope: Fraction) -> Fraction:
    """Exact output of a network: (P)ReLU with ``slope`` after every layer but the last."""
    h = list(x)
    for index, (weights, bias) in enumerate(layers):
        z = [
            sum((w * v for w, v in zip(row, h, strict=True)), b)
            for row, b in zip(weights, bias, strict=True)
        ]
        h = z if index == len(layers) - 1 else [_act(v, slope) for v in z]
    return h[0]


class _Layer:
    """Builds one layer: each unit is a dict {previous unit index or 'one': coefficient}."""

    def __init__(self, fan_in: int):
        self.fan_in = fan_in
        self.units: list[dict] = []

    def add(self, combo: dict) -> int:
        self.units.append(combo)
        return len(self.units) - 1

    def affine(self, width: int) -> Affine:
        rows = [[Fraction(0)] * self.fan_in for _ in range(width)]
        bias = [Fraction(0)] * width
        for u, combo in enumerate(self.units):
            for key, coef in combo.items():
                if key == "one":
                    bias[u] += coef
                else:
                    rows[u][key] += coef
        return rows, bias


def _plus(*combos: tuple[Fraction, dict]) -> dict:
    out: dict = {}
    for scale, combo in combos:
        for key, coef in combo.items():
            out[key] = out.get(key, Fraction(0)) + scale * coef
    return out


def halfspace_network(
    hidden: tuple[int, ...], dim: int, labels: list[int], slope: Fraction = Fraction(0)
) -> tuple[list[list[Fraction]], list[Affine]]:
    """Points 0, e_1..e_d and a network whose output has the sign of ``labels`` on them."""
    points = [[Fraction(0)] * dim] + [
        [Fraction(int(i == j)) for j in range(dim)] for i in range(dim)
    ]
    f = {"one": Fraction(labels[0])} | {i: Fraction(labels[i + 1] - labels[0]) for i in range(dim)}
    shift = Fraction(1) + sum(abs(c) for c in f.values())  # f + shift > 0 on the points
    layers, prev = [], f
    for layer, width in enumerate(hidden):
        build = _Layer(dim if layer == 0 else hidden[layer - 1])
        build.add(_plus((Fraction(1), prev), (Fraction(1), {"one": shift})))
        layers.append(build.affine(width))
        prev = {0: Fraction(1), "one": -shift}
    out = _Layer(hidden[-1] if hidden else dim)
    out.add(prev)
    return points, layers + [out.affine(1)]


def _express(
    units: list[tuple], slope: Fraction, linear: tuple[Fraction, Fraction], bound: Fraction
) -> dict[str, dict]:
    """The data-exact meaning of the previous layer: combinations giving x, F (the breakpoint
    sum so far) and f (the interpolant so far) from its units (see :func:`line_network`)."""
    one = {"one": Fraction(1)}
    if units[0][0] == "whole":
        whole = _plus((Fraction(1), {0: Fraction(1)}), (-bound, one))
        return {"f": whole}
    x = {0: Fraction(1), "one": Fraction(-1)}  # the carrier is always unit 0: x + 1
    parts = []
    for index, unit in enumerate(units):
        if unit[0] == "acc":
            parts.append((Fraction(1), _plus((Fraction(1), {index: Fraction(1)}), (-bound, one))))
        elif unit[0] == "kink":
            _, tau, c = unit
            relu = _plus(
                (1 / (1 - slope), {index: Fraction(1)}),
                (-slope / (1 - slope), _plus((Fraction(1), x), (-tau, one))),
            )
            parts.append((c, relu))
    big_f = _plus(*parts) if parts else {}
    intercept, gradient = linear
    f = _plus((Fraction(1), big_f), (intercept, one), (gradient, x))
    return {"x": x, "F": big_f, "f": f}


def line_network(
    hidden: tuple[int, ...], dim: int, labels: list[int], slope: Fraction = Fraction(0)
) -> tuple[list[list[Fraction]], list[Affine]]:
    """Points t = 1..m on the first axis (m = 2 + B) and a network whose output interpolates
    ``labels`` there (module docstring). ``slope`` is the fixed PReLU slope (≠ 1; 0: ReLU)."""
    m = 2 + breakpoint_capacity(hidden)
    if not hidden or len(labels) != m:
        raise ValueError(f"the line construction shatters {m} points, got {len(labels)} labels")
    t = [Fraction(j + 1) for j in range(m)]
    y = [Fraction(v) for v in labels]
    s = [(y[j + 1] - y[j]) / (t[j + 1] - t[j]) for j in range(m - 1)]
    kinks = [(t[j], s[j] - s[j - 1]) for j in range(1, m - 1)]
    linear = (y[0] - s[0] * t[0], s[0])  # y_1 + s_1(x − t_1) = intercept + gradient·x
    bound = 1 + abs(linear[0]) + (abs(linear[1]) + sum(abs(c) for _, c in kinks)) * m
    one = {"one": Fraction(1)}
    layers: list[Affine] = []
    units: list[tuple] = []
    placed = 0
    for layer, width in enumerate(hidden):
        build = _Layer(dim if layer == 0 else hidden[layer - 1])
        meaning = (
            {
                "x": {0: Fraction(1)},
                "F": {},
                "f": _plus((linear[0], one), (linear[1], {0: Fraction(1)})),
            }
            if layer == 0
            else _express(units, slope, linear, bound)
        )
        if "x" not in meaning or (layer > 0 and width == 1):  # carry the finished interpolant
            build.add(_plus((Fraction(1), meaning["f"]), (bound, one)))
            units = [("whole",)]
        else:
            build.add(_plus((Fraction(1), meaning["x"]), (Fraction(1), one)))  # carrier x + 1
            units = [("carrier",)]
            if placed:
                build.add(_plus((Fraction(1), meaning["F"]), (bound, one)))
                units.append(("acc",))
            for tau, c in kinks[placed : placed + width - len(units)]:
                build.add(_plus((Fraction(1), meaning["x"]), (-tau, one)))
                units.append(("kink", tau, c))
            placed = sum(u[0] == "kink" for u in units) + placed
        layers.append(build.affine(width))
    out = _Layer(hidden[-1])
    out.add(_express(units, slope, linear, bound)["f"])
    points = [[tj] + [Fraction(0)] * (dim - 1) for tj in t]
    return points, layers + [out.affine(1)]


def verify_shattering(hidden: tuple[int, ...], dim: int, slope: Fraction = Fraction(0)) -> int:
    """Build the construction for every labelling of its points and check every sign exactly;
    returns the number of points shattered (:func:`lower_bound`), or raises AssertionError."""
    m = lower_bound(hidden, dim)
    build = (
        line_network if hidden and 2 + breakpoint_capacity(hidden) >= dim + 1 else halfspace_network
    )
    for labels in product((-1, 1), repeat=m):
        points, layers = build(hidden, dim, list(labels), slope)
        for point, label in zip(points, labels, strict=True):
            value = evaluate(layers, point, slope)
            if value == 0 or (value > 0) != (label > 0):
                raise AssertionError(f"labelling {labels} not realised at {point}")
    return m
