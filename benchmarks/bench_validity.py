"""Timings of the validity analysis (goals: concordance + 1,000 bootstrap draws on the BenchBench
snapshots < 5 s; 2PL IRT on 100 models x 5,000 items < 30 s)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from leaderboards.validity import aggregate, concordance, irt, stability, tables  # noqa: E402


def main() -> None:
    root = Path(os.environ.get("GENRANK_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    t0 = time.perf_counter()
    long, agg = tables.benchbench_catalog(root / "leaderboards" / "benchbench")
    wide = tables.to_wide(long)
    t1 = time.perf_counter()
    pairs = concordance.pairwise(wide)
    wa = aggregate.with_aggregate(wide, agg)
    z = aggregate.agreement_with_reference(wa)
    ci = stability.reference_tau_intervals(wa, aggregate.AGGREGATE, n_boot=1000)
    t2 = time.perf_counter()
    print(f"load {wide.shape[1]} scenarios from 40 snapshot files: {t1 - t0:.2f} s")
    print(f"{len(pairs)} pairwise concordances + aggregate z-scores + 1,000 bootstrap draws "
          f"for {len(ci)} benchmarks: {t2 - t1:.2f} s (goal < 5 s)")
    rng = np.random.default_rng(0)
    theta, b = rng.normal(size=100), rng.normal(size=5000)
    a = rng.lognormal(0, 0.3, size=5000)
    y = (rng.uniform(size=(100, 5000)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(float)
    for model in ("1pl", "2pl"):
        t3 = time.perf_counter()
        fit = irt.fit(pd.DataFrame(y), model)
        print(f"IRT {model} on 100 models x 5,000 items: {time.perf_counter() - t3:.2f} s "
              f"({fit.iterations} EM iterations, converged={fit.converged}; goal < 30 s)")
    print(z.dropna(subset=["z_score"]).head(5)[["benchmark", "n", "kendall_tau", "z_score"]]
          .to_string(index=False))


if __name__ == "__main__":
    main()
