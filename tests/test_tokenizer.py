import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerFast

import toolssm
from toolssm import vocab as V
from toolssm.tokenizer import ToolSSMTokenizer, decode, encode, split_tokens

TEXT = "12+5=[pointer1.read()]7[pointer2.move_left()]\n51[ANS]65×x[COMMAND]find[VALUE]v1234 =[/COMMAND]"


def test_special_tokens_are_single_tokens_and_chars_are_characters():
    toks = split_tokens(TEXT)
    assert toks[:6] == ["1", "2", "+", "5", "=", "[pointer1.read()]"]
    assert "[ANS]" in toks and "×" in toks and "[VALUE]" in toks
    assert all(t in V.TOKEN_TO_ID for t in toks)
    assert "".join(toks) == TEXT


def test_hf_tokenizer_matches_python_split_and_round_trips(tmp_path):
    tok = toolssm.get_tokenizer()
    ids = tok(TEXT)["input_ids"]
    assert ids == encode(TEXT)
    assert tok.decode(ids) == TEXT == decode(ids)
    assert tok.eos_token == V.EOS and tok.pad_token == V.PAD
    assert len(tok) == len(V.VOCAB)
    tok.save_pretrained(tmp_path)
    for loaded in (AutoTokenizer.from_pretrained(tmp_path), ToolSSMTokenizer.from_pretrained(tmp_path)):
        assert isinstance(loaded, ToolSSMTokenizer)
        assert loaded(TEXT)["input_ids"] == ids
        assert loaded.convert_ids_to_tokens(ids[5]) == "[pointer1.read()]"


@pytest.mark.parametrize("bad", ["é", "12+5=€", "tab\tok but ☃"])
def test_unknown_character_is_an_error_naming_it(bad):
    with pytest.raises(ValueError) as e:
        toolssm.get_tokenizer()(bad)
    odd = [c for c in bad if c not in V.CHAR_SET]
    assert all(repr(c) in str(e.value) for c in odd)
    with pytest.raises(ValueError):
        split_tokens(bad)


def test_plain_fast_tokenizer_without_toolssm_class_still_refuses_unknown_chars(tmp_path):
    toolssm.get_tokenizer().save_pretrained(tmp_path)
    plain = PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "tokenizer.json"))
    assert plain("12+5=")["input_ids"] == encode("12+5=")
    with pytest.raises(Exception):
        plain("é")
