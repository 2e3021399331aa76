"""`genrank leaderboard` from the run store alone vs a baseline genrank (e.g. main before
self-describing runs), over the same runs, alternating the two so machine noise hits both.

The baseline reads its own copy of the runs (genrank 0.1 format, metrics recomputed with
the suites' code); this tree reads them upgraded by `genrank migrate` (per-item metric
terms, no suite code). Prints each side's seconds per build and the ratio (goal <= 1.0).

    git archive main | tar -x -C /tmp/base
    cp -r demo/runs /tmp/new-runs && genrank migrate /tmp/new-runs
    python benchmarks/bench_leaderboard_store.py --base-src /tmp/base --base-runs demo/runs \\
        --base-tasks tasks-the-runs-were-scored-under.yaml --runs /tmp/new-runs [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = """
import sys, time, warnings
warnings.simplefilter("ignore")
from leaderboards.leaderboard import build, write
start = time.perf_counter()
table = build([sys.argv[1]])
seconds = time.perf_counter() - start
write(table, sys.argv[2])
print(seconds)
"""


def timed(src: Path, runs: Path, out: Path, tasks: Path | None = None) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("GENRANK_TASKS", None)
    if tasks is not None:  # the tasks.yaml the runs were scored under (the baseline needs it)
        env["GENRANK_TASKS"] = str(tasks)
    proc = subprocess.run([sys.executable, "-c", BUILD, str(runs), str(out)], cwd=src, env=env,
                          capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-src", type=Path, required=True, help="baseline genrank source tree")
    ap.add_argument("--base-runs", type=Path, required=True, help="runs as the baseline wrote them")
    ap.add_argument("--runs", type=Path, required=True, help="the same runs, migrated")
    ap.add_argument("--base-tasks", type=Path,
                    help="tasks.yaml the baseline's runs were scored under (else its own)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_leaderboard_store"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base, new = [], []
    for i in range(args.repeats):
        base.append(timed(args.base_src, args.base_runs, args.out / "base.csv", args.base_tasks))
        new.append(timed(ROOT, args.runs, args.out / "new.csv"))
        print(f"repeat {i + 1}: baseline {base[-1]:.2f}s  store-only {new[-1]:.2f}s", flush=True)
    b, n = statistics.median(base), statistics.median(new)
    same = (args.out / "base.csv").read_bytes() == (args.out / "new.csv").read_bytes()
    print(f"leaderboard build, median of {args.repeats}: baseline {b:.2f}s, store-only {n:.2f}s, "
          f"ratio {n / b:.3f}x; CSVs byte-identical: {same}")


if __name__ == "__main__":
    main()
