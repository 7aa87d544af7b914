"""The Triton selective scan (toolssm.kernels): values and gradients against a float64 recurrence.

On CPU the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set before the module is loaded); on the GPU
machine ``pytest -m gpu`` runs the compiled kernels and a whole HF Mamba training step against the reference path.
"""

import os

import pytest
import torch

triton = pytest.importorskip("triton")


@pytest.fixture(scope="module")
def K():
    if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("no GPU and Triton's interpreter is off (tests/conftest.py turns it on)")
    import toolssm.kernels as k

    yield k
    k.disable_triton_scan()


def _inputs(Bsz, E, N, L, device, seed):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    x = dict(hidden_states=r(Bsz, E, L), dt=r(Bsz, E, L) * 0.5, A=-torch.exp(r(E, N) * 0.5 + 1.0), B=r(Bsz, N, L), C=r(Bsz, N, L),
             D=r(E), z=r(Bsz, E, L), delta_bias=r(E) * 0.1)
    return {k: v.to(device).requires_grad_(True) for k, v in x.items()}


@pytest.mark.parametrize("chunk", [0, 1, 4, 16])  # every state kept; checkpoints every 1 / 4 / 16 (> length) steps
@pytest.mark.parametrize("shape", [(2, 8, 4, 7), (3, 40, 16, 13), (1, 33, 5, 9)])  # E not a block multiple, N not a power of 2
def test_scan_values_and_grads_match_float64(K, shape, chunk, monkeypatch):
    monkeypatch.setattr(K, "SCAN_CHUNK", chunk)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = _inputs(*shape, device, seed=sum(shape))
    y, h = K.selective_scan(**x, delta_softplus=True, return_last_state=True)
    yr, hr = K.reference_scan(**x, delta_softplus=True)
    assert y.dtype == torch.float32 and y.shape == yr.shape and h.shape == hr.shape
    torch.testing.assert_close(y.double(), yr, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(h.double(), hr, atol=1e-4, rtol=1e-4)
    w = torch.randn(yr.shape, dtype=torch.float64, device=device)
    g = torch.autograd.grad((y.double() * w).sum() + h.double().sum(), list(x.values()))
    gr = torch.autograd.grad((yr * w).sum() + hr.sum(), list(x.values()))
    for name, a, b in zip(x, g, gr):
        torch.testing.assert_close(a.double(), b.double(), atol=2e-4, rtol=2e-4, msg=lambda m: f"grad of {name}: {m}")


def test_chunked_scan_keeps_length_over_chunk_states(K, monkeypatch):
    """What the backward pass holds: every state (chunk 0) or one checkpoint per chunk."""
    saved = {}
    real = K._SelectiveScan.backward

    def spy(ctx, *a):
        saved["hs"] = tuple(ctx.saved_tensors[-1].shape)
        return real(ctx, *a)

    monkeypatch.setattr(K._SelectiveScan, "backward", staticmethod(spy))
    x = _inputs(2, 8, 4, 13, "cuda" if torch.cuda.is_available() else "cpu", seed=1)
    for chunk, steps in [(0, 13), (4, 4), (13, 1)]:
        monkeypatch.setattr(K, "SCAN_CHUNK", chunk)
        K.selective_scan(**x, delta_softplus=True).sum().backward()
        assert saved["hs"] == (2, steps, 8, 4), (chunk, saved["hs"])
    with pytest.raises(ValueError, match="chunk"):
        K.enable_triton_scan(chunk=-1)


def test_hf_mamba_uses_the_triton_scan(K, monkeypatch):
    """With the scan enabled, a transformers Mamba-1 training forward goes through it and gives the reference loss
    and gradients."""
    import transformers.models.mamba.modeling_mamba as mm

    from toolssm.models import build_model

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = build_model("mamba-tiny").to(device).train()
    ids = torch.randint(0, 100, (2, 12), device=device)
    ref = model(input_ids=ids, labels=ids).loss
    ref_grads = torch.autograd.grad(ref, list(model.parameters()))
    calls = []
    assert K.enable_triton_scan()

    def counted(*a, **kw):
        calls.append(1)
        return K.selective_scan(*a, **kw)

    monkeypatch.setattr(mm, "mamba_selective_scan", counted)
    loss = model(input_ids=ids, labels=ids).loss
    grads = torch.autograd.grad(loss, list(model.parameters()))
    assert len(calls) == model.config.num_hidden_layers
    torch.testing.assert_close(loss, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)
    monkeypatch.undo()  # before disabling: undo would otherwise put the Triton scan back for every later test
    K.disable_triton_scan()
    assert mm.mamba_selective_scan is not K.selective_scan


def test_cpu_models_fall_back_to_transformers_scan_when_compiled(K, monkeypatch):
    """A process that enabled the scan for its GPU models may also run a CPU model (tests, evaluation on CPU):
    outside Triton's interpreter, CPU tensors go through transformers' own scan, with the same result."""
    import transformers.models.mamba.modeling_mamba as mm

    from toolssm.models import build_model

    torch.manual_seed(0)
    model = build_model("mamba-tiny").eval()
    ids = torch.randint(0, 100, (2, 12))
    with torch.no_grad():
        ref = model(input_ids=ids, labels=ids).loss
    assert K.enable_triton_scan()
    try:
        original, calls = K._ORIGINAL, []
        monkeypatch.setattr(K, "_ORIGINAL", lambda *a, **kw: calls.append(1) or original(*a, **kw))
        monkeypatch.setenv("TRITON_INTERPRET", "0")
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss
        assert len(calls) == model.config.num_hidden_layers
        torch.testing.assert_close(loss, ref)
    finally:
        monkeypatch.undo()
        K.disable_triton_scan()
    assert mm.mamba_selective_scan is not K.selective_scan


def test_hybrid_mamba_layers_use_the_triton_scan(K):
    """The hybrid baseline (Jamba: Mamba-1 layers + attention) trains through the same scan: enabling it patches
    Jamba's module-level scan too, with the reference loss and gradients."""
    import transformers.models.jamba.modeling_jamba as jm

    from toolssm.models import build_model

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = build_model("hybrid-tiny").to(device).train()
    ids = torch.randint(0, 100, (2, 12), device=device)
    ref = model(input_ids=ids, labels=ids).loss
    ref_grads = torch.autograd.grad(ref, list(model.parameters()), allow_unused=True)
    try:
        assert K.enable_triton_scan()
        assert jm.mamba_selective_scan is K.selective_scan
        calls = []
        jm.mamba_selective_scan = lambda *a, **kw: calls.append(1) or K.selective_scan(*a, **kw)
        loss = model(input_ids=ids, labels=ids).loss
        assert len(calls) == model.config.layers_block_type.count("mamba")
        grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    finally:
        K.disable_triton_scan()
    assert jm.mamba_selective_scan is not K.selective_scan
    torch.testing.assert_close(loss, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(grads, ref_grads):
        if a is not None:
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)
