"""Benchmark: exact LP shattering of m points by halfspaces (issue 16: m = 12 "well under a
minute on 2 cores"). Prints the seconds per run, the LPs solved, the machine load
(os.getloadavg) before and after, and checks the count against Cover's C(m, d + 1).

    python benchmarks/shatter_lp.py                 # m = 12, d = 2 and 3
    python benchmarks/shatter_lp.py --points 10 --dims 1,2,3,4
"""

from __future__ import annotations

import argparse
import os
import time

from moetheory.experiments.shatter.exact import cover_count, shatter_exact
from moetheory.experiments.shatter.points import random_points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=12)
    parser.add_argument("--dims", default="2,3")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load before {os.getloadavg()}")
    for d in (int(v) for v in args.dims.split(",")):
        pts = random_points(args.points, d, seed=args.seed)
        start = time.perf_counter()
        result = shatter_exact(pts, "halfspace")
        seconds = time.perf_counter() - start
        counts = result.counts()
        ok = counts["realised"] == cover_count(args.points, d + 1) and not counts["undecided"]
        print(
            f"halfspaces d = {d}, m = {args.points}: {seconds:.2f} seconds, "
            f"{len(result.outcomes)} LPs (labellings 2^{args.points} by y -> -y), "
            f"realised {counts['realised']} = Cover C(m, d+1) {cover_count(args.points, d + 1)}"
            f": {'ok' if ok else 'MISMATCH'}; load {os.getloadavg()}"
        )


if __name__ == "__main__":
    main()
