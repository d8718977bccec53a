"""Benchmark: identify every built-in pair at d = 2, order 2; total and median seconds.

Baseline measured in the same run: the cheapest pair (softmax × linear) repeated, so the printed
ratio total/baseline is comparable across machines. Two measurements: one process (per-pair
times, median) and ``--workers`` processes (wall time of the whole sweep, the figure the
issue-4 target refers to: < 20 s on 2 cores). CPU time of the one-process run is printed too:
it is the figure to compare when other work shares the machine.
Usage: python benchmarks/identify_all_pairs.py [--seconds LIMIT] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from moetheory import identify
from moetheory.families import EXPERTS, ROUTERS
from moetheory.rates.atlas import identify_all


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="per-pair time limit")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    pairs = [(g, e) for g in ROUTERS for e in EXPERTS]
    t = time.perf_counter()  # first, while every cache is cold (workers fork this process)
    identify_all(pairs, seconds=args.seconds, workers=args.workers)
    parallel = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(5):
        identify("softmax", "linear", seed=1)
    baseline = (time.perf_counter() - t) / 5
    times, unknown = [], []
    cpu = time.process_time()
    for g, e in pairs:
        t = time.perf_counter()
        v = identify(g, e, seconds=args.seconds)
        times.append(time.perf_counter() - t)
        if v.certificate.get("status") != "complete":
            unknown.append(f"{g} × {e}: {v.certificate.get('status')}")
    total = sum(times)
    cpu = time.process_time() - cpu
    print(
        f"pairs: {len(times)}; one process: total {total:.1f} s (CPU {cpu:.1f} s), median "
        f"{statistics.median(times):.3f} s, max {max(times):.1f} s; {args.workers} workers: "
        f"wall {parallel:.1f} s; baseline (softmax × linear) {baseline:.3f} s; "
        f"total/baseline {total / baseline:.0f}"
    )
    for line in unknown:
        print("not complete:", line)


if __name__ == "__main__":
    main()
