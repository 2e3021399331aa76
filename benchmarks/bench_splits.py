"""Speed and memory of genrank split: MCD of all 20,910 SCAN commands, MCD of N CFQ-sized
items, divergence of a given split of N items. One core; figures printed as seconds,
peak memory and ratios against the issue's limits (60 s, 600 s, 10 s).

    OMP_NUM_THREADS=1 nice python benchmarks/bench_splits.py [--cfq-items 100000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cfq-items", type=int, default=100_000)
    ap.add_argument("--max-rounds", type=int, default=5000)
    args = ap.parse_args()

    from harness.splits import trees
    from harness.splits.divergence import measure
    from harness.splits.make import Decomposed
    from harness.splits.mcd import search
    from harness.splits.pool import load_pool
    from suites.compositional.decompose import cfq_tree, scan_tree
    from suites.compositional.scan_grammar import all_commands

    t = time.perf_counter()
    scan = [scan_tree(c) for c in all_commands()]
    from harness.splits.bags import Bags
    atoms = Bags.build(trees.atoms(x) for x in scan)
    comps = Bags.build(trees.compounds(x) for x in scan)
    start = np.random.default_rng(0).random(len(scan)) < 0.2
    res = search(atoms, comps, start, seed=0, min_train=len(scan) // 2,
                 max_rounds=args.max_rounds)
    s = time.perf_counter() - t
    m = measure(atoms, comps, res.in_test, np.where(res.unused, 0, 1))
    print(f"mcd SCAN 20,910: {s:.1f} s (limit 60 s, ratio {s / 60:.2f}); {m.line()}; "
          f"peak {peak_mb():.0f} MB")

    t = time.perf_counter()
    pool = load_pool("cfq")
    reps = -(-args.cfq_items // len(pool.items))
    items = (pool.items * reps)[: args.cfq_items]  # CFQ-sized items (repeated past 119,679)
    dec = Decomposed(items, lambda it: cfq_tree(it.target))
    parse_s = time.perf_counter() - t
    start = np.random.default_rng(0).random(len(items)) < 0.2
    t = time.perf_counter()
    m = measure(dec.atoms, dec.compounds, start)
    div_s = time.perf_counter() - t
    print(f"divergence of a {len(items):,}-item split: {div_s:.2f} s (limit 10 s, ratio "
          f"{div_s / 10:.3f}); parsing {parse_s:.1f} s")
    t = time.perf_counter()
    res = search(dec.atoms, dec.compounds, start, seed=0, min_train=len(items) // 2,
                 max_rounds=args.max_rounds)
    s = time.perf_counter() - t + parse_s
    m = measure(dec.atoms, dec.compounds, res.in_test, np.where(res.unused, 0, 1))
    print(f"mcd CFQ {len(items):,}: {s:.1f} s incl. parsing (limit 600 s, ratio {s / 600:.2f}); "
          f"{res.rounds} rounds, {res.stopped}; {m.line()}; peak {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
