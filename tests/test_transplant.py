"""Starting from a pretrained language model with its own tokenizer (toolssm.transplant, train.py --source_tokenizer),
tested offline on tiny GPT-NeoX and Mamba models "pretrained" here with a byte-level BPE tokenizer trained here."""

import os
import subprocess
import sys

import pytest
import torch

import toolssm  # noqa: F401  (registers the Auto classes)
from toolssm import vocab as V
from toolssm.transplant import source_pieces, transplant_vocabulary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bpe_tokenizer(path):
    """A byte-level BPE (like GPT-NeoX's, so every text has pieces) trained on a little code and arithmetic."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["def main():\n    v10 = 3\n    print(v10)\n", "pointer1.read() pointer2.move_left()", "123+456=579"] * 20
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        special_tokens=["<|endoftext|>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    fast.save_pretrained(path)
    return fast


def _pretrained(kind, path, tok):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, MambaConfig, MambaForCausalLM

    torch.manual_seed(0)
    if kind == "pythia":  # untied head, as EleutherAI/pythia-1.4b
        model = GPTNeoXForCausalLM(GPTNeoXConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                 intermediate_size=64, tie_word_embeddings=False))
    else:  # tied, as state-spaces/mamba-1.4b-hf
        model = MambaForCausalLM(MambaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, state_size=4))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return model


@pytest.mark.parametrize("kind", ["pythia", "mamba"])
def test_each_token_starts_as_the_mean_of_its_pretrained_pieces(tmp_path, kind):
    from transformers import AutoModelForCausalLM

    tok = _bpe_tokenizer(tmp_path)
    pre = _pretrained(kind, tmp_path, tok)
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path))
    assert type(model).__name__ in ("ToolGPTNeoXForCausalLM", "ToolMambaForCausalLM")
    info = transplant_vocabulary(model, tok)
    assert info["tokens"] == len(V.VOCAB) == model.config.vocab_size == model.get_input_embeddings().weight.shape[0]
    assert info["tied_head"] == (kind == "mamba") and info["max_pieces"] > 1 and info["single_piece"] > 0
    pieces = source_pieces(tok)
    emb0, head0 = pre.get_input_embeddings().weight, pre.get_output_embeddings().weight
    for text in ("7", "+", V.PAD, "[pointer1.read()]"):
        i = V.TOKEN_TO_ID[text]
        p = pieces[i]
        assert p == tok(text, add_special_tokens=False)["input_ids"]
        torch.testing.assert_close(model.get_input_embeddings().weight[i], emb0[p].mean(0))
        torch.testing.assert_close(model.get_output_embeddings().weight[i], head0[p].mean(0))
    assert model.config.pad_token_id == V.TOKEN_TO_ID[V.PAD] and model.config.eos_token_id == V.TOKEN_TO_ID[V.EOS]
    # the layers are the pretrained ones, untouched
    name = next(n for n, _ in pre.named_parameters() if "layers.1" in n)
    torch.testing.assert_close(dict(model.named_parameters())[name], dict(pre.named_parameters())[name])
    # and the model runs toolssm's tool loop on toolssm's ids
    from toolssm.tasks import get_task

    task = get_task("addition")
    model.set_tool_spec(task.spec())
    out = model.generate_with_tools(["12+34="], [task.tool()], max_new_tokens=20)
    assert len(out[0].generated_ids) > 0 and max(out[0].generated_ids) < len(V.VOCAB)


def test_train_py_fine_tunes_a_pretrained_model_through_the_transplant(tmp_path):
    from transformers import AutoModelForCausalLM

    pre_dir, out = tmp_path / "pre", tmp_path / "run"
    tok = _bpe_tokenizer(pre_dir)
    _pretrained("pythia", pre_dir, tok)
    base = [sys.executable, "train.py", "--init_from", str(pre_dir), "--task", "addition", "--max_steps", "2", "--batch_size", "2",
            "--num_workers", "0", "--eval_every", "0", "--eval_samples", "1", "--eval_lengths", "3", "--report_to", "none"]
    r = subprocess.run(base + ["--output_dir", str(tmp_path / "bad")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode != 0 and "--source_tokenizer" in r.stderr and "embedding rows" in r.stderr
    r = subprocess.run(base + ["--source_tokenizer", str(pre_dir), "--output_dir", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"transplanted from {len(tok)} pretrained rows" in r.stdout
    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert model.config.vocab_size == len(V.VOCAB) and model.tokenizer is not None  # a plain toolssm checkpoint now
    r = subprocess.run([sys.executable, "train.py", "--source_tokenizer", str(pre_dir), "--output_dir", str(tmp_path / "x")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode != 0 and "--source_tokenizer needs --init_from" in r.stderr
