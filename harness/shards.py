"""Data-parallel runs: a run's items split into N shards, one backend per shard.

Shard k of n takes items k, k+n, k+2n... of every task (strided, so long and short items
spread evenly). Each shard runs the ordinary runner into its own run directory under
``<run>/shards/`` (journal, records, a ``done.json`` marker), as a process (``local``) or
a Ray task (``ray``), loading its backend once. When every shard is done, the shard
journals are appended to the run's own journal and the ordinary runner finishes the run
from that journal with a backend that cannot generate: records, metrics and metadata
come from the same code as a single-process run, so they are equal to it.

A shard that dies is started again (Ray: ``max_retries``; local: a new process) and
resumes from its journal; a shard with a matching ``done.json`` is never started again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.backends import peek_identity
from harness.errors import GenrankError
from harness.runner import RunOptions, RunStats, TaskPlan, load_run_judge, plan, run_tasks
from harness.runs import open_run, run_name
from harness.runstore import RunDir, write_json
from harness.spec import TaskSpec
from harness.types import stable_hash

ENGINES = ("local", "ray")
#: fault injection for tests: "K" makes shard K exit hard once, at its second model call
FAULT_ENV = "GENRANK_SHARD_FAULT"


@dataclass
class ShardJob:
    """Everything one shard needs, picklable (specs, not loaded items or verifiers)."""

    model: str
    options: dict[str, Any]
    specs: list[TaskSpec]
    opts: RunOptions
    index: int
    count: int
    path: str  # the shard's run directory
    key: str  # what the shard computes; a done.json with another key is stale
    threads: int = 0


def shard_plan(p: TaskPlan, index: int, count: int) -> TaskPlan:
    return dataclasses.replace(p, items=p.items[index::count], prompts=p.prompts[index::count])


def shard_name(index: int, count: int) -> str:
    return f"shard{index}of{count}"


def shard_key(plans: Sequence[TaskPlan], index: int, count: int, model_hash: str) -> str:
    return stable_hash({"model": model_hash, "tasks": [
        [p.spec.spec_hash, p.config.as_dict(), [it.id for it in p.items[index::count]]]
        + ([p.judge["content_hash"], p.verifier.describe()["params"]] if p.judge else [])
        for p in plans]})[:16]


def _done(job: ShardJob) -> dict[str, Any] | None:
    path = Path(job.path) / "done.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if info.get("key") == job.key else None


class _FaultOnce:
    """Wraps a backend; exits the process at its second generate call (tests only)."""

    def __init__(self, inner, marker: Path) -> None:
        self.inner, self.marker, self.n = inner, marker, 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def generate(self, prompts, config):
        self.n += 1
        if self.n == 2 and not self.marker.exists():
            self.marker.write_text("fault injected\n")
            os._exit(17)
        return self.inner.generate(prompts, config)


def run_shard(job: ShardJob) -> dict[str, Any]:
    """Run one shard to completion (resuming its journal); returns its done.json."""
    done = _done(job)
    if done:
        return done
    if job.threads:
        import torch
        torch.set_num_threads(job.threads)
    from transformers.utils import logging as hf_logging

    from harness.backends import load_backend

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    plans = [sp for p in plan(job.specs, job.opts)
             if (sp := shard_plan(p, job.index, job.count)).items]
    start = time.perf_counter()
    backend = load_backend(job.model, **job.options)
    loaded = time.perf_counter() - start
    runner_backend = backend
    if os.environ.get(FAULT_ENV) == str(job.index):
        runner_backend = _FaultOnce(backend, Path(job.path) / "fault.marker")
    opts = dataclasses.replace(job.opts, progress=False)
    judge = load_run_judge(plans, job.opts, job.options, backend)
    run, stats = run_tasks(runner_backend, plans, Path(job.path).parent, opts,
                           name=shard_name(job.index, job.count), judge=judge)
    path = run.path
    info = {"key": job.key, "index": job.index, "count": job.count, "kind": backend.kind,
            "identity": backend.identity(), "settings": backend.settings(),
            "generated": stats.generated, "cached": stats.cached, "resumed": stats.resumed,
            "judge_asked": stats.judge_asked, "judge_reused": stats.judge_reused,
            "calls": backend.calls, "load_seconds": round(loaded, 3),
            "seconds": round(time.perf_counter() - start, 3), "pid": os.getpid()}
    write_json(path / "done.json", info)
    return info


def _run_local(jobs: list[ShardJob], retries: int) -> None:
    """Each shard a spawned process; one that exits without done.json is started again."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    attempts = {j.index: 0 for j in jobs}
    pending = list(jobs)
    while pending:
        procs = [(j, ctx.Process(target=run_shard, args=(j,), name=f"genrank-shard-{j.index}"))
                 for j in pending]
        for _, proc in procs:
            proc.start()
        for _, proc in procs:
            proc.join()
        pending = []
        for j, proc in procs:
            if _done(j):
                continue
            attempts[j.index] += 1
            if attempts[j.index] > retries:
                raise GenrankError(f"shard {j.index} of {j.count} failed {attempts[j.index]} "
                                   f"times (exit code {proc.exitcode})", file=j.path)
            pending.append(j)


def _run_ray(jobs: list[ShardJob], retries: int) -> None:
    """Each shard a Ray task; Ray restarts a task whose worker died (max_retries)."""
    try:
        import ray
    except ImportError:
        raise GenrankError("--engine ray needs ray: pip install 'genrank[ray]'",
                           field="--engine") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False,
                 log_to_driver=False)
    root = str(Path(__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("GENRANK_", "HF_", "TRANSFORMERS_", "OPENAI_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    task = ray.remote(run_shard)
    refs = [task.options(num_cpus=max(1, j.threads), max_retries=retries,
                         retry_exceptions=False, runtime_env={"env_vars": env},
                         name=f"genrank-shard-{j.index}").remote(j) for j in jobs]
    try:
        ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.as_instanceof_cause()
        if isinstance(cause, GenrankError):
            raise cause from None
        raise GenrankError(f"a shard failed: {str(exc).splitlines()[-1]}") from None
    except ray.exceptions.WorkerCrashedError as exc:
        raise GenrankError(f"a shard died {retries + 1} times: {exc}") from None


class _Finished:
    """The backend that finishes a merged run: every item is in the journal already."""

    def __init__(self, kind: str, identity: dict, settings: dict) -> None:
        self.kind, self._identity, self._settings, self.calls = kind, identity, settings, 0

    def identity(self) -> dict[str, Any]:
        return self._identity

    def settings(self) -> dict[str, Any]:
        return self._settings

    def generate(self, prompts, config):
        raise GenrankError("shard results are incomplete: an item has no journal line")

    loglikelihood = generate


def run_sharded(model: str, options: dict[str, Any], specs: list[TaskSpec],
                plans: list[TaskPlan], out_dir: str | Path, opts: RunOptions, *, shards: int,
                engine: str = "local", name: str | None = None, retries: int = 2
                ) -> tuple[RunDir, RunStats, int]:
    """Run ``plans`` in ``shards`` parallel shards; returns (run, stats, model calls)."""
    if engine not in ENGINES:
        raise GenrankError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})",
                           field="--engine")
    if shards < 1:
        raise GenrankError("--shards must be at least 1", field="--shards")
    start = time.perf_counter()
    ident = peek_identity(model, options)
    display = name or ident["name"]
    run = open_run(Path(out_dir) / run_name(display, seed=opts.seed), {**ident, "name": display},
                   backend={"name": model.partition(":")[0] if ":" in model else "hf",
                            "shards": shards, "engine": engine}, seed=opts.seed)
    threads = max(1, (os.cpu_count() or 1) // shards)
    jobs = [ShardJob(model, options, specs, opts, k, shards,
                     str(run.path / "shards" / run_name(shard_name(k, shards), seed=opts.seed)),
                     shard_key(plans, k, shards, ident["content_hash"]), threads)
            for k in range(shards)]
    todo = [j for j in jobs if not _done(j)]
    if todo:
        (_run_ray if engine == "ray" else _run_local)(todo, retries)
    infos = [_done(j) for j in jobs]
    if not all(infos):
        raise GenrankError("a shard finished without its done.json", file=str(run.path))
    for p in plans:  # shard journals -> the run's journal (items not already in it)
        have = run.read_journal(p.spec.name)
        for j in jobs:
            lines = RunDir(j.path).read_journal(p.spec.name)
            run.append_journal(p.spec.name, [r for k, r in lines.items()
                                             if have.get(k, {}).get("config_hash")
                                             != r.get("config_hash")])
    first = infos[0]
    finisher = _Finished(first["kind"], first["identity"],
                         {**first["settings"], "shards": shards, "engine": engine})
    run, merged = run_tasks(finisher, plans, out_dir, dataclasses.replace(opts, progress=False),
                            name=name)
    ran = {j.index for j in todo}
    fresh = [i for i in infos if i["index"] in ran]
    stats = RunStats(generated=sum(i["generated"] for i in fresh),
                     cached=sum(i["cached"] for i in fresh),
                     resumed=merged.resumed - sum(i["generated"] + i["cached"] for i in fresh),
                     judge_asked=sum(i.get("judge_asked", 0) for i in fresh),
                     judge_reused=sum(i.get("judge_reused", 0) for i in fresh),
                     seconds=time.perf_counter() - start, scores=merged.scores)
    meta = run.read_metadata()
    meta["backend"] = {"name": first["kind"], **finisher.settings()}
    meta["history"][-1].update(
        generated=stats.generated, cached=stats.cached, resumed=stats.resumed,
        judge_asked=stats.judge_asked, judge_reused=stats.judge_reused,
        seconds=round(stats.seconds, 3),
        shards=[{k: i[k] for k in ("index", "generated", "cached", "resumed", "calls",
                                   "load_seconds", "seconds")} | {"ran": i["index"] in ran}
                for i in infos])
    run.write_metadata(meta)
    return run, stats, sum(i["calls"] for i in fresh)
