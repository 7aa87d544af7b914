"""A Triton selective scan for training Mamba-1 without the mamba-ssm CUDA extension.

transformers' Mamba-1 has three training paths: the mamba-ssm + causal-conv1d CUDA kernels (fast, but a source
build of several minutes per fresh GPU machine), ``use_mambapy`` (a parallel scan in PyTorch: many passes over
(batch, length, d_inner, d_state) tensors, tens of GiB) and a per-token Python loop (slowest). This module adds a
fourth: the scan ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t``, ``y_t = C_t . h_t`` as two Triton kernels (forward
and backward), one program per (batch row, block of channels), sequential over time with the state in registers.
Triton ships with PyTorch's CUDA builds, so nothing is compiled ahead of time.

The backward kernel needs every h_t. With ``SCAN_CHUNK = K`` (default 64) the forward stores one state every K steps
and the backward recomputes each chunk's K states from its checkpoint before walking it in reverse (memory ~
length/K + K states, one extra scan pass); ``SCAN_CHUNK = 0`` stores them all (float32, batch x length x d_inner x
d_state per layer, as mambapy also does). On the H200 (benchmarks/results/h200/session4/scan_memory_h200.json, 130M shape,
batch 64 x 512): K=64 peaks at 49.9 GiB instead of 120.5 GiB for 3.7% fewer tokens/s, same loss and gradient norm.
Everything is float32 inside.

``enable_triton_scan()`` swaps transformers' ``mamba_selective_scan`` (the reference scan its slow path calls)
for :func:`selective_scan`, leaving the convolution and projections to PyTorch. tests/test_kernels.py checks
values and gradients against the reference scan in Triton's interpreter on CPU, and the GPU run checks them on
the device (``pytest -m gpu``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os

import torch
import torch.nn.functional as F

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - CPU machines without triton
    triton = None


def triton_runs_on(device) -> bool:
    """Whether Triton kernels can run on tensors of ``device``: on CUDA with triton, on CPU only in Triton's
    interpreter (TRITON_INTERPRET=1, set before triton is imported)."""
    return triton is not None and (torch.device(device).type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1")


if triton is not None:

    @triton.jit
    def _block(a_ptr, E, N, BE: tl.constexpr, BN: tl.constexpr):
        """This program's (batch row, channel block): ids, index ranges, masks and its block of A."""
        pb = tl.program_id(0)
        pe = tl.program_id(1)
        e = pe * BE + tl.arange(0, BE)
        n = tl.arange(0, BN)
        me = e < E
        mn = n < N
        m2 = me[:, None] & mn[None, :]
        A = tl.load(a_ptr + e[:, None] * N + n[None, :], mask=m2, other=0.0)
        return pb, pe, e, n, me, mn, m2, A

    @triton.jit
    def _fwd_one(t, pb, e, n, me, mn, A, h, u_ptr, dt_ptr, b_ptr, L, E, N):
        """h_t = exp(dt_t A) h_{t-1} + dt_t u_t B_t."""
        off = (pb * L + t) * E + e
        u = tl.load(u_ptr + off, mask=me, other=0.0)
        dt = tl.load(dt_ptr + off, mask=me, other=0.0)
        bt = tl.load(b_ptr + (pb * L + t) * N + n, mask=mn, other=0.0)
        return tl.exp(dt[:, None] * A) * h + (dt * u)[:, None] * bt[None, :]

    @triton.jit
    def _scan_fwd(u_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, y_ptr, hs_ptr, hlast_ptr, L, E, N,
                  BE: tl.constexpr, BN: tl.constexpr, SAVE: tl.constexpr, CHUNK: tl.constexpr):
        pb, pe, e, n, me, mn, m2, A = _block(a_ptr, E, N, BE, BN)
        h = tl.zeros((BE, BN), dtype=tl.float32)
        NC = (L + CHUNK - 1) // CHUNK if CHUNK > 0 else L
        t = 0
        while t < L:  # (a while loop: Triton's CPU interpreter cannot range() over a runtime scalar)
            h = _fwd_one(t, pb, e, n, me, mn, A, h, u_ptr, dt_ptr, b_ptr, L, E, N)
            ct = tl.load(c_ptr + (pb * L + t) * N + n, mask=mn, other=0.0)
            if SAVE:
                if CHUNK == 0:  # every state h_t at index t
                    tl.store(hs_ptr + ((pb * L + t) * E + e[:, None]) * N + n[None, :], h, mask=m2)
                else:  # checkpoint c = the state before step c * CHUNK (checkpoint 0, the zero state, is set by the caller)
                    c = (t + 1) // CHUNK
                    tl.store(hs_ptr + ((pb * NC + c) * E + e[:, None]) * N + n[None, :], h,
                             mask=m2 & ((t + 1) % CHUNK == 0) & (c < NC))
            tl.store(y_ptr + (pb * L + t) * E + e, tl.sum(h * ct[None, :], axis=1), mask=me)
            t += 1
        tl.store(hlast_ptr + (pb * E + e[:, None]) * N + n[None, :], h, mask=m2)

    @triton.jit
    def _bwd_one(t, pb, pe, e, n, me, mn, A, h, hp, dh, da, u_ptr, dt_ptr, b_ptr, c_ptr, dy_ptr,
                 du_ptr, ddt_ptr, db_ptr, dc_ptr, L, E, N, NEB):
        """One reverse step at time t, given h_t and h_{t-1}: stores du, ddt, dB, dC at t; returns dh_{t-1}, dA."""
        off = (pb * L + t) * E + e
        u = tl.load(u_ptr + off, mask=me, other=0.0)
        dt = tl.load(dt_ptr + off, mask=me, other=0.0)
        dy = tl.load(dy_ptr + off, mask=me, other=0.0)
        bt = tl.load(b_ptr + (pb * L + t) * N + n, mask=mn, other=0.0)
        ct = tl.load(c_ptr + (pb * L + t) * N + n, mask=mn, other=0.0)
        # y_t = sum_n C_t h_t
        tl.store(dc_ptr + ((pb * NEB + pe) * L + t) * N + n, tl.sum(dy[:, None] * h, axis=0), mask=mn)
        dh += dy[:, None] * ct[None, :]
        # h_t = exp(dt A) h_{t-1} + dt u B_t
        decay = tl.exp(dt[:, None] * A)
        g = dh * hp * decay  # gradient with respect to (dt A)
        dhb = tl.sum(dh * bt[None, :], axis=1)
        tl.store(ddt_ptr + off, tl.sum(g * A, axis=1) + dhb * u, mask=me)
        tl.store(du_ptr + off, dhb * dt, mask=me)
        tl.store(db_ptr + ((pb * NEB + pe) * L + t) * N + n, tl.sum(dh * (dt * u)[:, None], axis=0), mask=mn)
        return dh * decay, da + g * dt[:, None]

    @triton.jit
    def _scan_bwd(u_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, hs_ptr, dy_ptr, dhlast_ptr,
                  du_ptr, ddt_ptr, da_ptr, db_ptr, dc_ptr, L, E, N, NEB,
                  BE: tl.constexpr, BN: tl.constexpr):
        """Reverse walk over the stored states h_t (forward with CHUNK=0)."""
        pb, pe, e, n, me, mn, m2, A = _block(a_ptr, E, N, BE, BN)
        dh = tl.load(dhlast_ptr + (pb * E + e[:, None]) * N + n[None, :], mask=m2, other=0.0)
        da = tl.zeros((BE, BN), dtype=tl.float32)
        t = L - 1
        while t >= 0:
            h = tl.load(hs_ptr + ((pb * L + t) * E + e[:, None]) * N + n[None, :], mask=m2, other=0.0)
            hp = tl.load(hs_ptr + ((pb * L + t - 1) * E + e[:, None]) * N + n[None, :], mask=m2 & (t > 0), other=0.0)
            dh, da = _bwd_one(t, pb, pe, e, n, me, mn, A, h, hp, dh, da, u_ptr, dt_ptr, b_ptr, c_ptr, dy_ptr,
                              du_ptr, ddt_ptr, db_ptr, dc_ptr, L, E, N, NEB)
            t -= 1
        tl.store(da_ptr + (pb * E + e[:, None]) * N + n[None, :], da, mask=m2)

    @triton.jit
    def _scan_bwd_chunked(u_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, ck_ptr, scr_ptr, dy_ptr, dhlast_ptr,
                          du_ptr, ddt_ptr, da_ptr, db_ptr, dc_ptr, L, E, N, NEB, NC,
                          CHUNK: tl.constexpr, BE: tl.constexpr, BN: tl.constexpr):
        """Reverse walk chunk by chunk (forward with CHUNK>0): each chunk's states are recomputed from its
        checkpoint into a per-program scratch buffer of CHUNK states, then walked backwards."""
        pb, pe, e, n, me, mn, m2, A = _block(a_ptr, E, N, BE, BN)
        el = tl.arange(0, BE)
        dh = tl.load(dhlast_ptr + (pb * E + e[:, None]) * N + n[None, :], mask=m2, other=0.0)
        da = tl.zeros((BE, BN), dtype=tl.float32)
        scr = scr_ptr + (pb * NEB + pe) * CHUNK * BE * BN + el[:, None] * BN + n[None, :]  # + i * BE * BN: state i
        c = NC - 1
        while c >= 0:
            t0 = c * CHUNK
            t1 = tl.minimum(t0 + CHUNK, L)
            h0 = tl.load(ck_ptr + ((pb * NC + c) * E + e[:, None]) * N + n[None, :], mask=m2, other=0.0)
            h = h0
            t = t0
            while t < t1:  # recompute the chunk's states
                h = _fwd_one(t, pb, e, n, me, mn, A, h, u_ptr, dt_ptr, b_ptr, L, E, N)
                tl.store(scr + (t - t0) * BE * BN, h)
                t += 1
            tl.debug_barrier()
            t = t1 - 1
            while t >= t0:
                h = tl.load(scr + (t - t0) * BE * BN)
                hp = tl.where(t > t0, tl.load(scr + (t - t0 - 1) * BE * BN, mask=m2 & (t > t0), other=0.0), h0)
                dh, da = _bwd_one(t, pb, pe, e, n, me, mn, A, h, hp, dh, da, u_ptr, dt_ptr, b_ptr, c_ptr, dy_ptr,
                                  du_ptr, ddt_ptr, db_ptr, dc_ptr, L, E, N, NEB)
                t -= 1
            tl.debug_barrier()
            c -= 1
        tl.store(da_ptr + (pb * E + e[:, None]) * N + n[None, :], da, mask=m2)


def _blocks(E: int, N: int):
    BN = max(triton.next_power_of_2(N), 2)
    BE = 32 if BN <= 16 else 16
    return BE, BN, triton.cdiv(E, BE)


#: states kept for the backward pass: 0 = every h_t (batch x length x d_inner x d_state float32 per layer); K > 0 =
#: one checkpoint every K steps plus K recomputed states per program (about length/K times less memory, one more
#: forward pass of the scan inside the backward). Set by enable_triton_scan(chunk=...) or TOOLSSM_SCAN_CHUNK.
SCAN_CHUNK = int(os.environ.get("TOOLSSM_SCAN_CHUNK", "64"))


class _SelectiveScan(torch.autograd.Function):
    """y (B, L, E), h_last (B, E, N) from u, dt (B, L, E), A (E, N), Bm, Cm (B, L, N); all float32 contiguous."""

    @staticmethod
    def forward(ctx, u, dt, A, Bm, Cm, chunk=0):
        Bsz, L, E = u.shape
        N = A.shape[1]
        BE, BN, NEB = _blocks(E, N)
        save = any(ctx.needs_input_grad)
        chunk = max(0, int(chunk))
        y = torch.empty_like(u)
        if not save:
            hs = y  # unused placeholder
        elif chunk == 0:
            hs = torch.empty(Bsz, L, E, N, device=u.device, dtype=torch.float32)
        else:
            hs = torch.empty(Bsz, triton.cdiv(L, chunk), E, N, device=u.device, dtype=torch.float32)
            hs[:, 0].zero_()
        hlast = torch.empty(Bsz, E, N, device=u.device, dtype=torch.float32)
        _scan_fwd[(Bsz, NEB)](u, dt, A, Bm, Cm, y, hs, hlast, L, E, N, BE=BE, BN=BN, SAVE=save, CHUNK=chunk)
        ctx.chunk = chunk
        if save:
            ctx.save_for_backward(u, dt, A, Bm, Cm, hs)
        return y, hlast

    @staticmethod
    def backward(ctx, dy, dhlast):
        u, dt, A, Bm, Cm, hs = ctx.saved_tensors
        Bsz, L, E = u.shape
        N = A.shape[1]
        BE, BN, NEB = _blocks(E, N)
        dy = torch.zeros_like(u) if dy is None else dy.float().contiguous()
        dhlast = torch.zeros(Bsz, E, N, device=u.device) if dhlast is None else dhlast.float().contiguous()
        du, ddt = torch.empty_like(u), torch.empty_like(u)
        da = torch.empty(Bsz, E, N, device=u.device, dtype=torch.float32)
        db = torch.empty(Bsz, NEB, L, N, device=u.device, dtype=torch.float32)
        dc = torch.empty_like(db)
        if ctx.chunk == 0:
            _scan_bwd[(Bsz, NEB)](u, dt, A, Bm, Cm, hs, dy, dhlast, du, ddt, da, db, dc, L, E, N, NEB, BE=BE, BN=BN)
        else:
            scratch = torch.empty(Bsz * NEB * ctx.chunk * BE * BN, device=u.device, dtype=torch.float32)
            _scan_bwd_chunked[(Bsz, NEB)](u, dt, A, Bm, Cm, hs, scratch, dy, dhlast, du, ddt, da, db, dc, L, E, N, NEB,
                                          hs.shape[1], CHUNK=ctx.chunk, BE=BE, BN=BN)
        return du, ddt, da.sum(0), db.sum(1), dc.sum(1), None


def selective_scan(hidden_states, dt, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, return_last_state=False, **kwargs):
    """Drop-in for transformers' ``mamba_selective_scan``: hidden_states, dt (batch, d_inner, length), A (d_inner, d_state),
    B, C (batch, d_state, length); returns y (batch, d_inner, length) [and the last state (batch, d_inner, d_state)]."""
    if triton is None:
        raise RuntimeError("the Triton selective scan needs the `triton` package (bundled with PyTorch's CUDA builds)")
    if not hidden_states.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
        if _ORIGINAL is None:
            raise RuntimeError("the Triton selective scan runs on CUDA tensors (or in Triton's interpreter, TRITON_INTERPRET=1)")
        # a CPU model in a process that enabled the scan for its GPU models: transformers' own path
        return _ORIGINAL(hidden_states, dt, A, B, C, D=D, z=z, delta_bias=delta_bias, delta_softplus=delta_softplus,
                         return_last_state=return_last_state, **kwargs)
    input_dtype = hidden_states.dtype
    if delta_bias is not None:
        dt = dt + delta_bias.to(dt.dtype)[..., None]
    if delta_softplus:
        dt = F.softplus(dt)
    u = hidden_states.transpose(1, 2).float().contiguous()
    y, hlast = _SelectiveScan.apply(u, dt.transpose(1, 2).float().contiguous(), A.float().contiguous(),
                                    B.transpose(1, 2).float().contiguous(), C.transpose(1, 2).float().contiguous(), SCAN_CHUNK)
    y = y.transpose(1, 2)
    if D is not None:
        y = y + hidden_states.float() * D.float()[None, :, None]
    if z is not None:
        y = y * F.silu(z.float())
    y = y.to(input_dtype)
    return (y, hlast) if return_last_state else y


def reference_scan(hidden_states, dt, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """The plain recurrence in float64 (the oracle for tests)."""
    u, dt, A, B, C = (x.double() for x in (hidden_states, dt, A, B, C))
    if delta_bias is not None:
        dt = dt + delta_bias.double()[..., None]
    if delta_softplus:
        dt = F.softplus(dt)
    h = torch.zeros(u.shape[0], u.shape[1], A.shape[1], dtype=torch.float64, device=u.device)
    ys = []
    for t in range(u.shape[2]):
        h = torch.exp(dt[:, :, t, None] * A) * h + (dt[:, :, t] * u[:, :, t])[..., None] * B[:, None, :, t]
        ys.append((h * C[:, None, :, t]).sum(-1))
    y = torch.stack(ys, -1)
    if D is not None:
        y = y + u * D.double()[None, :, None]
    if z is not None:
        y = y * F.silu(z.double())
    return y, h


_ORIGINAL = None  # transformers' reference scan (the CPU fallback of selective_scan)
_PATCHED: dict = {}  # module -> its original mamba_selective_scan
#: the transformers modules whose Mamba-1 mixers call a module-level ``mamba_selective_scan`` (same signature)
SCAN_MODULES = ("transformers.models.mamba.modeling_mamba", "transformers.models.jamba.modeling_jamba")


def enable_triton_scan(chunk: int | None = None) -> bool:
    """Route transformers' Mamba-1 reference scan (Mamba, and the Mamba layers of the Jamba hybrid) through
    :func:`selective_scan`. Returns whether it is now on (False without triton). ``chunk`` sets :data:`SCAN_CHUNK`
    (0: keep every state for the backward pass; K: a checkpoint every K steps). Turns the mamba-ssm kernels off
    (:func:`use_cuda_kernels`) where they are installed: their fused training path would bypass this scan;
    :func:`disable_triton_scan` turns them back on."""
    global _ORIGINAL, SCAN_CHUNK, USE_CUDA_KERNELS
    if chunk is not None:
        if int(chunk) < 0:
            raise ValueError(f"chunk must be >= 0, got {chunk}")
        SCAN_CHUNK = int(chunk)
    if triton is None:
        return False
    USE_CUDA_KERNELS = False
    for name in SCAN_MODULES:
        mod = importlib.import_module(name)
        if mod not in _PATCHED:
            _PATCHED[mod] = mod.mamba_selective_scan
        mod.mamba_selective_scan = selective_scan
    if _ORIGINAL is None:
        _ORIGINAL = _PATCHED[importlib.import_module(SCAN_MODULES[0])]
    return True


# ---------------------------------------------------------------------------------------------------------------
# The mamba-ssm / causal-conv1d CUDA kernels, by device. transformers 5.24 picks each kernel function at import time
# for every device: with the packages installed a CPU model fails inside them (``Expected x.is_cuda()``). Each such
# module-level function is replaced by one that calls the kernel for CUDA tensors (while USE_CUDA_KERNELS) and
# transformers' own PyTorch function otherwise. transformers 5.25 routes CPU inputs to PyTorch itself and wraps each
# function in a ``kernels`` function module (_unwrap_func_module); the same replacement keeps USE_CUDA_KERNELS (the
# switch between the kernels and the Triton scan on one GPU) working there.

#: the transformers modules whose functions transformers may bind to the CUDA kernels
KERNEL_MODULES = ("transformers.models.mamba.modeling_mamba", "transformers.models.jamba.modeling_jamba",
                  "transformers.models.mamba2.modeling_mamba2")
USE_CUDA_KERNELS = True  # off: CUDA tensors take the PyTorch functions too (and Mamba-1 training the scan above)
_ROUTED: set = set()  # (module name, function name) of every function routed to a kernel


def _free_vars(fn) -> dict:
    """The variables a function closes over and has bound, by name (empty for a function without a closure)."""
    code = getattr(fn, "__code__", None)
    if code is None or not getattr(fn, "__closure__", None):
        return {}
    bound = {}
    for name, cell in zip(code.co_freevars, fn.__closure__):
        try:
            bound[name] = cell.cell_contents
        except ValueError:  # a cell not yet bound
            pass
    return bound


def _unwrap_func_module(fn):
    """The function inside a ``kernels`` function module. With the ``kernels`` package installed (a requirement of
    transformers >= 5.25), ``use_kernel_forward_from_hub`` turns each decorated function into an ``nn.Module`` whose
    ``forward`` closes over it (``func``), so that ``kernelize`` can swap it; calling the module calls the function."""
    if not isinstance(fn, torch.nn.Module):
        return fn
    return _free_vars(getattr(type(fn), "forward", None)).get("func", fn)


def _kernel_of(fn):
    """(kernel or None, PyTorch function) of a function wrapped by transformers' ``use_kernel_func_from_hub_with_fallback``
    (kernel None: no kernel installed), else None."""
    reference = getattr(fn, "__wrapped__", None)
    bound = _free_vars(fn)
    if reference is None or "implementation" not in bound:
        return None
    kernel = bound["implementation"]
    return (kernel if callable(kernel) and kernel is not reference else None, reference)


def _dispatcher(wrapped, reference):
    params = inspect.signature(reference).parameters
    any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    def by_device(*args, **kwargs):
        x = args[0] if args else next(v for v in kwargs.values() if torch.is_tensor(v))
        if USE_CUDA_KERNELS and x.is_cuda:
            return wrapped(*args, **kwargs)  # transformers' wrapper: filters the keywords, calls the kernel
        return reference(*args, **(kwargs if any_kw else {k: v for k, v in kwargs.items() if k in params}))

    by_device.__wrapped__ = reference
    by_device.cuda_kernel = wrapped
    return by_device


def route_kernels_by_device() -> list[str]:
    """Make every kernel-bound function of :data:`KERNEL_MODULES` dispatch by device (idempotent). Functions with no
    kernel installed are replaced by their PyTorch function itself (transformers' wrapper would only add a warning
    per function that the kernel is missing: toolssm says which path trains, train.py's log). Returns the functions
    routed to a kernel (empty where mamba-ssm and causal-conv1d are not installed)."""
    for name in KERNEL_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a transformers without this model
            continue
        for attr, fn in list(vars(mod).items()):
            fn = _unwrap_func_module(fn)
            pair = _kernel_of(fn) if callable(fn) else None
            if pair is None:
                continue
            kernel, reference = pair
            if kernel is None:
                setattr(mod, attr, reference)
            else:
                _ROUTED.add((name, attr))
                setattr(mod, attr, _dispatcher(fn, reference))
    return sorted(f"{m.rsplit('.', 1)[-1]}.{a}" for m, a in _ROUTED)


def cuda_kernels_installed() -> bool:
    """Whether transformers bound any Mamba function to the mamba-ssm / causal-conv1d kernels."""
    return bool(route_kernels_by_device())


def use_cuda_kernels(on: bool) -> None:
    """Turn the CUDA kernels on or off for CUDA tensors (to compare paths in one process, or to train through the
    Triton scan where the kernels are installed)."""
    global USE_CUDA_KERNELS
    USE_CUDA_KERNELS = bool(on)


def disable_triton_scan() -> None:
    global _ORIGINAL, USE_CUDA_KERNELS
    USE_CUDA_KERNELS = True
    for mod, original in _PATCHED.items():
        mod.mamba_selective_scan = original
    _PATCHED.clear()
    _ORIGINAL = None


# ---------------------------------------------------------------------------------------------------------------
# Fused Mamba-1 decoding step (one token per row): three kernels per layer instead of ~30 small PyTorch ops.
# Used by toolssm.fast.MambaStepper on CUDA (fused=True); every kernel computes in float32.

if triton is not None:

    @triton.jit
    def _rmsnorm_kernel(x_ptr, w_ptr, y_ptr, D, eps, BD: tl.constexpr):
        row = tl.program_id(0)
        d = tl.arange(0, BD)
        m = d < D
        x = tl.load(x_ptr + row * D + d, mask=m, other=0.0).to(w_ptr.dtype.element_ty).to(tl.float32)
        var = tl.sum(x * x, axis=0) / D
        xn = (x * tl.rsqrt(var + eps)).to(w_ptr.dtype.element_ty)
        w = tl.load(w_ptr + d, mask=m, other=0.0)
        tl.store(y_ptr + row * D + d, (w * xn).to(y_ptr.dtype.element_ty), mask=m)

    @triton.jit
    def conv_silu(state_ptr, w_ptr, b_ptr, x, row, e, me, E, HAS_BIAS: tl.constexpr, K: tl.constexpr):
        """One causal depthwise-conv step of channels ``e`` of one row (the state (rows, E, K) holds the last K inputs:
        shift left, append ``x``, conv, + bias), then SiLU; float32 (BE,). Shared by both fused Mamba steps."""
        k = tl.arange(0, K)
        m2 = me[:, None] & (k[None, :] < K)
        sp = state_ptr + (row * E + e[:, None]) * K + k[None, :]
        shifted = tl.load(sp + 1, mask=m2 & (k[None, :] < K - 1), other=0.0)
        new = tl.where(k[None, :] == K - 1, x[:, None].to(shifted.dtype), shifted)
        tl.store(sp, new, mask=m2)
        w = tl.load(w_ptr + e[:, None] * K + k[None, :], mask=m2, other=0.0).to(tl.float32)
        acc = tl.sum(new.to(tl.float32) * w, axis=1)
        if HAS_BIAS:
            acc += tl.load(b_ptr + e, mask=me, other=0.0).to(tl.float32)
        return acc * tl.sigmoid(acc)

    @triton.jit
    def ssm_update(dtr, bv, cv, x, z, dtw_ptr, dtb_ptr, alog_ptr, d_ptr, state_ptr, row, e, r, n, me, mr, mn, E, R, N):
        """One selective-SSM step of channels ``e`` of one row from its x_proj outputs (``dtr`` (BR,), ``bv``, ``cv``
        (BN,), float32): dt = softplus(W_dt @ dtr + b_dt); h = exp(dt A) h + dt x B (float32 state (rows, E, N), in
        place); returns y = (C . h + D x) * silu(z), float32 (BE,). Shared by both fused Mamba steps."""
        wdt = tl.load(dtw_ptr + e[:, None] * R + r[None, :], mask=me[:, None] & mr[None, :], other=0.0).to(tl.float32)
        dt = tl.sum(wdt * dtr[None, :], axis=1) + tl.load(dtb_ptr + e, mask=me, other=0.0).to(tl.float32)
        dt = tl.where(dt > 20.0, dt, tl.log(1.0 + tl.exp(dt)))  # torch.nn.functional.softplus (threshold 20)
        m2 = me[:, None] & mn[None, :]
        A = -tl.exp(tl.load(alog_ptr + e[:, None] * N + n[None, :], mask=m2, other=0.0).to(tl.float32))
        sp = state_ptr + (row * E + e[:, None]) * N + n[None, :]
        h = tl.load(sp, mask=m2, other=0.0)
        h = tl.exp(dt[:, None] * A) * h + (dt * x)[:, None] * bv[None, :]
        tl.store(sp, h, mask=m2)
        y = tl.sum(h * cv[None, :], axis=1) + x * tl.load(d_ptr + e, mask=me, other=0.0).to(tl.float32)
        return y * (z * tl.sigmoid(z))

    @triton.jit
    def _conv_step_kernel(xz_ptr, state_ptr, w_ptr, b_ptr, out_ptr, E, HAS_BIAS: tl.constexpr, K: tl.constexpr, BE: tl.constexpr):
        row = tl.program_id(0)
        e = tl.program_id(1) * BE + tl.arange(0, BE)
        me = e < E
        x = tl.load(xz_ptr + row * 2 * E + e, mask=me, other=0.0)
        acc = conv_silu(state_ptr, w_ptr, b_ptr, x, row, e, me, E, HAS_BIAS, K)
        tl.store(out_ptr + row * E + e, acc.to(out_ptr.dtype.element_ty), mask=me)

    @triton.jit
    def _ssm_step_kernel(xc_ptr, xz_ptr, dbc_ptr, dtw_ptr, dtb_ptr, alog_ptr, d_ptr, state_ptr, y_ptr, E, R, N,
                         BE: tl.constexpr, BR: tl.constexpr, BN: tl.constexpr):
        row = tl.program_id(0)
        e = tl.program_id(1) * BE + tl.arange(0, BE)
        r = tl.arange(0, BR)
        n = tl.arange(0, BN)
        me, mr, mn = e < E, r < R, n < N
        W = R + 2 * N
        dtr = tl.load(dbc_ptr + row * W + r, mask=mr, other=0.0).to(tl.float32)
        bv = tl.load(dbc_ptr + row * W + R + n, mask=mn, other=0.0).to(tl.float32)
        cv = tl.load(dbc_ptr + row * W + R + N + n, mask=mn, other=0.0).to(tl.float32)
        x = tl.load(xc_ptr + row * E + e, mask=me, other=0.0).to(tl.float32)
        z = tl.load(xz_ptr + row * 2 * E + E + e, mask=me, other=0.0).to(tl.float32)
        y = ssm_update(dtr, bv, cv, x, z, dtw_ptr, dtb_ptr, alog_ptr, d_ptr, state_ptr, row, e, r, n, me, mr, mn, E, R, N)
        tl.store(y_ptr + row * E + e, y.to(y_ptr.dtype.element_ty), mask=me)


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """transformers' MambaRMSNorm of x (B, D) cast to weight's dtype, in one kernel."""
    Bsz, D = x.shape
    y = torch.empty(Bsz, D, dtype=weight.dtype, device=x.device)
    _rmsnorm_kernel[(Bsz,)](x, weight, y, D, eps, BD=triton.next_power_of_2(D))
    return y


def conv_step(xz: torch.Tensor, conv_state: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """One causal depthwise-conv step + SiLU on the first half of xz (B, 2E); updates conv_state (B, E, K) in place."""
    Bsz, E2 = xz.shape
    E, K = conv_state.shape[1], conv_state.shape[2]
    out = torch.empty(Bsz, E, dtype=xz.dtype, device=xz.device)
    BE = 64
    _conv_step_kernel[(Bsz, triton.cdiv(E, BE))](xz, conv_state, weight, bias if bias is not None else weight, out, E,
                                                 HAS_BIAS=bias is not None, K=K, BE=BE)
    return out


def ssm_step(xc, xz, dbc, dt_weight, dt_bias, A_log, D, ssm_state) -> torch.Tensor:
    """One selective-SSM step with the dt projection, softplus, D skip and SiLU(z) gate fused; updates ssm_state
    (B, E, N) float32 in place; returns y (B, E) in xc's dtype."""
    Bsz, E = xc.shape
    R, N = dt_weight.shape[1], A_log.shape[1]
    y = torch.empty_like(xc)
    BE = 32
    _ssm_step_kernel[(Bsz, triton.cdiv(E, BE))](xc, xz, dbc, dt_weight, dt_bias, A_log, D, ssm_state, y, E, R, N,
                                                BE=BE, BR=triton.next_power_of_2(R), BN=triton.next_power_of_2(N))
    return y


# ---------------------------------------------------------------------------------------------------------------
# One policy for how a Mamba-1 model (Mamba, the Mamba layers of Jamba) trains and runs full forwards.

MAMBA_PATHS = ("auto", "kernels", "triton", "mambapy", "torch")


def select_mamba_path(model, path: str = "auto", scan_chunk: int | None = None, device=None) -> str:
    """Set how ``model``'s Mamba-1 mixers run full sequences and return a line that says which path is on.

    ``kernels``: the mamba-ssm + causal-conv1d CUDA kernels (fastest, 3x less memory than the Triton scan; a source
    build, docs/TRAINING.md); ``triton``: toolssm's Triton scan (no build); ``mambapy``: mambapy's parallel scan
    (PyTorch, much memory); ``torch``: transformers' sequential scan (slowest). ``auto``: the first of these that
    the machine has for ``device`` (default: where the model is). Other architectures are left as they are."""
    if path not in MAMBA_PATHS:
        raise ValueError(f"unknown Mamba path {path!r}; choose from {MAMBA_PATHS}")
    mt = getattr(model.config, "model_type", "")
    if mt not in ("mamba", "jamba"):
        if mt == "mamba2":
            return "mamba2: " + ("mamba-ssm kernels" if cuda_kernels_installed() and USE_CUDA_KERNELS else "PyTorch chunked scan")
        return f"{mt}: standard PyTorch modules"
    cuda = torch.device(device or next(model.parameters()).device).type == "cuda"
    # transformers 5.24's mambapy branch multiplies its float32 states by the weights' dtype (C) and fails for bfloat16
    # or float16 weights ("expected m1 and m2 to have the same dtype"; found 2026-12-07 by `launch.py rehearse`: a 130M
    # run's bf16 evaluation on the CPU); its sequential branch casts, so ``auto`` takes it for such weights
    dtype = next(model.parameters()).dtype
    full_precision = dtype == torch.float32
    have = {"kernels": cuda and cuda_kernels_installed(), "triton": cuda and triton is not None,
            "mambapy": importlib.util.find_spec("mambapy") is not None and full_precision, "torch": True}
    if path == "auto":
        path = next(p for p in MAMBA_PATHS[1:] if have[p])
    elif not have[path]:
        need = {"kernels": "a CUDA GPU and mamba-ssm + causal-conv1d (scripts/gpu/build_kernels.sh)", "triton": "a CUDA GPU and triton",
                "mambapy": "the mambapy package" if full_precision else
                           f"float32 weights (transformers' mambapy branch fails for {dtype}; use 'torch')"}[path]
        raise ValueError(f"Mamba path {path!r} needs {need}")
    disable_triton_scan()
    if path == "triton":
        enable_triton_scan(chunk=scan_chunk)
    use_cuda_kernels(path == "kernels")
    model.config.use_mambapy = path == "mambapy"
    for module in model.modules():  # every Mamba-1 mixer reads its own flag
        if hasattr(module, "use_mambapy"):
            module.use_mambapy = path == "mambapy"
    return {"kernels": f"{mt}: mamba-ssm + causal-conv1d CUDA kernels", "triton": f"{mt}: toolssm Triton selective scan (K={SCAN_CHUNK}), convolution and projections in PyTorch",
            "mambapy": f"{mt}: mambapy parallel scan", "torch": f"{mt}: transformers' sequential PyTorch scan (slowest)"}[path] + (
        "" if path == "kernels" or not cuda else "; for the fastest path build the kernels: bash scripts/gpu/build_kernels.sh (docs/TRAINING.md)")
