"""Backends: ``hf`` (default), ``vllm:``, ``openai:``, ``baseline:`` — chosen by the --model string."""

from __future__ import annotations

from typing import Any

from harness.backends.base import Backend
from harness.errors import GenrankError


#: what the hf backend takes (lm-eval's --model_args names where they exist)
HF_OPTIONS = ("batch_size", "device", "dtype", "revision", "trust_remote_code", "peft")


def load_backend(model: str, **options: Any) -> Backend:
    """``vllm:PATH``, ``openai:URL#NAME``, or (hf) an alias, folder or hub id."""
    kind, _, rest = model.partition(":")
    if rest and kind == "hf":
        model, kind = rest, "hf"
    elif rest and kind in BACKENDS:
        return BACKENDS[kind](rest, **options)
    from harness.backends.hf import HFBackend
    from harness.backends.models import resolve_model

    opts = {k: v for k, v in options.items() if k in HF_OPTIONS and v is not None}
    return HFBackend(resolve_model(model), **opts)


def peek_identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The identity a backend for ``model`` will report, without loading any weights."""
    kind, _, rest = model.partition(":")
    if kind == "openai" and rest:
        return load_backend(model, **options).identity()
    from harness.backends.models import resolve_model

    ref = resolve_model(rest if kind in ("hf", "vllm") and rest else model)
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
