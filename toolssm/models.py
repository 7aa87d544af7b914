"""Model presets: the paper's shapes (section 4) and small ones for quick runs, for every architecture.

``build_model(preset)`` returns a freshly initialised model whose class has the tool loop
(``generate_with_tools``); transformer baselines are wrapped the same way.
"""

from __future__ import annotations

from transformers import GPTNeoXConfig, JambaConfig, Mamba2Config, MambaConfig, MistralConfig

from . import vocab as V
from .modeling import (ToolGPTNeoXForCausalLM, ToolJambaForCausalLM, ToolMamba2ForCausalLM, ToolMambaForCausalLM, ToolMistralForCausalLM,
                       ToolRNNForCausalLM)
from .rnn import ToolSSMRNNConfig


VOCAB_SIZE = len(V.VOCAB)
_IDS = dict(pad_token_id=V.TOKEN_TO_ID[V.PAD], eos_token_id=V.TOKEN_TO_ID[V.EOS], bos_token_id=V.TOKEN_TO_ID[V.EOS])


def _mamba(d, layers, **kw):
    return ToolMambaForCausalLM, MambaConfig(vocab_size=VOCAB_SIZE, hidden_size=d, num_hidden_layers=layers, **_IDS, **kw)


def _mamba2(d, layers, head_dim=64, **kw):
    return ToolMamba2ForCausalLM, Mamba2Config(
        vocab_size=VOCAB_SIZE, hidden_size=d, num_hidden_layers=layers, expand=2, head_dim=head_dim,
        num_heads=2 * d // head_dim, n_groups=1, **_IDS, **kw,
    )


def _rnn(cell, d, layers):
    return ToolRNNForCausalLM, ToolSSMRNNConfig(vocab_size=VOCAB_SIZE, hidden_size=d, num_hidden_layers=layers, cell=cell, pad_token_id=_IDS["pad_token_id"], eos_token_id=_IDS["eos_token_id"])


def _pythia(d, layers, heads, inter):
    return ToolGPTNeoXForCausalLM, GPTNeoXConfig(
        vocab_size=VOCAB_SIZE, hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=inter, rotary_pct=0.25, max_position_embeddings=1 << 20, use_parallel_residual=True, **_IDS,
    )


def _mistral(d, layers, heads, inter, window):
    return ToolMistralForCausalLM, MistralConfig(
        vocab_size=VOCAB_SIZE, hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        intermediate_size=inter, sliding_window=window, max_position_embeddings=1 << 20, **_IDS,
    )


def _hybrid(d, layers, heads, inter, attn_every, state=16):
    """Mamba-1 layers with one attention layer in every ``attn_every`` (transformers' Jamba, dense MLPs, no experts).
    The paper's Hybrid-Mamba (ICLR version) is not specified [INF]; docs/TRAINING.md records this choice."""
    return ToolJambaForCausalLM, JambaConfig(
        vocab_size=VOCAB_SIZE, hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        intermediate_size=inter, attn_layer_period=attn_every, attn_layer_offset=attn_every // 2, num_experts=1,
        num_experts_per_tok=1, expert_layer_period=1, expert_layer_offset=0, mamba_d_state=state, mamba_d_conv=4,
        mamba_expand=2, max_position_embeddings=1 << 20, **_IDS,
    )


PRESETS = {
    # the paper's shapes (App. C)
    "mamba-130m": lambda: _mamba(768, 24),
    "mamba2-130m": lambda: _mamba2(768, 24),
    "lstm": lambda: _rnn("lstm", 1536, 4),
    "gru": lambda: _rnn("gru", 1536, 4),
    "pythia": lambda: _pythia(768, 24, 8, 1536),
    "mistral": lambda: _mistral(768, 8, 8, 1536, 512),
    "hybrid": lambda: _hybrid(768, 24, 8, 1536, 4),  # [INF] 6 attention + 18 Mamba-1 layers
    # small shapes for quick GPU runs
    "mamba-small": lambda: _mamba(256, 4),
    "mamba-medium": lambda: _mamba(512, 4),
    "mamba-deep": lambda: _mamba(256, 8),
    "mamba2-small": lambda: _mamba2(256, 4),
    "lstm-small": lambda: _rnn("lstm", 256, 2),
    "gru-small": lambda: _rnn("gru", 256, 2),
    "pythia-small": lambda: _pythia(256, 4, 4, 512),
    "mistral-small": lambda: _mistral(256, 4, 4, 512, 512),
    "hybrid-small": lambda: _hybrid(256, 4, 4, 512, 4),  # layers: mamba, mamba, attention, mamba
    # tiny shapes for CPU tests
    "mamba-tiny": lambda: _mamba(32, 2, state_size=8),
    "mamba2-tiny": lambda: _mamba2(32, 2, head_dim=16, state_size=16, chunk_size=16),
    "lstm-tiny": lambda: _rnn("lstm", 32, 2),
    "gru-tiny": lambda: _rnn("gru", 32, 2),
    "pythia-tiny": lambda: _pythia(32, 2, 2, 64),
    "mistral-tiny": lambda: _mistral(32, 2, 2, 64, 16),
    "hybrid-tiny": lambda: _hybrid(32, 2, 2, 64, 2, state=8),  # layers: mamba, attention
}


def build_model(preset: str, **overrides):
    """A freshly initialised model for ``preset`` (config fields can be overridden)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose from {sorted(PRESETS)}")
    cls, config = PRESETS[preset]()
    for k, v in overrides.items():
        if not hasattr(config, k):
            raise ValueError(f"preset {preset!r}: config has no field {k!r}")
        setattr(config, k, v)
    return cls(config)


#: the modules LoRA adapts by default, per architecture (peft refuses Mamba's out_proj and conv1d: out_proj is trained
#: whole, ``modules_to_save``; peft cannot wrap torch's LSTM/GRU, so the RNN baselines have none)
LORA_TARGETS = {"mamba": ["in_proj", "x_proj", "dt_proj"], "mamba2": ["in_proj"], "gpt_neox": ["query_key_value", "dense_h_to_4h", "dense_4h_to_h"],
                "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"], "jamba": ["in_proj", "x_proj", "dt_proj", "q_proj", "k_proj", "v_proj", "o_proj"]}


def lora_config(model, r: int = 16, alpha: int = 32, target_modules: list[str] | None = None):
    """peft's LoraConfig for ``model``: ``target_modules`` or the architecture's default (:data:`LORA_TARGETS`)."""
    from peft import LoraConfig

    mt = model.config.model_type
    targets = target_modules or LORA_TARGETS.get(mt)
    if not targets:
        raise ValueError(f"no default LoRA targets for {mt!r}; pass --lora_target_modules (peft cannot wrap torch LSTM/GRU)")
    return LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, modules_to_save=["out_proj"] if mt == "mamba" else None,
                      task_type="CAUSAL_LM")
