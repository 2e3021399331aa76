"""Backends: ``hf`` (default), ``vllm:``, ``openai:``, ``baseline:`` — chosen by the --model string.

``load_backend`` loads the weights now; ``lazy_backend`` knows the model's identity
(name, content hash) at once but loads the weights on the first call, so a run whose
every item is already in the journal or the cache never loads a model.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any, Sequence

from harness.backends.base import Backend
from harness.errors import GenrankError
from harness.types import GenerationConfig

#: backends with weights to load (the others are cheap to make: loaded at once)
WEIGHTS = ("hf", "vllm")
#: weights loaded in this process, by backend kind (tests and benchmarks count them)
LOADS: Counter = Counter()


def split_model(model: str) -> tuple[str, str]:
    """``kind:target`` -> (kind, target); a plain alias, folder or hub id is ``hf``."""
    kind, _, rest = model.partition(":")
    if rest and kind in ("hf", *BACKENDS):
        return kind, rest
    return "hf", model


#: what the hf backend takes (lm-eval's --model_args names where they exist)
HF_OPTIONS = ("batch_size", "device", "dtype", "revision", "trust_remote_code", "peft",
              "threads")


def load_backend(model: str, **options: Any) -> Backend:
    """``vllm:PATH``, ``openai:URL#NAME``, or (hf) an alias, folder or hub id."""
    kind, target = split_model(model)
    if kind in BACKENDS:
        backend = BACKENDS[kind](target, **options)
    else:
        from harness.backends.hf import HFBackend
        from harness.backends.models import resolve_model

        opts = {k: v for k, v in options.items() if k in HF_OPTIONS and v is not None}
        backend = HFBackend(resolve_model(target), **opts)
    LOADS[backend.kind] += 1
    return backend


def peek_identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The identity a backend will report, without loading any weights."""
    kind, target = split_model(model)
    if kind not in WEIGHTS:  # nothing to load: an endpoint, a CPU baseline
        return load_backend(model, **options).identity()
    from harness.backends.models import resolve_model

    ref = resolve_model(target)
    if kind == "hf" and options.get("peft"):  # base + adapter: the adapted identity
        from harness.backends.hf import adapted_ref

        ref = adapted_ref(ref, options["peft"])
    return {"name": ref.name, "path": ref.path, "content_hash": ref.content_hash,
            "source": ref.source}


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
