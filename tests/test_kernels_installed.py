"""The package with mamba-ssm and causal-conv1d installed, on a machine without CUDA.

transformers binds its Mamba functions to the kernels at import time for every device; the real kernels only accept
CUDA tensors (``Expected x.is_cuda()``). Here stand-in packages with the kernels' import paths raise exactly that for
CPU tensors, so the test checks on CPU what a GPU machine with the kernels installed does to a CPU model: toolssm must
route CPU tensors to PyTorch (toolssm.kernels.route_kernels_by_device). The control shows the stand-ins reproduce
the failure without toolssm.
"""

import os
import subprocess
import sys
import textwrap

import pytest

RAISE = textwrap.dedent('''
    def _fail(x, *a, **k):
        raise RuntimeError("Expected x.is_cuda() to be true, but got false.")
''')
FAKES = {
    "causal_conv1d/__init__.py": RAISE + "causal_conv1d_fn = causal_conv1d_update = _fail\n",
    "mamba_ssm/__init__.py": "",
    "mamba_ssm/ops/__init__.py": "",
    "mamba_ssm/ops/selective_scan_interface.py": RAISE + "selective_scan_fn = mamba_inner_fn = _fail\n",
    "mamba_ssm/ops/triton/__init__.py": "",
    "mamba_ssm/ops/triton/selective_state_update.py": RAISE + "selective_state_update = _fail\n",
    "mamba_ssm/ops/triton/ssd_combined.py": RAISE + "mamba_chunk_scan_combined = mamba_split_conv1d_scan_combined = _fail\n",
}

WITH_TOOLSSM = textwrap.dedent('''
    import torch
    import toolssm
    from toolssm import kernels
    from toolssm.models import build_model
    from toolssm.tasks import get_task
    from toolssm.tokenizer import encode
    routed = kernels.route_kernels_by_device()
    assert "modeling_mamba.causal_conv1d_fn" in routed and "modeling_mamba.mamba_inner_fn" in routed, routed
    assert kernels.cuda_kernels_installed()
    for preset in ("mamba-tiny", "mamba2-tiny", "hybrid-tiny"):
        torch.manual_seed(0)
        model = build_model(preset)
        ids = torch.randint(5, 60, (2, 24))
        model.train()
        out = model(input_ids=ids, labels=ids)  # training: mamba_inner_fn / the scan, on CPU
        out.loss.backward()
        model.eval()
        task = get_task("addition", "lockstep")
        model.set_tool_spec({"task": "addition", "variant": "lockstep"})
        res = model.generate_with_tools(["12+345="], max_new_tokens=40, return_logits=True)[0]  # the cache / step path
        full = model(input_ids=torch.tensor([res.ids])).logits[0, : len(res.ids) - 1]
        err = (full - res.logits).abs().max().item()
        assert err < 1e-4, (preset, err)
        print(preset, "ok", round(out.loss.item(), 3), err)
''')

CONTROL = textwrap.dedent('''
    import torch
    from transformers import MambaConfig, MambaForCausalLM
    model = MambaForCausalLM(MambaConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, state_size=8)).eval()
    model(input_ids=torch.randint(0, 64, (1, 8)))
''')


@pytest.fixture(scope="module")
def fake_kernels(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake_kernels")
    for rel, text in FAKES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


def _run(code: str, fake: str) -> subprocess.CompletedProcess:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([fake, here, os.environ.get("PYTHONPATH", "")]), CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)


def _transformers_routes_cpu_itself() -> bool:
    """transformers >= 5.25 sends CPU inputs of a CUDA-only kernel package to its PyTorch functions itself."""
    import transformers
    from packaging.version import Version

    return Version(transformers.__version__) >= Version("5.25")


def test_stand_in_kernels_break_plain_transformers_on_cpu(fake_kernels):
    """The control: the stand-ins are found and bound by transformers. 5.24 then fails on CPU inside them (the failure
    toolssm routes around); 5.25 skips them for CPU inputs and says so."""
    r = _run(CONTROL, fake_kernels)
    if _transformers_routes_cpu_itself():
        assert r.returncode == 0, r.stderr[-2000:]
        assert "doesn't support the device of the inputs" in r.stderr, r.stderr[-2000:]
    else:
        assert r.returncode != 0 and "Expected x.is_cuda()" in r.stderr, r.stderr[-2000:]


def test_toolssm_runs_on_cpu_with_the_kernels_installed(fake_kernels):
    r = _run(WITH_TOOLSSM, fake_kernels)
    assert r.returncode == 0, r.stderr[-3000:]
    for preset in ("mamba-tiny", "mamba2-tiny", "hybrid-tiny"):
        assert f"{preset} ok" in r.stdout


def test_bfloat16_weights_on_the_cpu_take_the_scan_that_works():
    """transformers 5.24's mambapy branch fails for bfloat16 weights (float32 states times bf16 C): eval.py --dtype
    bfloat16 on the CPU crashed in every Mamba evaluation (found by launch.py rehearse, 2026-12-07). ``auto`` now takes
    the sequential scan for such weights, and asking for mambapy says why it cannot."""
    import torch

    from toolssm import kernels
    from toolssm.models import build_model

    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    ids = torch.randint(5, 100, (2, 16))
    assert "mambapy" in kernels.select_mamba_path(model, "auto", device="cpu")  # float32: the parallel scan
    with torch.no_grad():
        want = model(input_ids=ids).logits
    model = model.to(torch.bfloat16)
    assert "sequential" in kernels.select_mamba_path(model, "auto", device="cpu")
    with torch.no_grad():
        got = model(input_ids=ids).logits
    torch.testing.assert_close(got.float(), want, atol=0.1, rtol=0.05)  # bf16 weights: close, not equal
    with pytest.raises(ValueError, match="float32 weights"):
        kernels.select_mamba_path(model, "mambapy", device="cpu")


@pytest.mark.gpu
def test_real_kernels_match_the_triton_scan_and_the_loop_on_cuda():
    """On the GPU machine with mamba-ssm + causal-conv1d built (scripts/gpu/build_kernels.sh): the kernel path's loss
    and gradients equal the Triton scan's and the PyTorch scan's, and the tool loop through the model's cache (the
    kernels' decoding step) matches one full forward."""
    import torch

    from toolssm import kernels
    from toolssm.models import build_model

    if not torch.cuda.is_available() or not kernels.cuda_kernels_installed():
        pytest.skip("needs CUDA and the mamba-ssm / causal-conv1d kernels")
    torch.manual_seed(0)
    model = build_model("mamba-tiny").cuda().train()
    ids = torch.randint(5, 100, (2, 64), device="cuda")
    got = {}
    try:
        for path in ("kernels", "triton", "torch"):
            kernels.select_mamba_path(model, path)
            loss = model(input_ids=ids, labels=ids).loss
            got[path] = (loss.detach(), torch.autograd.grad(loss, list(model.parameters())))
    finally:
        kernels.disable_triton_scan()
    for path in ("triton", "torch"):
        torch.testing.assert_close(got["kernels"][0], got[path][0], atol=1e-4, rtol=1e-4)
        for a, b in zip(got["kernels"][1], got[path][1]):
            torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-2)
    model.eval()
    from toolssm.generation import generate_with_tools
    from toolssm.tasks import get_task

    task = get_task("addition", "lockstep")
    res = generate_with_tools(model, ["123+4567="], [task.inference_tool()], max_new_tokens=48, return_logits=True, fast=False)[0]
    with torch.no_grad():
        full = model(input_ids=torch.tensor([res.ids], device="cuda")).logits[0, : len(res.ids) - 1].float().cpu()
    assert (full - res.logits).abs().max().item() < 1e-3
