"""``genrank run``: evaluate a model on tasks, resumably, into a run directory."""

from __future__ import annotations

import sys

from genrank.commands import add_unsafe_code, apply_unsafe_code


EXAMPLES = """examples:
  genrank run --model smollm2-135m --task scan_simple,cogs_gen --limit 20
  genrank run --model path/to/checkpoint --suite easy2hard --num-fewshot 0 --apply-chat-template
  genrank run --model Org/Model --model-args revision=main,dtype=bfloat16,peft=adapter/ \\
      --gen-kwargs temperature=0.7,top_p=0.95,seed=1 --batch-size auto"""
from genrank.commands.options import key_value, positive_int, writable_dir


def register(sub) -> None:
    from genrank.commands.options import add_model_options

    p = sub.add_parser("run", help="evaluate a model on tasks (resumes if interrupted)",
                       description=__doc__, epilog=EXAMPLES)
    p.add_argument("--model", default="smollm2-135m",
                   help="alias (smollm2-135m), checkpoint folder, hub id, vllm:PATH or "
                        "openai:URL#NAME")
    p.add_argument("--task", "--tasks", action="append",
                   help="task names or globs, comma-separated or repeated")
    p.add_argument("--tasks-file", action="append", metavar="FILE",
                   help="read tasks from this file instead of tasks.yaml, e.g. one written by "
                        "genrank split (repeatable; default: tasks.yaml)")
    p.add_argument("--suite", action="append", help="all tasks of a suite (repeatable)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   type=key_value,
                   help="only tasks with this tag (repeatable)")
    p.add_argument("--limit", type=positive_int, help="first N items of each task (default: all)")
    add_model_options(p)
    p.add_argument("--apply-chat-template", "--chat-template", dest="chat_template",
                   action="store_true", default=None,
                   help="wrap prompts in the model's chat template (default: each task's own)")
    p.add_argument("--no-chat-template", dest="chat_template", action="store_false")
    p.add_argument("--max-new-tokens", type=positive_int, help="override every task's limit")
    p.add_argument("--shards", type=positive_int, default=1,
                   help="split items into N shards, each with its own backend")
    p.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="run shards as local processes or as Ray tasks")
    p.add_argument("--tensor-parallel-size", type=positive_int, default=1, help="vllm: GPUs per model")
    p.add_argument("--max-model-len", type=positive_int, help="vllm: context length to allocate for")
    p.add_argument("--concurrency", type=positive_int, default=8,
                   help="openai: requests in flight at once")
    p.add_argument("--max-retries", type=int, default=5,
                   help="openai: retries of a request on 429/5xx/timeouts (said on stderr, "
                        "counted in the run's history)")
    p.add_argument("--max-failed-items", type=int, default=0, metavar="N",
                   help="openai: items whose requests still fail after retries that may be "
                        "recorded as failed (scored wrong) before the run stops")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY",
                   help="openai: environment variable holding the API key (never recorded)")
    p.add_argument("--judge", metavar="MODEL",
                   help="the judge model role (as Inspect's): any --model string; tasks whose "
                        "verifier asks an LLM judge need it")
    p.add_argument("--judge-max-new-tokens", type=int, metavar="N",
                   help="override every judge task's token limit for the judge")
    p.add_argument("-o", "--output", "--output-path", default="runs",
                   help="run store folder (lm-eval: --output_path)")
    p.add_argument("--skip-missing-data", action="store_true",
                   help="skip tasks whose data files are not under GENRANK_DATA")
    p.add_argument("--journal-every", type=positive_int, default=64, metavar="N",
                   help="items between journal flushes (smaller: finer resume)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (off a terminal: no progress lines)")
    add_unsafe_code(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from genrank.commands.options import generation_overrides, model_arguments, task_names
    from harness.runner import RunOptions, load_run_judge, plan, run_tasks
    from harness.spec import load_task_files, select

    from harness.runs import check_name

    apply_unsafe_code(args)
    writable_dir(args.output)
    check_name(args.name)
    tags = dict(args.tag)
    model_args = model_arguments(args.model_args)
    specs = select(load_task_files(args.tasks_file), tasks=task_names(args.task),
                   suites=args.suite, tags=tags)
    opts = RunOptions(limit=args.limit, chat_template=args.chat_template,
                      max_new_tokens=args.max_new_tokens, seed=args.seed,
                      progress=not args.no_progress and sys.stderr.isatty(),
                      progress_lines=not args.no_progress and not sys.stderr.isatty(),
                      chunk=args.journal_every, skip_missing_data=args.skip_missing_data,
                      num_fewshot=args.num_fewshot,
                      gen_kwargs=generation_overrides(args.gen_kwargs),
                      system_instruction=args.system_instruction,
                      judge=args.judge, judge_max_new_tokens=args.judge_max_new_tokens)
    plans = plan(specs, opts)  # every input is checked before the model loads

    from harness.backends import lazy_backend
    from harness.backends.threads import default_threads

    options = {"batch_size": args.batch_size, "device": args.device, "dtype": args.dtype,
               "threads": args.threads or (default_threads() if args.shards == 1 else None),
               "seed": args.seed, "tensor_parallel_size": args.tensor_parallel_size,
               "max_model_len": args.max_model_len, "concurrency": args.concurrency,
               "api_key_env": args.api_key_env, "max_failed_items": args.max_failed_items,
               "max_retries": args.max_retries}
    options.update({k: v for k, v in model_args.items() if k != "pretrained"})
    args.model = str(model_args.get("pretrained", args.model))
    if args.shards > 1:
        from harness.shards import run_sharded

        run_dir, stats, calls = run_sharded(args.model, options, [p.spec for p in plans], plans, args.output, opts,
                                            shards=args.shards, engine=args.engine,
                                            name=args.name)
    else:
        backend = lazy_backend(args.model, **options)  # loads on the first cache miss
        opts.chunk = getattr(backend, "preferred_chunk", opts.chunk)  # vllm: a task at once
        judge = load_run_judge(plans, opts, options, backend)
        run_dir, stats = run_tasks(backend, plans, args.output, opts, name=args.name,
                                   judge=judge)
        calls = backend.calls
    print_scores(run_dir.path, sorted(stats.scores))
    for task, saved in stats.prefill_saved.items():
        if saved:
            print(f"{task}: prefill tokens saved by the shared prefix: {saved}")
    judged = (f", judge asked {stats.judge_asked}, judge cached {stats.judge_reused}"
              if any(p.judge for p in plans) else "")
    print(f"run: {run_dir.path}  (generated {stats.generated}, cached {stats.cached}, "
          f"resumed {stats.resumed}, model calls {calls}{judged}, {stats.seconds:.1f}s)")
    from leaderboards.answers import extraction_warnings

    for line in extraction_warnings(run_dir, stats.scores):
        print(line, file=sys.stderr)
    return 0


def print_scores(run_path, tasks) -> None:
    """The run's scores with their 95% intervals (the leaderboard's own computation)."""
    from harness.runstore import RunDir
    from leaderboards.leaderboard import build, model_label
    from leaderboards.summary import format_rows, model_rows

    if not tasks:
        return
    table = build([run_path], n_boot=200)
    label = model_label(RunDir(run_path).read_metadata())
    print(format_rows(model_rows(table, label), with_rank=False))
