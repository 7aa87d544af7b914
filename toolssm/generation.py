"""The tool loop: batched decoding where tools answer inside the model's recurrent cache.

Every step feeds exactly one token per row through the cache, in one forward for the whole batch:
a row's next token is the next prompt token, else the next forced token (a tool's observation), else a
token sampled from the model. When a sampled token completes a command, the row's tool answers and its
observation is queued as forced tokens. Because all rows advance one token per step, the rows of a
batch always have equal lengths: no padding, no attention masks, no position bookkeeping, and the
same loop drives Mamba, Mamba2, Transformers and LSTM/GRU. The past is never re-encoded, and Mamba-1
only ever sees one token at a time after its first chunk (transformers 5.24 restarts Mamba-1's SSM
state when a multi-token chunk enters a non-empty cache; see docs/DESIGN.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch

from . import vocab as V
from .fast import make_stepper
from .tokenizer import encode, split_tokens
from .tools import Tool

_EOS_ID = V.TOKEN_TO_ID[V.EOS]
_PAD_ID = V.TOKEN_TO_ID[V.PAD]
#: the host loops plan and commit only the rows still running (False: every row every step, the loop before
#: 2026-12-05; kept for benchmarks/bench_host_loop.py, which times both in one process)
SKIP_FINISHED_ROWS = True


@dataclass
class ToolGenerationResult:
    """One row's result. ``ids`` holds prompt + generated ids; the per-token lists cover generated ids."""

    prompt: str
    ids: list[int]
    prompt_len: int
    forced: list[bool] = field(default_factory=list)  # tool-given (True) or sampled (False)
    roles: list[str] = field(default_factory=list)  # thought / command / observation / output
    finished: bool = False  # emitted [EOS]
    truncated: bool = False  # stopped by the token budget
    diverged: bool = False  # stopped at its first token that differs from the given reference
    num_commands: int = 0
    num_tool_errors: int = 0
    logits: torch.Tensor | None = None  # (len(ids), vocab): logits at every position, if requested

    def first_difference(self, other: "ToolGenerationResult") -> str | None:
        """None when ``other`` is the same row (ids, roles, forced flags, stop flags, command and tool-error counts,
        output), else the name of the first field that differs: how the device loop is held to the reference loop."""
        for what, x, y in [("ids", self.ids, other.ids), ("roles", self.roles, other.roles), ("forced", self.forced, other.forced),
                           ("flags", (self.finished, self.truncated, self.diverged), (other.finished, other.truncated, other.diverged)),
                           ("counts", (self.num_commands, self.num_tool_errors), (other.num_commands, other.num_tool_errors)),
                           ("output", self.output, other.output)]:
            if x != y:
                return what
        return None

    @property
    def generated_ids(self) -> list[int]:
        return self.ids[self.prompt_len :]

    @property
    def text(self) -> str:
        """The generated text (prompt excluded), special tokens spelled out."""
        return "".join(V.VOCAB[i] for i in self.generated_ids)

    @property
    def output(self) -> str:
        """The output stream: tokens after the first sampled ``[ANS]``, without ``[EOS]``."""
        out, seen = [], False
        for i, f, r in zip(self.generated_ids, self.forced, self.roles):
            if not seen:
                seen = (not f) and i == V.TOKEN_TO_ID[V.ANS]
                continue
            if r == "output" and i != _EOS_ID:
                out.append(V.VOCAB[i])
        return "".join(out)

    @property
    def num_generated(self) -> int:
        return len(self.forced) - sum(self.forced)

    @property
    def num_forced(self) -> int:
        return sum(self.forced)


class _Rows:
    """Per-row bookkeeping of the tool loop, split in two so that the GPU can run ahead of the host:
    ``plan(b)`` says what row b feeds next (a prompt token, a tool's observation, padding once done, or the model's
    own token), ``commit(b, kind, tok)`` records a fed token (roles, tools, [EOS], divergence, budget)."""

    PROMPT, OBS, PAD, MODEL = range(4)

    def __init__(self, rows, tools, budgets, queues, teacher_ids, stop_at_reference, L0):
        self.rows, self.tools, self.budgets, self.queues = rows, tools, budgets, queues
        self.teacher_ids, self.stop = teacher_ids, stop_at_reference
        self.done = [b == 0 for b in budgets]
        self.pos = [L0] * len(rows)
        # rows that still feed anything but padding (not done, or done inside its prompt): only these are planned and
        # committed each step; a finished row's plan is always padding, and its commit records nothing
        self.live = list(range(len(rows)))
        self._finished_one = any(self.done)  # a row with no budget is done at once, and leaves once its prompt is fed

    def plan_live(self) -> list[tuple[int, int, int | None]]:
        """(row, kind, token) for every live row (see :meth:`plan`); rows not listed feed padding."""
        return [(b, *self.plan(b)) for b in self.live]

    def prune(self) -> None:
        """Drop the rows that became done (and are past their prompt) from the live list; call after a step's commits."""
        if self._finished_one and SKIP_FINISHED_ROWS:
            self.live = [b for b in self.live if not (self.done[b] and self.pos[b] >= self.rows[b].prompt_len)]
            self._finished_one = any(self.done[b] for b in self.live)  # done inside its prompt: look again next step

    def plan(self, b: int) -> tuple[int, int | None]:
        """(kind, token) for row b's next input; the token is None when it is the model's greedy/sampled one."""
        row = self.rows[b]
        p = self.pos[b]
        self.pos[b] += 1
        if p < row.prompt_len:
            return self.PROMPT, row.ids[p]
        if self.done[b]:
            return self.PAD, _PAD_ID
        if self.queues[b]:
            return self.OBS, self.queues[b].popleft()
        if self.teacher_ids is not None:
            k = len(row.ids)
            return self.MODEL, self.teacher_ids[b][k] if k < len(self.teacher_ids[b]) else _EOS_ID
        return self.MODEL, None

    def commit(self, b: int, kind: int, tok: int) -> None:
        if kind in (self.PROMPT, self.PAD):
            return
        row, tool = self.rows[b], self.tools[b]
        if kind == self.OBS:
            row.forced.append(True)
            row.roles.append("observation")
        else:
            row.forced.append(False)
            if tool is None:
                role = "output" if tok == _EOS_ID else "thought"
            else:
                role, obs = tool.observe(V.VOCAB[tok])
                self.queues[b].extend(V.TOKEN_TO_ID[t] for t in obs)
            row.roles.append(role)
            if tok == _EOS_ID:
                row.finished = self.done[b] = self._finished_one = True
            if self.stop is not None:
                ref, k = self.stop[b], len(row.ids)
                if k >= len(ref) or ref[k] != tok:
                    row.diverged = self.done[b] = self._finished_one = True
        row.ids.append(tok)
        if not self.done[b] and len(row.ids) - row.prompt_len >= self.budgets[b]:
            row.truncated = self.done[b] = self._finished_one = True

    def all_done(self) -> bool:
        self.prune()
        if SKIP_FINISHED_ROWS:
            return not self.live
        return all(d and p >= r.prompt_len for d, p, r in zip(self.done, self.pos, self.rows))


@torch.no_grad()
def generate_with_tools(
    model,
    prompts: list[str],
    tools: list[Tool | None],
    max_new_tokens: int | list[int] = 4096,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    return_logits: bool = False,
    progress: bool = False,
    stop_at_reference: list[list[int]] | None = None,
    teacher_ids: list[list[int]] | None = None,
    fast: bool | None = None,
    cuda_graph: bool | None = None,
    pipeline: bool | None = None,
    device_tools: bool | None = None,
    steps_per_sync: int = 64,
) -> list[ToolGenerationResult]:
    """Decode a batch of prompts, each row talking to its own tool (``None``: no tool).

    ``max_new_tokens`` bounds every row's generated + forced tokens (one value or one per row).
    Greedy by default; ``do_sample`` samples with ``temperature`` and optional ``top_k``.
    ``stop_at_reference`` (one reference id sequence per row, for exact-match evaluation) stops a row
    at its first sampled token that differs from its reference: such a row cannot match any more.
    ``teacher_ids`` (one full id sequence per row) replaces every sampled token by the teacher's token at
    that position, [EOS] past its end (as state-spaces/mamba's ``teacher_outputs``): the model still runs
    every step, so benchmarks compare loops on identical token sequences.
    ``fast`` picks how a step runs (:func:`toolssm.fast.make_stepper`): None (default) uses the static-state
    step where the architecture has one (Mamba-1, LSTM, GRU) and the model's cache API otherwise; False always
    uses the cache API. ``cuda_graph`` (default: when on CUDA) replays the static step as a CUDA graph.
    ``pipeline`` (greedy decoding without ``return_logits`` only) lets the device run one step ahead of the host:
    each step's input is chosen on the device (the model's own token unless the host forced one), so the host
    handles step t-1's token, and its tool, while step t runs, instead of waiting for every token. Same output.
    Default (None): on for greedy decoding on CUDA (1.03-1.19x on the H200, benchmarks/results/h200), off on CPU
    (where nothing overlaps) and when sampling or returning logits.
    ``device_tools`` runs the pointer-memory tools on the device beside a static stepper (Mamba-1, LSTM, GRU), for
    greedy decoding where every row's tool is a :class:`~toolssm.tools.PointerMemory`: ``steps_per_sync`` steps per
    CUDA graph replay and no host round trip in between (:mod:`toolssm.device_loop`; token for token the same
    rows). Default (None): off until measured on the GPU; True requires it (ValueError when the batch cannot).
    """
    if len(prompts) != len(tools):
        raise ValueError(f"need one tool per prompt: {len(prompts)} prompts, {len(tools)} tools")
    if not prompts:
        return []
    budgets = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(budgets) != len(prompts) or min(budgets) < 0:
        raise ValueError("max_new_tokens must be a non-negative int or one per prompt")
    if do_sample and temperature <= 0:
        raise ValueError("temperature must be > 0 when sampling")
    if pipeline and (do_sample or return_logits):
        raise ValueError("pipeline=True needs greedy decoding without return_logits")
    device = next(model.parameters()).device
    if pipeline is None:
        pipeline = device.type == "cuda" and not do_sample and not return_logits
    n_vocab = len(V.VOCAB)  # a model with a padded vocabulary can never emit ids outside the tokenizer's

    prompt_ids = [encode(p) for p in prompts]
    if min(len(p) for p in prompt_ids) == 0:
        raise ValueError("every prompt must be non-empty")
    rows = [ToolGenerationResult(p, list(ids), len(ids)) for p, ids in zip(prompts, prompt_ids)]
    for tool, p in zip(tools, prompts):
        if tool is not None:
            tool.reset(split_tokens(p))
    queues: list[deque[int]] = [deque() for _ in prompts]
    B = len(prompts)

    from . import device_loop

    can_device = device_loop.eligible(tools, do_sample, return_logits) and fast is not False
    if device_tools and not can_device:
        raise ValueError("device_tools=True needs greedy decoding without return_logits, and a PointerMemory tool per row")
    use_device = bool(device_tools) and can_device
    stepper = make_stepper(model, B, fast=fast, cuda_graph=False if use_device else cuda_graph, vocab_size=n_vocab)
    if use_device and stepper.kind != "static":
        raise ValueError(f"device_tools=True needs a static decoding step (Mamba-1, LSTM, GRU), not {type(model).__name__}")

    # Prefill the prefix every row shares in length: one chunk into an empty cache (exact for every model).
    L0 = min(len(p) for p in prompt_ids)
    first = torch.tensor([p[:L0] for p in prompt_ids], device=device)
    logits = stepper.prefill(first)  # (B, L0, V)
    step_logits = [logits[:, t].float().cpu() for t in range(L0)] if return_logits else None
    last = logits[:, -1, :n_vocab]
    greedy = last.argmax(-1)
    state = _Rows(rows, tools, budgets, queues, teacher_ids, stop_at_reference, L0)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="tool loop", unit="tok")
    if use_device:
        device_loop.DevicePointerLoop(stepper, rows, tools, budgets, stop_at_reference, L0, greedy, steps_per_sync,
                                      teacher_ids=teacher_ids).run(cuda_graph=cuda_graph, bar=bar)
    elif pipeline:
        _pipelined(stepper, state, greedy, device, bar)
    else:
        while True:
            # Sample for every row at once on the device; rows that don't need a sample ignore theirs.
            if do_sample:
                scores = last.float() / temperature
                if top_k:
                    kth = torch.topk(scores, min(top_k, n_vocab), dim=-1).values[:, -1:]
                    scores = scores.masked_fill(scores < kth, float("-inf"))
                sampled = torch.multinomial(torch.softmax(scores, -1), 1, generator=generator).squeeze(-1)
            else:
                sampled = greedy
            sampled = sampled.tolist()  # the one host-device synchronisation per step
            nxt = [_PAD_ID] * B
            for b, kind, tok in state.plan_live():
                nxt[b] = sampled[b] if tok is None else tok
                state.commit(b, kind, nxt[b])
            if bar is not None:
                bar.update(1)
            if state.all_done():
                break
            logits = stepper.step(torch.tensor(nxt).to(device, non_blocking=True))  # (B, V)
            last = logits[:, :n_vocab]
            if not do_sample:
                greedy = stepper.greedy_tokens()  # on the static path computed inside the step (the CUDA graph)
            if return_logits:
                step_logits.append(logits.float().cpu())
    if bar is not None:
        bar.close()

    for b, row in enumerate(rows):
        if tools[b] is not None and not use_device:  # the device loop counted them itself
            row.num_commands = tools[b].num_commands
            row.num_tool_errors = tools[b].num_errors
        if return_logits:
            # row.logits[t] (from position t) predicts ids[t + 1]
            row.logits = torch.stack([s[b] for s in step_logits[: len(row.ids) - 1]])
    return rows


def _pipelined(stepper, state: _Rows, greedy: torch.Tensor, device, bar) -> None:
    """Greedy tool loop with the device one step ahead of the host.

    in_t (the tokens fed at step t) = where(forced_t, forced ids, out_{t-1}) is chosen on the device, out_t (the
    greedy tokens after step t) is copied to pinned host memory behind the step. While step t runs, the host waits
    only for out_{t-1}, commits in_t (its tool, [EOS], divergence, budget) and launches step t+1: which rows of
    in_{t+1} are forced is known once in_t is committed (a command completed by in_t queues its observation from
    in_{t+1} on). Two host buffers of each kind alternate; an event per step says when a buffer is free again.
    """
    B = len(state.rows)
    cuda = device.type == "cuda"
    pin = dict(pin_memory=True) if cuda else {}
    out_host = [torch.empty(B, dtype=torch.long, **pin) for _ in range(2)]
    mask_host = [torch.empty(B, dtype=torch.bool, **pin) for _ in range(2)]
    ids_host = [torch.empty(B, dtype=torch.long, **pin) for _ in range(2)]
    events = [torch.cuda.Event() if cuda else None for _ in range(2)]
    # numpy views of the host buffers: one slice assignment a step instead of 2B tensor __setitem__ calls (~3.3 us each:
    # 374 us a step at B=112 against 8 us, measured on this project's CPU machine)
    mask_np, ids_np = [x.numpy() for x in mask_host], [x.numpy() for x in ids_host]

    def launch(t: int, prev_out: torch.Tensor) -> list[tuple[int, int, int | None]]:
        plans = state.plan_live()  # rows no longer live feed padding: forced, like a planned PAD
        m, i = mask_host[t % 2], ids_host[t % 2]
        mn, idn = mask_np[t % 2], ids_np[t % 2]
        if len(plans) == B:  # every row live (the usual case): slice assignment; indexing by row lists cost ~13 us more a
            mn[:] = [tok is not None for _, _, tok in plans]  # step at batch 112 (benchmarks/bench_host_loop.py, CPU)
            idn[:] = [_PAD_ID if tok is None else tok for _, _, tok in plans]
        else:
            mn[:], idn[:] = True, _PAD_ID  # rows no longer live feed padding
            if plans:
                rows = [b for b, _, _ in plans]
                mn[rows] = [tok is not None for _, _, tok in plans]
                idn[rows] = [_PAD_ID if tok is None else tok for _, _, tok in plans]
        ids = torch.where(m.to(device, non_blocking=True), i.to(device, non_blocking=True), prev_out)
        stepper.step(ids)
        out_host[t % 2].copy_(stepper.greedy_tokens(), non_blocking=True)
        if cuda:
            events[t % 2].record()
        return plans

    prev = greedy.tolist()  # out_{-1}: the prefill's greedy tokens (one synchronisation)
    plans = launch(0, greedy)
    t = 0
    while True:  # step t is in flight
        for b, kind, tok in plans:  # in_t of the live rows (the others fed padding)
            state.commit(b, kind, prev[b] if tok is None else tok)
        if bar is not None:
            bar.update(1)
        if state.all_done():
            if cuda:
                events[t % 2].synchronize()
            return
        nxt = launch(t + 1, stepper.greedy_tokens())  # queued behind step t on the device
        if cuda:
            events[t % 2].synchronize()  # out_t is on the host (step t+1 may still run)
        prev = out_host[t % 2].tolist()
        plans = nxt
        t += 1
