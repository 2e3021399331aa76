"""``genrank export-lm-eval`` / ``genrank import-lm-eval``: run tasks with lm-eval, and back."""

from __future__ import annotations

from genrank.commands import add_unsafe_code, apply_unsafe_code
from genrank.commands.options import positive_int


def register(sub) -> None:
    p = sub.add_parser("export-lm-eval", help="write tasks as lm-eval task YAML + data + utils.py")
    p.add_argument("dir", help="folder for lm_eval --include_path")
    p.add_argument("--task", action="append", help="task name or glob (repeatable)")
    p.add_argument("--suite", action="append", help="all tasks of a suite (repeatable)")
    p.add_argument("--limit", type=positive_int, help="first N items of each task")
    p.add_argument("--max-new-tokens", type=positive_int, help="override every task's limit")
    p.set_defaults(func=export)
    q = sub.add_parser("import-lm-eval", help="import lm-eval samples_*.jsonl into the run store")
    q.add_argument("results_dir", help="lm_eval --output_path (run with --log_samples)")
    q.add_argument("--model-name", "--name", dest="model_name",
                   help="model name (default: from lm-eval's model_args)")
    q.add_argument("-o", "--output", default="runs", help="run store folder (default: runs)")
    add_unsafe_code(q)
    q.set_defaults(func=import_)


def export(args) -> int:
    from harness.interop.lm_eval import export_tasks
    from harness.spec import load_specs, select

    specs = select(load_specs(), tasks=args.task, suites=args.suite)
    names = export_tasks(specs, args.dir, args.limit, args.max_new_tokens)
    print(f"wrote {len(names)} lm-eval tasks to {args.dir}; run:\n"
          f"  lm_eval --include_path {args.dir} --tasks {','.join(names)} --log_samples "
          "--output_path OUT --model hf --model_args pretrained=...")
    return 0


def import_(args) -> int:
    from harness.interop.lm_eval import import_samples

    apply_unsafe_code(args)
    for path, task, n in import_samples(args.results_dir, args.output, args.model_name):
        print(f"{path}  {task}  n={n}")
    return 0
