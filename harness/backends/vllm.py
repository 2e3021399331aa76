"""vLLM offline backend (``--model vllm:PATH_OR_HUB_ID``), thin over ``vllm.LLM``.

All prompts a run hands over go to one ``LLM.generate`` call with one ``SamplingParams``
per request: vLLM schedules them itself, so the harness does no batching. Only the
documented offline API is used (``LLM``, ``SamplingParams``, ``get_tokenizer``), which
keeps the backend testable on CPU with a stand-in ``vllm`` module.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from harness.backends.base import cut_at_stop, vllm_numerics
from harness.backends.hf import HFBackend
from harness.backends.models import ModelRef, identity, resolve_model
from harness.errors import GenrankError
from harness.types import GenerationConfig


class VLLMBackend:
    kind = "vllm"
    #: the runner hands a whole task at once (no journal chunks): vLLM batches it itself
    preferred_chunk = sys.maxsize

    def __init__(self, target: str, *, tensor_parallel_size: int = 1, dtype: str = "auto",
                 max_model_len: int | None = None, seed: int | None = None,
                 gpu_memory_utilization: float = 0.9, ref: ModelRef | None = None,
                 **_ignored: Any) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:
            raise GenrankError(f"backend needs an optional dependency: {exc} "
                               "(pip install 'genrank[vllm]')", field="--model") from None
        self.ref = ref or resolve_model(target)
        self.calls = 0
        self.engine_args: dict[str, Any] = {
            "model": self.ref.path, "tensor_parallel_size": int(tensor_parallel_size or 1),
            "dtype": dtype or "auto", "seed": 0 if seed is None else int(seed),
            "gpu_memory_utilization": gpu_memory_utilization}
        if max_model_len:
            self.engine_args["max_model_len"] = int(max_model_len)
        self.llm = LLM(**self.engine_args)
        self.tokenizer = self.llm.get_tokenizer()

    # the chat-template wrapping is the hf backend's (same tokenizer API, same errors)
    format = HFBackend.format

    def identity(self) -> dict[str, Any]:
        return identity(self.ref)

    def settings(self) -> dict[str, Any]:
        import vllm

        return {**{k: v for k, v in self.engine_args.items() if k != "model"},
                "vllm_version": getattr(vllm, "__version__", "unknown")}

    def numerics(self) -> dict[str, Any]:
        return vllm_numerics(self.engine_args["dtype"], self.engine_args["tensor_parallel_size"])

    def sampling_params(self, config: GenerationConfig, **extra: Any):
        """One request's SamplingParams; greedy when temperature is 0."""
        from vllm import SamplingParams

        kwargs: dict[str, Any] = {"n": 1, "max_tokens": config.max_new_tokens,
                                  "temperature": config.temperature, **extra}
        if config.temperature > 0:
            kwargs.update(top_p=config.top_p, seed=config.seed)
        if config.stop:
            kwargs["stop"] = list(config.stop)
        return SamplingParams(**kwargs)

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        if not prompts:
            return []
        texts = [self.format(p, config) for p in prompts]
        params = [self.sampling_params(config) for _ in texts]
        outputs = self.llm.generate(texts, params, use_tqdm=False)
        self.calls += len(texts)
        # vLLM returns one RequestOutput per prompt, in the order given
        return [cut_at_stop(o.outputs[0].text, config.stop) for o in outputs]

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum of the continuation tokens' prompt log-probabilities (one generate call)."""
        if not pairs:
            return []
        encoded = []
        for ctx, cont in pairs:
            c = self.tokenizer(ctx, add_special_tokens=False)["input_ids"]
            w = self.tokenizer(ctx + cont, add_special_tokens=False)["input_ids"]
            encoded.append((w, max(1, len(w) - len(c))))
        params = self.sampling_params(GenerationConfig(max_new_tokens=1), prompt_logprobs=0)
        requests = [{"prompt_token_ids": w} for w, _ in encoded]
        outputs = self.llm.generate(requests, [params] * len(requests), use_tqdm=False)
        self.calls += len(requests)
        results = []
        for (ids, n_cont), out in zip(encoded, outputs):
            lps = out.prompt_logprobs  # position p: {token_id: Logprob} for ids[p] (None at 0)
            results.append(float(sum(lps[p][ids[p]].logprob
                                     for p in range(len(ids) - n_cont, len(ids)))))
        return results
