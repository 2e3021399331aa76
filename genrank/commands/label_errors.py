"""``genrank label-errors``: likely label errors from out-of-sample probabilities and given labels."""

from __future__ import annotations

import argparse
from pathlib import Path


# cleanlab's find_label_issues(filter_by=...) choices, listed here so --help needs no import
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
           "predicted_neq_given", "low_normalized_margin", "low_self_confidence")


def register(sub) -> None:
    p = sub.add_parser("label-errors", help="find likely label errors (cleanlab confident "
                       "learning) from predicted probabilities and the given labels",
                       description=__doc__.splitlines()[0])
    p.add_argument("--probs", required=True, metavar="FILE",
                   help="items x classes out-of-sample predicted probabilities (.npy, or CSV "
                        "without header)")
    p.add_argument("--labels", required=True, metavar="FILE",
                   help="given labels, one class index per item (.npy, or CSV)")
    p.add_argument("-o", "--output", default="label_issues.csv",
                   help="CSV of flagged items: index, given and predicted label, probabilities")
    p.add_argument("--filter-by", choices=FILTERS, default="prune_by_noise_rate",
                   help="cleanlab's find_label_issues filter")
    p.add_argument("--n-jobs", type=int, default=1, help="cleanlab worker processes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from leaderboards.validity import label_errors

    labels, probs = label_errors.read_label_problem(args.probs, args.labels)
    flags = label_errors.find_issues(labels, probs, filter_by=args.filter_by,
                                     n_jobs=args.n_jobs)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    label_errors.label_issue_table(labels, probs, flags).to_csv(out, index=False,
                                                                 float_format="%.6g")
    print(f"label errors: {int(flags.sum())} of {len(labels)} items flagged "
          f"({args.filter_by}) -> {out}")
    return 0
