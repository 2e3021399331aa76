"""The vLLM backend's request building and output mapping, on CPU.

vLLM cannot be installed here (its wheel pulls a CUDA torch), so a stand-in ``vllm``
module with the documented offline API (``LLM(**engine_args)``, ``LLM.generate(prompts,
sampling_params, use_tqdm=)``, ``LLM.get_tokenizer()``, ``SamplingParams(**kw)``) is put in
``sys.modules``. It uses the checkpoint's real tokenizer and records every call, so these
tests check what genrank asks vLLM for and how it reads the answers; benchmarks/gpu_check.sh
checks the real engine on a GPU.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from harness.errors import GenrankError
from harness.types import GenerationConfig


@dataclass
class SamplingParams:
    n: int = 1
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list | None = None
    prompt_logprobs: int | None = None


@dataclass
class _Logprob:
    logprob: float


@dataclass
class _Completion:
    text: str


@dataclass
class _RequestOutput:
    prompt: object
    outputs: list
    prompt_logprobs: list | None = None


@dataclass
class _LLM:
    engine_args: dict
    generate_calls: list = field(default_factory=list)

    def get_tokenizer(self):
        from transformers import AutoTokenizer
        return AutoTokenizer.from_pretrained(self.engine_args["model"])

    def generate(self, prompts, sampling_params, use_tqdm=True):
        assert isinstance(sampling_params, list) and len(sampling_params) == len(prompts)
        self.generate_calls.append((list(prompts), list(sampling_params)))
        outs = []
        for p, sp in zip(prompts, sampling_params):
            if isinstance(p, dict):  # token ids: prompt log-probs, token t scores -t/1000
                ids = p["prompt_token_ids"]
                lps = [None] + [{t: _Logprob(-t / 1000)} for t in ids[1:]]
                outs.append(_RequestOutput(p, [_Completion("")], lps))
            else:  # echo the prompt's tail, then run past the stop sequence
                outs.append(_RequestOutput(p, [_Completion(f" <{p[-6:]}>" + "\n\nMORE")]))
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):
    mod = types.ModuleType("vllm")
    mod.__version__ = "0.33.0-standin"
    mod.SamplingParams = SamplingParams
    mod.LLM = lambda **kw: _LLM(kw)
    monkeypatch.setitem(sys.modules, "vllm", mod)
    return mod


@pytest.fixture
def backend(fake_vllm, tiny_model_dir):
    from harness.backends import load_backend
    return load_backend(f"vllm:{tiny_model_dir}", tensor_parallel_size=2, dtype="bfloat16",
                        max_model_len=4096, seed=7, batch_size=16, device=None)


def test_engine_args_and_identity(backend, tiny_model_dir):
    from harness.backends.models import resolve_model

    ref = resolve_model(str(tiny_model_dir))
    assert backend.llm.engine_args == {"model": ref.path, "tensor_parallel_size": 2,
                                       "dtype": "bfloat16", "seed": 7,
                                       "gpu_memory_utilization": 0.9, "max_model_len": 4096}
    # the same weights have the same identity as under hf: same cache keys, same run dir
    assert backend.identity()["content_hash"] == ref.content_hash
    assert backend.settings()["vllm_version"] == "0.33.0-standin"
    assert backend.kind == "vllm"


def test_all_prompts_in_one_call_with_per_request_params(backend):
    prompts = ["alpha prompt", "beta prompt!", "gamma"]
    greedy = GenerationConfig(max_new_tokens=5, stop=("\n\n",))
    assert backend.generate(prompts, greedy) == [" <prompt>", " <rompt!>", " <gamma>"]
    (sent, params), = backend.llm.generate_calls
    assert sent == prompts and len(params) == 3
    assert params[0] == SamplingParams(max_tokens=5, temperature=0.0, stop=["\n\n"])
    sampled = GenerationConfig(max_new_tokens=3, temperature=0.7, top_p=0.9, seed=11)
    backend.generate(["x"], sampled)
    assert backend.llm.generate_calls[-1][1][0] == SamplingParams(
        max_tokens=3, temperature=0.7, top_p=0.9, seed=11)
    assert backend.calls == 4


def test_chat_template_is_applied_before_sending(backend):
    if not backend.tokenizer.chat_template:
        pytest.skip("tokenizer has no chat template")
    backend.generate(["hello"], GenerationConfig(chat_template=True))
    sent = backend.llm.generate_calls[-1][0][0]
    assert sent == backend.tokenizer.apply_chat_template(
        [{"role": "user", "content": "hello"}], tokenize=False, add_generation_prompt=True)


def test_loglikelihood_sums_continuation_prompt_logprobs(backend):
    tok = backend.tokenizer
    pairs = [("The cat sat on the", " mat"), ("One two", " three four")]
    got = backend.loglikelihood(pairs)
    for (ctx, cont), value in zip(pairs, got):
        c = tok(ctx, add_special_tokens=False)["input_ids"]
        w = tok(ctx + cont, add_special_tokens=False)["input_ids"]
        assert value == pytest.approx(sum(-t / 1000 for t in w[len(c):]))
    (sent, params), = backend.llm.generate_calls
    assert all(sp.prompt_logprobs == 0 and sp.max_tokens == 1 for sp in params)


def test_run_records_have_hf_shape_and_one_call_per_task(backend, tmp_path, isolated_cache):
    from harness.runner import RunOptions, plan, run_tasks
    from harness.runstore import RECORD_COLUMNS
    from harness.spec import load_specs, select
    from tests.conftest import data_path

    data_path("scan/simple_split/tasks_test_simple.txt")
    opts = RunOptions(limit=3, max_new_tokens=4, progress=False, chunk=1)
    opts.chunk = getattr(backend, "preferred_chunk", opts.chunk)  # as `genrank run` does
    plans = plan(select(load_specs(), tasks=["scan_simple"]), opts)
    run, stats = run_tasks(backend, plans, tmp_path, opts)
    assert stats.generated == 3 and len(backend.llm.generate_calls) == 1
    records = run.read_records("scan_simple")
    assert list(records.columns) == RECORD_COLUMNS and len(records) == 3
    assert run.read_metadata()["backend"]["tensor_parallel_size"] == 2


def test_missing_vllm_is_one_line(monkeypatch):
    from harness.backends import load_backend

    monkeypatch.setitem(sys.modules, "vllm", None)  # import fails as if not installed
    with pytest.raises(GenrankError, match="optional dependency"):
        load_backend("vllm:/nowhere")
