"""LSTM and GRU language models as Hugging Face models (the paper's recurrent baselines).

``ToolSSMRNNConfig`` / ``ToolSSMRNNForCausalLM`` follow the transformers conventions: a
``PreTrainedConfig`` subclass, ``save_pretrained``/``from_pretrained``, ``AutoModelForCausalLM``
registration (as ``ToolRNNForCausalLM``, in toolssm.modeling), and a recurrent cache (``cache`` holds the (h, c) state) so the same training
script, tool loop and evaluation serve every architecture.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, GenerationMixin, PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast


class ToolSSMRNNConfig(PreTrainedConfig):
    """Config of an LSTM or GRU causal LM."""

    model_type = "toolssm_rnn"

    def __init__(
        self,
        vocab_size: int = 160,
        hidden_size: int = 1536,
        num_hidden_layers: int = 4,
        cell: str = "lstm",
        dropout: float = 0.0,
        pad_token_id: int | None = 0,
        eos_token_id: int | None = 1,
        tie_word_embeddings: bool = False,
        **kwargs,
    ):
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.cell = cell
        self.dropout = dropout
        super().__init__(pad_token_id=pad_token_id, eos_token_id=eos_token_id, tie_word_embeddings=tie_word_embeddings, **kwargs)


#: longest sequence handed to one LSTM/GRU call; longer ones are run chunk by chunk. cuDNN answered
#: CUDNN_STATUS_NOT_SUPPORTED for a teacher-forced pass over 74k-88k tokens at batch 16 on the H200 (44k worked).
RNN_CHUNK = 16384


class ToolSSMRNNForCausalLM(PreTrainedModel, GenerationMixin):
    """Embedding -> stacked LSTM/GRU -> LayerNorm -> linear head. ``cache`` is the recurrent state."""

    config_class = ToolSSMRNNConfig
    base_model_prefix = "rnn"
    main_input_name = "input_ids"
    _supports_cache_class = False

    def __init__(self, config: ToolSSMRNNConfig):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        rnn_cls = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            config.hidden_size, config.hidden_size, num_layers=config.num_hidden_layers, batch_first=True,
            dropout=config.dropout if config.num_hidden_layers > 1 else 0.0,
        )
        self.norm = nn.LayerNorm(config.hidden_size)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed

    def set_input_embeddings(self, value):
        self.embed = value

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, attention_mask=None, labels=None, cache=None, use_cache=None, **kwargs):
        # attention_mask is accepted for API compatibility; the tool loop and training never pad on the left.
        x = self.embed(input_ids)  # (B, T, H)
        if x.size(1) <= RNN_CHUNK:
            y, new_state = self.rnn(x, cache)
        else:  # the same recurrence over chunks, state carried across (exact)
            ys, new_state = [], cache
            for start in range(0, x.size(1), RNN_CHUNK):
                y, new_state = self.rnn(x[:, start:start + RNN_CHUNK], new_state)
                ys.append(y)
            y = torch.cat(ys, dim=1)
        logits = self.lm_head(self.norm(y)).float()  # (B, T, V)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1), ignore_index=-100
            )
        return CausalLMOutputWithPast(loss=loss, logits=logits, cache=new_state if use_cache else None)

    def prepare_inputs_for_generation(self, input_ids, cache=None, **kwargs):
        if cache is not None:
            input_ids = input_ids[:, -1:]
        return {"input_ids": input_ids, "cache": cache, "use_cache": True}

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)


AutoConfig.register("toolssm_rnn", ToolSSMRNNConfig, exist_ok=True)
