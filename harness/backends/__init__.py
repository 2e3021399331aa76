"""Backends: ``hf`` (default), ``vllm:``, ``openai:``, ``baseline:`` — chosen by the --model string.

``load_backend`` loads the weights now; ``lazy_backend`` knows the model's identity
(name, content hash) at once but loads the weights on the first call, so a run whose
every item is already in the journal or the cache never loads a model.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any, Literal, Sequence

from harness.backends.base import Backend, hf_numerics, vllm_numerics
from harness.errors import GenrankError
from harness.params import check
from harness.types import GenerationConfig

#: backends with weights to load (the others are cheap to make: loaded at once)
WEIGHTS = ("hf", "vllm")
#: weights loaded in this process, by backend kind (tests and benchmarks count them)
LOADS: Counter = Counter()


@dataclass(frozen=True)
class HFOptions:
    """The hf backend's options (lm-eval's --model_args names where they exist)."""

    batch_size: int | Literal["auto"] = 16
    device: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    revision: str | None = None
    trust_remote_code: bool = False
    peft: str | None = None
    threads: int | None = None


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
          "gpu_memory_utilization", "flag", "threads"}
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


def split_model(model: str) -> tuple[str, str]:
    """``kind:target`` -> (kind, target); a plain alias, folder or hub id is ``hf``."""
    parsed = parse_model(model)
    return parsed.kind, parsed.target


def load_backend(model: str, **options: Any) -> Backend:
    """``vllm:PATH``, ``openai:URL#NAME``, ``baseline:NAME``, or (hf) an alias, folder or
    hub id; the options are checked before anything loads."""
    parsed = parse_model(model)
    opts = backend_options(parsed.kind, options)
    if parsed.kind in BACKENDS:
        backend = BACKENDS[parsed.kind](parsed.target, **opts)
    else:
        from harness.backends.hf import HFBackend
        from harness.backends.models import resolve_model

        backend = HFBackend(resolve_model(parsed.target), **opts)
    LOADS[backend.kind] += 1
    return backend


def peek_identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The identity a backend will report, without loading any weights."""
    kind, target = split_model(model)
    if kind not in WEIGHTS:  # nothing to load: an endpoint, a CPU baseline
        return load_backend(model, **options).identity()
    from harness.backends.models import identity, resolve_model

    ref = resolve_model(target)
    if kind == "hf" and options.get("peft"):  # base + adapter: the adapted identity
        from harness.backends.hf import adapted_ref

        ref = adapted_ref(ref, options["peft"])
    return identity(ref)


class LazyBackend:
    """A backend whose weights load on the first generate/loglikelihood call."""

    def __init__(self, model: str, options: dict[str, Any]) -> None:
        self.model, self.options = model, options
        self.kind = split_model(model)[0]
        self._identity = peek_identity(model, options)
        self._inner: Backend | None = None
        if self.kind == "vllm":  # vLLM takes a whole task at once (see VLLMBackend)
            self.preferred_chunk = sys.maxsize

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def load(self) -> Backend:
        if self._inner is None:
            self._inner = load_backend(self.model, **self.options)
        return self._inner

    @property
    def calls(self) -> int:
        return self._inner.calls if self._inner is not None else 0

    @property
    def prefill_saved(self) -> int:
        return getattr(self._inner, "prefill_saved", 0)

    def identity(self) -> dict[str, Any]:
        return self._identity

    def numerics(self) -> dict[str, Any]:
        """The loaded engine's numerics, known without loading it (same cache keys)."""
        o = self.options
        if self.kind == "vllm":
            return vllm_numerics(o.get("dtype") or "auto", o.get("tensor_parallel_size") or 1)
        return hf_numerics(o.get("device"), o.get("dtype") or "auto", o.get("batch_size") or 16)

    def settings(self) -> dict[str, Any]:
        """The engine's settings once loaded; before that, what was asked for."""
        if self._inner is not None:
            return self._inner.settings()
        return {k: v for k, v in self.options.items() if v is not None
                and (self.kind != "hf" or k in HF_OPTIONS)}

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        return self.load().generate(prompts, config)

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self.load().loglikelihood(pairs)


def lazy_backend(model: str, **options: Any) -> Backend:
    """A backend that loads its weights only if a prompt misses the cache."""
    if split_model(model)[0] not in WEIGHTS:
        return load_backend(model, **options)
    return LazyBackend(model, options)


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
