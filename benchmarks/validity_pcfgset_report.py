"""The Validity paper's analysis on every published PCFG SET prediction file.

Replays 3 architectures x 3 runs on the test, systematicity, productivity and both substitutivity
splits (and the substitutivity synonym twins), then runs ``genrank validity`` on those runs:
seed-pooled Kendall tau between every pair of splits with its chance calibration (a
permutation null over the models' seed blocks) and a seed-bootstrap interval.

    .venv/bin/python benchmarks/validity_pcfgset_report.py [-o validity_pcfgset] [--reuse]

Writes OUT/runs (run directories), OUT/report (the validity report) and prints the figures
quoted in docs/validity-pcfgset-halogen.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GENRANK_DATA", str(ROOT.parent / "shared" / "data"))

ARCHS = ("lstms2s", "convs2s", "transformer")
SPLITS = {  # task -> prediction file under pcfgset/model_predictions/<arch>/
    "pcfgset_test": "pcfgset/run={r}.txt",
    "pcfgset_systematicity": "systematicity/run={r}.txt.gz",
    "pcfgset_productivity": "productivity/run={r}.txt.gz",
    "pcfgset_substitutivity_ed": "substitutivity/equally_distributed/run={r}.txt.gz",
    "pcfgset_substitutivity_primitive": "substitutivity/primitive/run={r}.txt.gz",
}
TWINS = {
    "pcfgset_substitutivity_ed_twin": "substitutivity/equally_distributed/run={r}_synonym.txt.gz",
    "pcfgset_substitutivity_primitive_twin": "substitutivity/primitive/run={r}_synonym.txt.gz",
}


def replay(out: Path, splits: dict[str, str]) -> float:
    """Score every (split, architecture, run) file into run directories under ``out``."""
    from harness.replay import score_predictions
    from harness.spec import load_specs

    specs = load_specs()
    pred_root = Path(os.environ["GENRANK_DATA"]) / "pcfgset" / "model_predictions"
    t0 = time.perf_counter()
    for task, pattern in splits.items():
        for arch in ARCHS:
            for r in (1, 2, 3):
                score_predictions(specs[task], pred_root / arch / pattern.format(r=r), out,
                                  model_name=arch, seed=r)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    from genrank.cli import main as genrank

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="validity_pcfgset")
    ap.add_argument("--reuse", action="store_true", help="keep OUT/runs if already replayed")
    ap.add_argument("--no-twins", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.output)
    runs, report = out / "runs", out / "report"
    splits = SPLITS if args.no_twins else {**SPLITS, **TWINS}
    if not (args.reuse and runs.is_dir()):
        n = len(splits) * len(ARCHS) * 3
        print(f"replayed {n} prediction files in {replay(runs, splits):.1f} s")
    t0 = time.perf_counter()
    genrank(["validity", str(runs), "-o", str(report)])
    print(f"genrank validity: {time.perf_counter() - t0:.1f} s")
    import pandas as pd
    scores = pd.read_csv(report / "scores.csv") if (report / "scores.csv").exists() else None
    if scores is not None:
        print(scores.to_string(index=False))
    pooled = pd.read_csv(report / "pooled_concordance.csv")
    print("\nseed-pooled Kendall tau (27 pooled pairs each); chance 95 % range from permuting "
          "the models' seed blocks (exact: 3! orderings), p; seed-bootstrap 95 % interval:")
    for r in pooled.itertuples():
        print(f"  {r.a:40s} {r.b:40s} {r.pooled_tau:+.3f} [{r.null_lo:+.2f}, {r.null_hi:+.2f}] "
              f"p={r.p_value:.4f} seeds [{r.tau_lo:+.2f}, {r.tau_hi:+.2f}]")
    print((report / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
