"""Character-level tokenizer with one token per special command, as a Hugging Face fast tokenizer.

``ToolSSMTokenizer`` is a ``PreTrainedTokenizerFast`` over :data:`toolssm.vocab.VOCAB`. Special tokens
(``[ANS]``, ``[pointer1.read()]``, ``[COMMAND]`` ...) are matched first; every other character is one
token. A character outside the vocabulary is a ``ValueError`` naming it, never a silent unknown token:
the backend has no unknown token at all, so even a plain ``PreTrainedTokenizerFast`` loaded without
toolssm raises instead of guessing.
"""

from __future__ import annotations

import re

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from . import vocab as V

_SPLIT_RE = re.compile("|".join(re.escape(t) for t in sorted(V.SPECIAL_TOKENS, key=len, reverse=True)) + r"|.", re.S)


def check_text(text: str) -> None:
    """Raise ``ValueError`` naming every character of ``text`` outside the vocabulary."""
    unknown = set(text) - V.CHAR_SET
    if unknown:
        names = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in sorted(unknown))
        raise ValueError(f"character(s) outside the toolssm vocabulary: {names}")


def _check_nested(value) -> None:
    """check_text on a string or on every string inside (batches, pre-tokenized input)."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_nested(v)


def split_tokens(text: str) -> list[str]:
    """Split text into token strings exactly as the tokenizer does (special tokens first, then characters)."""
    check_text(text)
    return _SPLIT_RE.findall(text)


def encode(text: str) -> list[int]:
    """Token ids of ``text`` (no special tokens added)."""
    ids = V.TOKEN_TO_ID
    return [ids[t] for t in split_tokens(text)]


def decode(ids) -> str:
    """Text of token ids; special tokens keep their bracket spelling."""
    return "".join(V.VOCAB[i] for i in ids)


def _backend() -> Tokenizer:
    tok = Tokenizer(models.WordLevel(dict(V.TOKEN_TO_ID)))  # no unk token: unknown input is an error
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in V.SPECIAL_TOKENS])
    return tok


class ToolSSMTokenizer(PreTrainedTokenizerFast):
    """The toolssm tokenizer: ``ToolSSMTokenizer()`` builds it; ``save_pretrained``/``from_pretrained`` round-trip it."""

    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, *args, **kwargs):
        if "tokenizer_object" not in kwargs and "tokenizer_file" not in kwargs:
            kwargs["tokenizer_object"] = _backend()
        kwargs.setdefault("eos_token", V.EOS)
        kwargs.setdefault("pad_token", V.PAD)
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(*args, **kwargs)

    def _encode_plus(self, text, text_pair=None, *args, **kwargs):
        _check_nested(text)
        _check_nested(text_pair)
        return super()._encode_plus(text, text_pair, *args, **kwargs)


def get_tokenizer() -> ToolSSMTokenizer:
    """A fresh toolssm tokenizer."""
    return ToolSSMTokenizer()
