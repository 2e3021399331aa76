"""What every backend offers the runner: generation, optionally log-likelihoods."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from harness.types import GenerationConfig, stable_hash


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

    def numerics(self) -> dict[str, Any]:
        """What of the engine can change outputs (dtype, device class, engine version,
        batch size...): part of the cache key and the run identity. Optional."""

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        """One completion per prompt, stop sequences already cut off."""

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum log p(continuation | context) per pair; NotImplementedError if unsupported."""


def backend_numerics(backend) -> dict[str, Any]:
    """The backend's kind and numerics (``{}`` beyond the kind when it reports none)."""
    report = getattr(backend, "numerics", None)
    return {"kind": backend.kind, **(report() if report is not None else {})}


def backend_key(content_hash: str, numerics: dict[str, Any]) -> str:
    """The identity of a model's outputs: its weights and the numerics that ran them."""
    return stable_hash({"model": content_hash, "numerics": numerics})[:16]


def device_class(device: str) -> str:
    """``cpu``, or the accelerator's product name (``cuda:NVIDIA H200``): outputs can
    differ across kinds of devices, never across two devices of one kind."""
    if not str(device).startswith("cuda"):
        return str(device).split(":")[0]
    import torch

    index = torch.device(device).index or 0
    return f"cuda:{torch.cuda.get_device_name(index)}"


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def default_device() -> str:
    """cuda where torch would find a GPU, else cpu; without importing torch (seconds) where
    the answer is plain: a CPU-only wheel, no NVIDIA driver, or CUDA hidden. A rerun that
    loads no model must not pay for torch just to name its numerics."""
    import os
    import sys

    if "torch" not in sys.modules:
        version = _version("torch")
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
        if (version == "absent" or "+cpu" in version or not os.path.isdir("/proc/driver/nvidia")
                or (hidden is not None and hidden.strip() in ("", "-1"))):
            return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def hf_numerics(device: str | None, dtype: str, batch_size: Any) -> dict[str, Any]:
    """The hf backend's numerics, known before its weights load (a lazy backend's cache
    keys equal the loaded one's): left-padded batches change the float arithmetic, so the
    batch size is part of it."""
    device = device or default_device()
    resolved = {"auto": "float32" if device == "cpu" else "bfloat16"}.get(dtype, dtype)
    return {"dtype": resolved, "device_class": device_class(device),
            "engine": {"torch": _version("torch"), "transformers": _version("transformers")},
            "batch_size": batch_size if batch_size == "auto" else int(batch_size),
            "padding_side": "left"}


def vllm_numerics(dtype: str, tensor_parallel_size: int) -> dict[str, Any]:
    """vLLM's numerics as asked for (``auto`` resolves from the checkpoint, which the
    content hash already names)."""
    return {"dtype": dtype or "auto", "device_class": device_class(default_device()),
            "engine": {"vllm": _version("vllm")},
            "tensor_parallel_size": int(tensor_parallel_size or 1)}


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
