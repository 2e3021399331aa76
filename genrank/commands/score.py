"""``genrank score``: score outputs that already exist (the replay backend)."""

from __future__ import annotations

from genrank.commands import add_unsafe_code, apply_unsafe_code
from genrank.commands.options import writable_dir

EXAMPLE = """examples:
  genrank score --task pcfgset_test --model-name transformer \\
      --predictions $GENRANK_DATA/pcfgset/model_predictions/transformer/pcfgset/   # run=1..3 -> 3 seeds
  genrank score --task 'realmistake_*' --predictions $GENRANK_DATA/realmistake/detector_predictions.csv.gz"""


def register(sub) -> None:
    import argparse

    p = sub.add_parser("score", help="score existing predictions (published model outputs)",
                       description=__doc__, epilog=EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True,
                   help="task name or glob, comma-separated allowed; every match is scored")
    p.add_argument("--predictions", required=True,
                   help="predictions file, or a folder (every file the task's pattern matches, "
                        "one run each, seed from the file name; or the whole tree for readers "
                        "that read trees)")
    p.add_argument("--model-name", "--name", dest="model_name",
                   help="model name (when the file does not name models)")
    p.add_argument("--seed", type=int, help="training seed / run number of the model")
    p.add_argument("--limit", type=int,
                   help="only the task's first N items, as `genrank run --limit` (default: all)")
    p.add_argument("-o", "--output", default="runs", help="run store folder (default: runs)")
    add_unsafe_code(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.replay import prediction_files, score_predictions
    from harness.runs import check_name
    from harness.spec import load_specs, select

    apply_unsafe_code(args)
    check_name(args.model_name, "--model-name")
    writable_dir(args.output)
    specs = select(load_specs(), tasks=[t for t in args.task.split(",") if t])
    jobs = [(spec, f, seed) for spec in specs
            for f, seed in prediction_files(spec, args.predictions, args.seed)]
    for spec, path, seed in jobs:
        for run_dir in score_predictions(spec, path, args.output, model_name=args.model_name,
                                         seed=seed, limit=args.limit):
            score = run_dir.read_scores().get(spec.name, {})
            shown = ", ".join(f"{k}={v:.4f}" for k, v in score.items() if k != "n_items")
            print(f"{run_dir.path}  {spec.name}  n={int(score.get('n_items', 0))}  {shown}")
    return 0
