"""Options shared by the commands (`run` and `submit` with lm-eval's names and meanings),
and the argument types and output checks that stop bad values before any model work.

``--gen-kwargs temperature=0.7,top_p=0.9,max_gen_toks=64,until=\\n`` and
``--model-args revision=main,dtype=bfloat16,trust_remote_code=true,peft=ADAPTER`` are parsed
and checked here, so a typo is one error line before any model work.
"""

from __future__ import annotations

import argparse
import errno
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import GenrankError

#: lm-eval --gen_kwargs names -> genrank GenerationConfig fields
GEN_KWARGS = {"temperature": "temperature", "top_p": "top_p", "max_gen_toks": "max_new_tokens",
              "max_new_tokens": "max_new_tokens", "until": "stop", "seed": "seed",
              "do_sample": None}
#: lm-eval --model_args names genrank's backends take (pretrained = the --model string)
MODEL_ARGS = {"pretrained", "revision", "dtype", "trust_remote_code", "peft", "device",
              "tensor_parallel_size", "max_model_len"}
DTYPES = {"auto", "float32", "bfloat16", "float16"}


def scalar(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_kv(text: str | None, field: str) -> dict[str, Any]:
    """``a=1,b=x`` -> {"a": 1, "b": "x"} (numbers and true/false typed), else one error."""
    out: dict[str, Any] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise GenrankError(f"expected KEY=VALUE pairs separated by commas, got {part!r}",
                               field=field)
        out[key.strip()] = scalar(value)
    return out


def generation_overrides(text: str | None) -> dict[str, Any]:
    """--gen-kwargs as GenerationConfig changes (do_sample=false means greedy)."""
    out: dict[str, Any] = {}
    for key, value in parse_kv(text, "--gen-kwargs").items():
        if key not in GEN_KWARGS:
            raise GenrankError(f"unknown generation setting {key!r} (known: "
                               f"{', '.join(sorted(GEN_KWARGS))})", field="--gen-kwargs")
        if key == "do_sample":
            if value is False:
                out["temperature"] = 0.0
            continue
        if key == "until":
            value = tuple(str(value).encode().decode("unicode_escape").split("|"))
        elif key in ("temperature", "top_p") and not isinstance(value, (int, float)):
            raise GenrankError(f"{key} must be a number, got {value!r}", field="--gen-kwargs")
        elif key in ("max_gen_toks", "max_new_tokens", "seed") and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise GenrankError(f"{key} must be a non-negative integer, got {value!r}",
                               field="--gen-kwargs")
        out[GEN_KWARGS[key]] = value
    return out


def model_arguments(text: str | None) -> dict[str, Any]:
    args = parse_kv(text, "--model-args")
    unknown = set(args) - MODEL_ARGS
    if unknown:
        raise GenrankError(f"unknown model argument(s) {sorted(unknown)} (known: "
                           f"{', '.join(sorted(MODEL_ARGS))})", field="--model-args")
    if "dtype" in args and args["dtype"] not in DTYPES:
        raise GenrankError(f"dtype must be one of {sorted(DTYPES)}", field="--model-args dtype")
    return args


def batch_size(text: str) -> int | str:
    """An integer >= 1, or lm-eval's ``auto``."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (or 'auto'), got {value}")
    return value


def task_names(values: list[str] | None) -> list[str] | None:
    """--task a,b --task c -> [a, b, c] (lm-eval's comma-separated --tasks)."""
    if not values:
        return values
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The options `run` and `submit` share, with their defaults in --help."""
    p.add_argument("--model-name", "--name", dest="name",
                   help="model name in the run store and leaderboards (default: the model's)")
    p.add_argument("--model-args", metavar="K=V,...",
                   help="lm-eval style: revision=..,dtype=..,trust_remote_code=true,"
                        "peft=ADAPTER_DIR,device=..")
    p.add_argument("--gen-kwargs", metavar="K=V,...",
                   help="lm-eval style: temperature=..,top_p=..,max_gen_toks=..,until=A|B,"
                        "do_sample=false,seed=..")
    p.add_argument("--num-fewshot", type=int, metavar="N",
                   help="exemplars per prompt (default: each task's own)")
    p.add_argument("--system-instruction", metavar="TEXT",
                   help="a system message under a chat template, else a preamble")
    p.add_argument("--batch-size", type=batch_size, default=16,
                   help="prompts per forward pass, or 'auto'")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--dtype", default="auto", choices=sorted(DTYPES), help="weights' dtype")
    p.add_argument("--seed", type=int, help="sampling seed (recorded; greedy ignores it)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for the model and tokenizer (default: OMP_NUM_THREADS, "
                        "else the free cores of this process's CPU affinity)")

#: an output folder on a disk with less free space than this is refused up front
MIN_FREE_BYTES = 16 * 1024 * 1024


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line (exit 2), like every bad input."""

    def error(self, message: str):  # noqa: D401 - argparse's signature
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--limit 0`` would silently mean "all items")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (a bare ``foo`` is refused, not guessed)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def writable_dir(path: str | Path, field: str = "--output") -> Path:
    """Check that ``path`` is (or can become) a folder we can write, with room on its disk.

    Called before the model loads, so a typo'd or full output location costs nothing.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GenrankError("the output path exists and is not a folder", file=str(path),
                           field=field)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise GenrankError(f"cannot create the output folder: {probe} is not a folder",
                           file=str(path), field=field)
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".genrank-probe-"):
            pass
    except OSError as exc:
        why = {errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the disk",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied"}.get(
            exc.errno, exc.strerror or str(exc))
        raise GenrankError(f"the output folder is not writable ({why})", file=str(probe),
                           field=field) from None
    free = shutil.disk_usage(probe).free
    if free < MIN_FREE_BYTES:
        raise GenrankError(f"the disk holding the output folder is full ({free // 1024} KiB "
                           "free)", file=str(probe), field=field)
    return path
