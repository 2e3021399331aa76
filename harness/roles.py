"""Model roles (as Inspect's): a second model that a task's verifier asks, e.g. an LLM judge.

The judge is named on the command line (``--judge MODEL``, any model string), resolved
and checked before any model work, and handed to the verifiers that need it through
the small :class:`Judge` interface. Its answers go through the generation cache, keyed
on the judge's identity, prompt and settings, and are cached after every small batch:
a run killed while judging never asks the judge again for an answer that came back.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Protocol, Sequence

from harness.backends import load_backend, peek_identity
from harness.backends.base import Backend, FailedOutput
from harness.cache import GenerationCache, cache_key
from harness.errors import GenrankError
from harness.types import GenerationConfig

FLAG = "--judge"
#: the run's engine options that also apply to the judge (not the evaluated model's own
#: arguments: revision, adapters, remote code)
ENGINE_OPTIONS = ("batch_size", "device", "dtype", "concurrency", "api_key_env",
                  "tensor_parallel_size", "max_model_len", "gpu_memory_utilization")


class Judge(Protocol):
    """What a verifier may do with its judge: ask it, and say who it is."""

    def ask(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        """One answer per prompt (cached answers reused)."""

    def describe(self) -> dict[str, Any]:
        """The judge's identity: model string, content hash or server id, backend."""


def _flag_error(exc: GenrankError) -> GenrankError:
    """A backend's error about the judge's model string, pointed at --judge."""
    return GenrankError(exc.message, file=exc.file, task=exc.task, field=FLAG)


def _served_models(target: str, timeout: float = 5.0) -> list[str]:
    """Ids an OpenAI-compatible server lists (GET /models); [] if it lists none.
    An unreachable server is an error now, before the run generates anything."""
    base = target.partition("#")[0].rstrip("/")
    try:
        with urllib.request.urlopen(base + "/models", timeout=timeout) as resp:
            data = json.loads(resp.read()).get("data") or []
        return [str(m.get("id")) for m in data if isinstance(m, dict)]
    except urllib.error.HTTPError:
        return []  # the server is there; it just does not list models
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GenrankError(f"cannot reach the judge server {base}: {reason}",
                           field=FLAG) from None


def resolve_judge(model: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The judge's identity without loading weights: model string, name, content hash
    (weights) or endpoint hash, backend kind; for a server, the ids it lists."""
    if not model or not model.strip():
        raise GenrankError("empty judge model string", field=FLAG)
    try:
        ident = peek_identity(model, {**(options or {}), "flag": FLAG})
    except GenrankError as exc:
        raise _flag_error(exc) from None
    kind = model.partition(":")[0] if model.partition(":")[0] in ("openai", "vllm") else "hf"
    out = {"model": model, "backend": kind, **ident}
    if kind == "openai":
        out["listed_ids"] = _served_models(model.partition(":")[2])[:20]
    return out


class CachedJudge:
    """A backend in the judge role: answers cached under the judge's content hash."""

    def __init__(self, backend: Backend, identity: dict[str, Any], cache: GenerationCache, *,
                 batch: int = 8) -> None:
        self.backend, self.identity, self.cache = backend, identity, cache
        self.batch = max(1, int(batch))
        self.asked = 0  # prompts sent to the judge model
        self.reused = 0  # answers taken from the cache

    def key(self, prompt: str, config: GenerationConfig) -> str:
        return cache_key(self.identity["content_hash"], prompt, config.as_dict())

    def ask(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        keys = [self.key(p, config) for p in prompts]
        answers = self.cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in answers]
        self.reused += len(prompts) - len(missing)
        for start in range(0, len(missing), self.batch):
            idx = missing[start:start + self.batch]
            new = self.backend.generate([prompts[i] for i in idx], config)
            self.cache.put_many((keys[i], out) for i, out in zip(idx, new)
                                if not isinstance(out, FailedOutput))  # never cache a failure
            answers.update({keys[i]: out for i, out in zip(idx, new)})
            self.asked += len(idx)
        return [answers[k] for k in keys]

    def describe(self) -> dict[str, Any]:
        served = getattr(self.backend, "served_model", None)
        return {**self.identity, **({"served_model": served} if served else {}),
                "settings": self.backend.settings()}


def load_judge(model: str, identity: dict[str, Any], options: dict[str, Any], *,
               reuse: Backend | None = None, cache: GenerationCache | None = None
               ) -> CachedJudge:
    """Load the judge's backend (or reuse the evaluated model's when it is the same)."""
    engine = {k: v for k, v in options.items() if k in ENGINE_OPTIONS}
    if reuse is not None and reuse.identity().get("content_hash") == identity["content_hash"]:
        backend = reuse
    else:
        try:
            backend = load_backend(model, **{**engine, "flag": FLAG})
        except GenrankError as exc:
            raise _flag_error(exc) from None
    batch = engine.get("batch_size")
    return CachedJudge(backend, identity, cache or GenerationCache(),
                       batch=batch if isinstance(batch, int) and batch > 0 else 8)
