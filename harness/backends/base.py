"""What every backend offers the runner: generation, optionally log-likelihoods."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from harness.types import GenerationConfig


class Backend(Protocol):
    """A model behind one interface; the runner never knows which engine it is."""

    #: engine name recorded in run metadata ("hf", "vllm", "openai", ...)
    kind: str
    #: prompts sent to the model so far (cache hits do not count)
    calls: int

    def identity(self) -> dict[str, Any]:
        """Model name, path and content hash: what the cache and run store key on."""

    def settings(self) -> dict[str, Any]:
        """Engine settings worth recording (dtype, batch size, device...)."""

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        """One completion per prompt, stop sequences already cut off."""

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum log p(continuation | context) per pair; NotImplementedError if unsupported."""


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Truncate at the earliest stop sequence (engines may overshoot within a batch)."""
    cut = len(text)
    for s in stop:
        i = text.find(s) if s else -1
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def chat_messages(prompt: str, config: GenerationConfig) -> list[dict[str, str]]:
    """The chat a prompt becomes under a chat template (system instruction first, if any)."""
    system = [{"role": "system", "content": config.system_instruction}] \
        if config.system_instruction else []
    return [*system, {"role": "user", "content": prompt}]


def plain_prompt(prompt: str, config: GenerationConfig) -> str:
    """Without a chat template a system instruction is a preamble, as lm-eval does."""
    if config.system_instruction:
        return f"{config.system_instruction}\n\n{prompt}"
    return prompt


class FailedOutput(str):
    """An output the backend could not get (the request kept failing): the empty string to the
    verifier, never cached, and recorded with its reason (Inspect's fail_on_error)."""

    error: str

    def __new__(cls, error: str) -> "FailedOutput":
        out = super().__new__(cls, "")
        out.error = error
        return out
