"""Benchmark: build + verify constructive approximators at ε = 1e-2 for d = 1, 2, 3 with 10⁶
check points (issue-7 target: < 10 s each on 2 cores).

For each case: seconds to build the mixture data, realise the torch module, run the error
search (grid of 10⁶ points + adversarial differential evolution from the 16 worst), and in
d = 1 the proof by breakpoints. Baseline measured in the same run: one plain pass over the same
10⁶ points — the target plus the numpy data evaluation of the mixture — so the printed ratio
verify / baseline is comparable across machines. A second ratio compares the module's forward
pass with its weights gathered per input (``GROUP_MIN`` forced huge) against the default.
Usage: python benchmarks/construct.py [--threads 2] [--points 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import moetheory.layers.moe as moe
from moetheory.construct import approximate, verify_construction
from moetheory.construct.verify import grid, module_function

CASES = [  # (target, α, d, expert, trade-off r) at ε = 1e-2, λ = the proved constant
    ("sawtooth", "0.5", 1, "pwl", 1),
    ("abs-power", "1", 2, "pwl", 1),
    ("abs-power", "1", 2, "pwl", "0.5"),  # 144 larger experts: each runs on many inputs
    ("smooth", "1", 2, "constant", 1),
    ("abs-power", "1", 3, "constant", 1),
]


def seconds(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def plain_pass(c, x: np.ndarray) -> float:
    """The baseline: the target and the numpy data evaluation on the check points."""
    return float(np.abs(c.target(x) - c.mixture.evaluate(x)).max())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--points", type=int, default=10**6)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, {args.points:,} check points, ε = 0.01")
    print(
        "| target | d | expert | r | experts | total params | build s | verify s | baseline s "
        "| verify/baseline | total s | gathered/default forward |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, alpha, d, expert, r in CASES:
        build, c = seconds(approximate, name, alpha, None, d, "0.01", expert=expert, tradeoff=r)
        verify, v = seconds(verify_construction, c, args.points)
        x = grid(d, args.points)
        base, _ = seconds(plain_pass, c, x)
        forward = module_function(c.module())
        forward(x[:1000])  # warm-up
        default, _ = seconds(forward, x)
        group, moe.GROUP_MIN = moe.GROUP_MIN, 10**12
        gathered, _ = seconds(forward, x)
        moe.GROUP_MIN = group
        assert v.within_eps
        print(
            f"| {name} | {d} | {expert} | {r} | {c.num_experts:,} | {c.counts()['total']:,} "
            f"| {build:.2f} | {verify:.2f} | {base:.2f} | {verify / base:.1f} "
            f"| {build + verify:.2f} | {gathered / default:.1f} |"
        )


if __name__ == "__main__":
    main()
