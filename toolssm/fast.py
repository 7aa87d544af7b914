"""Decoding steps for the tool loop: the model's cache API, or static state buffers replayed as a CUDA graph.

The tool loop (:mod:`toolssm.generation`) feeds one token per row per step. How a step runs is a *stepper*:

- :class:`CacheStepper` calls the model's own forward with its cache (``model(input_ids, cache=...)``). It
  drives any causal LM (Mamba, Mamba2, GPT-NeoX, Mistral, LSTM/GRU) and is the reference path.
- :class:`MambaStepper` (Mamba-1) and :class:`RNNStepper` (the LSTM/GRU baselines) keep the recurrent state in
  tensors allocated once and run one decoding step as a fixed sequence of tensor operations on those buffers,
  reading the model's own parameters (no copy, so a model being trained is always seen as it is now). Because
  every step touches the same buffers, on CUDA the whole step (embedding, every layer, the head and the greedy
  argmax) is captured once in a CUDA graph and replayed: one launch per token instead of hundreds of kernel
  launches and the Python of the transformers forward. On CPU the same step runs eagerly.

Prefill (the prompt prefix shared by every row) always goes through the model's own forward, and its cache is
copied into the static buffers, so only the single-token recurrence is re-implemented here. The recurrence
follows transformers 5.24's reference Mamba-1 step (``causal_conv1d_update`` and
``mamba_selective_state_update``): the same dtype casts, the SSM state in float32. tests/test_fast.py checks,
for random models, that logits from these steppers equal one full forward over the final sequences, and the
GPU benchmark checks the CUDA-graph path against the cache path on the device.
"""

from __future__ import annotations

import contextlib
import gc
import os

import torch
import torch.nn.functional as F


@contextlib.contextmanager
def graph_capture(graph: "torch.cuda.CUDAGraph"):
    """``torch.cuda.graph(graph)`` with Python's garbage collector paused while the stream captures.

    A collection inside the capture can destroy an older ``CUDAGraph`` that only a dead reference cycle still held (a
    finished decode loop); its destructor calls ``cudaGraphExecDestroy``, which is not permitted while a stream
    captures, and the capture is invalidated (``operation failed due to a previous error during capture``). Seen in
    the with-kernels GPU suite on 2026-12-07, twice (45740cd, b0ac5fc): the log's ``CUDA warning: operation not
    permitted when stream is capturing (function reset)`` names the destructor, and the same test passed alone 3/3.
    Such garbage is freed by the next collection after the capture, where destroying a graph is allowed. No
    ``gc.collect()`` before it (what ``torch.cuda.graph`` did before ``torch.compiler.config.force_cudagraph_gc``):
    300 ms in an evaluation process on the 2-core CPU, paid at every ``generate_with_tools`` call on CUDA.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with torch.cuda.graph(graph):
            yield
    finally:
        if was_enabled:
            gc.enable()


def _growing_layer_class():
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """transformers' DynamicLayer with its keys and values in a buffer that doubles when full: a decoding step
        writes one position instead of copying the whole cache (DynamicLayer's ``torch.cat``, O(length) a step).
        Measured 2026-12-06 (2-core CPU, Pythia-style small, code fixing at 8 functions, batch 4): that copy was 74%
        of the evaluation's time. ``keys`` / ``values`` stay views of the filled part, so the masks and
        ``get_seq_length`` of the parent class hold, and so does its ``crop`` (a shorter view: the next update writes
        after the kept part)."""

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
                self._buf = None
            n, m = self.keys.shape[-2] if self.keys.dim() == 4 else 0, key_states.shape[-2]
            if self._buf is None or n + m > self._buf[0].shape[-2]:
                cap = max(2 * (n + m), 64)
                new = [x.new_empty(*x.shape[:-2], cap, x.shape[-1]) for x in (key_states, value_states)]
                if n:
                    new[0][..., :n, :], new[1][..., :n, :] = self.keys, self.values
                self._buf = new
            self._buf[0][..., n:n + m, :] = key_states
            self._buf[1][..., n:n + m, :] = value_states
            self.keys, self.values = self._buf[0][..., :n + m, :], self._buf[1][..., :n + m, :]
            return self.keys, self.values

    return GrowingLayer


def _attends(model) -> bool:
    """Whether ``model`` is one of the attention models whose cache is :func:`growing_cache`'s."""
    return getattr(getattr(model, "config", None), "model_type", None) in ("gpt_neox", "mistral", "llama")


def growing_cache(model):
    """A transformers cache for an attention model (GPT-NeoX, Mistral, Llama-like): a layer that attends to every
    position grows by doubling (:func:`_growing_layer_class`); a sliding-window layer (the Mistral-style preset, 512
    tokens) keeps transformers' own DynamicSlidingWindowLayer, which holds the last window of keys only, so a step's
    attention and memory stay O(window) however long the trajectory (a 1,000-node graph is ~38k tokens: the growing
    layer attended over all of them, masked). None for models with another cache (Mamba, hybrids, the RNN baselines)."""
    if not _attends(model):
        return None
    from transformers.cache_utils import Cache, DynamicSlidingWindowLayer, get_layer_types_and_kwargs

    layer = _growing_layer_class()
    types, kwargs = get_layer_types_and_kwargs(model.config)
    return Cache(layers=[DynamicSlidingWindowLayer(**kw) if kind == "sliding_attention" else layer()
                         for kind, kw in zip(types, kwargs)])


class CacheStepper:
    """One step = the model's forward on one token per row through its cache (any causal LM; for attention models
    a cache whose layers grow by doubling, :func:`growing_cache`)."""

    kind = "cache"

    def __init__(self, model, batch_size: int, vocab_size: int | None = None):
        self.model = model
        self.batch_size = batch_size
        self.vocab_size = vocab_size  # greedy argmax over the first vocab_size logits (None: all)
        self.cache = None
        self.logits = None

    #: bytes one chunk of an attention model's prompt may take for its attention scores (B x heads x chunk x length,
    #: float32: what SDPA's math path materializes, as it does for a sliding-window mask). A 1,000-node logical
    #: graph (a 28k-token prompt) at batch 16 asked the H100 for 33 GiB in one forward and failed (2026-12-07).
    prefill_score_bytes = 1 << 30

    def prefill_chunk(self, ids: torch.Tensor) -> int | None:
        """Tokens per forward for the prompt ``ids`` (B, L): None (one forward) unless the model attends and one
        forward's scores would pass :attr:`prefill_score_bytes`."""
        if not _attends(self.model):
            return None
        heads = self.model.config.num_attention_heads
        b, n = ids.shape
        if b * heads * n * n * 4 <= self.prefill_score_bytes:
            return None
        return max(16, self.prefill_score_bytes // (4 * b * heads * n))

    def prefill(self, ids: torch.Tensor) -> torch.Tensor:
        """Run ``ids`` (B, L) from an empty state; return logits (B, L, V). A long prompt to an attention model goes
        in chunks through the cache (:meth:`prefill_chunk`): the same logits, bounded memory."""
        cache = growing_cache(self.model)
        chunk = self.prefill_chunk(ids)
        if chunk is None:
            out = self.model(input_ids=ids, use_cache=True, **({"cache": cache} if cache is not None else {}))
            self.cache = out.cache
            return out.logits
        logits = []
        for s in range(0, ids.shape[1], chunk):
            out = self.model(input_ids=ids[:, s:s + chunk], cache=cache, use_cache=True)
            cache = out.cache
            logits.append(out.logits)
        self.cache = cache
        return torch.cat(logits, dim=1)

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """Feed one token per row, ``ids`` (B,); return the logits (B, V) at that position."""
        out = self.model(input_ids=ids[:, None], cache=self.cache, use_cache=True)
        self.cache = out.cache
        self.logits = out.logits[:, -1]
        return self.logits

    def greedy_tokens(self) -> torch.Tensor:
        """Argmax of the last step's logits."""
        return self.logits[:, : self.vocab_size].argmax(-1)


class StaticStepper:
    """Recurrent state in preallocated buffers; on CUDA one step is a captured graph that is replayed.

    Subclasses define ``_alloc_state()``, ``_step()`` (reads ``self.ids``, updates the state buffers in place,
    returns float logits (B, V)) and ``_load_cache(cache)`` (copy a model cache after prefill into the buffers).
    ``step`` returns a view of a static buffer that the next step overwrites: clone it to keep it.
    """

    kind = "static"

    def __init__(self, model, batch_size: int, cuda_graph: bool | None = None, vocab_size: int | None = None):
        self.model = model
        self.batch_size = batch_size
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.vocab_size = vocab_size  # greedy argmax over the first vocab_size logits (None: all)
        self.ids = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        self.states: list[torch.Tensor] = []
        self._alloc_state()
        self.graph = None
        self.logits = None
        self.greedy = None
        if cuda_graph is None:
            cuda_graph = self.device.type == "cuda"
        if cuda_graph:
            if self.device.type != "cuda":
                raise ValueError("cuda_graph=True needs the model on a CUDA device")
            self._capture()

    # -- to be defined by subclasses
    def _alloc_state(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _step(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_cache(self, cache):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared
    def _step_and_argmax(self):
        logits = self._step()
        v = self.vocab_size or logits.shape[-1]
        return logits, logits[:, :v].argmax(-1)

    @torch.no_grad()
    def _capture(self):
        saved = [s.clone() for s in self.states]
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):  # warm-up outside the graph (lazy init, cuBLAS handles, autotuning)
            for _ in range(3):
                self._step_and_argmax()
        torch.cuda.current_stream(self.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with graph_capture(self.graph):
            self.logits, self.greedy = self._step_and_argmax()
        for s, v in zip(self.states, saved):
            s.copy_(v)

    #: prompts longer than this many tokens x rows are stepped token by token on the eager path too: the model's
    #: own full forward (without the mamba-ssm kernels) materialises (rows, d_inner, length, d_state) tensors,
    #: several GiB for a 30k-token prompt (a 2,000-node logical graph), and ran a 24 GiB machine out of memory
    max_prefill_tokens = 8192

    @torch.no_grad()
    def prefill(self, ids: torch.Tensor) -> torch.Tensor:
        """From an empty state: on the graph path (or for a long prompt), step over the prompt (the model's own
        forward has no fast prompt path without the mamba-ssm kernels); otherwise one forward and a copy of its
        cache."""
        if self.graph is not None or ids.numel() > self.max_prefill_tokens:
            for s in self.states:
                s.zero_()
            return torch.stack([self.step(ids[:, t]).clone() for t in range(ids.shape[1])], dim=1)
        out = self.model(input_ids=ids, use_cache=True)
        self._load_cache(out.cache)
        return out.logits

    @torch.no_grad()
    def step(self, ids: torch.Tensor) -> torch.Tensor:
        self.ids.copy_(ids, non_blocking=True)
        if self.graph is not None:
            self.graph.replay()
        else:
            self.logits, self.greedy = self._step_and_argmax()
        return self.logits

    def greedy_tokens(self) -> torch.Tensor:
        """Argmax of the last step's logits (computed inside the graph)."""
        return self.greedy


class MambaStepper(StaticStepper):
    """Static-buffer Mamba-1 decoding step (transformers ``MambaForCausalLM`` and subclasses).

    ``fused`` (default: on CUDA when triton is available) runs each layer as RMSNorm, in_proj, conv step, x_proj,
    SSM step, out_proj + residual: three Triton kernels (toolssm.kernels) and three matrix products, instead of the
    ~30 small PyTorch operations of the reference step (which is what ``fused=False`` runs). ``fused="layer"`` runs
    each layer as three Triton kernels and no matrix-product call (:mod:`toolssm.mamba_kernel`: every product split
    over blocks of channels, one row a program; made for small batches). ``fused=None`` takes :attr:`default_fused`
    (env ``TOOLSSM_FUSED_MAMBA=layer`` / ``1`` / ``0``), else the ``"layer"`` step on CUDA up to
    ``mamba_kernel.LAYER_MAX_BATCH`` rows for models up to ``LAYER_MAX_WIDTH`` wide (where it was measured faster:
    ``mamba_kernel.by_default``), else ``True`` on CUDA.
    """

    #: channels a program of the three-kernel step (None: ``mamba_kernel.LayerStep.BE``, 16); a power of two
    layer_block_channels: int | None = None
    #: what ``fused=None`` means when set: "layer", True or False for every stepper of the process
    default_fused: bool | str | None = {"1": True, "0": False, "layer": "layer"}.get(os.environ.get("TOOLSSM_FUSED_MAMBA", ""))

    def __init__(self, model, batch_size: int, cuda_graph: bool | None = None, vocab_size: int | None = None,
                 fused: bool | str | None = None):
        from . import kernels, mamba_kernel

        device = next(model.parameters()).device
        can_triton = kernels.triton_runs_on(device)
        if fused is None and self.default_fused is not None:
            fused = self.default_fused if can_triton else False  # the process-wide choice, where Triton can run
        if fused is None:
            fused = kernels.triton is not None and device.type == "cuda"
            if fused and mamba_kernel.by_default(model, batch_size):
                fused = "layer"
        if fused not in (True, False, "layer"):
            raise ValueError(f'fused must be True, False, "layer" or None, not {fused!r}')
        if fused == "layer":
            if not can_triton:
                raise ValueError('fused="layer" needs triton, and on CPU Triton\'s interpreter (TRITON_INTERPRET=1 before triton is imported)')
            mamba_kernel.check_model(model)
        self.fused = fused
        super().__init__(model, batch_size, cuda_graph=cuda_graph, vocab_size=vocab_size)

    def _alloc_state(self):
        cfg = self.model.config
        B, E, K, N = self.batch_size, cfg.intermediate_size, cfg.conv_kernel, cfg.state_size
        self.conv = torch.zeros(cfg.num_hidden_layers, B, E, K, dtype=self.dtype, device=self.device)
        self.ssm = torch.zeros(cfg.num_hidden_layers, B, E, N, dtype=torch.float32, device=self.device)
        self.states = [self.conv, self.ssm]
        if self.fused == "layer":  # the three-kernel step's scratch (static, so the step is capturable)
            from .mamba_kernel import LayerStep

            self._layer = LayerStep(self.model, B, block_channels=self.layer_block_channels)

    def _load_cache(self, cache):
        for i in range(self.conv.shape[0]):
            conv = cache.get_conv_state(i, state_idx=0)
            ssm = cache.get_recurrent_state(i, state_idx=0)
            K = self.conv.shape[-1]
            if conv.shape[-1] >= K:
                self.conv[i].copy_(conv[..., -K:])
            else:  # fewer inputs seen than the kernel width: right-align, zeros before
                self.conv[i].zero_()
                self.conv[i, ..., K - conv.shape[-1] :].copy_(conv)
            self.ssm[i].copy_(ssm)

    def _step(self) -> torch.Tensor:
        if self.fused == "layer":
            return self._step_layer()
        return self._step_fused() if self.fused else self._step_reference()

    def _step_layer(self) -> torch.Tensor:
        from . import kernels as K

        m, bb = self.model, self.model.backbone
        h = self._layer(self.ids, self.conv, self.ssm)  # (B, D) float32, after every layer
        h = K.rmsnorm(h, bb.norm_f.weight, bb.norm_f.variance_epsilon)
        return m.lm_head(h.to(m.lm_head.weight.dtype)).float()

    def _step_fused(self) -> torch.Tensor:
        from . import kernels as K

        m = self.model
        bb = m.backbone
        h = bb.embeddings(self.ids)
        for i, layer in enumerate(bb.layers):
            mx = layer.mixer
            residual = h.to(torch.float32) if layer.residual_in_fp32 else h
            x = K.rmsnorm(h, layer.norm.weight, layer.norm.variance_epsilon)
            xz = mx.in_proj(x)
            xc = K.conv_step(xz, self.conv[i], mx.conv1d.weight, mx.conv1d.bias)
            dbc = mx.x_proj(xc)
            y = K.ssm_step(xc, xz, dbc, mx.dt_proj.weight, mx.dt_proj.bias, mx.A_log, mx.D, self.ssm[i])
            if mx.out_proj.bias is None and residual.dtype == y.dtype:
                h = torch.addmm(residual, y, mx.out_proj.weight.t())
            else:
                h = residual + mx.out_proj(y)
        h = K.rmsnorm(h, bb.norm_f.weight, bb.norm_f.variance_epsilon)
        return m.lm_head(h.to(m.lm_head.weight.dtype)).float()

    def _step_reference(self) -> torch.Tensor:
        m = self.model
        bb = m.backbone
        h = bb.embeddings(self.ids)  # (B, D)
        for i, layer in enumerate(bb.layers):
            mx = layer.mixer
            residual = h
            x = layer.norm(h.to(dtype=layer.norm.weight.dtype))
            if layer.residual_in_fp32:
                residual = residual.to(torch.float32)
            dtype = x.dtype
            xs, z = mx.in_proj(x).chunk(2, dim=-1)  # (B, E) each
            # causal_conv1d_update: shift the window, append the new input, depthwise conv, activation
            conv = self.conv[i]
            conv.copy_(torch.cat([conv[:, :, 1:], xs.unsqueeze(-1).to(conv.dtype)], dim=-1))
            w = mx.conv1d.weight[:, 0, :]  # (E, K)
            xc = (conv.to(w.dtype) * w).sum(-1)
            if mx.conv1d.bias is not None:
                xc = xc + mx.conv1d.bias
            xc = mx.act(xc).to(xs.dtype)
            dt, Bm, Cm = torch.split(mx.x_proj(xc), [mx.time_step_rank, mx.ssm_state_size, mx.ssm_state_size], dim=-1)
            dt = F.linear(dt, mx.dt_proj.weight)
            dt = F.softplus(dt + mx.dt_proj.bias.float().to(dt.dtype))
            # mamba_selective_state_update, in float32
            A = -torch.exp(mx.A_log.float())
            dA = torch.exp(dt.float()[..., None] * A)
            dBx = dt.float()[..., None] * Bm.float()[:, None, :] * xc.float()[..., None]
            ssm = self.ssm[i]
            ssm.mul_(dA).add_(dBx)
            y = torch.matmul(ssm.to(Cm.dtype), Cm.unsqueeze(-1)).squeeze(-1)
            y = (y + xc * mx.D) * F.silu(z)
            h = residual + mx.out_proj(y.to(xc.dtype).to(dtype))
        h = bb.norm_f(h)
        return m.lm_head(h.to(m.lm_head.weight.dtype)).float()


class RNNStepper(StaticStepper):
    """Static-buffer LSTM/GRU step (:class:`toolssm.rnn.ToolSSMRNNForCausalLM`), the cells written out so that
    the step is capturable (PyTorch's gate orders: LSTM i, f, g, o; GRU r, z, n).

    ``fused`` (default: on CUDA when triton is available) runs the step as one Triton kernel per layer plus one for
    LayerNorm, head and argmax (:mod:`toolssm.rnn_kernel`) instead of ~14 PyTorch operations per layer."""

    #: what ``fused=None`` means: None = fused on CUDA when triton is there; True / False force it (tests; env
    #: TOOLSSM_FUSED_RNN=1 / 0 sets it for a whole process, e.g. an evaluation)
    default_fused: bool | None = {"1": True, "0": False}.get(os.environ.get("TOOLSSM_FUSED_RNN", ""))

    def __init__(self, model, batch_size: int, cuda_graph: bool | None = None, vocab_size: int | None = None, fused: bool | None = None):
        from . import rnn_kernel

        if fused is None:
            fused = self.default_fused
        if fused is None:  # at every batch: alone (one step a replay) the fused step is slower at 256 rows (116.7 vs
            # 89.4 us; each row rereads the weights), but inside the device loop at 256 rows it is still faster end to
            # end (1.40M vs 1.35M tok/s), and faster at every smaller batch (results/h200_benchmarks/tool-loop-rnn-fused)
            fused = rnn_kernel.triton is not None and next(model.parameters()).device.type == "cuda"
        if fused and rnn_kernel.triton is None:
            raise ValueError("fused=True needs triton")
        if fused:
            rnn_kernel.check_model(model)
        self.fused = bool(fused)
        super().__init__(model, batch_size, cuda_graph=cuda_graph, vocab_size=vocab_size)

    def _alloc_state(self):
        cfg = self.model.config
        shape = (cfg.num_hidden_layers, self.batch_size, cfg.hidden_size)
        self.h = torch.zeros(shape, dtype=self.dtype, device=self.device)
        self.c = torch.zeros(shape, dtype=self.dtype, device=self.device) if cfg.cell == "lstm" else None
        self.states = [self.h] + ([self.c] if self.c is not None else [])
        if self.fused:  # the kernels' scratch and outputs (static, so the step is capturable)
            self._h_new = torch.zeros_like(self.h)
            self._logits = torch.zeros(self.batch_size, self.model.lm_head.weight.shape[0], dtype=torch.float32, device=self.device)
            self._greedy = torch.zeros(self.batch_size, dtype=torch.long, device=self.device)

    def _step_and_argmax(self):
        if not self.fused:
            return super()._step_and_argmax()
        from .rnn_kernel import rnn_step

        rnn_step(self.ids, self.model, self.h, self.c, self._h_new, self._logits, self._greedy, vocab_size=self.vocab_size)
        return self._logits, self._greedy

    def _load_cache(self, cache):
        if self.c is not None:
            h, c = cache
            self.h.copy_(h)
            self.c.copy_(c)
        else:
            self.h.copy_(cache)

    def _step(self) -> torch.Tensor:
        if self.fused:
            return self._step_and_argmax()[0]
        m, rnn = self.model, self.model.rnn
        x = m.embed(self.ids)
        for l in range(rnn.num_layers):
            gi = F.linear(x, getattr(rnn, f"weight_ih_l{l}"), getattr(rnn, f"bias_ih_l{l}", None))
            gh = F.linear(self.h[l], getattr(rnn, f"weight_hh_l{l}"), getattr(rnn, f"bias_hh_l{l}", None))
            if self.c is not None:
                i, f, g, o = (gi + gh).chunk(4, dim=-1)
                c = torch.sigmoid(f) * self.c[l] + torch.sigmoid(i) * torch.tanh(g)
                x = torch.sigmoid(o) * torch.tanh(c)
                self.c[l].copy_(c)
            else:
                ir, iz, in_ = gi.chunk(3, dim=-1)
                hr, hz, hn = gh.chunk(3, dim=-1)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                n = torch.tanh(in_ + r * hn)
                x = (1 - z) * n + z * self.h[l]
            self.h[l].copy_(x)
        return m.lm_head(m.norm(x)).float()


def static_stepper_class(model):
    """The static stepper for ``model``'s architecture, or None (Transformers and Mamba2 use the cache path)."""
    from transformers import MambaForCausalLM

    from .rnn import ToolSSMRNNForCausalLM

    if isinstance(model, MambaForCausalLM):
        return MambaStepper
    if isinstance(model, ToolSSMRNNForCausalLM):
        return RNNStepper
    return None


def make_stepper(model, batch_size: int, fast: bool | None = None, cuda_graph: bool | None = None, vocab_size: int | None = None, **kw):
    """Choose the stepper: ``fast=None`` uses the static stepper where the architecture has one, ``True``
    requires it (ValueError otherwise), ``False`` uses the model's cache API. ``cuda_graph`` (default: on CUDA)
    captures the static step in a CUDA graph."""
    cls = static_stepper_class(model) if fast is not False else None
    if fast and cls is None:
        raise ValueError(f"no static decoding step for {type(model).__name__}; use fast=None or fast=False")
    if cls is None:
        return CacheStepper(model, batch_size, vocab_size=vocab_size)
    return cls(model, batch_size, cuda_graph=cuda_graph, vocab_size=vocab_size, **kw)
