"""Every speed figure of issue 14 in one command (``make bench``), as ratios.

Each comparison alternates its two sides (A B A B ...) so machine noise hits both, and
prints min / median / max of the per-pair ratio, with the load average before and after:
on a shared machine only ratios mean anything.

1. loop    genrank run / a bare transformers generate loop, few-shot scan_simple
           (same model, prompts, batch, tokens; in one process)     goal < 0.8x, same outputs
2. lm-eval lm_eval / genrank, whole processes, the task exported by
           ``genrank export-lm-eval``                               goal >= 2x, same score
3. rerun   an identical rerun of a finished run, whole process      goal < 1.5 s, 0 loads
4. mc      multiple choice (e2h_src_arc_challenge): batched, contexts encoded once /
           one call per item (the path before)                      goal < 0.5x, same choices

    python benchmarks/bench_speed.py [--n 32] [--tokens 32] [--mc-n 64] [--repeats 3]
                                     [--only loop,lm-eval,rerun,mc]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GENRANK_DATA", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from bench_run_overhead import bare_loop  # noqa: E402  (the same hand-written loop, one copy)
THREADS = int(os.environ["OMP_NUM_THREADS"])


def spread(values: list[float], unit: str = "x") -> str:
    return (f"median {statistics.median(values):.3f}{unit}  (min {min(values):.3f}, "
            f"max {max(values):.3f}, n={len(values)})")


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _plan(task: str, n: int, tokens: int | None = None, no_stop: bool = False):
    from harness.runner import RunOptions, plan
    from harness.spec import load_specs

    spec = load_specs()[task]
    if no_stop:  # both sides then generate exactly `tokens` tokens
        spec = dataclasses.replace(spec, generation=dataclasses.replace(spec.generation, stop=()))
    opts = RunOptions(limit=n, max_new_tokens=tokens, progress=False)
    (p,) = plan([spec], opts)
    return p, opts




def bench_loop(backend, args) -> None:
    from harness.runner import run_tasks

    p, opts = _plan("scan_simple", args.n, args.tokens, no_stop=True)
    bare_loop(backend, p.prompts[:2], 2, 2)  # warm-up
    ratios, same, saved = [], True, 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        expected = bare_loop(backend, p.prompts, args.tokens, args.batch_size)
        bare = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["GENRANK_CACHE"] = tmp + "/cache"
            backend._prefix = None  # computed again in every repetition
            start = time.perf_counter()
            run, stats = run_tasks(backend, [p], tmp + "/runs", opts)
            ours = time.perf_counter() - start
            got = run.read_records(p.spec.name)["prediction"].tolist()
        same &= got == expected
        saved = stats.prefill_saved[p.spec.name]
        ratios.append(ours / bare)
        print(f"  loop pair: bare {bare:.2f} s, genrank {ours:.2f} s", flush=True)
    print(f"1. genrank / bare loop   scan_simple n={args.n} tokens={args.tokens} "
          f"batch={args.batch_size}: {spread(ratios)}  goal < 0.8x; outputs identical: {same}; "
          f"prefill tokens saved {saved}", flush=True)


CPU_SECONDS: list[float] = []  # of the last _timed child (user + system)


def _timed(cmd: list[str], env: dict, cwd: Path | None = None) -> tuple[float, str]:
    import resource

    def used() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    cpu, start = used(), time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    CPU_SECONDS.append(used() - cpu)
    if res.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return took, res.stdout


def _genrank_cmd(args, out: Path) -> list[str]:
    """``genrank run`` in a fresh interpreter that reports how many models it loaded."""
    argv = ["run", "--model", args.model, "--task", "scan_simple", "--limit", str(args.n),
            "--max-new-tokens", str(args.tokens), "--batch-size", str(args.batch_size),
            "--threads", str(THREADS), "-o", str(out), "--no-progress"]
    code = ("import sys; from genrank.cli import main; rc = main(%r); "
            "from harness.backends import LOADS; print('model loads', sum(LOADS.values())); "
            "sys.exit(rc)" % (argv,))
    return [sys.executable, "-c", code]


def bench_lm_eval_and_rerun(args, which: set[str]) -> None:
    from harness.backends.models import resolve_model
    from harness.interop.lm_eval import import_samples

    ref = resolve_model(args.model)
    lm_eval = Path(sys.executable).with_name("lm_eval")
    env = {**os.environ}
    ratios, reruns, cpu, loads, same = [], [], [], set(), True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "genrank.cli", "export-lm-eval", str(tmp / "tasks"),
                        "--task", "scan_simple", "--limit", str(args.n), "--max-new-tokens",
                        str(args.tokens)], env=env, cwd=ROOT, check=True, capture_output=True)
        for k in range(args.repeats):
            out = tmp / f"runs{k}"
            env["GENRANK_CACHE"] = str(tmp / f"cache{k}")  # a cold cache: a real run
            lm_cmd = [str(lm_eval), "--model", "hf", "--model_args",
                      f"pretrained={ref.path},dtype=float32", "--device", "cpu",
                      "--batch_size", str(args.batch_size), "--include_path",
                      str(tmp / "tasks"), "--tasks", "genrank_scan_simple",
                      "--log_samples", "--output_path", str(tmp / f"lm{k}")]
            lm_env = {**env, "OMP_NUM_THREADS": str(THREADS)}
            if "lm-eval" in which and k % 2:  # A B, then B A: a load trend hits both
                theirs, _ = _timed(lm_cmd, lm_env, tmp)
            ours, stdout = _timed(_genrank_cmd(args, out), env, ROOT)
            if "lm-eval" in which:
                if not k % 2:
                    theirs, _ = _timed(lm_cmd, lm_env, tmp)
                ratios.append(theirs / ours)
                mine = json.loads((out / ref.name / "scores.json").read_text())
                (res,) = (tmp / f"lm{k}").rglob("results_*.json")
                lm_acc = json.loads(res.read_text())["results"]["genrank_scan_simple"]["acc,none"]
                import_samples(tmp / f"lm{k}", tmp / f"imported{k}", "lm")
                from harness.runstore import RunDir

                a = RunDir(out / ref.name).read_records("scan_simple")["prediction"].tolist()
                b = RunDir(tmp / f"imported{k}" / "lm").read_records("scan_simple")
                same &= (lm_acc == mine["scan_simple"]["accuracy"]
                         and a == b["prediction"].tolist())
                print(f"  lm-eval pair: genrank {ours:.2f} s, lm_eval {theirs:.2f} s", flush=True)
            if "rerun" in which:
                again, stdout = _timed(_genrank_cmd(args, out), env, ROOT)
                reruns.append(again)
                cpu.append(CPU_SECONDS[-1])
                loads.add(stdout.split("model loads")[1].split()[0])
                print(f"  rerun: {again:.2f} s wall, {cpu[-1]:.2f} s CPU", flush=True)
    if ratios:
        print(f"2. lm_eval / genrank     whole processes, scan_simple n={args.n} "
              f"tokens={args.tokens}: {spread(ratios)}  goal >= 2x; score and predictions "
              f"identical: {same}", flush=True)
    if reruns:
        print(f"3. identical rerun       whole process: wall {spread(reruns, ' s')}; CPU "
              f"(user+sys) {spread(cpu, ' s')}  goal < 1.5 s; model loads: "
              f"{', '.join(sorted(loads))}", flush=True)


def bench_mc(backend, args) -> None:
    from harness.runner import choose

    p, _ = _plan("e2h_src_arc_challenge", args.mc_n)
    choose(backend, p.prompts[:2], p.items[:2])  # warm-up
    ratios, same = [], True
    for _ in range(args.repeats):
        backend.prefix_caching = False  # before: one loglikelihood call per item
        start = time.perf_counter()
        one_by_one = [choose(backend, [q], [it])[0] for q, it in zip(p.prompts, p.items)]
        before = time.perf_counter() - start
        backend.prefix_caching = True
        start = time.perf_counter()
        batched = [c for s in range(0, len(p.items), 64)  # the runner's journal chunk
                   for c in choose(backend, p.prompts[s:s + 64], p.items[s:s + 64])]
        after = time.perf_counter() - start
        same &= batched == one_by_one
        ratios.append(after / before)
        print(f"  mc pair: one call per item {before:.2f} s, batched {after:.2f} s", flush=True)
    print(f"4. mc batched / per item e2h_src_arc_challenge n={args.mc_n}: {spread(ratios)}  "
          f"goal < 0.5x; same choices: {same}", flush=True)


def compiled() -> None:
    """Byte-compile genrank's own modules first, as installing a package does: with
    PYTHONDONTWRITEBYTECODE set (or a read-only checkout) every genrank process would
    otherwise compile them from source (~0.1 s), while lm-eval's come compiled."""
    import compileall

    for package in ("genrank", "harness", "suites", "leaderboards"):
        compileall.compile_dir(ROOT / package, quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=32, help="scan_simple items (default: 32)")
    ap.add_argument("--tokens", type=int, default=32, help="new tokens (default: 32)")
    ap.add_argument("--mc-n", type=int, default=64, help="multiple-choice items (default: 64)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3, help="alternated pairs (default: 3)")
    ap.add_argument("--only", default="loop,lm-eval,rerun,mc")
    args = ap.parse_args()
    which = set(args.only.split(","))
    compiled()
    print(f"model={args.model} threads={THREADS} batch={args.batch_size} "
          f"repeats={args.repeats}  {load()}", flush=True)
    if which & {"loop", "mc"}:
        from harness.backends import load_backend

        backend = load_backend(args.model, batch_size=args.batch_size, threads=THREADS)
        if "loop" in which:
            bench_loop(backend, args)
        if "mc" in which:
            bench_mc(backend, args)
    if which & {"lm-eval", "rerun"}:
        bench_lm_eval_and_rerun(args, which)
    print(load())


if __name__ == "__main__":
    main()
