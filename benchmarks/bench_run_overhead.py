"""genrank run vs a bare transformers generate loop: same prompts, model, batch size.

Prints the wall-time ratio (goal <= 1.10x), measured in one process, alternating the
two so machine noise hits both, and the wall time of a repeated (fully cached) run.

    python benchmarks/bench_run_overhead.py [--n 32] [--max-new-tokens 32] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GENRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def bare_loop(backend, prompts, max_new_tokens, batch_size):
    """What a user would write by hand: batches in order, left padding, greedy."""
    import torch

    tok, model = backend.tokenizer, backend.model
    outs = []
    for start in range(0, len(prompts), batch_size):
        enc = tok(prompts[start:start + batch_size], return_tensors="pt", padding=True,
                  add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 temperature=None, top_p=None, top_k=None,
                                 pad_token_id=tok.pad_token_id)
        outs += tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return outs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--task", default="scangen_simple")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    from harness.backends import load_backend
    from harness.runner import RunOptions, plan, run_tasks
    from harness.spec import load_specs

    spec = load_specs()[args.task]
    opts = RunOptions(limit=args.n, max_new_tokens=args.max_new_tokens, progress=False)
    # no stop strings, so both sides generate exactly the same number of tokens
    spec = dataclasses.replace(spec, generation=dataclasses.replace(spec.generation, stop=()))
    (task_plan,) = plan([spec], opts)
    backend = load_backend(args.model, batch_size=args.batch_size)
    bare_loop(backend, task_plan.prompts[:2], 4, 2)  # warm-up

    bare_t, run_t, repeat_t = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        bare_loop(backend, task_plan.prompts, args.max_new_tokens, args.batch_size)
        bare_t.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["GENRANK_CACHE"] = tmp + "/cache"
            start = time.perf_counter()
            run_tasks(backend, [task_plan], tmp + "/runs", opts)
            run_t.append(time.perf_counter() - start)
            calls = backend.calls
            start = time.perf_counter()
            _, stats = run_tasks(backend, [task_plan], tmp + "/runs", opts)
            repeat_t.append(time.perf_counter() - start)
            assert backend.calls == calls and stats.generated == 0, "repeat called the model"
    ratios = [r / b for r, b in zip(run_t, bare_t)]
    print(f"model={args.model} task={args.task} n={args.n} max_new_tokens={args.max_new_tokens} "
          f"batch={args.batch_size} threads={__import__('torch').get_num_threads()}")
    print(f"bare generate loop : {statistics.median(bare_t):8.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in bare_t)})")
    print(f"genrank run        : {statistics.median(run_t):8.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in run_t)})")
    print(f"ratio genrank/bare : {statistics.median(ratios):8.3f}x  (goal <= 1.10x; pairs: "
          f"{', '.join(f'{r:.3f}' for r in ratios)})")
    print(f"repeated run       : {statistics.median(repeat_t):8.3f} s, 0 model calls "
          f"({statistics.median(repeat_t) / statistics.median(bare_t):.4f}x the bare loop)")


if __name__ == "__main__":
    main()
