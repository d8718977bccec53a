"""Layout and exact sizes of the Kuhn-hat expert: a ReLU network computing the simplicial
(Freudenthal/Kuhn) piecewise-linear interpolant of f on one grid cell [this package, math].

On a cell with spacing h = 1/(K·M) the nodes V are the (M+1)^d grid points of the closed cell
and f̂(x) = Σ_{v∈V} f(v)·φ((x − v)/h), with

    φ(y) = ReLU(1 − max(0, y_1, …, y_d) + min(0, y_1, …, y_d))
         = ReLU(1 − max_i ReLU(y_i) − max_i ReLU(−y_i))

(the Kuhn hats: a partition of unity reproducing affine functions, so f̂ is the simplicial
linear interpolant; error ≤ λ·(diam)^α, diam = √d·h in ℓ₂ or h in ℓ∞; reference
approximation_vc.md §3(b)). The network, layer by layer:

1. 2d(M+1) units ReLU(±(x_i − t)/h), one per axis i, sign ± and node coordinate t (shared by
   every hat using that coordinate);
2. for each hat, two max-trees (over the d values ReLU(y_i) and over the d values ReLU(−y_i)),
   using max(a, b) = ReLU(a − b) + ReLU(b) for b ≥ 0: a level holding n values uses n units
   (a pair: ReLU(a − b), ReLU(b); a leftover c: ReLU(c)) and leaves ⌈n/2⌉ values; ⌈log₂ d⌉
   levels;
3. one unit per hat, ReLU(1 − max₊ − max₋);
4. the output Σ_v f(v)·hat_v.

Example::

    >>> kuhn_widths(2, 1)    # d = 2, M = 1: 8 first-layer units, 4 hats
    [8, 16, 4]
    >>> kuhn_parameters(2, 1)
    (241, 64)
"""

from __future__ import annotations


def tree_levels(d: int) -> list[int]:
    """Values entering each max-tree level: d, ⌈d/2⌉, … down to 2 (empty for d = 1)."""
    levels, n = [], d
    while n > 1:
        levels.append(n)
        n = (n + 1) // 2
    return levels


def kuhn_widths(d: int, sub: int) -> list[int]:
    """Hidden widths of the expert for d inputs and ``sub`` = M sub-cells per axis."""
    hats = (sub + 1) ** d
    return [2 * d * (sub + 1), *(2 * n * hats for n in tree_levels(d)), hats]


def kuhn_parameters(d: int, sub: int) -> tuple[int, int]:
    """(dense, structural non-zero) parameters of the expert.

    Dense: Σ (fan-in + 1)·fan-out over the layers d → widths → 1. Structural non-zeros:
    first layer 2 per unit (weight ±1/h, bias ∓t/h); a max-tree unit reads the units of the
    values it combines (a value made by a pair is the sum of 2 units, otherwise 1), biases 0;
    a hat unit reads its two maxima and a bias 1; the output reads one weight per hat. Actual
    non-zeros can be fewer (a node coordinate t = 0, or f(v) = 0).
    """
    widths = [d, *kuhn_widths(d, sub), 1]
    dense = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    hats = (sub + 1) ** d
    per_hat = 0
    sizes = [1] * d  # units per value entering the first tree level
    for _ in tree_levels(d):
        nxt = []
        for j in range(0, len(sizes) - 1, 2):
            a, b = sizes[j], sizes[j + 1]
            per_hat += (a + b) + b  # ReLU(a − b) and ReLU(b)
            nxt.append(2)
        if len(sizes) % 2:
            per_hat += sizes[-1]
            nxt.append(1)
        sizes = nxt
    per_hat *= 2  # the max₊ and the max₋ trees
    per_hat += 2 * sizes[0] + 1  # hat unit: both maxima and the bias
    nonzero = 2 * (2 * d * (sub + 1)) + hats * per_hat + hats
    return dense, nonzero
