"""SDPA attention that lets torch group the key/value heads on CPU, masks included.

transformers' ``sdpa`` attention copies every key/value head ``num_key_value_groups``
times (``repeat_kv``) whenever an attention mask is passed, i.e. in every step of a
left-padded batch: for SmolLM2 (9 query heads, 3 key/value heads) that copy was a third
of the decode time on CPU. torch's CPU kernels take the grouped heads directly
(``enable_gqa=True``) and compute each head from the same values, so the result is the
same tensor, bit for bit (tests/test_hf_backend.py checks logits and outputs).
Elsewhere (no mask, a GPU, other models) it is transformers' own function.
"""

from __future__ import annotations

NAME = "genrank_sdpa"


def grouped_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0,
                 scaling: float | None = None, is_causal: bool | None = None, **kwargs):
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if (attention_mask is None or query.device.type != "cpu"
            or getattr(module, "num_key_value_groups", 1) <= 1
            or kwargs.get("position_bias") is not None or kwargs.get("cache") is not None
            or kwargs.get("output_attentions", False)):
        return sdpa_attention_forward(module, query, key, value, attention_mask,
                                      dropout=dropout, scaling=scaling, is_causal=is_causal,
                                      **kwargs)
    # with a mask, transformers' sdpa passes is_causal=False: the mask says everything
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling,
        is_causal=False, enable_gqa=True)
    return out.transpose(1, 2).contiguous(), None


def use_grouped_sdpa(model) -> None:
    """Switch a loaded model that uses ``sdpa`` to the grouped variant (same masks)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return
    AttentionInterface.register(NAME, grouped_sdpa)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    model.config._attn_implementation = NAME  # the setter passes it to sub-configs
