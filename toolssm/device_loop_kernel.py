"""One Triton kernel for the device loop's tool bookkeeping: a program per row does what
:meth:`toolssm.device_loop.DevicePointerLoop._step` does with ~120 PyTorch operations (choose the input, the pointer
tool's ``observe``, record id and role, the flags), so that a decoding step is this kernel plus the model's step.

Measured on the H200 (benchmarks/results/h200, 2026-12-02), the unfused bookkeeping costs 330-880 us per step inside
the CUDA graph, more than the host round trip it replaces. The kernel is checked against the PyTorch version token
for token on CPU in Triton's interpreter (tests/test_device_loop.py) and on the H200 under CUDA graphs, where it was
1.03-4.28x faster than the PyTorch version (results/h200_benchmarks/tool-loop-device, 2026-12-03). Memory rows have
their own width ``MW`` (a hidden input, :class:`~toolssm.tools.pointer.InputPointerMemory`, sits in front of the
prompt); :func:`compile_variants` compiles it for a GPU arch without a GPU (tests/test_fast.py).
"""

from __future__ import annotations

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - CPU machines without triton
    triton = None

if triton is not None:

    @triton.jit
    def _tool_step(
        # per-row state, (B,) int64 unless said
        feed, prompt_len, n, budget, q_head, q_len, g, x_out, mem_len, num_pointers, in_cmd, cmd_len, after_ans,
        num_commands, num_errors, done, finished, truncated, diverged,  # the last five and in_cmd/after_ans: bool
        ids, roles, mem, ptr, queue,  # (B, T + 1) int64, (B, T + 1) int8, (B, MW) int64, (B, MAXP + 1), (B, Q)
        teach, ref, ref_len,  # (B, TT), (B, R), (B,); unused unless HAS_TEACHER / HAS_REF
        cmd_ptr, cmd_op, err_rows, err_lens,  # (V,), (V,), (2, Q), (2,)
        T, MW, Q, TT, R, MAXP, max_cmd,
        PAD: tl.constexpr, EOS: tl.constexpr, COMMAND: tl.constexpr, END_COMMAND: tl.constexpr, ANS: tl.constexpr,
        BOUNDARY: tl.constexpr, ERROR: tl.constexpr, HAS_TEACHER: tl.constexpr, HAS_REF: tl.constexpr, QP: tl.constexpr,
    ):
        b = tl.program_id(0)
        W = T + 1  # row width of ids / roles; a memory row is MW wide (T + 1, plus a hidden input's length)
        p = tl.load(feed + b)
        pl = tl.load(prompt_len + b)
        in_prompt = p < pl
        tl.store(feed + b, p + 1)
        ql = tl.load(q_len + b)
        qh = tl.load(q_head + b)
        has_q = ql > 0
        dn = tl.load(done + b) != 0
        live = (~in_prompt) & (~dn)
        obs = live & has_q
        model = live & (~has_q)
        nn = tl.load(n + b)
        prompt_tok = tl.load(ids + b * W + tl.minimum(p, T - 1))
        q_tok = tl.load(queue + b * Q + tl.minimum(qh, Q - 1))
        if HAS_TEACHER:
            own = tl.load(teach + b * TT + tl.minimum(nn, TT - 1))
        else:
            own = tl.load(g + b)
        x = tl.where(in_prompt, prompt_tok, tl.where(~dn, tl.where(has_q, q_tok, own), PAD))
        qh = qh + obs.to(tl.int64)
        ql = ql - obs.to(tl.int64)

        # --- the pointer tool's observe() on a model token ---
        ic0 = tl.load(in_cmd + b) != 0
        ic = ic0 & model
        end_cmd = ic & (x == END_COMMAND)
        inside = ic & (~end_cmd)
        cl = tl.load(cmd_len + b)
        too_long = inside & (cl + 1 > max_cmd)
        open_cmd = model & (~ic0) & (x == COMMAND)
        rest = model & (~ic0) & (~open_cmd)
        pidx = tl.load(cmd_ptr + x)
        is_ptr = rest & (pidx >= 0)
        plain = rest & (pidx < 0)
        is_eos = plain & (x == EOS)
        write = plain & (~is_eos)
        tl.store(cmd_len + b, tl.where(open_cmd, 0, cl + inside.to(tl.int64)))
        tl.store(in_cmd + b, ((ic0 & ~(end_cmd | too_long)) | open_cmd).to(tl.int1))
        op = tl.load(cmd_op + x)
        bad = is_ptr & (pidx >= tl.load(num_pointers + b))
        ok = is_ptr & (~bad)
        col = tl.where(ok, pidx, MAXP)
        cur = tl.load(ptr + b * (MAXP + 1) + col)
        ml = tl.load(mem_len + b)
        read = ok & (op == 0)
        left = ok & (op == 1)
        right = ok & (op == 2)
        new = tl.where(left, tl.maximum(cur - 1, -1), tl.where(right, tl.minimum(cur + 1, ml), cur))
        tl.store(ptr + b * (MAXP + 1) + col, new)
        inmem = (cur >= 0) & (cur < ml)
        seen = tl.load(mem + b * MW + tl.minimum(tl.maximum(cur, 0), MW - 1))
        read_tok = tl.where(inmem, seen, BOUNDARY)
        one = read | bad
        one_tok = tl.where(bad, ERROR, read_tok)
        ql = tl.where(one, 1, ql)
        qi = tl.arange(0, QP)
        qmask = qi < Q
        err0 = tl.load(err_rows + qi, mask=qmask, other=0)
        err1 = tl.load(err_rows + Q + qi, mask=qmask, other=0)
        tl.store(queue + b * Q + qi, err0, mask=qmask & end_cmd)
        tl.store(queue + b * Q + qi, err1, mask=qmask & too_long)
        ql = tl.where(end_cmd, tl.load(err_lens), ql)
        ql = tl.where(too_long, tl.load(err_lens + 1), ql)
        tl.store(queue + b * Q, one_tok, mask=one)
        answered = one | end_cmd | too_long
        qh = tl.where(answered, 0, qh)
        tl.store(q_head + b, qh)
        tl.store(q_len + b, ql)
        tl.store(num_commands + b, tl.load(num_commands + b) + (is_ptr | end_cmd | too_long).to(tl.int64))
        tl.store(num_errors + b, tl.load(num_errors + b) + (bad | end_cmd | too_long).to(tl.int64))
        aa = (tl.load(after_ans + b) != 0) | (write & (x == ANS))
        tl.store(after_ans + b, aa.to(tl.int1))
        tl.store(mem + b * MW + tl.where(write, ml, MW - 1), x)
        tl.store(mem_len + b, ml + write.to(tl.int64))
        role = tl.where(aa | is_eos, 4, 1)  # OUTPUT, THOUGHT
        role = tl.where(ic | open_cmd | is_ptr, 2, role)  # COMMAND
        role = tl.where(obs, 3, role)  # OBSERVATION

        # --- record, finish, budget ---
        eos = model & (x == EOS)
        tl.store(finished + b, ((tl.load(finished + b) != 0) | eos).to(tl.int1))
        newly = eos
        if HAS_REF:
            ref_tok = tl.load(ref + b * R + tl.minimum(nn, R - 1))
            div = model & ((nn >= tl.load(ref_len + b)) | (ref_tok != x))
            tl.store(diverged + b, ((tl.load(diverged + b) != 0) | div).to(tl.int1))
            newly = newly | div
        slot = tl.where(live, nn, T)
        tl.store(ids + b * W + slot, x)
        tl.store(roles + b * W + slot, role.to(tl.int8))
        nn = nn + live.to(tl.int64)
        tl.store(n + b, nn)
        d2 = dn | newly
        trunc = live & (~d2) & (nn - pl >= tl.load(budget + b))
        tl.store(truncated + b, ((tl.load(truncated + b) != 0) | trunc).to(tl.int1))
        tl.store(done + b, (d2 | trunc).to(tl.int1))
        tl.store(x_out + b, x)


def tool_step(loop) -> None:
    """Launch :func:`_tool_step` for every row of ``loop`` (a DevicePointerLoop); writes the model's input ids into
    ``loop.stepper.ids``."""
    from . import vocab as V

    ID = V.TOKEN_TO_ID
    B = loop.B
    dummy = loop.n
    teach = loop.teach if loop.teacher else dummy
    ref, ref_len = (loop.ref, loop.ref_len) if loop.stop else (dummy, dummy)
    Q = loop.queue.shape[1]
    _tool_step[(B,)](
        loop.feed, loop.prompt_len, loop.n, loop.budget, loop.q_head, loop.q_len, loop.g, loop.stepper.ids, loop.mem_len,
        loop.num_pointers, loop.in_cmd, loop.cmd_len, loop.after_ans, loop.num_commands, loop.num_errors, loop.done,
        loop.finished, loop.truncated, loop.diverged, loop.ids, loop.roles, loop.mem, loop.ptr, loop.queue,
        teach, ref, ref_len, loop.cmd_ptr, loop.cmd_op, loop.err_table, loop.err_lens,
        loop.T, loop.mem.shape[1], Q, teach.shape[-1] if loop.teacher else 1, ref.shape[-1] if loop.stop else 1, V.MAX_POINTERS, loop.max_command_tokens,
        PAD=ID[V.PAD], EOS=ID[V.EOS], COMMAND=ID[V.COMMAND], END_COMMAND=ID[V.END_COMMAND], ANS=ID[V.ANS],
        BOUNDARY=ID[V.BOUNDARY], ERROR=ID[V.ERROR], HAS_TEACHER=loop.teacher, HAS_REF=loop.stop,
        QP=triton.next_power_of_2(max(Q, 2)),
    )


def compile_variants(arch: int = 90) -> dict[str, str]:
    """PTX of the four variants :func:`tool_step` launches (with and without a teacher, with and without a reference to
    stop at) for CUDA arch ``arch``, compiled without a GPU by Triton's own compiler and ptxas: the CPU tests run the
    kernel in Triton's interpreter, which does not compile it. Needs the interpreter off (TRITON_INTERPRET unset when
    this module was imported)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from . import vocab as V

    fn = _tool_step
    if not hasattr(fn, "arg_names"):
        raise RuntimeError("Triton's interpreter is on (TRITON_INTERPRET=1): it does not compile")
    bools = {"in_cmd", "after_ans", "done", "finished", "truncated", "diverged"}
    scalars = {"T", "MW", "Q", "TT", "R", "MAXP", "max_cmd"}
    ID = V.TOKEN_TO_ID
    const = dict(PAD=ID[V.PAD], EOS=ID[V.EOS], COMMAND=ID[V.COMMAND], END_COMMAND=ID[V.END_COMMAND], ANS=ID[V.ANS],
                 BOUNDARY=ID[V.BOUNDARY], ERROR=ID[V.ERROR], QP=16)
    out = {}
    for teacher in (False, True):
        for ref in (False, True):
            c = dict(const, HAS_TEACHER=teacher, HAS_REF=ref)
            sig = {n: "constexpr" if n in c else "i32" if n in scalars else "*i1" if n in bools else "*i8" if n == "roles" else "*i64"
                   for n in fn.arg_names}
            src = ASTSource(fn=fn, signature=sig, constexprs={(fn.arg_names.index(k),): v for k, v in c.items()})
            name = f"_tool_step/{'teacher' if teacher else 'model'}{'-ref' if ref else ''}"
            out[name] = triton.compile(src, target=GPUTarget("cuda", arch, 32), options={"num_warps": 4}).asm["ptx"]  # the launch's default warps
    return out
