"""The tool loop with pointer memory on the device: many decode steps per CUDA graph replay, no host round trip.

The reference loop (:func:`toolssm.generation.generate_with_tools`) copies every step's greedy ids to the host,
runs the tools in Python and sends the next inputs back: 60-200 us of host work per step, against a few tens of us
of GPU work for a small model (benchmarks/results/h200). For tasks whose tool is :class:`~toolssm.tools.PointerMemory`
(addition, multiplication, long multiplication, Hanoi) everything the host does per step is a handful of integer
operations per row, so here it is done with tensors beside the model's state:

- per row: the memory (prompt, then every thought and output token written), the pointers, the queue of forced
  observation tokens, whether it is inside a ``[COMMAND] ... [/COMMAND]`` text command (which pointer memory answers
  with an error, as the Python tool does), ``[ANS]`` seen, counters of commands and errors;
- per row: every fed id and its role, the length, the token budget, and the flags finished / truncated / diverged
  (``stop_at_reference``: the reference ids live on the device too).

One loop step (:meth:`DevicePointerLoop._step`) chooses each row's input exactly as ``_Rows.plan`` does (prompt
token, queued observation, padding once done, else the model's greedy token), records it as ``_Rows.commit`` does
(the pointer tool's ``observe``, ``[EOS]``, divergence, budget), and runs the model's static step
(:class:`toolssm.fast.StaticStepper`). On CUDA ``steps_per_sync`` such steps are captured in one graph; the host
replays it and reads one flag (all rows done) per replay. On CPU the same steps run eagerly (for tests: the result is
token for token the reference loop's, ``tests/test_device_loop.py``). Rows that finish inside a replay feed padding
until it ends, which changes nothing they recorded.
"""

from __future__ import annotations

import os

import torch

from . import vocab as V
from .fast import graph_capture
from .tokenizer import split_tokens
from .tools.pointer import InputPointerMemory, PointerMemory

PROMPT, THOUGHT, COMMAND, OBSERVATION, OUTPUT = range(5)
# The fused bookkeeping kernel (toolssm.device_loop_kernel): exact on CPU in Triton's interpreter and on the H200 under
# CUDA graphs, and faster than the ~120 PyTorch operations in every row the H200 timed (2026-12-03,
# results/h200_benchmarks/tool-loop-device: 1.03-4.28x): the default on CUDA (None), the PyTorch version on CPU.
# True / False here, or env TOOLSSM_FUSED_TOOLS=1 / 0, force one.
DEFAULT_FUSED: bool | None = {"1": True, "0": False}.get(os.environ.get("TOOLSSM_FUSED_TOOLS", ""))
ROLE_NAMES = {THOUGHT: "thought", COMMAND: "command", OBSERVATION: "observation", OUTPUT: "output"}
_ID = V.TOKEN_TO_ID


def eligible(tools, do_sample: bool, return_logits: bool) -> bool:
    """Whether the device loop can run this batch: greedy, no logits returned, every row's tool a pointer memory (one
    that holds a hidden input too: :class:`~toolssm.tools.pointer.InputPointerMemory`)."""
    return not do_sample and not return_logits and bool(tools) and all(type(t) in (PointerMemory, InputPointerMemory) for t in tools)


def _error_tokens(message: str) -> list[int]:
    return [_ID[V.OBSERVATION]] + [_ID[t] for t in split_tokens("error: " + message)] + [_ID[V.END_OBSERVATION]]


class DevicePointerLoop:
    """Greedy decoding of B rows whose tools are pointer memories, the tools' state held in device tensors."""

    def __init__(self, stepper, rows, tools, budgets, stop_at_reference, L0: int, greedy: torch.Tensor, steps_per_sync: int = 64,
                 teacher_ids: list[list[int]] | None = None, fused: bool | None = None):
        self.stepper, self.rows = stepper, rows
        # fused: the tool bookkeeping of a step as one Triton kernel (toolssm.device_loop_kernel) instead of ~120
        # PyTorch operations (default: DEFAULT_FUSED, else fused on CUDA; on CPU it needs Triton's interpreter)
        from . import device_loop_kernel
        from .kernels import triton_runs_on

        # a hidden input (InputPointerMemory) is memory in front of the prompt: the memory rows are then wider than the
        # ids rows by the longest hidden input (both versions of the bookkeeping take the memory's own row width)
        preload = [[_ID[x] for x in t.input_tokens] if isinstance(t, InputPointerMemory) else [] for t in tools]
        P = max(len(x) for x in preload)
        if fused is None:
            fused = DEFAULT_FUSED if DEFAULT_FUSED is not None else (stepper.device.type == "cuda" and device_loop_kernel.triton is not None)
        if fused and not triton_runs_on(stepper.device):
            raise ValueError("fused=True needs triton, and on CPU Triton's interpreter (TRITON_INTERPRET=1 before triton is imported)")
        self.fused = bool(fused)
        self._bookkeep = (lambda: device_loop_kernel.tool_step(self)) if self.fused else self._bookkeeping
        dev = stepper.device
        self.device = dev
        B = len(rows)
        self.B = B
        self.K = max(1, int(steps_per_sync))
        lp = [r.prompt_len for r in rows]
        T = max(p + b for p, b in zip(lp, budgets)) + 1  # every id a row can hold
        L = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
        self.T = T
        # ids and roles of every row; column T is the trash slot of rows that record nothing this step
        self.ids = torch.full((B, T + 1), _ID[V.PAD], dtype=torch.long, device=dev)
        self.roles = torch.zeros((B, T + 1), dtype=torch.int8, device=dev)
        for b, r in enumerate(rows):
            self.ids[b, : r.prompt_len] = L(r.ids)
        self.prompt_len = L(lp)
        self.n = L(lp)  # ids recorded (= len(row.ids))
        self.feed = torch.full((B,), L0, dtype=torch.long, device=dev)  # next prompt position to feed
        self.budget = L(budgets)
        self.done = L([b == 0 for b in budgets]).bool()
        self.finished = torch.zeros(B, dtype=torch.bool, device=dev)
        self.truncated = torch.zeros_like(self.finished)
        self.diverged = torch.zeros_like(self.finished)
        # the pointer memories: memory = hidden input (if any) + prompt + written tokens (last column: trash)
        self.mem = torch.full((B, T + P + 1), _ID[V.PAD], dtype=torch.long, device=dev)
        if P:
            for b, pre in enumerate(preload):
                self.mem[b, : len(pre)] = L(pre)
                self.mem[b, len(pre) : len(pre) + T] = self.ids[b, :T]
        else:
            self.mem[:, :T].copy_(self.ids[:, :T])
        self.mem_len = L([len(pre) + p for pre, p in zip(preload, lp)])
        self.ptr = torch.zeros((B, V.MAX_POINTERS + 1), dtype=torch.long, device=dev)  # column MAX_POINTERS: trash
        self.num_pointers = L([t.num_pointers for t in tools])
        self.after_ans = torch.zeros(B, dtype=torch.bool, device=dev)
        self.in_cmd = torch.zeros(B, dtype=torch.bool, device=dev)
        self.cmd_len = torch.zeros(B, dtype=torch.long, device=dev)
        self.num_commands = torch.zeros(B, dtype=torch.long, device=dev)
        self.num_errors = torch.zeros(B, dtype=torch.long, device=dev)
        self.max_command_tokens = tools[0].max_command_tokens
        # forced tokens: a queue per row (it is always empty when a model token is committed, so an answer is written
        # from position 0); the pointer tool's answers: one token, or one of two error texts
        self.err_unknown = L(_error_tokens(f"unknown command for tool {tools[0].name}"))
        self.err_long = L(_error_tokens("command too long"))
        Q = max(len(self.err_unknown), len(self.err_long), 1)
        self.err_table = torch.zeros((2, Q), dtype=torch.long, device=dev)  # each answer padded to the queue's width
        self.err_lengths = [len(self.err_unknown), len(self.err_long)]
        for row, seq in zip(self.err_table, (self.err_unknown, self.err_long)):
            row[: len(seq)] = seq
        self.err_lens = L(self.err_lengths)  # the same lengths on the device, for the fused kernel
        self.queue = torch.zeros((B, Q), dtype=torch.long, device=dev)
        self.q_head = torch.zeros(B, dtype=torch.long, device=dev)
        self.q_len = torch.zeros(B, dtype=torch.long, device=dev)
        # vocabulary tables: which pointer and op a token commands (-1: not a pointer command)
        nv = len(V.VOCAB)
        cmd_ptr, cmd_op = [-1] * nv, [0] * nv
        for tok, (p, op) in V.POINTER_COMMANDS.items():
            cmd_ptr[_ID[tok]], cmd_op[_ID[tok]] = p, V.POINTER_OPS.index(op)
        self.cmd_ptr, self.cmd_op = L(cmd_ptr), L(cmd_op)
        self.stop = stop_at_reference is not None
        if self.stop:
            R = max(len(r) for r in stop_at_reference) + 1
            self.ref = torch.full((B, R), -1, dtype=torch.long, device=dev)
            for b, r in enumerate(stop_at_reference):
                self.ref[b, : len(r)] = L(r)
            self.ref_len = L([len(r) for r in stop_at_reference])
        self.teacher = teacher_ids is not None  # the teacher's token replaces the model's ([EOS] past its end)
        if self.teacher:
            self.teach = torch.full((B, max(len(t) for t in teacher_ids) + 1), _ID[V.EOS], dtype=torch.long, device=dev)
            for b, t in enumerate(teacher_ids):
                self.teach[b, : len(t)] = L(t)
        self.g = greedy.to(dev).clone()  # the model's greedy token after the last step
        self.all_done = torch.zeros((), dtype=torch.bool, device=dev)
        self.arange = torch.arange(B, device=dev)
        self.graph = None

    # -- one step: plan, commit, model ----------------------------------------------------------------------------
    def _steps(self) -> None:
        """``steps_per_sync`` steps, then the flag the host reads once per replay."""
        for _ in range(self.K):
            self._step()
        self._update_all_done()

    def _update_all_done(self) -> None:
        self.all_done.copy_((self.done & (self.feed >= self.prompt_len)).all())

    def _step(self) -> None:
        self._bookkeep()  # the fused kernel or the PyTorch version; both write the model's inputs into stepper.ids
        _, greedy = self.stepper._step_and_argmax()
        self.g.copy_(greedy)

    def _bookkeeping(self) -> None:
        """Plan and commit one step for every row with PyTorch operations (the reference for the fused kernel)."""
        B, ar = self.B, self.arange
        p = self.feed.clone()  # the position fed now (feed moves on below)
        in_prompt = p < self.prompt_len
        self.feed.add_(1)
        has_q = self.q_len > 0
        live = ~in_prompt & ~self.done  # rows that commit a token this step
        obs = live & has_q
        model = live & ~has_q
        prompt_tok = self.ids[ar, torch.clamp(p, max=self.T - 1)]
        q_tok = self.queue[ar, torch.clamp(self.q_head, max=self.queue.shape[1] - 1)]
        own = self.teach[ar, torch.clamp(self.n, max=self.teach.shape[1] - 1)] if self.teacher else self.g
        x = torch.where(in_prompt, prompt_tok, torch.where(~self.done, torch.where(has_q, q_tok, own), torch.full_like(self.g, _ID[V.PAD])))
        # observations: consumed from the queue
        self.q_head.add_(obs.long())
        self.q_len.sub_(obs.long())
        # the pointer tool's observe() on model tokens
        role = self._observe(x, model)
        role = torch.where(obs, torch.full_like(role, OBSERVATION), role)
        eos = model & (x == _ID[V.EOS])
        self.finished |= eos
        newly_done = eos
        if self.stop:
            ref_tok = self.ref[ar, torch.clamp(self.n, max=self.ref.shape[1] - 1)]
            div = model & ((self.n >= self.ref_len) | (ref_tok != x))
            self.diverged |= div
            newly_done = newly_done | div
        # record the fed id and its role
        slot = torch.where(live, self.n, torch.full_like(self.n, self.T))
        self.ids[ar, slot] = x
        self.roles[ar, slot] = role.to(torch.int8)
        self.n.add_(live.long())
        done = self.done | newly_done
        trunc = live & ~done & (self.n - self.prompt_len >= self.budget)
        self.truncated |= trunc
        self.done.copy_(done | trunc)
        self.stepper.ids.copy_(x)  # the model's step on the fed ids follows

    def _observe(self, x: torch.Tensor, model: torch.Tensor) -> torch.Tensor:
        """``Tool.observe`` for pointer memory on the rows in ``model``; returns each row's role code."""
        ar, ids = self.arange, _ID
        in_cmd = self.in_cmd & model
        end_cmd = in_cmd & (x == ids[V.END_COMMAND])
        inside = in_cmd & ~end_cmd
        too_long = inside & (self.cmd_len + 1 > self.max_command_tokens)
        open_cmd = model & ~self.in_cmd & (x == ids[V.COMMAND])
        rest = model & ~self.in_cmd & ~open_cmd
        pidx = self.cmd_ptr[x]
        is_ptr = rest & (pidx >= 0)
        plain = rest & (pidx < 0)
        is_eos = plain & (x == ids[V.EOS])
        write = plain & ~is_eos
        # text commands: pointer memory answers every one with an error text
        self.cmd_len.copy_(torch.where(open_cmd, torch.zeros_like(self.cmd_len), self.cmd_len + inside.long()))
        self.in_cmd.copy_((self.in_cmd & ~(end_cmd | too_long)) | open_cmd)
        # pointer commands
        op = self.cmd_op[x]
        bad = is_ptr & (pidx >= self.num_pointers)
        ok = is_ptr & ~bad
        col = torch.where(ok, pidx, torch.full_like(pidx, V.MAX_POINTERS))
        cur = self.ptr[ar, col]
        read = ok & (op == 0)
        left, right = ok & (op == 1), ok & (op == 2)
        new = torch.where(left, torch.clamp(cur - 1, min=-1), torch.where(right, torch.minimum(cur + 1, self.mem_len), cur))
        self.ptr[ar, col] = new
        inmem = (cur >= 0) & (cur < self.mem_len)
        seen = self.mem[ar, torch.clamp(cur, 0, self.mem.shape[1] - 1)]
        read_tok = torch.where(inmem, seen, torch.full_like(seen, ids[V.BOUNDARY]))
        # answers go into the (empty) queue: one token, or an error text
        one = read | bad
        one_tok = torch.where(bad, torch.full_like(read_tok, ids[V.ERROR]), read_tok)
        q_len = torch.where(one, torch.ones_like(self.q_len), self.q_len)
        for row, length, rows in zip(self.err_table, self.err_lengths, (end_cmd, too_long)):
            self.queue.copy_(torch.where(rows[:, None], row[None, :], self.queue))
            q_len = torch.where(rows, torch.full_like(q_len, length), q_len)
        self.queue[:, 0] = torch.where(one, one_tok, self.queue[:, 0])
        answered = one | end_cmd | too_long
        self.q_head.copy_(torch.where(answered, torch.zeros_like(self.q_head), self.q_head))
        self.q_len.copy_(q_len)
        self.num_commands.add_((is_ptr | end_cmd | too_long).long())
        self.num_errors.add_((bad | end_cmd | too_long).long())
        # written tokens (thoughts and outputs; [ANS] included, [EOS] not)
        self.after_ans |= write & (x == ids[V.ANS])
        slot = torch.where(write, self.mem_len, torch.full_like(self.mem_len, self.mem.shape[1] - 1))
        self.mem[ar, slot] = x
        self.mem_len.add_(write.long())
        role = torch.full_like(x, THOUGHT)
        role = torch.where(self.after_ans | is_eos, torch.full_like(x, OUTPUT), role)
        return torch.where(in_cmd | open_cmd | is_ptr, torch.full_like(x, COMMAND), role)

    # -- the host side --------------------------------------------------------------------------------------------
    def _capture(self) -> None:
        saved = [t.clone() for t in self._state_tensors()]
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):  # warm-up outside the graph (lazy init, autotuning, Triton compilation)
            for _ in range(2):
                self._step()
            self._update_all_done()
        torch.cuda.current_stream(self.device).wait_stream(side)
        for t, v in zip(self._state_tensors(), saved):
            t.copy_(v)
        self.graph = torch.cuda.CUDAGraph()
        with graph_capture(self.graph):  # recorded, not run (the collector paused: fast.graph_capture)
            self._steps()

    def _state_tensors(self) -> list[torch.Tensor]:
        out = [self.ids, self.roles, self.n, self.feed, self.done, self.finished, self.truncated, self.diverged, self.mem,
               self.mem_len, self.ptr, self.after_ans, self.in_cmd, self.cmd_len, self.num_commands, self.num_errors, self.queue,
               self.q_head, self.q_len, self.g, self.all_done]
        return out + list(self.stepper.states)

    @torch.no_grad()
    def run(self, cuda_graph: bool | None = None, bar=None) -> None:
        """Decode until every row is done, ``steps_per_sync`` steps at a time; fills the rows' results."""
        if cuda_graph is None:
            cuda_graph = self.device.type == "cuda"
        if cuda_graph:
            self._capture()
        while True:
            if self.graph is not None:
                self.graph.replay()
            else:
                self._steps()
            if bar is not None:
                bar.update(self.K)
            if bool(self.all_done):  # the one host-device synchronisation per replay
                break
        self._results()

    def _results(self) -> None:
        n = self.n.tolist()
        ids, roles = self.ids.cpu(), self.roles.cpu()
        flags = [t.tolist() for t in (self.finished, self.truncated, self.diverged, self.num_commands, self.num_errors)]
        for b, row in enumerate(self.rows):
            p = row.prompt_len
            row.ids = ids[b, : n[b]].tolist()
            rr = roles[b, p : n[b]].tolist()
            row.roles = [ROLE_NAMES[r] for r in rr]
            row.forced = [r == OBSERVATION for r in rr]
            row.finished, row.truncated, row.diverged = bool(flags[0][b]), bool(flags[1][b]), bool(flags[2][b])
            row.num_commands, row.num_tool_errors = flags[3][b], flags[4][b]
