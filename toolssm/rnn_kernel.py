"""A fused LSTM/GRU decoding step for :class:`toolssm.fast.RNNStepper`: one Triton kernel per layer and one for the
head, instead of ~14 PyTorch operations per layer.

Why: the device-side tool loop (:mod:`toolssm.device_loop`) replays many decoding steps per CUDA graph, so a step
costs what its kernels cost. The written-out cell of ``RNNStepper`` is two ``F.linear`` and a dozen pointwise
kernels per layer, plus embedding, LayerNorm, head and argmax: ~35 graph nodes at ~1.5-2 us each, whatever the
batch (a 256-unit LSTM step timed 54-89 us on the H200 at batch 1-256, results/h200_benchmarks/tool-loop-device),
while the bytes it moves (2 MiB of weights) take ~1 us. Here a step is ``L + 2`` kernels:

- ``_layer`` (grid: rows x blocks of ``BH`` hidden units): the input (the embedding row of the fed id for layer 0,
  the layer below's new state otherwise) and the old state ``h`` of this row are dotted with this block's rows of
  ``W_ih`` and ``W_hh`` (all gates: LSTM i, f, g, o; GRU r, z, n with the n gate's two halves kept apart), then the
  cell update; ``c`` is updated in place (each program owns its units), the new ``h`` goes to a second buffer
  (other programs of the row still read the old one);
- ``_head`` (a program per row): LayerNorm of the top layer's new state, the head's logits (written, float32), and
  the greedy id over the first ``V`` logits (the lowest index among equal maxima, as ``torch.argmax``);
- one copy of the new states into ``h``.

From ``ROW_BLOCK_MIN_BATCH`` rows on (off by default: slower where measured), both kernels take ``BR`` rows a program (``_layer_rows``, ``_head_rows``: the
products as ``tl.dot`` in IEEE float32), so a block of weights is read once for BR rows instead of once a row: at
batch 256 the one-row kernels reread the 2 MiB of a 256-unit LSTM's weights 256 times a step (117 us against 89 us
for the PyTorch cell on the H200).
Both layer kernels share one gate helper (``_gates``, one row or ``ROWS`` of them by a compile-time flag); on
2026-12-04 it replaced two copies without changing the code the GPU runs: ``python scripts/ptx_diff.py 5933dd7``
compiles all 18 variants for sm_90 from both revisions, without a GPU, and finds the same instructions in each.

Every product is accumulated in float32 (no TF32), so the logits equal the PyTorch step's up to the order of the
sums (tests/test_fast.py: CPU, Triton's interpreter, and the compile for sm_90; GPU: ``pytest -m gpu`` and the device-loop benchmark,
which asserts the device loop's tokens equal the host loop's).
"""

from __future__ import annotations

import sys

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - CPU machines without triton
    triton = None

if triton is not None:

    @triton.jit
    def _gates(w_ptr, b_ptr, v_src, mr, IN, H, units, mu, LSTM: tl.constexpr, HAS_BIAS: tl.constexpr, ROWS: tl.constexpr,
               BR: tl.constexpr, BH: tl.constexpr, BK: tl.constexpr):
        """W[g * H + units, :] . v (+ b[g * H + units]) for the gates g = 0..3 (LSTM) or 0..2 (GRU; the fourth is 0),
        float32. One row (``ROWS`` false): ``v_src`` points at its input vector, results (BH,). ``ROWS``: ``v_src`` (BR,)
        points at each of BR rows' vectors (``mr`` masks them), products by tl.dot, results (BR, BH). ``ROWS`` is a
        compile-time constant, so each kernel compiles only its own branch."""
        if ROWS:
            a0 = tl.zeros((BR, BH), dtype=tl.float32)
        else:
            a0 = tl.zeros((BH,), dtype=tl.float32)
        a1 = tl.zeros_like(a0)
        a2 = tl.zeros_like(a0)
        a3 = tl.zeros_like(a0)
        k0 = 0
        while k0 < IN:  # (while, not range(): Triton's CPU interpreter cannot range() over a runtime scalar)
            k = k0 + tl.arange(0, BK)
            mk = k < IN
            k0 += BK
            if ROWS:
                v = tl.load(v_src[:, None] + k[None, :], mask=mr[:, None] & mk[None, :], other=0.0).to(tl.float32)
            else:
                v = tl.load(v_src + k, mask=mk, other=0.0).to(tl.float32)
            a0 += _dot(w_ptr, 0 * H, v, k, mk, units, mu, IN, ROWS)
            a1 += _dot(w_ptr, 1 * H, v, k, mk, units, mu, IN, ROWS)
            a2 += _dot(w_ptr, 2 * H, v, k, mk, units, mu, IN, ROWS)
            if LSTM:
                a3 += _dot(w_ptr, 3 * H, v, k, mk, units, mu, IN, ROWS)
        if HAS_BIAS:
            a0 += _bias(b_ptr + 0 * H, units, mu, ROWS)
            a1 += _bias(b_ptr + 1 * H, units, mu, ROWS)
            a2 += _bias(b_ptr + 2 * H, units, mu, ROWS)
            if LSTM:
                a3 += _bias(b_ptr + 3 * H, units, mu, ROWS)
        return a0, a1, a2, a3

    @triton.jit
    def _dot(w_ptr, row0, v, k, mk, units, mu, IN, ROWS: tl.constexpr):
        """One chunk of k of the products, float32: sum_k W[row0 + units, k] * v[k] for one row (v (BK,) -> (BH,)), or
        (ROWS) v (BR, BK) @ W[row0 + units, k]^T -> (BR, BH) by tl.dot in IEEE float32 (no TF32)."""
        if ROWS:
            w = tl.load(w_ptr + (row0 + units)[None, :] * IN + k[:, None], mask=mk[:, None] & mu[None, :], other=0.0)
            return tl.dot(v, w.to(tl.float32), input_precision="ieee")
        else:
            w = tl.load(w_ptr + (row0 + units)[:, None] * IN + k[None, :], mask=mu[:, None] & mk[None, :], other=0.0)
            return tl.sum(w.to(tl.float32) * v[None, :], axis=1)

    @triton.jit
    def _bias(b_ptr, units, mu, ROWS: tl.constexpr):
        b = tl.load(b_ptr + units, mask=mu, other=0.0).to(tl.float32)
        if ROWS:
            return b[None, :]
        else:
            return b

    @triton.jit
    def _layer(ids_ptr, emb_ptr, x_ptr, h_ptr, c_ptr, hout_ptr, wih_ptr, whh_ptr, bih_ptr, bhh_ptr, IN, H,
               FIRST: tl.constexpr, LSTM: tl.constexpr, HAS_BIAS: tl.constexpr, BH: tl.constexpr, BK: tl.constexpr):
        b = tl.program_id(0)
        units = tl.program_id(1) * BH + tl.arange(0, BH)
        mu = units < H
        if FIRST:
            xrow = emb_ptr + tl.load(ids_ptr + b) * IN
        else:
            xrow = x_ptr + b * IN
        hrow = h_ptr + b * H
        # the input's and the old state's halves of every gate (LSTM i, f, g, o; GRU r, z, n), kept apart because the
        # GRU's r multiplies the state half of n alone
        a0, a1, a2, a3 = _gates(wih_ptr, bih_ptr, xrow, mu, IN, H, units, mu, LSTM, HAS_BIAS, False, 1, BH, BK)
        g0, g1, g2, g3 = _gates(whh_ptr, bhh_ptr, hrow, mu, H, H, units, mu, LSTM, HAS_BIAS, False, 1, BH, BK)
        hold = tl.load(hrow + units, mask=mu, other=0.0).to(tl.float32)
        cp = c_ptr + b * H + units
        cold = hold
        if LSTM:
            cold = tl.load(cp, mask=mu, other=0.0).to(tl.float32)
        c, hn = _cell(a0, a1, a2, a3, g0, g1, g2, g3, cold, hold, LSTM)
        if LSTM:
            tl.store(cp, c.to(c_ptr.dtype.element_ty), mask=mu)
        tl.store(hout_ptr + b * H + units, hn.to(hout_ptr.dtype.element_ty), mask=mu)

    @triton.jit
    def _cell(a0, a1, a2, a3, g0, g1, g2, g3, cold, hold, LSTM: tl.constexpr):
        """(new c, new h) from the input halves a* and state halves g* of the gates (any shape; GRU: c is unused)."""
        if LSTM:
            i = tl.sigmoid(a0 + g0)
            f = tl.sigmoid(a1 + g1)
            g = _tanh(a2 + g2)
            o = tl.sigmoid(a3 + g3)
            c = f * cold + i * g
            hn = o * _tanh(c)
        else:
            r = tl.sigmoid(a0 + g0)
            z = tl.sigmoid(a1 + g1)
            n = _tanh(a2 + r * g2)
            c = cold
            hn = (1.0 - z) * n + z * hold
        return c, hn

    # --- row-blocked variants: BR rows a program, so each weight block is read once for BR rows (at batch 256 the
    # one-row kernels above read the 2 MiB of weights 256 times a step). Products are tl.dot in IEEE float32 (no TF32).

    @triton.jit
    def _layer_rows(ids_ptr, emb_ptr, x_ptr, h_ptr, c_ptr, hout_ptr, wih_ptr, whh_ptr, bih_ptr, bhh_ptr, B, IN, H,
                    FIRST: tl.constexpr, LSTM: tl.constexpr, HAS_BIAS: tl.constexpr, BR: tl.constexpr, BH: tl.constexpr,
                    BK: tl.constexpr):
        rows = tl.program_id(0) * BR + tl.arange(0, BR)
        mr = rows < B
        units = tl.program_id(1) * BH + tl.arange(0, BH)
        mu = units < H
        if FIRST:
            x_rows = emb_ptr + tl.load(ids_ptr + rows, mask=mr, other=0) * IN
        else:
            x_rows = x_ptr + rows * IN
        a0, a1, a2, a3 = _gates(wih_ptr, bih_ptr, x_rows, mr, IN, H, units, mu, LSTM, HAS_BIAS, True, BR, BH, BK)
        g0, g1, g2, g3 = _gates(whh_ptr, bhh_ptr, h_ptr + rows * H, mr, H, H, units, mu, LSTM, HAS_BIAS, True, BR, BH, BK)
        at = rows[:, None] * H + units[None, :]
        m2 = mr[:, None] & mu[None, :]
        hold = tl.load(h_ptr + at, mask=m2, other=0.0).to(tl.float32)
        cold = hold
        if LSTM:
            cold = tl.load(c_ptr + at, mask=m2, other=0.0).to(tl.float32)
        c, hn = _cell(a0, a1, a2, a3, g0, g1, g2, g3, cold, hold, LSTM)
        if LSTM:
            tl.store(c_ptr + at, c.to(c_ptr.dtype.element_ty), mask=m2)
        tl.store(hout_ptr + at, hn.to(hout_ptr.dtype.element_ty), mask=m2)

    @triton.jit
    def _head_rows(x_ptr, nw_ptr, nb_ptr, w_ptr, logits_ptr, greedy_ptr, B, H, VT, V, eps,
                   BR: tl.constexpr, HP: tl.constexpr, VP: tl.constexpr, BK: tl.constexpr):
        """:func:`_head` for BR rows at once (the head's weight read once for them)."""
        rows = tl.program_id(0) * BR + tl.arange(0, BR)
        mr = rows < B
        d = tl.arange(0, HP)
        md = d < H
        x = tl.load(x_ptr + rows[:, None] * H + d[None, :], mask=mr[:, None] & md[None, :], other=0.0).to(tl.float32)
        mean = tl.sum(x, axis=1) / H
        xc = tl.where(md[None, :], x - mean[:, None], 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(xc * xc, axis=1) / H + eps)
        vv = tl.arange(0, VP)
        mv = vv < VT
        acc = tl.zeros((BR, VP), dtype=tl.float32)
        k0 = 0
        while k0 < H:
            k = k0 + tl.arange(0, BK)
            mk = k < H
            k0 += BK
            xk = tl.load(x_ptr + rows[:, None] * H + k[None, :], mask=mr[:, None] & mk[None, :], other=0.0).to(tl.float32)
            y = ((xk - mean[:, None]) * rstd[:, None] * tl.load(nw_ptr + k, mask=mk, other=0.0).to(tl.float32)[None, :]
                 + tl.load(nb_ptr + k, mask=mk, other=0.0).to(tl.float32)[None, :])
            y = tl.where(mk[None, :], y.to(nw_ptr.dtype.element_ty).to(tl.float32), 0.0)
            w = tl.load(w_ptr + vv[None, :] * H + k[:, None], mask=mk[:, None] & mv[None, :], other=0.0)
            acc += tl.dot(y, w.to(tl.float32), input_precision="ieee")
        acc = acc.to(w_ptr.dtype.element_ty).to(tl.float32)
        tl.store(logits_ptr + rows[:, None] * VT + vv[None, :], acc, mask=mr[:, None] & mv[None, :])
        best = tl.argmax(tl.where(vv[None, :] < V, acc, float("-inf")), axis=1)
        tl.store(greedy_ptr + rows, best.to(tl.int64), mask=mr)

    @triton.jit
    def _tanh(x):
        # tanh(x) = 1 - 2 / (exp(2x) + 1): exact at both tails in float32 (exp overflows to inf -> 1, underflows -> -1)
        return 1.0 - 2.0 / (tl.exp(2.0 * x) + 1.0)

    @triton.jit
    def _head(x_ptr, nw_ptr, nb_ptr, w_ptr, logits_ptr, greedy_ptr, H, VT, V, eps,
              HP: tl.constexpr, VP: tl.constexpr, BK: tl.constexpr):
        b = tl.program_id(0)
        d = tl.arange(0, HP)
        md = d < H
        x = tl.load(x_ptr + b * H + d, mask=md, other=0.0).to(tl.float32)
        mean = tl.sum(x, axis=0) / H
        xc = tl.where(md, x - mean, 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(xc * xc, axis=0) / H + eps)
        vv = tl.arange(0, VP)
        mv = vv < VT
        acc = tl.zeros((VP,), dtype=tl.float32)
        k0 = 0
        while k0 < H:
            k = k0 + tl.arange(0, BK)
            mk = k < H
            k0 += BK
            xk = tl.load(x_ptr + b * H + k, mask=mk, other=0.0).to(tl.float32)
            y = (xk - mean) * rstd * tl.load(nw_ptr + k, mask=mk, other=0.0).to(tl.float32) + tl.load(nb_ptr + k, mask=mk, other=0.0).to(tl.float32)
            y = y.to(nw_ptr.dtype.element_ty).to(tl.float32)  # the LayerNorm's output dtype, as the model's head sees it
            w = tl.load(w_ptr + vv[:, None] * H + k[None, :], mask=mv[:, None] & mk[None, :], other=0.0)
            acc += tl.sum(w.to(tl.float32) * y[None, :], axis=1)
        acc = acc.to(w_ptr.dtype.element_ty).to(tl.float32)  # the head's output dtype, then .float() as the model
        tl.store(logits_ptr + b * VT + vv, acc, mask=mv)
        best = tl.argmax(tl.where(vv < V, acc, float("-inf")), axis=0)
        tl.store(greedy_ptr + b, best.to(tl.int64))


BH, BK = 32, 64  # hidden units per program; inputs per chunk of the dot products
#: batches of at least this many rows use the row-blocked kernels (BR rows a program, tl.dot); smaller ones one row a
#: program. [decision, 2026-12-04] off by default: on the H200 the row-blocked step took 358 / 409 us at batch 1 / 16
#: against 44 / 49 us for the one-row kernels (forced both ways, results/h200_benchmarks, job tool-loop-rnn-fused; the
#: GPU was shared with evaluations then, and batches of 32 and more were not reached). Set it to try them; their
#: results equal the PyTorch cell's (tests/test_fast.py, CPU and GPU).
ROW_BLOCK_MIN_BATCH = 1 << 30
BR, BK_ROWS = 16, 32  # rows a program (tl.dot needs 16); inputs per chunk in the row-blocked kernels


def _layer_weights(model) -> list[tuple]:
    """(W_ih, W_hh, b_ih, b_hh) of each layer of ``model.rnn`` (biases None without them)."""
    rnn = model.rnn
    bias = getattr(rnn, "bias", True)
    return [(getattr(rnn, f"weight_ih_l{i}"), getattr(rnn, f"weight_hh_l{i}"), getattr(rnn, f"bias_ih_l{i}", None) if bias else None,
             getattr(rnn, f"bias_hh_l{i}", None) if bias else None) for i in range(rnn.num_layers)]


def check_model(model) -> None:
    """Refuse a model the kernels cannot read (once, when a stepper is made, not every step): weights not
    contiguous, or a LayerNorm without weight and bias."""
    for t in (t for ws in _layer_weights(model) for t in ws):
        if t is not None and not t.is_contiguous():
            raise ValueError("the fused RNN step needs contiguous weights (call model.rnn.flatten_parameters() or .contiguous())")
    if model.norm.weight is None or model.norm.bias is None:
        raise ValueError("the fused RNN step expects the model's LayerNorm with weight and bias")


def rnn_step(ids: torch.Tensor, model, h: torch.Tensor, c: torch.Tensor | None, h_new: torch.Tensor,
             logits: torch.Tensor, greedy: torch.Tensor, vocab_size: int | None = None) -> None:
    """One decoding step of a :class:`toolssm.rnn.ToolSSMRNNForCausalLM` on ``ids`` (B,): updates ``h`` (L, B, H)
    and ``c`` (LSTM) in place, writes the float32 logits (B, VT) and the greedy ids (B,) over the first
    ``vocab_size`` logits into the given buffers. ``h_new`` is scratch of ``h``'s shape."""
    L, Bsz, H = h.shape
    lstm = model.config.cell == "lstm"
    rows = Bsz >= ROW_BLOCK_MIN_BATCH
    for layer, (wih, whh, bih, bhh) in enumerate(_layer_weights(model)):
        IN = wih.shape[1]
        x_in = h_new[layer - 1] if layer else h_new[0]  # unused for layer 0 (FIRST reads the embedding)
        args = (ids, model.embed.weight, x_in, h[layer], c[layer] if lstm else h[layer], h_new[layer], wih, whh,
                bih if bih is not None else wih, bhh if bhh is not None else whh)
        flags = dict(FIRST=layer == 0, LSTM=lstm, HAS_BIAS=bih is not None, BH=BH)
        if rows:
            _layer_rows[(triton.cdiv(Bsz, BR), triton.cdiv(H, BH))](*args, Bsz, IN, H, BR=BR, BK=BK_ROWS, **flags)
        else:
            _layer[(Bsz, triton.cdiv(H, BH))](*args, IN, H, BK=BK, **flags)
    norm, head = model.norm, model.lm_head
    VT = head.weight.shape[0]
    hargs = (h_new[L - 1], norm.weight, norm.bias, head.weight, logits, greedy)
    if rows:
        _head_rows[(triton.cdiv(Bsz, BR),)](*hargs, Bsz, H, VT, vocab_size or VT, norm.eps, BR=BR, HP=triton.next_power_of_2(H),
                                            VP=triton.next_power_of_2(VT), BK=BK_ROWS, num_warps=8)
    else:
        _head[(Bsz,)](*hargs, H, VT, vocab_size or VT, norm.eps, HP=triton.next_power_of_2(H), VP=triton.next_power_of_2(VT),
                      BK=32, num_warps=8)
    h.copy_(h_new)


def compile_variants(kernels=None, arch: int = 90, hidden: int = 256, vocab: int = 128) -> dict[str, str]:
    """PTX of every kernel variant ``rnn_step`` launches (one-row and row-blocked, LSTM and GRU, first and later
    layers, the heads; the launch's constexprs and warps) for CUDA arch ``arch``, compiled without a GPU by Triton's
    own compiler. ``kernels``: a module (or namespace) holding ``_layer``, ``_layer_rows``, ``_head``, ``_head_rows``
    (default: this one; scripts/ptx_diff.py passes an older revision's). Needs Triton's interpreter off
    (TRITON_INTERPRET unset when the kernels were defined)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    k = kernels or sys.modules[__name__]
    target = GPUTarget("cuda", arch, 32)

    def build(fn, num_warps: int = 4, **const):
        names = fn.arg_names
        sig = {n: "constexpr" if n in const else ("*i64" if n in ("ids_ptr", "greedy_ptr") else "*fp32") if n.endswith("_ptr")
               else "fp32" if n == "eps" else "i32" for n in names}
        src = ASTSource(fn=fn, signature=sig, constexprs={(names.index(c),): v for c, v in const.items()})
        return triton.compile(src, target=target, options={"num_warps": num_warps}).asm["ptx"]

    out = {}
    for lstm in (True, False):
        for first in (True, False):
            for bias in (True, False):
                cell = f"{'lstm' if lstm else 'gru'}{'-first' if first else ''}{'' if bias else '-nobias'}"
                out[f"_layer/{cell}"] = build(k._layer, FIRST=first, LSTM=lstm, HAS_BIAS=bias, BH=BH, BK=BK)
                out[f"_layer_rows/{cell}"] = build(k._layer_rows, FIRST=first, LSTM=lstm, HAS_BIAS=bias, BR=BR, BH=BH, BK=BK_ROWS)
    hp, vp = triton.next_power_of_2(hidden), triton.next_power_of_2(vocab)
    out["_head"] = build(k._head, num_warps=8, HP=hp, VP=vp, BK=32)
    out["_head_rows"] = build(k._head_rows, num_warps=8, BR=BR, HP=hp, VP=vp, BK=BK_ROWS)
    return out
