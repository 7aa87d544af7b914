"""Static-state steppers (toolssm.fast): exact against one full forward and against the cache path; CUDA graphs on GPU."""

import pytest
import torch

from toolssm.fast import CacheStepper, MambaStepper, RNNStepper, make_stepper
from toolssm.models import build_model
from toolssm.tasks import get_task
from toolssm.tools import PointerMemory, SearchMemory

STATIC_ARCHS = ["mamba-tiny", "lstm-tiny", "gru-tiny"]
# rows of different lengths, one prompt shorter than Mamba's conv kernel (the cache then holds < 4 inputs)
PROMPTS = ["7", "12+5=", "999+1=", "v1000 = True\nprint(v1000)\n"]


def _tools():
    return [PointerMemory(2), PointerMemory(2), PointerMemory(2), SearchMemory()]


def _run(model, fast, device="cpu", **kw):
    torch.manual_seed(0)
    return model.generate_with_tools(PROMPTS, _tools(), max_new_tokens=[40, 120, 200, 300], do_sample=True, temperature=3.0,
                                     generator=torch.Generator(device).manual_seed(3), return_logits=True, fast=fast, **kw)


@pytest.mark.parametrize("arch", STATIC_ARCHS)
def test_static_step_equals_full_forward_and_cache_path(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    fast, ref = _run(model, True), _run(model, False)
    for a, b in zip(fast, ref):
        assert a.ids == b.ids and a.forced == b.forced  # same sampled tokens, same tool answers
        torch.testing.assert_close(a.logits, b.logits, atol=1e-5, rtol=1e-5)
        with torch.no_grad():
            full = model(input_ids=torch.tensor([a.ids])).logits[0].float()
        torch.testing.assert_close(a.logits, full[:-1], atol=1e-4, rtol=1e-4)
    assert sum(r.num_forced for r in fast) > 0


@pytest.mark.parametrize("arch", ["mamba-tiny", "lstm-tiny"])
def test_long_prompt_prefill_steps_token_by_token_with_the_same_logits(arch, monkeypatch):
    """Past max_prefill_tokens the eager static path steps over the prompt (bounded memory) instead of one full
    forward: same logits and tokens as the cache path."""
    from toolssm.fast import StaticStepper

    torch.manual_seed(0)
    model = build_model(arch).eval()
    prompts = ["12+5=", "999+1=", "3+4="]  # shared prefix of 4 tokens x 3 rows = 12 > the limit
    forwards = []
    model.register_forward_hook(lambda mod, args, kwargs, out: forwards.append(1), with_kwargs=True)

    def run(fast):
        torch.manual_seed(0)
        return model.generate_with_tools(prompts, [PointerMemory(2) for _ in prompts], max_new_tokens=80, do_sample=True, temperature=3.0,
                                         generator=torch.Generator().manual_seed(3), return_logits=True, fast=fast)

    monkeypatch.setattr(StaticStepper, "max_prefill_tokens", 11)
    fast = run(True)
    assert not forwards  # no full forward of the model: the prompt was stepped
    monkeypatch.setattr(StaticStepper, "max_prefill_tokens", 12)
    full_prefill = run(True)
    assert forwards  # at the limit: one full forward, as before
    ref = run(False)
    for a, b, c in zip(fast, ref, full_prefill):
        assert a.ids == b.ids == c.ids
        torch.testing.assert_close(a.logits, b.logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["pythia-tiny", "mistral-tiny"])
def test_growing_kv_cache_equals_full_forward_and_dynamic_cache(arch):
    """The attention models' tool-loop cache (toolssm.fast.growing_cache: a buffer that doubles, not a torch.cat a
    step; for a sliding window, the window alone) gives the logits of one full forward, across several doublings
    (64 -> 128 -> 256 positions), and of transformers' own DynamicCache; the tool loop uses it."""
    from transformers import DynamicCache

    from toolssm.fast import growing_cache

    torch.manual_seed(0)
    model = build_model(arch).eval()
    ids = torch.randint(0, 40, (3, 200))
    with torch.no_grad():
        full = model(input_ids=ids).logits
        outs, caches = {}, {}
        for name, cache in (("growing", growing_cache(model)), ("dynamic", DynamicCache(config=model.config))):
            cache = model(input_ids=ids[:, :30], cache=cache, use_cache=True).cache
            steps = []
            for t in range(30, 200):
                o = model(input_ids=ids[:, t:t + 1], cache=cache, use_cache=True)
                cache = o.cache
                steps.append(o.logits[:, -1])
            outs[name] = torch.stack(steps, 1)
            assert cache.get_seq_length() == 200
            caches[name] = cache
    # full attention grows by doubling; a sliding window keeps its last window only (mistral-tiny: 16 tokens)
    kind = {"pythia-tiny": "GrowingLayer", "mistral-tiny": "DynamicSlidingWindowLayer"}[arch]
    assert {type(x).__name__ for x in growing_cache(model).layers} == {kind}
    torch.testing.assert_close(outs["growing"], full[:, 30:], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(outs["growing"], outs["dynamic"], atol=1e-5, rtol=1e-5)
    stepper = make_stepper(model, 3)
    stepper.prefill(ids[:, :5])
    assert type(stepper.cache.layers[0]).__name__ == kind
    if kind == "DynamicSlidingWindowLayer":  # 200 positions seen, 15 kept (the window less the next query)
        assert caches["growing"].layers[0].keys.shape[-2] == model.config.sliding_window - 1
    assert growing_cache(build_model("mamba-tiny")) is None  # recurrent models keep their own cache


@pytest.mark.parametrize("arch", ["pythia-tiny", "mistral-tiny"])
def test_a_long_prompt_to_an_attention_model_goes_in_chunks_with_the_same_logits(arch, monkeypatch):
    """Past CacheStepper.prefill_score_bytes the prompt goes through the cache in chunks (a 1,000-node graph at batch 16
    asked an H100 for 33 GiB in one forward): the logits of one forward, the same cache after it (the steps that follow
    agree), and each chunk's forward really is shorter. mistral-tiny's window is 16: chunks of 21 cross it."""
    torch.manual_seed(0)
    model = build_model(arch).eval()
    ids = torch.randint(0, 40, (3, 150))
    lengths = []
    model.register_forward_hook(lambda mod, args, kwargs, out: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True)
    with torch.no_grad():
        full = model(input_ids=ids).logits
        one = make_stepper(model, 3)
        assert one.prefill_chunk(ids[:, :140]) is None  # the default budget: one forward, as before
        monkeypatch.setattr(CacheStepper, "prefill_score_bytes", 3 * 2 * 140 * 21 * 4)
        chunked = make_stepper(model, 3)
        assert chunked.prefill_chunk(ids[:, :140]) == 21
        lengths.clear()
        pre = chunked.prefill(ids[:, :140])
        assert lengths == [21] * 6 + [14]
        torch.testing.assert_close(pre, full[:, :140], atol=1e-4, rtol=1e-4)
        steps = torch.stack([chunked.step(ids[:, t]).clone() for t in range(140, 150)], 1)
    torch.testing.assert_close(steps, full[:, 140:], atol=1e-4, rtol=1e-4)
    assert make_stepper(build_model("mamba-tiny"), 3, fast=False).prefill_chunk(ids) is None  # recurrent: no chunks


def test_stepper_choice():
    assert isinstance(make_stepper(build_model("mamba-tiny"), 2), MambaStepper)
    assert isinstance(make_stepper(build_model("gru-tiny"), 2), RNNStepper)
    assert isinstance(make_stepper(build_model("mamba-tiny"), 2, fast=False), CacheStepper)
    assert isinstance(make_stepper(build_model("pythia-tiny"), 2), CacheStepper)
    with pytest.raises(ValueError, match="no static decoding step"):
        make_stepper(build_model("mamba2-tiny"), 2, fast=True)
    with pytest.raises(ValueError, match="CUDA"):
        make_stepper(build_model("mamba-tiny"), 2, cuda_graph=True)


def test_greedy_addition_identical_on_both_paths():
    """A whole greedy tool-loop decode (argmax taken inside the static step) matches the cache path token for token."""
    torch.manual_seed(5)
    model = build_model("mamba-tiny").eval()
    task = get_task("addition")
    prompts = [task.make_item(0, "test_30", i, 30, train=False).prompt for i in range(3)]
    a = model.generate_with_tools(prompts, [task.tool() for _ in prompts], max_new_tokens=300, fast=True)
    b = model.generate_with_tools(prompts, [task.tool() for _ in prompts], max_new_tokens=300, fast=False)
    assert [r.ids for r in a] == [r.ids for r in b]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("arch", ["mamba-tiny", "mamba-small", "lstm-small", "gru-tiny"])
def test_cuda_graph_step_exact_on_gpu(arch):
    torch.manual_seed(0)
    model = build_model(arch).cuda().eval()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    graph = _run(model, True, device="cuda", cuda_graph=True)
    eager = _run(model, False, device="cuda")
    assert sum(r.num_forced for r in graph) > 0 and len(eager) == len(graph)
    for a in graph:
        with torch.no_grad():
            full = model(input_ids=torch.tensor([a.ids], device="cuda")).logits[0].float().cpu()
        torch.testing.assert_close(a.logits, full[:-1], atol=1e-3, rtol=1e-3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("arch", ["mamba-small", "lstm-small"])
def test_pipelined_cuda_graph_loop_same_tokens_on_gpu(arch):
    """The pipelined loop (pinned buffers, events, device-side input choice) against the synchronous one, both
    replaying the CUDA graph, on teacher-forced addition trajectories (every tool answer exercised) and greedily."""
    torch.manual_seed(0)
    model = build_model(arch).cuda().eval()
    task = get_task("addition")
    items = [task.make_item(0, "test_40", i, 40, train=False) for i in range(8)]
    from toolssm.trajectory import render

    teacher = [render(it.trajectory)["input_ids"] for it in items]
    for kw in [{"teacher_ids": teacher}, {}]:
        runs = [model.generate_with_tools([it.prompt for it in items], [task.tool() for _ in items], max_new_tokens=1200,
                                          pipeline=p, **kw) for p in (False, True)]
        assert [(r.ids, r.forced, r.roles) for r in runs[0]] == [(r.ids, r.forced, r.roles) for r in runs[1]]


def _triton_or_skip():
    """Triton kernels run on CUDA, or on CPU in Triton's interpreter (switched on by tests/conftest.py)."""
    import os

    pytest.importorskip("triton")
    if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("Triton interpreter off")


def test_fused_rnn_kernels_compile_for_the_h200():
    """Triton's CPU interpreter runs the kernels' Python, not the compiler, so a kernel can pass every CPU test and still
    not compile. scripts/ptx_diff.py compiles each fused RNN kernel variant (one-row and row-blocked, LSTM and GRU, first
    and later layers, with and without biases, the heads: 18) for sm_90 without a GPU, Triton's compiler and ptxas, for
    the working tree and for HEAD, and compares their instructions (the same on a clean checkout)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("triton")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True).returncode:
        pytest.skip("no git history here (a copied working tree)")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    r = subprocess.run([sys.executable, os.path.join(root, "scripts", "ptx_diff.py"), "HEAD"], capture_output=True, text=True,
                       env=env, timeout=600, cwd=root)
    assert r.returncode in (0, 1) and "/18 variants compile to the same instructions for sm_90" in r.stdout, r.stdout + r.stderr[-3000:]
    assert r.stdout.count("_layer") == 16 and "_head_rows" in r.stdout


def _compiled_for_sm90(module: str) -> dict:
    """{variant: [global loads, global stores, targets sm_90]} of ``toolssm.<module>.compile_variants(90)``: Triton's
    compiler and ptxas, no GPU, in a process of its own (conftest switches the interpreter on in this one)."""
    import json
    import os
    import subprocess
    import sys

    pytest.importorskip("triton")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    code = (f"import json; from toolssm import {module} as k; v = k.compile_variants(90); "
            "print(json.dumps({n: [p.count('ld.global'), p.count('st.global'), '.target sm_90' in p] for n, p in v.items()}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600, cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_device_loop_kernel_compiles_for_the_h200():
    """The device loop's fused bookkeeping kernel (toolssm.device_loop_kernel) is tested on CPU in Triton's interpreter,
    which does not compile it: here its four launch variants compile for sm_90 (Triton's compiler and ptxas, no GPU),
    in a process of its own since conftest switches the interpreter on. The memory row stride is an argument of its own
    (a hidden input makes memory rows wider than id rows): the PTX indexes the two with different strides."""
    got = _compiled_for_sm90("device_loop_kernel")
    assert sorted(got) == ["_tool_step/model", "_tool_step/model-ref", "_tool_step/teacher", "_tool_step/teacher-ref"]
    for name, (loads, stores, sm90) in got.items():
        assert sm90 and loads >= 20 and stores >= 15, (name, loads, stores)
    assert got["_tool_step/model-ref"][0] > got["_tool_step/model"][0]  # the reference is read only where HAS_REF


def test_three_kernel_mamba_step_compiles_for_the_h200():
    """The three-kernel Mamba step (toolssm.mamba_kernel) is tested on CPU in Triton's interpreter, which does not
    compile it: here its four launch variants compile for sm_90 at the 130M shape (Triton's compiler and ptxas, no
    GPU), in a process of its own since conftest switches the interpreter on."""
    got = _compiled_for_sm90("mamba_kernel")
    assert sorted(got) == ["_in_kernel", "_in_kernel/first", "_out_kernel", "_residual_kernel"]
    assert all(sm90 and loads >= 1 and stores >= 1 for loads, stores, sm90 in got.values()), got
    assert got["_in_kernel/first"][1] > got["_in_kernel"][1]  # the first layer also writes the residual stream


def _assert_steppers_agree(a, b, n_ids: int, tol: float, state_tol: float, steps: int = 4, vocab: int | None = None):
    """Two steppers of one model started from the same random state: equal logits (``tol``), states (``state_tol``)
    and greedy ids after each of ``steps`` random inputs; the greedy ids below ``vocab`` where it is given."""
    for sa, sb in zip(a.states, b.states):
        sb.copy_(torch.randn_like(sb))
        sa.copy_(sb)
    for _ in range(steps):
        ids = torch.randint(0, n_ids, (a.batch_size,), device=a.device)
        torch.testing.assert_close(a.step(ids).clone(), b.step(ids).clone(), atol=tol, rtol=tol)
        assert torch.equal(a.greedy_tokens(), b.greedy_tokens())
        if vocab is not None:
            assert int(a.greedy_tokens().max()) < vocab
        for sa, sb in zip(a.states, b.states):
            torch.testing.assert_close(sa, sb, atol=state_tol, rtol=state_tol)


def test_fused_triton_step_matches_reference_step():
    """The fused Triton layer step (used on CUDA) computes the same logits and states as the reference PyTorch step
    (on CPU through Triton's interpreter), for several steps from a random state."""
    _triton_or_skip()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = build_model("mamba-tiny").to(device).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    a = MambaStepper(model, 3, cuda_graph=False, fused=True)
    b = MambaStepper(model, 3, cuda_graph=False, fused=False)
    _assert_steppers_agree(a, b, n_ids=100, tol=1e-4, state_tol=1e-5)


@pytest.mark.parametrize("preset,batch,block", [("mamba-tiny", 3, None), ("mamba-tiny", 1, None), ("odd", 2, None),
                                                 ("mamba-tiny", 2, 4), ("mamba-tiny", 2, 64)])
def test_three_kernel_mamba_step_matches_reference_step(preset, batch, block, monkeypatch):
    """The three-kernel Mamba step (fused="layer", toolssm.mamba_kernel; on CPU in Triton's interpreter) computes the
    same logits, states and greedy ids as the reference PyTorch step, from random states over several steps: the tiny
    preset (32 wide, 64 channels: 4 blocks, dt rank 2) and a width of 200 with 408 channels (two chunks of the width,
    the second partial; 26 channel blocks, the last partial, so the partial sums take two loads, the second masked;
    dt rank 13, state 16); and other widths of the channel blocks (the benchmark's sweep): 4 (16 blocks, one load of
    partial sums) and 64 (one block)."""
    _triton_or_skip()
    monkeypatch.setattr(MambaStepper, "layer_block_channels", block)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    if preset == "odd":
        from transformers import MambaConfig, MambaForCausalLM

        model = MambaForCausalLM(MambaConfig(vocab_size=132, hidden_size=200, intermediate_size=408, state_size=16,
                                             time_step_rank=13, num_hidden_layers=2)).to(device).eval()
    else:
        model = build_model(preset).to(device).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    a = MambaStepper(model, batch, cuda_graph=False, fused="layer", vocab_size=40)
    b = MambaStepper(model, batch, cuda_graph=False, fused=False, vocab_size=40)
    assert a.fused == "layer" and a._layer.BE == (block or 16) and a._layer.nblk == -(-model.config.intermediate_size // a._layer.BE)
    _assert_steppers_agree(a, b, n_ids=100, tol=1e-4, state_tol=1e-5, steps=3, vocab=40)


def test_three_kernel_mamba_step_is_deterministic_and_refuses_what_it_does_not_cover(monkeypatch):
    """Partial sums, not atomics: the same ids from the same state give the same logits bit for bit; a model with
    biased projections (use_bias=True) is refused with a message that names the fix, and so is an unknown mode and a
    CPU model without Triton's interpreter (where the process-wide TOOLSSM_FUSED_MAMBA=layer falls back instead)."""
    _triton_or_skip()
    torch.manual_seed(1)
    model = build_model("mamba-tiny").eval()
    # on a GPU machine the kernels run on CUDA (Triton's interpreter is off there: a CPU model is refused, below)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    st = MambaStepper(model.to(dev), 2, cuda_graph=False, fused="layer")
    for s in st.states:
        s.copy_(torch.randn_like(s))
    saved = [s.clone() for s in st.states]
    ids = torch.tensor([5, 17], device=dev)
    first = st.step(ids).clone()
    for s, v in zip(st.states, saved):
        s.copy_(v)
    assert torch.equal(st.step(ids), first)
    with pytest.raises(ValueError, match="fused"):
        MambaStepper(model, 2, cuda_graph=False, fused="fast")
    from transformers import MambaConfig, MambaForCausalLM

    biased = MambaForCausalLM(MambaConfig(vocab_size=64, hidden_size=16, state_size=4, num_hidden_layers=1, use_bias=True)).to(dev)
    with pytest.raises(ValueError, match="use_bias=True"):
        MambaStepper(biased, 1, cuda_graph=False, fused="layer")
    from toolssm.mamba_kernel import LayerStep

    with pytest.raises(ValueError, match="power of two"):
        LayerStep(model, 1, block_channels=12)
    monkeypatch.setenv("TRITON_INTERPRET", "0")  # a CPU model, Triton's interpreter off
    model = model.cpu()
    with pytest.raises(ValueError, match="interpreter"):
        MambaStepper(model, 1, cuda_graph=False, fused="layer")
    monkeypatch.setattr(MambaStepper, "default_fused", "layer")
    assert MambaStepper(model, 1, cuda_graph=False).fused is False


def test_three_kernel_mamba_step_is_the_default_only_where_it_was_measured_faster():
    """On CUDA ``fused=None`` takes the three-kernel step for narrow models at small batches (the shipped small
    Mambas, width 256, batch <= 8: 1.5-2.5x the six-kernel step on an H100) and keeps the six-kernel step for the 130M
    width (768: 0.93x at batch 1), for larger batches and for models it does not cover (biased projections)."""
    from transformers import MambaConfig, MambaForCausalLM

    from toolssm import mamba_kernel

    small = build_model("mamba-small")
    assert small.config.hidden_size == 256
    assert mamba_kernel.by_default(small, 1) and mamba_kernel.by_default(small, 8)
    assert not mamba_kernel.by_default(small, 9) and not mamba_kernel.by_default(small, 64)
    wide = MambaForCausalLM(MambaConfig(vocab_size=64, hidden_size=768, state_size=16, num_hidden_layers=1))
    assert not mamba_kernel.by_default(wide, 1)
    biased = MambaForCausalLM(MambaConfig(vocab_size=64, hidden_size=16, state_size=4, num_hidden_layers=1, use_bias=True))
    assert not mamba_kernel.by_default(biased, 1)
    odd_conv = MambaForCausalLM(MambaConfig(vocab_size=64, hidden_size=16, state_size=4, num_hidden_layers=1, conv_kernel=3))
    assert not mamba_kernel.by_default(odd_conv, 1)  # not covered: the default keeps the six-kernel step, no error
    with pytest.raises(ValueError, match="power-of-two conv kernel"):
        mamba_kernel.check_model(odd_conv)
    assert not mamba_kernel.by_default(build_model("mamba-tiny").to(torch.bfloat16), 1)  # timed and tested in float32 only
    assert MambaStepper(small, 1, cuda_graph=False).fused is False  # on CPU the reference step, whatever the shape


def test_long_sequence_teacher_forcing_steps_and_matches_one_forward(monkeypatch):
    """eval.py's token accuracy: past STEPPED_TEACHER_FORCING_TOKENS a Mamba-1 model off CUDA is teacher-forced with the
    one-token step (a full CPU forward over a 146k-token trajectory ran the machine out of memory); the counts equal
    one full forward's."""
    from toolssm import evaluation
    from toolssm.trajectory import render
    from toolssm.evaluation import token_accuracy_counts as token_accuracy
    from toolssm.trajectory import collate

    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    task = get_task("addition", variant="tool_p3")
    ref = render(task.make_item(0, "test", 0, 6, train=False).trajectory)
    ids, labels = ref["input_ids"], ref["labels"]
    with torch.no_grad():
        expected = token_accuracy(model, collate([{"input_ids": ids, "labels": labels}]))
    assert evaluation.teacher_forced(model, [ref]) == [expected]  # short: one forward
    calls = []
    real = evaluation._teacher_forced_stepped
    monkeypatch.setattr(evaluation, "_teacher_forced_stepped", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(evaluation, "STEPPED_TEACHER_FORCING_TOKENS", 16)
    steps = []
    real_step = MambaStepper.step
    monkeypatch.setattr(MambaStepper, "step", lambda self, x: steps.append(1) or real_step(self, x))
    got = evaluation.teacher_forced(model, [ref])[0]
    assert calls and len(steps) == len(ids) - 1 and got == expected, (got, expected, len(steps))  # the last token predicts nothing
    assert 0 < expected[0] < expected[1]  # an untrained model: some right, some wrong, so the comparison can fail
    # several references of different lengths: the long ones stepped together as right-padded rows, each row's
    # counts equal to its own full forward; the short one (under the threshold) gets its forward
    refs = [render(task.make_item(0, "test", i, n, train=False).trajectory) for i, n in ((1, 3), (2, 7))] + [{"input_ids": ids[:12], "labels": labels[:12]}]
    with torch.no_grad():
        want = [token_accuracy(model, collate([r])) for r in refs]
    steps.clear()
    assert evaluation.teacher_forced(model, refs) == want
    assert len(steps) == max(len(r["input_ids"]) for r in refs[:2]) - 1  # one pass for the two long rows
    assert len({len(r["input_ids"]) for r in refs[:2]}) == 2 and want[0] != want[1]


@pytest.mark.parametrize("cell,hidden,layers,batch", [("lstm", 32, 2, 5), ("gru", 32, 2, 5), ("lstm", 72, 3, 5), ("gru", 40, 1, 5),
                                                     ("lstm", 72, 2, 37), ("gru", 40, 2, 37)])
def test_fused_rnn_step_matches_reference_step(cell, hidden, layers, batch, monkeypatch):
    """The fused LSTM/GRU step (toolssm.rnn_kernel, used on CUDA; on CPU in Triton's interpreter) computes the same
    logits, states and greedy ids as the written-out PyTorch cell, from random states, over several steps; hidden
    sizes that are not a multiple of the kernel's blocks included, and a vocabulary cut (vocab_size) for the argmax.
    Batch 37 runs the row-blocked kernels (16 rows a program: two full blocks and one of 5 rows)."""
    _triton_or_skip()
    from toolssm import rnn_kernel
    from toolssm.rnn import ToolSSMRNNConfig, ToolSSMRNNForCausalLM

    monkeypatch.setattr(rnn_kernel, "ROW_BLOCK_MIN_BATCH", 32)  # opt-in (off by default)
    assert (batch >= rnn_kernel.ROW_BLOCK_MIN_BATCH) == (batch == 37) and batch % rnn_kernel.BR
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(hidden + layers)
    model = ToolSSMRNNForCausalLM(ToolSSMRNNConfig(vocab_size=150, hidden_size=hidden, num_hidden_layers=layers, cell=cell)).to(device).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    for vocab in (None, 120):
        a = RNNStepper(model, batch, cuda_graph=False, fused=True, vocab_size=vocab)
        b = RNNStepper(model, batch, cuda_graph=False, fused=False, vocab_size=vocab)
        assert a.fused and not b.fused
        _assert_steppers_agree(a, b, n_ids=150, tol=1e-5, state_tol=1e-5, vocab=vocab or 150)


def test_fused_rnn_step_refuses_weights_it_cannot_read():
    """Checked once when the stepper is made (not every step): a non-contiguous weight matrix, a LayerNorm without
    bias."""
    _triton_or_skip()
    from toolssm.rnn import ToolSSMRNNConfig, ToolSSMRNNForCausalLM

    model = ToolSSMRNNForCausalLM(ToolSSMRNNConfig(vocab_size=40, hidden_size=32, num_hidden_layers=2)).eval()
    RNNStepper(model, 2, cuda_graph=False, fused=True)
    w = model.rnn.weight_hh_l1
    model.rnn.weight_hh_l1 = torch.nn.Parameter(w.detach().t().contiguous().t())  # same values, transposed strides
    with pytest.raises(ValueError, match="contiguous"):
        RNNStepper(model, 2, cuda_graph=False, fused=True)
    RNNStepper(model, 2, cuda_graph=False, fused=False)  # the PyTorch cell reads any layout
    model.rnn.weight_hh_l1 = w
    model.norm.bias = None
    with pytest.raises(ValueError, match="LayerNorm"):
        RNNStepper(model, 2, cuda_graph=False, fused=True)


def test_fused_rnn_argmax_takes_the_lowest_index_of_equal_maxima(monkeypatch):
    """torch.argmax's tie rule: a head whose rows are equal gives equal logits, and the greedy id is the first."""
    _triton_or_skip()
    from toolssm.rnn import ToolSSMRNNConfig, ToolSSMRNNForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = ToolSSMRNNForCausalLM(ToolSSMRNNConfig(vocab_size=40, hidden_size=32, num_hidden_layers=1)).to(device).eval()
    with torch.no_grad():
        model.lm_head.weight.zero_()
        model.lm_head.weight[[7, 9, 30]] = 1.0  # rows 7, 9 and 30 tie for every input with a positive sum
        model.norm.bias.fill_(1.0)
        model.norm.weight.zero_()
    from toolssm import rnn_kernel

    monkeypatch.setattr(rnn_kernel, "ROW_BLOCK_MIN_BATCH", 32)  # the row-blocked kernels are opt-in
    for batch in (2, 32):  # one row a program, and the row-blocked kernels
        for vocab, want in ((None, 7), (8, 7), (7, 0)):  # vocab 7: every logit left is 0, so id 0
            st = RNNStepper(model, batch, cuda_graph=False, fused=True, vocab_size=vocab)
            st.step(torch.arange(batch, device=device) % 40)
            assert st.greedy_tokens().tolist() == [want] * batch


def _shipped_lstm(device="cpu"):
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the architectures)

    ckpt = Path(__file__).resolve().parents[1] / "checkpoints" / "addition-lstm-small"
    return AutoModelForCausalLM.from_pretrained(str(ckpt)).to(device).eval()


def test_fused_rnn_step_on_the_shipped_lstm_follows_a_trajectory():
    """The shipped addition LSTM (hidden 256: 8 blocks of units per row) fed a real trajectory's first tokens: the
    fused step's logits and greedy ids equal the PyTorch step's at every position (Triton's interpreter on CPU; the
    whole decode is compared on the GPU below)."""
    _triton_or_skip()
    from toolssm.trajectory import render

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = _shipped_lstm(device)
    task = get_task("addition")
    seqs = [render(task.make_item(0, "test_9", i, 9, train=False).trajectory)["input_ids"][:12] for i in range(2)]
    a = RNNStepper(model, 2, cuda_graph=False, fused=True)
    b = RNNStepper(model, 2, cuda_graph=False, fused=False)
    for t in range(12):
        ids = torch.tensor([s[t] for s in seqs], device=device)
        torch.testing.assert_close(a.step(ids).clone(), b.step(ids).clone(), atol=1e-4, rtol=1e-5)
        assert torch.equal(a.greedy_tokens(), b.greedy_tokens())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fused_rnn_step_decodes_the_shipped_lstm_exactly_on_gpu(monkeypatch):
    """Whole greedy decodes of the shipped addition LSTM with the fused step equal the PyTorch step's, in the host
    tool loop and in the device loop (CUDA graphs), and the answers are right."""
    model = _shipped_lstm("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    prompts = ["9999999999999999999999999+1=", "12+987=", "5+0=", "1" + "0" * 40 + "+7="]
    # and a batch of 40 (10 copies of each), which the row-blocked kernels decode (opt-in: rnn_kernel.ROW_BLOCK_MIN_BATCH)
    from toolssm import rnn_kernel

    monkeypatch.setattr(rnn_kernel, "ROW_BLOCK_MIN_BATCH", 32)
    for batch in (prompts, prompts * 10):
        tools = lambda: [PointerMemory(2) for _ in batch]  # noqa: E731
        monkeypatch.setattr(RNNStepper, "default_fused", False)
        want = model.generate_with_tools(batch, tools(), max_new_tokens=3000)
        monkeypatch.setattr(RNNStepper, "default_fused", True)
        for device_tools in (False, True):
            got = model.generate_with_tools(batch, tools(), max_new_tokens=3000, device_tools=device_tools)
            assert [r.ids for r in got] == [r.ids for r in want]
        assert [r.output for r in want] == ["1" + "0" * 25, "999", "5", "1" + "0" * 39 + "7"] * (len(batch) // 4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_three_kernel_mamba_step_decodes_a_shipped_mamba_exactly_on_gpu(monkeypatch):
    """Whole greedy decodes of the shipped 3-pointer addition Mamba with the three-kernel step (CUDA graphs, host and
    device tool loops) equal the six-kernel step's at batch 1 and 8, and the answers are right."""
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    import toolssm  # noqa: F401  (registers the architectures)

    from conftest import not_carried

    if not_carried("checkpoints/addition-mamba-small-p3"):  # 2026-12-07: slimmed away, the test failed on a config-less folder
        pytest.skip("checkpoints/addition-mamba-small-p3 was not carried to this machine (.slimmed, scripts/gpu/slim.sh)")
    ckpt = Path(__file__).resolve().parents[1] / "checkpoints" / "addition-mamba-small-p3"
    model = AutoModelForCausalLM.from_pretrained(str(ckpt)).cuda().eval()
    torch.backends.cuda.matmul.allow_tf32 = False
    task = get_task("addition", variant="tool_p3")
    items = [task.make_item(0, "test", i, n, train=False) for i, n in enumerate((3, 20, 57, 100, 5, 31, 80, 12))]
    for batch in (items[:1], items):
        prompts = [it.prompt for it in batch]
        tools = lambda: [task.tool() for _ in batch]  # noqa: E731
        monkeypatch.setattr(MambaStepper, "default_fused", True)
        want = model.generate_with_tools(prompts, tools(), max_new_tokens=6000)
        monkeypatch.setattr(MambaStepper, "default_fused", "layer")
        for device_tools in (False, True):
            got = model.generate_with_tools(prompts, tools(), max_new_tokens=6000, device_tools=device_tools)
            assert [r.ids for r in got] == [r.ids for r in want]
        assert [r.output for r in want] == [it.answer for it in batch]


def test_graph_capture_pauses_the_collector(monkeypatch):
    """fast.graph_capture (every CUDA-graph capture of the tool loops): the collector is off while the stream captures
    (a dead reference cycle made before it is not freed inside it), and its previous state is restored afterwards,
    also when the captured code raises. Checked on the CPU with torch.cuda.graph replaced by a recorder; the GPU test
    test_a_graph_freed_by_a_collection_during_capture_leaves_it_valid is the same on CUDA."""
    import contextlib
    import gc
    import weakref

    from toolssm import fast

    seen = []

    @contextlib.contextmanager
    def recorder(graph):
        seen.append(("enter", gc.isenabled()))
        yield
        seen.append(("exit", gc.isenabled()))

    monkeypatch.setattr(torch.cuda, "graph", recorder)

    class Held:
        pass

    def dead_cycle():
        obj = Held()
        obj.me = obj  # unreachable once this returns: only the collector frees it
        return weakref.ref(obj)

    assert gc.isenabled()
    with fast.graph_capture(object()):
        assert not gc.isenabled()
        alive = dead_cycle()
        keep = [[] for _ in range(5000)]  # far past the collector's first threshold: it would have run, were it on
        assert alive() is not None
        del keep
    assert seen == [("enter", False), ("exit", False)] and gc.isenabled()
    gc.collect()
    assert alive() is None
    with pytest.raises(RuntimeError, match="inside"):
        with fast.graph_capture(object()):
            raise RuntimeError("inside the capture")
    assert gc.isenabled()
    gc.disable()  # a caller that had switched it off keeps it off
    try:
        with fast.graph_capture(object()):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
