"""``genrank report``: a paper's published tables from run directories."""

from __future__ import annotations

import argparse
from pathlib import Path

SUITES = ("realmistake",)


def register(sub) -> None:
    p = sub.add_parser("report", help="a paper's tables (CSV and Markdown) from runs",
                       description="A paper's published tables from run directories. "
                       "realmistake: per detection "
                       "method, accuracy/F1/precision/recall per response model and task, each "
                       "detector beside the always-error and random baselines, per prompt and "
                       "averaged over prompts; plus upstream's performance JSON files.")
    p.add_argument("suite", choices=SUITES, help="whose tables")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories or folders of runs")
    p.add_argument("-o", "--output", default="report",
                   help="folder to write, new or empty (default: report)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.errors import GenrankError
    from leaderboards.runs import find_runs
    from suites.realmistake.report import write_report

    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GenrankError("output exists and is not an empty folder (nothing is overwritten)",
                           file=str(out), field="--output")
    runs = [run.path for run in find_runs(args.runs)]
    written = write_report(runs, out)
    print(f"report {args.suite}: {sum(p.suffix == '.csv' for p in written)} tables from "
          f"{len(runs)} runs -> {out}")
    return 0
