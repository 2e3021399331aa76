"""Running tasks on a model: items -> prompts -> (cache | backend) -> verifier -> run store.

Progress is journaled per item after generation and scoring, and outputs are cached
before they are scored, so a run killed at any point resumes with every item
generated and scored exactly once.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from harness import registry
from harness.backends.base import Backend, FailedOutput, backend_key, backend_numerics
from harness.cache import GenerationCache, cache_key
from harness.errors import DataMissing, GenrankError
from harness.items import load_items, render_prompts
from harness.roles import Judge, load_judge, resolve_judge
from harness.runs import finish_task, open_run, run_name
from harness.runspec import resolved
from harness.runstore import RunDir, make_record
from harness.spec import TaskSpec, validate
from harness.types import GenerationConfig, Item, stable_hash


@dataclass
class RunOptions:
    limit: int | None = None
    chat_template: bool | None = None
    max_new_tokens: int | None = None
    seed: int | None = None
    chunk: int = 64  # items generated between journal flushes
    progress: bool = True
    progress_lines: bool = False  # not a terminal: a progress line every 30 s / 10 % instead
    skip_missing_data: bool = False
    judge: str | None = None  # the judge model role (any model string)
    judge_max_new_tokens: int | None = None  # overrides every judge task's limit
    num_fewshot: int | None = None          # lm-eval's --num_fewshot: exemplars per prompt
    gen_kwargs: dict[str, Any] = field(default_factory=dict)  # GenerationConfig overrides
    system_instruction: str | None = None


@dataclass
class TaskPlan:
    """Everything needed to run one task, built (and checked) before any model work."""

    spec: TaskSpec
    items: list[Item]
    prompts: list[str]
    config: GenerationConfig
    verifier: registry.Verifier
    judge: dict[str, Any] | None = None  # the judge's identity, when the verifier asks one


@dataclass
class RunStats:
    generated: int = 0
    cached: int = 0
    resumed: int = 0
    judge_asked: int = 0  # prompts sent to the judge model
    judge_reused: int = 0  # judge answers taken from the cache
    seconds: float = 0.0
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    #: prompt tokens per task not prefilled again thanks to a shared prefix's cache
    prefill_saved: dict[str, int] = field(default_factory=dict)


def effective_config(spec: TaskSpec, opts: RunOptions) -> GenerationConfig:
    changes: dict[str, Any] = {}
    if opts.chat_template is not None:
        changes["chat_template"] = opts.chat_template
    if opts.max_new_tokens is not None:
        changes["max_new_tokens"] = opts.max_new_tokens
    if opts.seed is not None:
        changes["seed"] = opts.seed
    if opts.system_instruction is not None:
        changes["system_instruction"] = opts.system_instruction
    changes.update(opts.gen_kwargs)
    return dataclasses.replace(spec.generation, **changes)


def make_verifier(spec: TaskSpec, opts: RunOptions) -> registry.Verifier:
    """The task's verifier; one that asks a judge needs ``--judge`` (checked here)."""
    cls = registry.VERIFIERS[spec.verifier.name]
    params = dict(spec.verifier.params)
    if cls.needs_judge:
        if "judge" in params:
            raise GenrankError("the judge is a model role, chosen with --judge MODEL; remove "
                               "it from the task", file=spec.file, task=spec.name,
                               field="verifier.judge")
        if not opts.judge:
            raise GenrankError("this task's verifier asks an LLM judge: pass --judge MODEL "
                               "(alias, checkpoint folder, openai:URL#NAME, vllm:PATH)",
                               file=spec.file, task=spec.name, field="--judge")
        if opts.judge_max_new_tokens is not None:
            params["max_new_tokens"] = opts.judge_max_new_tokens
    return registry.make_verifier(spec, params)


def with_fewshot(spec: TaskSpec, k: int | None) -> TaskSpec:
    """The task with ``k`` exemplars per prompt (a variant: its own spec hash)."""
    if k is None or (spec.fewshot or {}).get("k", 0) == k:
        return spec
    if k > 0 and not spec.fewshot:
        raise GenrankError("the task declares no few-shot source, so --num-fewshot cannot add "
                           "exemplars", file=spec.file, task=spec.name, field="fewshot")
    fewshot = {**(spec.fewshot or {}), "k": k}
    return dataclasses.replace(spec, fewshot=fewshot, raw={**spec.raw, "fewshot": fewshot})


def plan(specs: Sequence[TaskSpec], opts: RunOptions) -> list[TaskPlan]:
    """Load and check every task first: bad input stops here, before the model loads.
    The judge (when a task needs one) is resolved here too, without loading it."""
    plans = []
    judge: dict[str, Any] | None = None
    for spec in specs:
        spec = with_fewshot(spec, opts.num_fewshot)
        validate(spec)
        verifier = make_verifier(spec, opts)  # parameters checked before any data loads
        if verifier.needs_judge and judge is None:
            judge = resolve_judge(opts.judge or "")
        try:
            items = load_items(spec, opts.limit)
        except DataMissing as exc:
            if not opts.skip_missing_data:
                raise
            print(f"skipped {spec.name}: {exc.message}", file=sys.stderr)
            continue
        plans.append(TaskPlan(spec, items, render_prompts(spec, items),
                              effective_config(spec, opts), verifier,
                              judge if verifier.needs_judge else None))
    if not plans:
        raise GenrankError("no task has its data under GENRANK_DATA", field="--task")
    return plans


def load_run_judge(plans: Sequence[TaskPlan], opts: RunOptions, options: dict[str, Any],
                   backend: Backend | None = None) -> Judge | None:
    """The judge the plans ask for (loaded once; the evaluated model's backend reused
    when the judge is the same model), or None when no task needs one."""
    identity = next((p.judge for p in plans if p.judge is not None), None)
    if identity is None or not opts.judge:
        return None
    return load_judge(opts.judge, identity, options, reuse=backend)


def _outputs(backend: Backend, plan_: TaskPlan, prompts: list[str], items: list[Item],
             cache: GenerationCache, model_hash: str) -> tuple[list[str], int]:
    # model_hash: backend_key (weights + numerics), so another dtype never reuses outputs
    """Outputs for a chunk: cached ones reused, the rest generated and cached at once."""
    cfg = plan_.config
    multiple_choice = plan_.spec.output_type == "multiple_choice"
    if multiple_choice:  # the options are part of the question: they belong in the key
        keys = [cache_key(model_hash, p, {"mode": "loglikelihood",
                                          "choices": [str(c) for c in it.fields["choices"]]})
                for p, it in zip(prompts, items)]
    else:
        keys = [cache_key(model_hash, p, cfg.as_dict()) for p in prompts]
    hits = cache.get_many(keys)
    miss = [i for i, k in enumerate(keys) if k not in hits]
    if miss:
        if multiple_choice:
            new = choose(backend, [prompts[i] for i in miss], [items[i] for i in miss])
        else:
            new = backend.generate([prompts[i] for i in miss], cfg)
        # a failed request is recorded as failed, never cached: a later run asks again
        cache.put_many((keys[i], out) for i, out in zip(miss, new)
                       if not isinstance(out, FailedOutput))
        hits.update({keys[i]: out for i, out in zip(miss, new)})
    return [hits[k] for k in keys], len(miss)


def choose(backend: Backend, prompts: list[str], items: list[Item]) -> list[str]:
    """Per item, the option with the highest log-likelihood after its prompt.

    All options of all items go to the backend in one call, so it can batch them and
    encode each prompt once (the hf backend does).
    """
    options = [[str(c) for c in it.fields["choices"]] for it in items]
    scores = backend.loglikelihood([(p, " " + c) for p, opts in zip(prompts, options)
                                    for c in opts])
    out, at = [], 0
    for opts in options:
        mine = scores[at:at + len(opts)]
        at += len(opts)
        out.append(opts[max(range(len(opts)), key=mine.__getitem__)])
    return out


def run_task(backend: Backend, run: RunDir, plan_: TaskPlan, cache: GenerationCache,
             stats: RunStats, bar=None, chunk: int = 64, judge: Judge | None = None
             ) -> dict[str, float]:
    spec, ident = plan_.spec, backend.identity()
    numerics = backend_numerics(backend)
    # a backend that learns from the task's training side (the CPU baselines) salts the
    # model hash with it, so the cache never answers one split with another's training
    prepare = getattr(backend, "prepare", None)
    salt = prepare(plan_) if prepare else None
    model_hash = ident["content_hash"] if salt is None else stable_hash(
        [ident["content_hash"], salt])[:16]
    outputs_key = backend_key(model_hash, numerics)  # weights + numerics: no dtype reuses another's
    key = {"spec": spec.spec_hash, "model": model_hash, "backend": outputs_key,
           "generation": plan_.config.as_dict()}
    if plan_.judge is not None:  # another judge (or its settings) scores the items anew
        key["judge"] = {"model": plan_.judge["content_hash"],
                        "verifier": plan_.verifier.describe()["params"]}
        plan_.verifier.use_judge(judge)
    config_hash = stable_hash(key)[:16]
    done = {k: r for k, r in run.read_journal(spec.name).items()
            if r.get("config_hash") == config_hash}
    wanted = {it.id for it in plan_.items}
    stats.resumed += len(done.keys() & wanted)
    if bar is not None:
        bar.update(len(done.keys() & wanted))
    todo = [i for i, it in enumerate(plan_.items) if it.id not in done]
    saved_before = getattr(backend, "prefill_saved", 0)
    for start in range(0, len(todo), chunk):
        idx = todo[start:start + chunk]
        items = [plan_.items[i] for i in idx]
        prompts = [plan_.prompts[i] for i in idx]
        outputs, generated = _outputs(backend, plan_, prompts, items, cache, outputs_key)
        stats.generated += generated
        stats.cached += len(idx) - generated
        scores = plan_.verifier.score_many(outputs, items)
        records = [{**make_record(spec.name, spec.spec_hash, it, p, o, s),
                    "config_hash": config_hash}
                   for it, p, o, s in zip(items, prompts, outputs, scores)]
        for rec, out in zip(records, outputs):
            if isinstance(out, FailedOutput):
                rec["detail"] = {**(rec["detail"] or {}), "failed": out.error}
        run.append_journal(spec.name, records)
        done.update({r["item_id"]: r for r in records})
        if bar is not None:
            bar.update(len(idx))
    stats.prefill_saved[spec.name] = getattr(backend, "prefill_saved", 0) - saved_before
    # items finished earlier under the same settings stay: a smaller --limit never shrinks
    # what the run directory already holds
    ids = [it.id for it in plan_.items] + [k for k in done if k not in wanted]
    records = [{k: v for k, v in done[i].items() if k != "config_hash"} for i in ids]
    task_meta = {"generation": plan_.config.as_dict(), "verifier": plan_.verifier.describe(),
                 "fewshot": spec.fewshot, "limit": len(ids), "config_hash": config_hash,
                 "runspec": resolved(spec, [(r["item_id"], r["target"]) for r in records],
                                     plan_.config, {**numerics, "key": outputs_key})}
    if plan_.judge is not None:
        task_meta["judge"] = task_meta["runspec"]["judge"] = judge_record(plan_, judge)
    return finish_task(run, spec, records, task_meta)


def judge_record(plan_: TaskPlan, judge: Judge | None) -> dict[str, Any]:
    """What the run's metadata says about a task's judge: identity and settings."""
    described = judge.describe() if judge is not None else dict(plan_.judge or {})
    return {**described, "generation": plan_.verifier.judge_config().as_dict()}


def run_tasks(backend: Backend, plans: list[TaskPlan], out_dir: str | Path,
              opts: RunOptions, *, name: str | None = None, judge: Judge | None = None
              ) -> tuple[RunDir, RunStats]:
    """Run every planned task into one run directory (``<out_dir>/<model>``); ``judge``
    scores the tasks whose verifier asks one."""
    ident = backend.identity()
    path = Path(out_dir) / run_name(name or ident["name"], seed=opts.seed)
    with RunDir(path).locked():  # a second process on the same directory fails fast
        return _run_tasks(backend, plans, path, opts, ident, name, judge)


def _run_tasks(backend: Backend, plans: list[TaskPlan], path: Path, opts: RunOptions,
               ident: dict, name: str | None, judge: Judge | None) -> tuple[RunDir, RunStats]:
    from tqdm import tqdm

    created = not RunDir(path).exists()
    numerics = backend_numerics(backend)
    run = open_run(path, {**ident, "name": name or ident["name"]},
                   backend={"name": backend.kind, **backend.settings()}, seed=opts.seed,
                   numerics=numerics)
    stats, start = RunStats(), time.perf_counter()
    cache = GenerationCache()
    total = sum(len(p.items) for p in plans)
    if opts.progress_lines and not opts.progress:
        from harness.progress import LineProgress
        bar_ctx = LineProgress(total)
    else:
        bar_ctx = tqdm(total=total, desc="genrank", unit="item", disable=not opts.progress,
                       dynamic_ncols=True)
    try:
        with bar_ctx as bar:
            for p in plans:
                bar.set_postfix_str(p.spec.name)
                stats.scores[p.spec.name] = run_task(backend, run, p, cache, stats, bar,
                                                     opts.chunk, judge)
    except BaseException:
        # a lazy backend loads at the first cache miss: if that fails (unreadable weights),
        # the run directory it just created holds nothing and goes, as if never made
        if created and not (run.path / "journal").exists():
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    finally:
        cache.close()
    stats.seconds = time.perf_counter() - start
    meta = run.read_metadata()
    if created and getattr(backend, "loaded", False):  # a lazy backend knows them now
        meta["backend"] = {"name": backend.kind, **backend.settings()}
    judged = [p for p in plans if p.judge is not None]
    if judged:
        meta.setdefault("model_roles", {})["judge"] = judge_record(judged[0], judge)
        stats.judge_asked = getattr(judge, "asked", 0)
        stats.judge_reused = getattr(judge, "reused", 0)
    meta.setdefault("history", []).append({
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "generated": stats.generated,
        "cached": stats.cached, "resumed": stats.resumed, "seconds": round(stats.seconds, 3),
        "judge_asked": stats.judge_asked, "judge_reused": stats.judge_reused,
        "threads": backend.settings().get("threads"), "tasks": [p.spec.name for p in plans],
        "prefill_tokens_saved": stats.prefill_saved,
        "backend": {"name": backend.kind, "numerics": numerics,
                    "key": backend_key(ident["content_hash"], numerics)},
        **(backend.run_stats() if hasattr(backend, "run_stats") else {})})
    run.write_metadata(meta)
    return run, stats
