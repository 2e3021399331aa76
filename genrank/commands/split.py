"""``genrank split``: make a split of a dataset (or measure an existing one) and write a
tasks file that ``genrank run --tasks-file`` runs like any declared task."""

from __future__ import annotations

import json
from pathlib import Path

STRATEGY_HELP = ("random | length (--length-of, --threshold or --quantile) | template "
                 "(--pattern, --drop) | primitive (--primitive) | mcd | tmcd | difficulty "
                 "(--rating-field or --difficulty-from)")


def register(sub) -> None:
    p = sub.add_parser("split", help="make a compositional or easy-to-hard split, or measure one",
                       description=__doc__.replace("``", ""))
    p.add_argument("dataset", metavar="DATASET",
                   help="a pool (scan, cogs, cfq, pcfgset), a task in tasks.yaml (e.g. "
                        "e2h_lichess), or a .jsonl of {input, output} objects")
    p.add_argument("--strategy", default="random", help=STRATEGY_HELP)
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the shuffle, the random start of mcd/tmcd and --size (default: 0)")
    p.add_argument("-o", "--output", help="folder to write (must be new or empty); "
                   "default: splits/<dataset>_<strategy>_s<seed>")
    p.add_argument("--name", help="task name in the generated tasks file "
                   "(default: <dataset>_<strategy>_s<seed>)")
    p.add_argument("--size", type=int, help="draw this many items of the pool first (seeded)")
    p.add_argument("--test-size", type=float, default=0.2, help="random/mcd/tmcd: test share")
    p.add_argument("--train-size", type=float, default=0.5,
                   help="mcd/tmcd: smallest training share of the pool (the search may leave "
                        "the rest out, as Keysers et al.'s splits do); 0 keeps every item")
    p.add_argument("--atom-max", type=float, default=0.02, help="mcd: largest atom divergence")
    p.add_argument("--compound-target", type=float, help="mcd/tmcd: stop at this divergence")
    p.add_argument("--max-rounds", type=int, default=5000, help="mcd/tmcd: search rounds")
    p.add_argument("--length-of", choices=["input", "output"], default="output")
    p.add_argument("--threshold", type=int, help="length: test = longer than this many tokens")
    p.add_argument("--quantile", type=float, help="length: threshold at this length quantile")
    p.add_argument("--pattern", help="template: regex (whole words) whose inputs are held out")
    p.add_argument("--drop", help="template: regex whose inputs are left out of both sides")
    p.add_argument("--primitive", help="primitive: word(s) seen in training only alone")
    p.add_argument("--primitive-share", type=float, default=0.1,
                   help="primitive: share of the training file that is the primitive alone")
    p.add_argument("--rating-field", default="difficulty",
                   help="difficulty: meta field with the rating (difficulty = the task's "
                        "difficulty_field)")
    p.add_argument("--difficulty-from", nargs="+", metavar="RUNS",
                   help="difficulty: rate items by genrank's IRT over these runs of the task")
    p.add_argument("--exemplar-share", type=float, default=0.2,
                   help="difficulty: share of the hard third kept back as hard exemplars")
    p.add_argument("--k", type=int, default=4,
                   help="few-shot exemplars per prompt when the template task sets none")
    p.add_argument("--measure", nargs=2, metavar=("TRAIN", "TEST"),
                   help="measure an existing split instead (paths under GENRANK_DATA or "
                        "absolute; PATH::MEMBER inside an archive; .jsonl)")
    p.add_argument("--parser", choices=["mcd", "tmcd"], default="mcd",
                   help="--measure: whose atoms and compounds")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _options(args):
    from harness.splits.strategies import SplitOptions

    return SplitOptions(seed=args.seed, size=args.size, test_size=args.test_size, length_of=args.length_of,
                        threshold=args.threshold, quantile=args.quantile, pattern=args.pattern,
                        drop=args.drop, primitive=args.primitive,
                        primitive_share=args.primitive_share,
                        train_size=args.train_size or None, atom_max=args.atom_max,
                        compound_target=args.compound_target, max_rounds=args.max_rounds,
                        rating_field=args.rating_field, exemplar_share=args.exemplar_share)


def measure_existing(args) -> int:
    import numpy as np

    from harness.splits.make import decompose
    from harness.splits.divergence import measure
    from harness.splits.pool import Pool, load_pool, load_side

    pool = load_pool(args.dataset)
    train, test = (load_side(pool, w) for w in args.measure)
    both = Pool(pool.name, train + test, pool.template, pool.dataset)
    ctx = {"dataset": pool.name, "strategy": "measure"}
    from harness.splits.make import parser_for
    strict = parser_for(pool.dataset, args.parser)[0] is not None  # a parser that fails: say so
    dec, how = decompose(both, args.parser, strict=strict, ctx=ctx)
    in_test = np.r_[np.zeros(len(train), bool), np.ones(len(test), bool)]
    m = measure(dec.atoms, dec.compounds, in_test)
    report = {"dataset": pool.name, "train": args.measure[0], "test": args.measure[1],
              "decomposition": how, **m.as_dict()}
    print(json.dumps(report, indent=2) if args.json else f"{pool.name}: {m.line()}  [{how}]")
    return 0


def _irt_ratings(pool, runs):
    """Item difficulty from genrank's IRT over runs of the pool's task (the 2PL b)."""
    import dataclasses

    from harness.errors import GenrankError
    from leaderboards import runs as run_io
    from leaderboards.validity import irt

    items = run_io.load_items(runs, tasks=[pool.template.name])
    if items.empty:
        raise GenrankError(f"the runs hold no records of task {pool.template.name!r}",
                           file=", ".join(runs), field="--difficulty-from")
    fit = irt.fit(irt.response_matrix(items))
    by_id = dict(zip(fit.items["item_id"].astype(str), fit.items["difficulty"]))
    return [dataclasses.replace(it, meta={**it.meta, "difficulty": by_id.get(it.id)})
            for it in pool.items]


def run(args) -> int:
    if args.measure:
        return measure_existing(args)
    from harness.splits import files
    from harness.splits.make import make_split
    from harness.splits.pool import load_pool

    opts = _options(args)
    pool = load_pool(args.dataset)
    if args.difficulty_from:
        pool.items = _irt_ratings(pool, args.difficulty_from)
    split, m, how = make_split(pool, args.strategy, opts)
    slug = Path(pool.name).stem.replace("-", "_")
    name = args.name or f"{slug}_{args.strategy}_s{args.seed}"
    out = Path(args.output or Path("splits") / name)
    pick = lambda idx: [pool.items[i] for i in idx]  # noqa: E731
    sides = {"train": pick(split.train), "test": pick(split.test)}
    sides.update({n: pick(idx) for n, idx in split.exemplars.items()})
    k = int((pool.template.fewshot or {}).get("k") or args.k)
    exemplar_files = ({"zero": None, **{n: f"{n}.jsonl" for n in split.exemplars}}
                      if split.exemplars else {"": "train.jsonl"})
    tags = {"split_of": pool.name, "split_strategy": args.strategy, "split_seed": args.seed}
    fields = sorted({f for it in sides["test"] for f in it.fields})
    tasks = files.task_entries(pool.template, name,
                               f"{pool.name} {args.strategy} split (seed {args.seed}), made by "
                               "genrank split", tags, exemplar_files, fields, k)
    report = {"dataset": pool.name, "strategy": args.strategy, "seed": args.seed,
              "options": {k_: v for k_, v in vars(opts).items()}, "pool_size": len(pool.items),
              "decomposition": how, **m.as_dict(), "search": split.info,
              "files": {n: f"{n}.jsonl" for n in sides}, "tasks": [t["name"] for t in tasks]}
    header = (f"# generated by: genrank split {args.dataset} --strategy {args.strategy} "
              f"--seed {args.seed}\n# run: genrank run --tasks-file {out / 'tasks.yaml'} "
              f"--task '{name}*'\n")
    files.write_split(out, sides, report, tasks, header)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"{pool.name} {args.strategy} (seed {args.seed}): {m.line()}")
        print(f"  decomposition: {how}")
        print(f"wrote {out}/ (train.jsonl, test.jsonl, split.json, tasks.yaml: "
              f"{', '.join(t['name'] for t in tasks)})")
    return 0
