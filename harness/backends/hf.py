"""The default backend: transformers on CPU or GPU, batched greedy generation.

Prompts are sorted by length and left-padded, so each batch wastes little padding;
outputs return in the caller's order.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.backends.base import chat_messages, cut_at_stop, hf_numerics, plain_prompt
from harness.backends.hf_attention import use_grouped_sdpa
from harness.backends.models import ModelRef, identity
from harness.backends.threads import use_threads
from harness.errors import GenrankError
from harness.types import GenerationConfig


def _import_transformers():
    """transformers, quiet, without scikit-learn and scipy on the inference path.

    When they are installed, transformers imports scikit-learn (about 1 s; cleanlab pulls
    it in) for assisted generation's confidence threshold, and scipy.optimize (about 1 s)
    for object-detection training losses; genrank uses neither. Both are reported absent
    only while the modeling and generation modules load, so a model that needs scipy
    later still finds it.
    """
    import importlib

    import transformers.utils as tu
    from transformers.utils import import_utils
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    names = ("is_sklearn_available", "is_scipy_available")
    saved = {n: getattr(import_utils, n) for n in names}
    for n in names:
        setattr(tu, n, lambda: False)
        setattr(import_utils, n, lambda: False)
    try:
        importlib.import_module("transformers.modeling_utils")
        importlib.import_module("transformers.generation.candidate_generator")
    finally:
        for n, fn in saved.items():
            setattr(tu, n, fn)
            setattr(import_utils, n, fn)
    import transformers

    return transformers


#: shorter shared prefixes are not worth a separate forward pass
MIN_PREFIX = 16


def common_prefix_length(seqs: Sequence[Sequence[int]]) -> int:
    first, n = seqs[0], min(map(len, seqs))
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
    return n


class SharedPrefix:
    """Keys and values of the tokens all prompts start with, computed once.

    Each batch continues from a copy: rows are laid out as prefix, padding, own suffix,
    with the padding masked, so positions (from the attention mask) and attention match
    the plain left-padded batch; greedy outputs are the same.
    """

    def __init__(self, model, ids: list[int], device: str) -> None:
        import torch

        self.ids, self.device = list(ids), device
        with torch.inference_mode():
            out = model(input_ids=torch.tensor([self.ids], device=device), use_cache=True)
        self.cache = out.past_key_values

    def batch(self, seqs: Sequence[Sequence[int]], pad_id: int) -> dict[str, Any]:
        import copy

        import torch

        p = len(self.ids)
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        ids[:, :p], mask[:, :p] = torch.tensor(self.ids), 1
        for r, s in enumerate(seqs):
            ids[r, width - len(s) + p:] = torch.tensor(s[p:])
            mask[r, width - len(s) + p:] = 1
        cache = copy.deepcopy(self.cache)
        repeat_rows(cache, len(seqs))
        return {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device),
                "past_key_values": cache}


def repeat_rows(cache, n: int) -> None:
    """The one-row cache as ``n`` rows. Plain dynamic layers get a broadcast view: their
    first update concatenates it with the new keys (a fresh tensor), so the rows are
    copied once, not twice (repeat, then concatenate)."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        cache.batch_repeat_interleave(n)
        return
    for layer in layers:
        layer.keys = layer.keys.expand(n, *layer.keys.shape[1:])
        layer.values = layer.values.expand(n, *layer.values.shape[1:])


class HFBackend:
    kind = "hf"

    def __init__(self, ref: ModelRef, *, batch_size: int | str = 16, device: str | None = None,
                 dtype: str = "auto", revision: str | None = None,
                 trust_remote_code: bool = False, peft: str | None = None,
                 threads: int | None = None, prefix_caching: bool = True) -> None:
        import torch

        if threads:
            use_threads(threads)
        self.threads = torch.get_num_threads()
        transformers = _import_transformers()
        AutoModelForCausalLM, AutoTokenizer = (transformers.AutoModelForCausalLM,
                                               transformers.AutoTokenizer)
        self.prefix_caching, self._prefix = prefix_caching, None
        self._stops: dict[tuple[str, ...], Any] = {}  # stop strings -> their criterion
        #: prompt tokens seen, and those whose prefill a shared prefix's cache made unneeded
        self.prompt_tokens = self.prefill_saved = 0
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
        use_grouped_sdpa(self.model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.dtype = str(torch_dtype).replace("torch.", "")

    def identity(self) -> dict[str, Any]:
        return identity(self.ref)

    def settings(self) -> dict[str, Any]:
        out = {"batch_size": self.batch_size, "device": self.device, "dtype": self.dtype,
               "padding_side": "left", "threads": self.threads}
        out.update({k: v for k, v in (("batch_size_auto", self.auto_batch),
                                      ("revision", self.revision), ("peft", self.peft)) if v})
        return out

    def numerics(self) -> dict[str, Any]:
        return hf_numerics(self.device, self.dtype, "auto" if self.auto_batch else self.batch_size)

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
        if config.stop:  # what stop_strings= builds, built once per stop list
            kwargs["stopping_criteria"] = self._stop_criteria(tuple(config.stop))
        seqs = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        self.prompt_tokens += sum(map(len, seqs))
        prefix = self._prefix_for(seqs) if config.temperature == 0 else None
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            if prefix is None:
                enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                                     add_special_tokens=False).to(self.device)
            else:
                enc = prefix.batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)
                self.prefill_saved += len(prefix.ids) * len(idx)
            with torch.inference_mode():
                gen = self.model.generate(**enc, **kwargs)
            new = gen[:, enc["input_ids"].shape[1]:]
            for i, row in zip(idx, self.tokenizer.batch_decode(new, skip_special_tokens=True)):
                out[i] = cut_at_stop(row, config.stop)
            self.calls += len(idx)
        return out

    def _stop_criteria(self, stop: tuple[str, ...]):
        """transformers' stop-string criterion, made once: ``stop_strings=`` would build
        it again in every ``generate`` call from the whole vocabulary (about 0.2 s)."""
        from transformers import StoppingCriteriaList, StopStringCriteria

        if stop not in self._stops:
            self._stops[stop] = StopStringCriteria(tokenizer=self.tokenizer,
                                                   stop_strings=list(stop))
        return StoppingCriteriaList([self._stops[stop]])

    def _prefix_for(self, seqs: list[list[int]]) -> SharedPrefix | None:
        """The cached shared prefix of these prompts (computed once while it stays shared)."""
        if not self.prefix_caching or len(seqs) < 2:
            return None
        n = min(common_prefix_length(seqs), min(map(len, seqs)) - 1)  # a token left to run
        known = self._prefix
        if known is not None and n - 64 < len(known.ids) <= n \
                and seqs[0][:len(known.ids)] == known.ids:  # still shared by all
            return known
        if n < MIN_PREFIX:
            return None
        self._prefix = SharedPrefix(self.model, seqs[0][:n], self.device)
        self.prefill_saved -= n  # computed once
        return self._prefix

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after its context.

        Pairs that share a context (a multiple-choice item's options) have it encoded once
        and continue from its keys/values; the rest go through the plain padded batches.
        """
        tok = self.tokenizer
        encoded = []
        for ctx, cont in pairs:
            c = tok(ctx, add_special_tokens=False)["input_ids"]
            w = tok(ctx + cont, add_special_tokens=False)["input_ids"]
            encoded.append((w, max(1, len(w) - len(c))))
        results: list[float] = [0.0] * len(pairs)
        groups: dict[str, list[int]] = {}
        for i, (ctx, _) in enumerate(pairs):
            groups.setdefault(ctx, []).append(i)
        shared = [g for g in groups.values() if self.prefix_caching and len(g) > 1
                  and self._context_length(encoded, g) > 0]
        grouped = {i for g in shared for i in g}
        self._loglikelihood_plain(encoded, [i for i in range(len(pairs)) if i not in grouped],
                                  results)
        shared.sort(key=lambda g: self._context_length(encoded, g), reverse=True)
        for start in range(0, len(shared), self.batch_size):
            self._loglikelihood_shared(encoded, shared[start:start + self.batch_size], results)
        return results

    @staticmethod
    def _context_length(encoded, group: list[int]) -> int:
        """Tokens all of a group's sequences share that are context (not scored)."""
        seqs = [encoded[i][0] for i in group]
        return min(common_prefix_length(seqs), *(len(w) - n for w, n in (encoded[i]
                                                                          for i in group)))

    def _loglikelihood_plain(self, encoded, which: list[int], results: list[float]) -> None:
        import torch

        tok = self.tokenizer
        order = sorted(which, key=lambda i: len(encoded[i][0]), reverse=True)
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

    def _loglikelihood_shared(self, encoded, groups: list[list[int]],
                              results: list[float]) -> None:
        """One pass over the groups' contexts (left-padded, so each ends in the last
        column), one over every continuation from a copy of its context's cache."""
        import torch

        pad, dev = self.tokenizer.pad_token_id, self.device
        ctx = [encoded[g[0]][0][:self._context_length(encoded, g)] for g in groups]
        width = max(map(len, ctx))
        ids = torch.full((len(groups), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, c in enumerate(ctx):
            ids[r, width - len(c):], mask[r, width - len(c):] = torch.tensor(c), 1
        rows = [(r, i) for r, g in enumerate(groups) for i in g]
        tails = [encoded[i][0][len(ctx[r]):] for r, i in rows]
        t_width = max(map(len, tails))
        t_ids = torch.full((len(rows), t_width), pad, dtype=torch.long)
        t_mask = torch.zeros_like(t_ids)
        for k, t in enumerate(tails):
            t_ids[k, :len(t)], t_mask[k, :len(t)] = torch.tensor(t), 1
        owner = torch.tensor([r for r, _ in rows])
        lengths = torch.tensor([len(c) for c in ctx])
        with torch.inference_mode():
            first = self.model(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                               position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(dev),
                               use_cache=True, logits_to_keep=1)
            cache = first.past_key_values
            cache.batch_select_indices(owner.to(dev))
            rest = self.model(input_ids=t_ids.to(dev),
                              attention_mask=torch.cat([mask[owner], t_mask], 1).to(dev),
                              position_ids=(lengths[owner][:, None]
                                            + torch.arange(t_width)[None]).to(dev),
                              past_key_values=cache)
            # logits that predict each tail token: the context's last, then the tail's own
            logits = torch.cat([first.logits[owner, -1:], rest.logits[:, :-1]], 1).float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        self.prefill_saved += sum(len(c) * (len(g) - 1) for c, g in zip(ctx, groups))
        for k, (r, i) in enumerate(rows):
            seq, n_cont = encoded[i]
            start = len(seq) - n_cont - len(ctx[r])
            results[i] = float(sum(logp[k, j, seq[len(ctx[r]) + j]]
                                   for j in range(start, start + n_cont)))
        self.calls += len(rows)


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
