"""Backends: ``hf`` (default), ``vllm:``, ``openai:``, ``baseline:`` — chosen by the --model string."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from harness.backends.base import Backend
from harness.errors import GenrankError
from harness.params import check


@dataclass(frozen=True)
class HFOptions:
    """The hf backend's options (lm-eval's --model_args names where they exist)."""

    batch_size: int | Literal["auto"] = 16
    device: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    revision: str | None = None
    trust_remote_code: bool = False
    peft: str | None = None


@dataclass(frozen=True)
class VLLMOptions:
    tensor_parallel_size: int = 1
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_model_len: int | None = None
    seed: int | None = None
    gpu_memory_utilization: float = 0.9


@dataclass(frozen=True)
class OpenAIOptions:
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 5
    backoff: float = 1.0
    api_key_env: str = "OPENAI_API_KEY"
    name: str | None = None
    max_failed_items: int = 0
    flag: str = "--model"  # the option that named the model, for error lines (--judge)


@dataclass(frozen=True)
class BaselineOptions:
    """The CPU baselines take no options."""


OPTIONS = {"hf": HFOptions, "vllm": VLLMOptions, "openai": OpenAIOptions,
           "baseline": BaselineOptions}
#: options the command line hands every backend (each takes those it declares)
COMMON = {"batch_size", "device", "dtype", "seed", "tensor_parallel_size", "max_model_len",
          "concurrency", "api_key_env", "max_retries", "max_failed_items",
          "gpu_memory_utilization", "flag"}
#: kept for callers that list the hf backend's options
HF_OPTIONS = tuple(f.name for f in fields(HFOptions))


@dataclass(frozen=True)
class ModelString:
    """A parsed ``--model``: the backend kind and what it loads (path, hub id, URL#NAME)."""

    kind: str
    target: str


def parse_model(model: str, backend: str | None = None) -> ModelString:
    """The one parser of model strings (run, submit, shards): ``vllm:PATH``,
    ``openai:URL#NAME``, ``hf:...`` or a plain alias, folder or hub id (hf, or ``backend``)."""
    kind, sep, rest = model.partition(":")
    if sep and rest and kind in OPTIONS:
        if backend and backend != kind:
            raise GenrankError(f"--backend {backend} contradicts the {kind}: prefix",
                               field="--backend")
        return ModelString(kind, rest)
    if backend is not None and backend not in OPTIONS:
        raise GenrankError(f"unknown backend {backend!r} (one of {', '.join(OPTIONS)})",
                           field="--backend")
    return ModelString(backend or "hf", model)


def backend_options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options ``kind`` takes, each checked against its declared type (unset = None
    left out); a name no backend knows is one error line, never silently swallowed."""
    declared = {f.name for f in fields(OPTIONS[kind])}
    unknown = sorted(set(options) - declared - COMMON)
    if unknown:
        raise GenrankError(f"unknown {kind} backend option {unknown[0]!r} (known: "
                           f"{', '.join(sorted(declared))})", field=f"--model-args.{unknown[0]}")
    mine = {k: v for k, v in options.items() if k in declared and v is not None}
    try:
        check(OPTIONS[kind], mine, field="--model-args")
    except GenrankError as exc:
        raise GenrankError(exc.message, field=exc.field) from None
    return mine


def load_backend(model: str, **options: Any) -> Backend:
    """``vllm:PATH``, ``openai:URL#NAME``, ``baseline:NAME``, or (hf) an alias, folder or
    hub id; the options are checked before anything loads."""
    parsed = parse_model(model)
    opts = backend_options(parsed.kind, options)
    if parsed.kind in BACKENDS:
        return BACKENDS[parsed.kind](parsed.target, **opts)
    from harness.backends.hf import HFBackend
    from harness.backends.models import resolve_model

    return HFBackend(resolve_model(parsed.target), **opts)


def peek_identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The identity a backend for ``model`` will report, without loading any weights."""
    parsed = parse_model(model)
    if parsed.kind in ("openai", "baseline"):  # nothing to load: the backend itself says
        return load_backend(model, **options).identity()
    from harness.backends.models import resolve_model

    ref = resolve_model(parsed.target)
    return {"name": ref.name, "path": ref.path, "content_hash": ref.content_hash,
            "source": ref.source}


def _lazy(module: str, cls: str):
    def make(target: str, **options: Any) -> Backend:
        import importlib

        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            raise GenrankError(f"backend needs an optional dependency: {exc}",
                               field="--model") from None
        return getattr(mod, cls)(target, **options)
    return make


BACKENDS = {
    "vllm": _lazy("harness.backends.vllm", "VLLMBackend"),
    "openai": _lazy("harness.backends.openai", "OpenAIBackend"),
    "baseline": _lazy("harness.backends.baselines", "BaselineBackend"),
}
