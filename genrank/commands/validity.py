"""``genrank validity``: benchmark-validity report from runs, a leaderboard CSV or wide tables."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("validity", help="concordance, rank stability, significance and "
                       "difficulty analysis across benchmarks",
                       description=__doc__.splitlines()[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="run directories (or folders of runs), a genrank leaderboard CSV, wide "
                        "CSV tables 'model,<benchmark columns>', or a folder of such tables")
    p.add_argument("-o", "--output", default="validity_report", help="report directory")
    p.add_argument("--aggregate", metavar="FILE_OR_LIST",
                   help="scenarios of the aggregate reference: a list file or comma-separated "
                        "names (default: scenarios_for_aggregate.txt beside a catalog, else all)")
    p.add_argument("--reference", metavar="FILE_OR_LIST|all",
                   help="benchmarks the z-scores are standardised over, IBM BenchBench's "
                        "reference set: a list file, comma-separated names or 'all' (default: "
                        "scenarios_of_intereset.txt beside a catalog, else all); names not in "
                        "the table are skipped and reported")
    p.add_argument("--lower-is-better", metavar="FILE_OR_LIST",
                   help="sources (file stems, matched exactly), or for runs task or metric "
                        "names, whose scores are lower-is-better")
    p.add_argument("--metric", help="metric of run directories to compare (default: each "
                   "task's primary_metric, negated where the task is lower_is_better)")
    p.add_argument("--n-boot", "--bootstrap", dest="n_boot", type=int, default=1000,
                   help="bootstrap draws")
    p.add_argument("--n-sim", type=int, default=2000,
                   help="seed-pooled chance null: model permutations (all of them when there "
                        "are at most this many) and seed-bootstrap draws")
    p.add_argument("--k", type=lambda s: [int(x) for x in s.split(",")], default=None,
                   help="model-subset sizes for granularity, e.g. 5,10,20")
    p.add_argument("--irt", choices=["1pl", "2pl"], default="2pl")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip", type=lambda s: frozenset(x.strip() for x in s.split(",")),
                   default=frozenset(), metavar="SECTIONS",
                   help="run sections to leave out: stability,significance,irt,labels")
    p.add_argument("--splits", action="store_true",
                   help="runs of tasks made by genrank split: ranking agreement between split "
                        "strategies (seed-pooled Kendall tau, chance range, verdict) and "
                        "Supervision Gap Recovered for difficulty splits")
    p.set_defaults(func=run)


def _names(value: str | None, field: str = "") -> list[str] | None:
    """A list file or comma-separated names; a path that does not exist is an error."""
    from harness.errors import GenrankError
    from leaderboards.validity.tables import read_list
    if not value:
        return None
    if Path(value).is_file():
        return read_list(value)
    if "/" in value or Path(value).suffix in (".txt", ".csv", ".lst"):
        raise GenrankError("list file not found", file=value, field=field)
    return [v.strip() for v in value.split(",")]


def run(args: argparse.Namespace) -> int:
    from harness.errors import GenrankError
    from leaderboards.validity import inputs, report

    out = Path(args.output)
    data = inputs.load(args.inputs,
                       lower_is_better=_names(args.lower_is_better, "--lower-is-better"),
                       metric=args.metric)
    agg = _names(args.aggregate, "--aggregate") or data.aggregate
    reference = (None if args.reference == "all"
                 else _names(args.reference, "--reference") or data.reference)
    if reference is not None and data.wide is not None and not any(
            b in data.wide.columns for b in reference):
        raise GenrankError("none of the reference benchmarks is in the table",
                           field="--reference")
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    if data.wide is not None and data.wide.shape[1] >= 2:
        lines += report.wide_report(data.wide, out, aggregate_scenarios=agg,
                                    reference_set=reference, n_boot=args.n_boot,
                                    ks=args.k, seed=args.seed)
    if data.scores is not None:
        lines += report.items_report(data.scores, data.items, out,
                                     n_boot=args.n_boot, n_sim=args.n_sim,
                                     irt_model=args.irt, seed=args.seed, skip=args.skip)
    if args.splits and data.scores is not None:
        from leaderboards.validity.splits import splits_report
        lines += splits_report(args.inputs, data.scores, out, n_boot=args.n_boot,
                               n_sim=args.n_sim, seed=args.seed)
    report.write_summary(out, "Benchmark validity report", lines)
    print(f"wrote {out}/summary.md ({len(list(out.iterdir()))} files)")
    return 0
