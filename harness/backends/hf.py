"""The default backend: transformers on CPU or GPU, batched greedy generation.

Prompts are sorted by length and left-padded, so each batch wastes little padding;
outputs return in the caller's order.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.backends.base import chat_messages, cut_at_stop, plain_prompt
from harness.backends.models import ModelRef
from harness.errors import GenrankError
from harness.types import GenerationConfig


class HFBackend:
    kind = "hf"

    def __init__(self, ref: ModelRef, *, batch_size: int | str = 16, device: str | None = None,
                 dtype: str = "auto", revision: str | None = None,
                 trust_remote_code: bool = False, peft: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # lm-eval's batch_size=auto: the largest batch that fits, halving on GPU out-of-memory
        self.auto_batch = batch_size == "auto"
        self.batch_size = (64 if self.device.startswith("cuda") else 8) if self.auto_batch \
            else int(batch_size)
        self.ref, self.calls, self.revision, self.peft = ref, 0, revision, peft
        if peft:  # base weights + adapter = another model: its own identity and cache keys
            self.ref = adapted_ref(ref, peft)
        torch_dtype = {"auto": torch.float32 if self.device == "cpu" else torch.bfloat16,
                       "float32": torch.float32, "bfloat16": torch.bfloat16,
                       "float16": torch.float16}[dtype]
        load = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(ref.path, **load)
            self.model = AutoModelForCausalLM.from_pretrained(ref.path, dtype=torch_dtype, **load)
        except Exception as exc:  # safetensors, json, OS errors: all one line for the user
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise GenrankError(f"cannot load checkpoint: {first}", file=ref.path,
                               field="--model") from None
        if peft:
            self.model = load_adapter(self.model, peft)
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.dtype = str(torch_dtype).replace("torch.", "")

    def identity(self) -> dict[str, Any]:
        return {"name": self.ref.name, "path": self.ref.path, "content_hash": self.ref.content_hash,
                "source": self.ref.source}

    def settings(self) -> dict[str, Any]:
        out = {"batch_size": self.batch_size, "device": self.device, "dtype": self.dtype,
               "padding_side": "left"}
        out.update({k: v for k, v in (("batch_size_auto", self.auto_batch),
                                      ("revision", self.revision), ("peft", self.peft)) if v})
        return out

    def format(self, prompt: str, config: GenerationConfig) -> str:
        """Wrap the prompt in the model's chat template when the run asks for it."""
        if not config.chat_template:
            return plain_prompt(prompt, config)
        if not self.tokenizer.chat_template:
            raise GenrankError("the model has no chat template; run without --chat-template",
                               file=self.ref.path, field="chat_template")
        return self.tokenizer.apply_chat_template(chat_messages(prompt, config),
                                                  tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        """Batched generation; with batch_size=auto, a GPU out-of-memory halves the batch."""
        import torch

        while True:
            try:
                return self._generate(prompts, config)
            except torch.OutOfMemoryError:
                if not self.auto_batch or self.batch_size == 1:
                    raise
                self.batch_size //= 2
                torch.cuda.empty_cache()

    def _generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        import torch

        texts = [self.format(p, config) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out: list[str] = [""] * len(texts)
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id}
        if config.temperature > 0:
            torch.manual_seed(config.seed)
            kwargs.update(do_sample=True, temperature=config.temperature, top_p=config.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if config.stop:
            kwargs.update(stop_strings=list(config.stop), tokenizer=self.tokenizer)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
            with torch.inference_mode():
                gen = self.model.generate(**enc, **kwargs)
            new = gen[:, enc["input_ids"].shape[1]:]
            for i, row in zip(idx, self.tokenizer.batch_decode(new, skip_special_tokens=True)):
                out[i] = cut_at_stop(row, config.stop)
            self.calls += len(idx)
        return out

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after its context."""
        import torch

        results: list[float] = [0.0] * len(pairs)
        tok = self.tokenizer
        encoded = []
        for ctx, cont in pairs:
            c = tok(ctx, add_special_tokens=False)["input_ids"]
            w = tok(ctx + cont, add_special_tokens=False)["input_ids"]
            n_cont = max(1, len(w) - len(c))
            encoded.append((w, n_cont))
        order = sorted(range(len(pairs)), key=lambda i: len(encoded[i][0]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(encoded[i][0]) for i in idx)
            ids = torch.full((len(idx), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, i in enumerate(idx):  # right padding: positions line up with the text
                seq = encoded[i][0]
                ids[r, :len(seq)] = torch.tensor(seq)
                mask[r, :len(seq)] = 1
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device),
                                    attention_mask=mask.to(self.device)).logits.float()
            logp = torch.log_softmax(logits, dim=-1).cpu()
            for r, i in enumerate(idx):
                seq, n_cont = encoded[i]
                positions = range(len(seq) - n_cont, len(seq))
                results[i] = float(sum(logp[r, p - 1, seq[p]] for p in positions))
            self.calls += len(idx)
        return results


def adapted_ref(ref: ModelRef, adapter: str) -> ModelRef:
    """The identity of base weights + a PEFT adapter (its files hashed like a checkpoint)."""
    from pathlib import Path

    from harness.backends.models import content_hash
    from harness.types import stable_hash

    path = Path(adapter)
    if not (path / "adapter_config.json").is_file():
        raise GenrankError("not a PEFT adapter folder (no adapter_config.json)", file=adapter,
                           field="--model-args peft")
    return ModelRef(name=f"{ref.name}+{path.resolve().name}", path=ref.path,
                    content_hash=stable_hash([ref.content_hash, content_hash(path)])[:16],
                    source=f"{ref.source}+peft")


def load_adapter(model, adapter: str):
    try:
        from peft import PeftModel
    except ImportError:
        raise GenrankError("a PEFT adapter needs the peft package (pip install 'genrank[peft]')",
                           field="--model-args peft") from None
    try:
        return PeftModel.from_pretrained(model, adapter).merge_and_unload()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise GenrankError(f"cannot load adapter: {first}", file=adapter,
                           field="--model-args peft") from None
