"""Local experts of the constructive approximators, built from networks as data.

Two experts on a grid cell of side 1/K (reference approximation_vc.md §3; this package's
construction, not 2402.03460's, whose construction could not be read):

* **constant** — the affine map x ↦ f(c_k) (zero weights): d + 1 dense parameters, 1 non-zero;
* **Kuhn hats** — the simplicial (Freudenthal/Kuhn) piecewise-linear interpolant of f on the
  (M+1)^d nodes of the cell, spacing h = 1/(K·M):

      f̂(x) = Σ_v f(v)·φ((x − v)/h),   φ(y) = ReLU(1 − max_i ReLU(y_i) − max_i ReLU(−y_i)).

:func:`kuhn_template` builds the hat layer of the cell [0, 1/K]^d with the combinators of
:mod:`moetheory.construct.network`,

    template = hats ∘ trees ∘ first,

where ``first`` computes the 2d(M+1) shared units ReLU(±(x_i − t)/h) and routes each hat's
2d values to its two max-trees, ``trees`` runs the 2·(M+1)^d max-trees side by side
(:func:`max_network`, max(a, b) = ReLU(a − b) + ReLU(b) for b ≥ 0) and ``hats`` is the unit
ReLU(1 − max₊ − max₋) per hat. Composition merges adjacent affine maps, so the hidden widths
are exactly :func:`moetheory.bounds.kuhn.kuhn_widths` and the dense count is
:func:`moetheory.bounds.kuhn.kuhn_parameters`. The expert of the cell with corner a_k is

    expert_k = affine(f(V_k)) ∘ template.shifted(a_k).

Example::

    >>> t = kuhn_template(2, 1, cells=1)
    >>> t.widths, t.evaluate([[0.0, 0.0]]).tolist()
    ((8, 16, 4), [[1.0, 0.0, 0.0, 0.0]])
"""

from __future__ import annotations

import numpy as np

from moetheory.bounds.kuhn import tree_levels
from moetheory.bounds.routers.arrays import multi_indices
from moetheory.construct.network import Network, affine, compose, identity, parallel


def max_network(n: int) -> Network:
    """max(z_1, …, z_n) for z ≥ 0 as a ReLU network: each level pairs its values,
    max(a, b) = ReLU(a − b) + ReLU(b), a leftover c passes as ReLU(c); ⌈log₂ n⌉ levels of
    n, ⌈n/2⌉, … units (n = 1: the identity, no hidden layer).

    Example::

        >>> max_network(3).widths, max_network(3).evaluate([[0.5, 2.0, 1.0]]).tolist()
        ((3, 2), [[2.0]])
    """
    net = identity(n)
    for m in tree_levels(n):
        weight, out = np.zeros((m, m)), np.zeros((-(-m // 2), m))
        for j in range(0, m - 1, 2):
            weight[j, j], weight[j, j + 1] = 1.0, -1.0  # ReLU(a − b)
            weight[j + 1, j + 1] = 1.0  # ReLU(b)
            out[j // 2, j : j + 2] = 1.0
        if m % 2:
            weight[m - 1, m - 1] = out[-1, m - 1] = 1.0
        net = compose(Network((weight, out), (np.zeros(m), np.zeros(len(out)))), net)
    return net


def nodes(dim: int, sub: int) -> np.ndarray:
    """Multi-indices v ∈ {0..M}^d of the hats, row-major, as an ((M+1)^d, d) int array."""
    return multi_indices(sub + 1, dim)


def kuhn_template(dim: int, sub: int, cells: int) -> Network:
    """The (M+1)^d Kuhn hats of the cell [0, 1/K]^d (outputs in :func:`nodes` order).

    Example::

        >>> kuhn_template(1, 2, cells=1).evaluate([[0.25]]).tolist()
        [[0.5, 0.5, 0.0]]
    """
    v = nodes(dim, sub)
    hats = len(v)
    # first layer: unit (i, s, j) = ReLU(s·(x_i − j·h)/h), s = +1 then −1
    per_axis = 2 * (sub + 1)
    weight, bias = np.zeros((dim * per_axis, dim)), np.zeros(dim * per_axis)
    for i in range(dim):
        for s, sign in enumerate((1.0, -1.0)):
            rows = i * per_axis + s * (sub + 1) + np.arange(sub + 1)
            weight[rows, i] = sign * cells * sub  # 1/h exactly (1/(1/n) ≠ n in floats)
            bias[rows] = -sign * np.arange(sub + 1)
    # routing: tree (v, s) reads the units (i, s, v_i), i = 1..d
    select = np.zeros((2 * hats * dim, dim * per_axis))
    for s in range(2):
        for i in range(dim):
            rows = (2 * np.arange(hats) + s) * dim + i
            select[rows, i * per_axis + s * (sub + 1) + v[:, i]] = 1.0
    first = Network((weight, select), (bias, np.zeros(len(select))))
    trees = parallel(*[max_network(dim)] * (2 * hats), shared_input=False)
    pair = np.zeros((hats, 2 * hats))
    pair[np.arange(hats), 2 * np.arange(hats)] = pair[np.arange(hats), 2 * np.arange(hats) + 1] = -1
    hat_layer = Network((pair, np.eye(hats)), (np.ones(hats), np.zeros(hats)))
    return compose(hat_layer, compose(trees, first))


def kuhn_expert(template: Network, corner: np.ndarray, values: np.ndarray) -> Network:
    """The Kuhn-hat interpolant on the cell with corner ``corner``: Σ_v values_v·hat_v.

    Example::

        >>> t = kuhn_template(1, 1, cells=2)
        >>> kuhn_expert(t, np.array([0.5]), np.array([1.0, 3.0])).evaluate([[0.75]]).tolist()
        [[2.0]]
    """
    return compose(
        affine(np.asarray(values, float)[None, :], np.zeros(1)), template.shifted(corner)
    )


def constant_expert(dim: int, value: float) -> Network:
    """The affine map x ↦ ``value`` (zero weights): d + 1 dense parameters, 1 non-zero.

    Example::

        >>> constant_expert(2, 0.5).evaluate([[0.1, 0.9]]).tolist()
        [[0.5]]
    """
    return affine(np.zeros((1, dim)), np.array([float(value)]))
