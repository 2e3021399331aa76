"""``genrank score``: score outputs that already exist (the replay backend)."""

from __future__ import annotations

from genrank.options import writable_dir


def register(sub) -> None:
    p = sub.add_parser("score", help="score existing predictions (published model outputs)")
    p.add_argument("--task", required=True, help="task name (see `genrank tasks`)")
    p.add_argument("--predictions", required=True, help="predictions file or folder")
    p.add_argument("--model-name", help="model name (when the file does not name models)")
    p.add_argument("--seed", type=int, help="training seed / run number of the model")
    p.add_argument("-o", "--output", default="runs", help="run store folder (default: runs)")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.replay import score_predictions
    from harness.runs import check_name
    from harness.spec import load_specs, select

    check_name(args.model_name, "--model-name")
    writable_dir(args.output)

    (spec,) = select(load_specs(), tasks=[args.task])[:1]
    runs = score_predictions(spec, args.predictions, args.output, model_name=args.model_name,
                             seed=args.seed)
    for run in runs:
        score = run.read_scores().get(spec.name, {})
        shown = ", ".join(f"{k}={v:.4f}" for k, v in score.items() if k != "n_items")
        print(f"{run.path}  {spec.name}  n={int(score.get('n_items', 0))}  {shown}")
    return 0
