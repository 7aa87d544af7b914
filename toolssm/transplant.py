"""Start a toolssm model from a pretrained language model whose tokenizer is not toolssm's (the paper's code-fixing
runs fine-tune ``state-spaces/mamba-1.4b-hf`` and ``EleutherAI/pythia-1.4b``).

toolssm's tokenizer is character level with one token per tool command (toolssm.tokenizer); a pretrained model
knows a BPE vocabulary of ~50k pieces. :func:`transplant_vocabulary` gives the pretrained model toolssm's
vocabulary: each toolssm token's input embedding (and output row, when the head is not tied) starts as the mean of
the rows of the pieces the pretrained tokenizer splits that token's text into (``'7'`` -> the piece ``'7'``;
``'[pointer1.read()]'`` -> the mean of ``'['``, ``'po'``, ``'inter'``, ...). Everything else (layers, norms) is
kept, the tool loop, the trajectories and the datasets are unchanged, and the result is an ordinary toolssm
checkpoint. [decision, 2026-12-04] The alternative, training on the pretrained tokenizer's pieces, would change every
trajectory's token boundaries (a tool answer must start a token for the loop to force it) and cannot be replayed
against the builders' verified rows; with the transplant, a fine-tuned 1.4B model and a from-scratch small one read
the same token ids.

    python train.py --init_from state-spaces/mamba-1.4b-hf --source_tokenizer state-spaces/mamba-1.4b-hf \\
        --task code_fixing --config interactive --dataset data/code_fixing --max_length 8192 ...
"""

from __future__ import annotations

import torch

from . import vocab as V


def source_pieces(source_tokenizer) -> list[list[int]]:
    """For every toolssm token id, the ids the pretrained tokenizer gives its text (never empty)."""
    out = []
    for i, text in enumerate(V.VOCAB):
        ids = source_tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"the source tokenizer gives no token for toolssm token {i} ({text!r}): it cannot be transplanted")
        out.append(list(ids))
    return out


def _mean_rows(weight: torch.Tensor, pieces: list[list[int]]) -> torch.Tensor:
    rows = torch.stack([weight[torch.tensor(p, device=weight.device)].float().mean(0) for p in pieces])
    return rows.to(weight.dtype)


def transplant_vocabulary(model, source_tokenizer) -> dict:
    """Give ``model`` (pretrained with ``source_tokenizer``) toolssm's vocabulary, in place: new input embeddings (and
    an untied head) of ``len(V.VOCAB)`` rows, each the mean of its pieces' pretrained rows; the config's vocabulary
    size and special ids become toolssm's. Returns a summary (tokens, pieces, how many are one piece)."""
    emb = model.get_input_embeddings()
    src_vocab = emb.weight.shape[0]
    pieces = source_pieces(source_tokenizer)
    worst = max(max(p) for p in pieces)
    if worst >= src_vocab:
        raise ValueError(f"the source tokenizer gives id {worst}, but the model has {src_vocab} embedding rows: "
                         "--source_tokenizer must be the tokenizer the model was pretrained with")
    head = model.get_output_embeddings()
    tied = head is not None and head.weight is emb.weight
    with torch.no_grad():
        new_in = _mean_rows(emb.weight, pieces)
        new_out = None if head is None or tied else _mean_rows(head.weight, pieces)
        model.resize_token_embeddings(len(V.VOCAB))
        model.get_input_embeddings().weight.copy_(new_in)
        if new_out is not None:
            out = model.get_output_embeddings()
            out.weight.copy_(new_out)
            if getattr(out, "bias", None) is not None:
                out.bias.zero_()
    from .models import _IDS

    model.config.vocab_size = len(V.VOCAB)
    for key, value in _IDS.items():
        setattr(model.config, key, value)
        if getattr(model, "generation_config", None) is not None:
            setattr(model.generation_config, key, value)
    return {"tokens": len(V.VOCAB), "source_vocab": src_vocab, "single_piece": sum(len(p) == 1 for p in pieces),
            "max_pieces": max(len(p) for p in pieces), "tied_head": tied}
