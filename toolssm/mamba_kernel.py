"""A Mamba-1 decoding step in three Triton kernels per layer, for :class:`toolssm.fast.MambaStepper` (``fused="layer"``).

Why: at batch 1 a decoding step costs what its kernels cost, not the bytes it moves. The first fused step
(:func:`toolssm.kernels.rmsnorm`, ``conv_step``, ``ssm_step`` and three cuBLAS products) is six kernels a layer: 567 us
a step for the 130M shape on the H200 at batch 1 (24 layers, ~24 us a layer), 6.1x its 92 us byte floor
(benchmarks/results/h200, issue 25). Here every product is split over blocks of the inner channels ``e``, so a layer
is three kernels and no cuBLAS call:

- ``_in_kernel`` (grid: rows x blocks of ``BE`` channels): the layer's input (the embedding row of the fed id for the
  first layer, the residual stream ``h`` otherwise), its RMSNorm (each program recomputes the row's norm: ``D``
  numbers), this block's rows of ``in_proj`` for both halves (``x`` and the gate ``z``), the causal-conv step + SiLU
  on ``x`` (its conv state updated in place: each program owns its channels), and this block's share of ``x_proj``
  (``W_x[:, block] @ xc[block]``), written as a partial sum ``q[block]``;
- ``_out_kernel`` (same grid): ``x_proj``'s partial sums added up (``R + 2N`` numbers a block), ``dt_proj`` +
  softplus, the selective-state update of this block's channels (float32 state, in place), ``y = (C.h + D x) *
  silu(z)``, and this block's share of ``out_proj`` (``W_out[:, block] @ y[block]``), written as a partial sum
  ``p[block]``;
- ``_residual_kernel`` (grid: rows x blocks of the model width): ``h += sum of p`` (the residual add).

The model's width and the number of channel blocks are compile-time constants, so the loops over them are unrolled
and a program issues its loads without waiting for each other (a loop over a runtime bound waits for each chunk's
load before the next; at an estimated 0.5-1 us a load from L2, 96 partial sums added one by one would cost more than
the launches saved: not measured).
Partial sums in buffers, not atomics: the sums are added in a fixed order, so a step is deterministic (the same ids
give the same logits bit for bit). Everything is computed in float32 and the residual stream is float32; with float32
weights the logits equal the reference step's up to the order of the sums (tests/test_fast.py, Triton's interpreter on
CPU; the GPU suite and the benchmark on CUDA). One row a program: a block of weights is read once a row, so this is a
small-batch kernel; above :data:`LAYER_MAX_BATCH` rows, and for models wider than :data:`LAYER_MAX_WIDTH` (where it
was measured slower), the stepper keeps the six-kernel step (the products as cuBLAS matrix products read the weights
once for all rows).
"""

from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - CPU machines without triton
    triton = None

#: where ``fused=None`` picks this step on CUDA: up to this many rows and a model at most this wide, from the first
#: timing (H100, 2026-12-07, results/h200_benchmarks/mamba-layer-step, us a step under CUDA graphs against the
#: six-kernel step): the small preset (width 256) 48 vs 72 at batch 1, 105 vs 267 at 8, 118 vs 135 at 64 (but its host
#: loop was 0.87x at 64); the 130M shape (width 768) 649 vs 602 at 1, 1,007 vs 1,120 at 8, 4,948 vs 1,419 at 64.
LAYER_MAX_BATCH = 8
LAYER_MAX_WIDTH = 256

if triton is not None:
    from .kernels import conv_silu, ssm_update  # the conv step and the SSM update, shared with the six-kernel step

    @triton.jit
    def _in_kernel(ids_ptr, emb_ptr, h_ptr, nw_ptr, win_ptr, cw_ptr, cb_ptr, wx_ptr, conv_ptr, xc_ptr, z_ptr, q_ptr,
                   NB, E, W, eps, D: tl.constexpr, FIRST: tl.constexpr, HAS_CONV_BIAS: tl.constexpr, K: tl.constexpr,
                   BE: tl.constexpr, BK: tl.constexpr, BW: tl.constexpr, BDA: tl.constexpr):
        b = tl.program_id(0)
        j = tl.program_id(1)
        e = j * BE + tl.arange(0, BE)
        me = e < E
        if FIRST:
            src = emb_ptr + tl.load(ids_ptr + b) * D
        else:
            src = h_ptr + b * D
        # the row's RMSNorm from one load of the whole row (BDA >= D); the residual stream starts as the embedding
        kd = tl.arange(0, BDA)
        row = tl.load(src + kd, mask=kd < D, other=0.0).to(tl.float32)
        if FIRST:
            if j == 0:
                tl.store(h_ptr + b * D + kd, row, mask=kd < D)
        rstd = tl.rsqrt(tl.sum(row * row, axis=0) / D + eps)
        # both halves of in_proj for this block's channels; the chunks of k are unrolled (D is a compile-time
        # constant), so their loads need not wait for each other
        ax = tl.zeros((BE,), dtype=tl.float32)
        az = tl.zeros((BE,), dtype=tl.float32)
        for k0 in tl.static_range(0, D, BK):
            k = k0 + tl.arange(0, BK)
            mk = k < D
            v = tl.load(src + k, mask=mk, other=0.0).to(tl.float32) * rstd
            v = v * tl.load(nw_ptr + k, mask=mk, other=0.0).to(tl.float32)
            m2 = me[:, None] & mk[None, :]
            wx = tl.load(win_ptr + e[:, None] * D + k[None, :], mask=m2, other=0.0).to(tl.float32)
            wz = tl.load(win_ptr + (E + e[:, None]) * D + k[None, :], mask=m2, other=0.0).to(tl.float32)
            ax += tl.sum(wx * v[None, :], axis=1)
            az += tl.sum(wz * v[None, :], axis=1)
        xc = tl.where(me, conv_silu(conv_ptr, cw_ptr, cb_ptr, ax, b, e, me, E, HAS_CONV_BIAS, K), 0.0)  # conv step + SiLU
        tl.store(xc_ptr + b * E + e, xc, mask=me)
        tl.store(z_ptr + b * E + e, az, mask=me)
        # this block's share of x_proj: q[j, b, :] = W_x[:, e] @ xc[e]
        w = tl.arange(0, BW)
        mw = w < W
        wxp = tl.load(wx_ptr + w[:, None] * E + e[None, :], mask=mw[:, None] & me[None, :], other=0.0).to(tl.float32)
        tl.store(q_ptr + (j * NB + b) * W + w, tl.sum(wxp * xc[None, :], axis=1), mask=mw)

    @triton.jit
    def _out_kernel(xc_ptr, z_ptr, q_ptr, dtw_ptr, dtb_ptr, alog_ptr, dskip_ptr, ssm_ptr, wout_ptr, p_ptr, NB, E, R, N,
                    D: tl.constexpr, NQ: tl.constexpr, BE: tl.constexpr, BR: tl.constexpr, BN: tl.constexpr,
                    BD: tl.constexpr, BQ: tl.constexpr):
        b = tl.program_id(0)
        j = tl.program_id(1)
        e = j * BE + tl.arange(0, BE)
        r = tl.arange(0, BR)
        n = tl.arange(0, BN)
        me, mr, mn = e < E, r < R, n < N
        W = R + 2 * N
        # x_proj = the partial sums of every block of _in_kernel, added in block order, BQ blocks a load
        dtr = tl.zeros((BR,), dtype=tl.float32)
        bv = tl.zeros((BN,), dtype=tl.float32)
        cv = tl.zeros((BN,), dtype=tl.float32)
        for i0 in tl.static_range(0, NQ, BQ):
            i = i0 + tl.arange(0, BQ)
            mi = i < NQ
            qrow = q_ptr + (i[:, None] * NB + b) * W
            dtr += tl.sum(tl.load(qrow + r[None, :], mask=mi[:, None] & mr[None, :], other=0.0), axis=0)
            bv += tl.sum(tl.load(qrow + R + n[None, :], mask=mi[:, None] & mn[None, :], other=0.0), axis=0)
            cv += tl.sum(tl.load(qrow + R + N + n[None, :], mask=mi[:, None] & mn[None, :], other=0.0), axis=0)
        # dt_proj + softplus, the state update, the D skip and the gate (toolssm.kernels.ssm_update)
        x = tl.load(xc_ptr + b * E + e, mask=me, other=0.0)
        z = tl.load(z_ptr + b * E + e, mask=me, other=0.0)
        y = ssm_update(dtr, bv, cv, x, z, dtw_ptr, dtb_ptr, alog_ptr, dskip_ptr, ssm_ptr, b, e, r, n, me, mr, mn, E, R, N)
        y = tl.where(me, y, 0.0)
        # this block's share of out_proj: p[j, b, :] = W_out[:, e] @ y[e] (the chunks of d unrolled)
        for d0 in tl.static_range(0, D, BD):
            d = d0 + tl.arange(0, BD)
            md = d < D
            wo = tl.load(wout_ptr + d[:, None] * E + e[None, :], mask=md[:, None] & me[None, :], other=0.0).to(tl.float32)
            tl.store(p_ptr + (j * NB + b) * D + d, tl.sum(wo * y[None, :], axis=1), mask=md)

    @triton.jit
    def _residual_kernel(h_ptr, p_ptr, NB, D, NP: tl.constexpr, BD: tl.constexpr, BQ: tl.constexpr):
        b = tl.program_id(0)
        d = tl.program_id(1) * BD + tl.arange(0, BD)
        md = d < D
        acc = tl.zeros((BD,), dtype=tl.float32)
        for i0 in tl.static_range(0, NP, BQ):  # BQ partial rows a load, in block order
            i = i0 + tl.arange(0, BQ)
            acc += tl.sum(tl.load(p_ptr + (i[:, None] * NB + b) * D + d[None, :], mask=(i < NP)[:, None] & md[None, :], other=0.0), axis=0)
        hp = h_ptr + b * D + d
        tl.store(hp, tl.load(hp, mask=md, other=0.0) + acc, mask=md)


class LayerStep:
    """The scratch buffers of the three-kernel step for one model and batch size, and the step itself."""

    BE = 16  # channels a program: 96 programs a row for the 130M shape's 1,536 channels
    BK = 128
    BD = 128
    BQ = 16  # partial sums added BQ blocks a load

    def __init__(self, model, batch_size: int, block_channels: int | None = None):
        if triton is None:
            raise ValueError('fused="layer" needs triton')
        if block_channels is not None:  # a power of two (tl.arange); the benchmark's sweep (--layer-block-channels)
            if block_channels < 1 or block_channels & (block_channels - 1):
                raise ValueError(f"block_channels must be a power of two, not {block_channels}")
            self.BE = block_channels
        check_model(model)
        cfg = model.config
        self.model = model
        B, D, E = batch_size, cfg.hidden_size, cfg.intermediate_size
        mx = model.backbone.layers[0].mixer
        self.R, self.N, self.K = mx.time_step_rank, mx.ssm_state_size, cfg.conv_kernel
        self.W = self.R + 2 * self.N
        self.nblk = triton.cdiv(E, self.BE)
        dev = next(model.parameters()).device
        f32 = dict(dtype=torch.float32, device=dev)
        self.h = torch.zeros(B, D, **f32)  # the residual stream
        self.xc = torch.zeros(B, E, **f32)
        self.z = torch.zeros(B, E, **f32)
        self.q = torch.zeros(self.nblk, B, self.W, **f32)  # x_proj partial sums
        self.p = torch.zeros(self.nblk, B, D, **f32)  # out_proj partial sums
        self.B, self.D, self.E = B, D, E

    def __call__(self, ids: torch.Tensor, conv: torch.Tensor, ssm: torch.Tensor) -> torch.Tensor:
        """The final hidden state (rows, D) float32 after every layer; ``conv`` (L, rows, E, K) and ``ssm``
        (L, rows, E, N) are updated in place."""
        bb = self.model.backbone
        B, D, E = self.B, self.D, self.E
        grid = (B, self.nblk)
        emb = bb.embeddings.weight
        for i, layer in enumerate(bb.layers):
            mx = layer.mixer
            cb = mx.conv1d.bias
            _in_kernel[grid](ids, emb, self.h, layer.norm.weight, mx.in_proj.weight, mx.conv1d.weight, cb if cb is not None else mx.conv1d.weight,
                             mx.x_proj.weight, conv[i], self.xc, self.z, self.q, B, E, self.W, layer.norm.variance_epsilon,
                             D=D, FIRST=i == 0, HAS_CONV_BIAS=cb is not None, K=self.K, BE=self.BE, BK=self.BK,
                             BW=triton.next_power_of_2(self.W), BDA=triton.next_power_of_2(D))
            _out_kernel[grid](self.xc, self.z, self.q, mx.dt_proj.weight, mx.dt_proj.bias, mx.A_log, mx.D, ssm[i], mx.out_proj.weight,
                              self.p, B, E, self.R, self.N, D=D, NQ=self.nblk, BE=self.BE, BR=triton.next_power_of_2(self.R),
                              BN=triton.next_power_of_2(self.N), BD=self.BD, BQ=self.BQ)
            _residual_kernel[(B, triton.cdiv(D, self.BD))](self.h, self.p, B, D, NP=self.nblk, BD=self.BD, BQ=self.BQ)
        return self.h


def by_default(model, batch_size: int) -> bool:
    """Whether ``MambaStepper(fused=None)`` on CUDA takes this step: small batches of narrow models (where it was
    measured faster, :data:`LAYER_MAX_BATCH`, :data:`LAYER_MAX_WIDTH`; float32 weights, as timed and tested) that it
    covers (``check_model``)."""
    if batch_size > LAYER_MAX_BATCH or model.config.hidden_size > LAYER_MAX_WIDTH:
        return False
    if next(model.parameters()).dtype != torch.float32:
        return False
    try:
        check_model(model)
    except ValueError:
        return False
    return True


def check_model(model) -> None:
    """Raise ValueError for a Mamba model the three-kernel step does not cover: biases on the projections, a conv
    kernel width that is not a power of two (``tl.arange``)."""
    mx = model.backbone.layers[0].mixer
    for name in ("in_proj", "x_proj", "out_proj"):
        if getattr(mx, name).bias is not None:
            raise ValueError(f'fused="layer" does not cover a bias on {name} (config use_bias=True); use fused=True')
    k = model.config.conv_kernel
    if k & (k - 1):
        raise ValueError(f'fused="layer" needs a power-of-two conv kernel width, not {k}; use fused=True')


def compile_variants(arch: int = 90) -> dict[str, str]:
    """PTX of the kernels :class:`LayerStep` launches for the 130M shape (first and later layers' input kernel, the
    output and residual kernels) for CUDA arch ``arch``, compiled without a GPU by Triton's compiler and ptxas: the CPU
    tests run the kernels in Triton's interpreter, which does not compile them. Needs the interpreter off."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    out = {}
    shapes = dict(D=768, NQ=96, NP=96, K=4, BE=LayerStep.BE, BK=LayerStep.BK, BW=128, BR=64, BN=16, BD=LayerStep.BD, BQ=LayerStep.BQ,
                  BDA=1024)  # the 130M shape: width 768, 1,536 channels (96 blocks), dt rank 48, state 16
    for fn, name, const in ((_in_kernel, "_in_kernel/first", dict(FIRST=True, HAS_CONV_BIAS=True)),
                            (_in_kernel, "_in_kernel", dict(FIRST=False, HAS_CONV_BIAS=True)),
                            (_out_kernel, "_out_kernel", {}), (_residual_kernel, "_residual_kernel", {})):
        if not hasattr(fn, "arg_names"):
            raise RuntimeError("Triton's interpreter is on (TRITON_INTERPRET=1): it does not compile")
        c = dict(const, **{k: v for k, v in shapes.items() if k in fn.arg_names})
        sig = {n: "constexpr" if n in c else "*i64" if n == "ids_ptr" else "*fp32" if n.endswith("_ptr") else "fp32" if n == "eps" else "i32"
               for n in fn.arg_names}
        src = ASTSource(fn=fn, signature=sig, constexprs={(fn.arg_names.index(k),): v for k, v in c.items()})
        out[name] = triton.compile(src, target=GPUTarget("cuda", arch, 32), options={"num_warps": 4}).asm["ptx"]
    return out
