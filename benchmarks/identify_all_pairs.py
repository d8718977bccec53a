"""Benchmark: identify every built-in pair at d = 2, order 2; total and median seconds.

Baseline measured in the same run: the cheapest pair (softmax × linear) repeated, so the printed
ratio total/baseline is comparable across machines. Target (issue 4): total < 20 s on 2 cores.
Usage: python benchmarks/identify_all_pairs.py [--seconds LIMIT]
"""

from __future__ import annotations

import argparse
import statistics
import time

from moetheory import identify
from moetheory.families import EXPERTS, ROUTERS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="per-pair time limit")
    args = ap.parse_args()
    t = time.perf_counter()
    identify("softmax", "linear", seed=1)
    baseline = time.perf_counter() - t
    times, unknown = [], []
    for g in ROUTERS:
        for e in EXPERTS:
            t = time.perf_counter()
            v = identify(g, e, seconds=args.seconds)
            times.append(time.perf_counter() - t)
            if v.certificate.get("status") != "complete":
                unknown.append(f"{g} × {e}: {v.certificate.get('status')}")
    total = sum(times)
    print(f"pairs: {len(times)}; total {total:.1f} s; median {statistics.median(times):.3f} s; "
          f"max {max(times):.1f} s; baseline (softmax × linear) {baseline:.3f} s; "
          f"total/baseline {total / baseline:.0f}")
    for line in unknown:
        print("not complete:", line)


if __name__ == "__main__":
    main()
