"""``genrank run``: evaluate a model on tasks, resumably, into a run directory."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("run", help="evaluate a model on tasks (resumes if interrupted)")
    p.add_argument("--model", default="smollm2-135m",
                   help="alias (smollm2-135m), checkpoint folder, hub id, vllm:PATH or "
                        "openai:URL#NAME (default: smollm2-135m)")
    p.add_argument("--name", help="model name in the run store and leaderboards")
    p.add_argument("--task", action="append", help="task name or glob (repeatable)")
    p.add_argument("--suite", action="append", help="all tasks of a suite (repeatable)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--limit", type=int, help="first N items of each task")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--chat-template", dest="chat_template", action="store_true", default=None,
                   help="wrap prompts in the model's chat template")
    p.add_argument("--no-chat-template", dest="chat_template", action="store_false")
    p.add_argument("--max-new-tokens", type=int, help="override every task's limit")
    p.add_argument("--seed", type=int, help="sampling seed (recorded; greedy ignores it)")
    p.add_argument("-o", "--output", default="runs", help="run store folder (default: runs)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.runner import RunOptions, plan, run_tasks
    from harness.spec import load_specs, select

    tags = dict(t.split("=", 1) for t in args.tag)
    specs = select(load_specs(), tasks=args.task, suites=args.suite, tags=tags)
    opts = RunOptions(limit=args.limit, chat_template=args.chat_template,
                      max_new_tokens=args.max_new_tokens, seed=args.seed,
                      progress=not args.no_progress and sys.stderr.isatty())
    plans = plan(specs, opts)  # every input is checked before the model loads

    from transformers.utils import logging as hf_logging

    from harness.backends import load_backend

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    backend = load_backend(args.model, batch_size=args.batch_size, device=args.device,
                           dtype=args.dtype)
    run_dir, stats = run_tasks(backend, plans, args.output, opts, name=args.name)
    for task, score in stats.scores.items():
        shown = ", ".join(f"{k}={v:.4f}" for k, v in score.items()
                          if k != "n_items" and not k.startswith(("acc_bin", "accuracy[")))
        print(f"{task:36s} n={int(score['n_items']):5d}  {shown}")
    print(f"run: {run_dir.path}  (generated {stats.generated}, cached {stats.cached}, "
          f"resumed {stats.resumed}, model calls {backend.calls}, {stats.seconds:.1f}s)")
    return 0
