"""Scale-out timings: Ray engine vs local engine (same shards), 2 shards vs 1 process,
and the OpenAI backend against a local `transformers serve` vs hf directly.

    python benchmarks/bench_scaleout.py [--limit 4] [--tokens 8] [--model FOLDER_OR_ALIAS]

Each configuration gets a fresh generation cache and run store, so every one generates
everything; wall times include model loading (per shard), as a user sees them.
Goal (issue 6): ray / local <= 1.10.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GENRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--task", default="scan_simple")
    ap.add_argument("--skip", action="append", default=[], choices=["ray", "openai"])
    args = ap.parse_args()

    from harness.backends import load_backend
    from harness.backends.models import resolve_model
    from harness.runner import RunOptions, plan, run_tasks
    from harness.shards import run_sharded
    from harness.spec import load_specs, select

    opts = RunOptions(limit=args.limit, max_new_tokens=args.tokens, progress=False)
    plans = plan(select(load_specs(), tasks=[args.task]), opts)
    specs = [p.spec for p in plans]
    tmp = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))

    def fresh(tag: str) -> Path:
        os.environ["GENRANK_CACHE"] = str(tmp / f"cache-{tag}")
        return tmp / f"runs-{tag}"

    def single():
        out = fresh("single")
        return run_tasks(load_backend(args.model), plans, out, opts)

    def sharded(engine: str):
        out = fresh(engine)
        return run_sharded(args.model, {}, specs, plans, out, opts, shards=2, engine=engine)

    t_single, _ = timed(single)
    t_local, _ = timed(lambda: sharded("local"))
    print(f"1 process {t_single:.1f}s | 2 shards local {t_local:.1f}s | "
          f"2 shards / 1 process = {t_local / t_single:.2f}x")
    if "ray" not in args.skip:
        import ray
        t_init, _ = timed(lambda: ray.init(num_cpus=2, include_dashboard=False,
                                           log_to_driver=False))
        t_ray, _ = timed(lambda: sharded("ray"))
        ray.shutdown()
        print(f"2 shards ray {t_ray:.1f}s (+ ray.init {t_init:.1f}s) | "
              f"ray / local = {t_ray / t_local:.2f}x (goal <= 1.10)")
    if "openai" not in args.skip:
        ref = resolve_model(args.model)
        port = 18000 + os.getpid() % 1000
        exe = Path(sys.executable).with_name("transformers")
        proc = subprocess.Popen([str(exe), "serve", ref.path, "--host", "127.0.0.1", "--port",
                                 str(port), "--device", "cpu", "--dtype", "float32"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                    break
                except OSError:
                    time.sleep(1)
            hf = load_backend(args.model)
            api = load_backend(f"openai:http://127.0.0.1:{port}/v1#{ref.path}", concurrency=4)
            p = plans[0]
            api.generate(p.prompts[:1], p.config)  # the server loads lazily: warm it
            t_hf, a = timed(lambda: hf.generate(p.prompts, p.config))
            t_api, b = timed(lambda: api.generate(p.prompts, p.config))
            agree = sum(x == y for x, y in zip(a, b)) / len(a)
            print(f"generate {len(a)} prompts: hf {t_hf:.1f}s | openai->transformers serve "
                  f"{t_api:.1f}s | openai / hf = {t_api / t_hf:.2f}x | greedy agreement {agree:.0%}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
