"""``genrank leaderboard``: a leaderboard CSV from run directories."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("leaderboard", help="leaderboard CSV (scores, 95%% CIs, ranks) from runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories or folders of runs")
    p.add_argument("-o", "--output", default="leaderboard.csv", help="CSV to write")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--n-boot", "--bootstrap", dest="bootstrap", type=int, default=1000,
                   help="bootstrap draws for the intervals")
    p.set_defaults(func=run)


def run(args) -> int:
    from leaderboards.leaderboard import build, write

    table = build(args.runs, confidence=args.confidence, n_boot=args.bootstrap)
    path = write(table, args.output)
    print(f"leaderboard: {len(table)} models x {sum(c.endswith(':rank') for c in table.columns)}"
          f" tasks -> {path}")
    return 0
