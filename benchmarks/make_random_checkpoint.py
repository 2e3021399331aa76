"""A checkpoint folder with a model's architecture and tokenizer but random weights.

For speed checks on machines that cannot download the real weights: compute cost is the
same as the real model's (same shapes), only the outputs are meaningless.

    python benchmarks/make_random_checkpoint.py CONFIG_AND_TOKENIZER_DIR OUT_DIR [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", help="folder with config.json and tokenizer files")
    ap.add_argument("out")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(args.source)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, args.dtype))
    out = Path(args.out)
    model.save_pretrained(out)
    for f in Path(args.source).iterdir():
        if f.name.startswith("tokenizer") or f.suffix == ".jinja" or f.name == "generation_config.json":
            shutil.copy(f, out / f.name)
    print(f"{out}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M random parameters")


if __name__ == "__main__":
    main()
