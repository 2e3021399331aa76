"""``genrank glicko2``: Glicko-2 ratings of models and items from a response table."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("glicko2", help="rate items (and models) with Glicko-2 from a response "
                       "table, items as players (Easy2Hard-Bench's difficulty rating)",
                       description=__doc__.splitlines()[0])
    p.add_argument("table", metavar="TABLE",
                   help="CSV: long 'model,item,correct' (or item_id / score), or wide: model "
                        "column then one 0/1 column per item")
    p.add_argument("-o", "--output", default="glicko2_ratings.csv",
                   help="CSV: kind, name, rating, rd, volatility")
    p.add_argument("--periods", type=int, default=1,
                   help="rating periods the shuffled games are split into")
    p.add_argument("--tau", type=float, default=0.5, help="Glicko-2 system constant")
    p.add_argument("--rd", type=float, default=350.0, help="starting rating deviation")
    p.add_argument("--volatility", type=float, default=0.06, help="starting volatility")
    p.add_argument("--initial", metavar="FILE",
                   help="starting ratings (a previous output: kind,name,rating,rd,volatility)")
    p.add_argument("--seed", type=int, default=0, help="game order shuffle (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.errors import GenrankError
    from leaderboards.validity import glicko2, inputs

    if args.periods < 1:
        raise GenrankError("must be at least 1", field="--periods")
    responses = inputs.read_responses(args.table)
    initial = inputs.read_ratings(args.initial) if args.initial else None
    ratings = glicko2.rate_items(responses, periods=args.periods, tau=args.tau,
                                 init_rd=args.rd, init_vol=args.volatility, seed=args.seed,
                                 initial=initial)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    ratings.to_csv(out, index=False, float_format="%.6f")
    n = ratings["kind"].value_counts()
    print(f"glicko2: {n.get('model', 0)} models, {n.get('item', 0)} items, {len(responses)} "
          f"games -> {out}")
    return 0
