"""Length-generalization evaluation: run the tool loop on test problems and score it.

Per length: exact match of the whole trajectory and answer (the paper's metric: the generated token
sequence equals the reference trajectory), answer accuracy (the task's oracle check on the output
stream), teacher-forced token accuracy, each with a 95% interval (Wilson for the two proportions over
samples; for token accuracy a normal interval over per-sample accuracies, since tokens of one
sample are not independent), plus tokens and seconds per sample.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import torch

from .generation import generate_with_tools
from .tasks.base import STRESS_FAMILIES
from .trajectory import IGNORE_INDEX, collate, render

Z95 = 1.959963984540054


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    d = 1 + Z95**2 / n
    c = (p + Z95**2 / (2 * n)) / d
    h = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / d
    # clamp so the bounds always contain p (floating error at p = 0 or 1)
    return (min(p, max(0.0, c - h)), max(p, min(1.0, c + h)))


def mean_interval(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return (0.0, 1.0)
    m = sum(values) / n
    if n == 1:
        return (m, m)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    h = Z95 * sd / math.sqrt(n)
    return (max(0.0, m - h), min(1.0, m + h))


@torch.no_grad()
def token_accuracy_counts(model, batch: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(correct, total) argmax predictions over trained positions, teacher-forced."""
    logits = model(input_ids=batch["input_ids"]).logits  # (B, T, V)
    pred = logits[:, :-1].argmax(-1)
    gold = batch["labels"][:, 1:]
    mask = gold != IGNORE_INDEX
    return int(((pred == gold) & mask).sum()), int(mask.sum())


@dataclass
class SampleResult:
    n: int
    exact: bool
    answer_correct: bool
    token_correct: int
    token_total: int
    num_tokens: int
    seconds: float
    finished: bool
    stress: str | None = None  # the stress class of the problem, on stress splits
    split: str = "test"  # the split the problem came from (several splits can share one decoding batch)
    index: int | None = None  # the problem's index in its split (eval seed, "<split>_<n>", index): how to find it again
    first_wrong: int | None = None  # not exact: the first generated token off the reference (0 = the first one generated)
    reference_tokens: int = 0  # generated tokens of the reference trajectory


def first_difference(ids: list[int], ref: list[int], start: int) -> int | None:
    """The first position at or past ``start`` where ``ids`` and ``ref`` differ (one ending counts), minus ``start``;
    None when they are equal."""
    m = min(len(ids), len(ref))
    if ids[start:m] == ref[start:m]:
        return None if len(ids) == len(ref) else m - start
    lo, hi = start, m  # the first difference lies in [lo, hi): halve by slice equality (C speed on long trajectories)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ids[lo:mid] == ref[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo - start


#: Mamba-1 sequences longer than this are teacher-forced step by step off the GPU. transformers' CPU scan holds
#: (d_inner, length, d_state) float32 tensors: several of ~5 GiB each for a 146k-token n x 2 trajectory at 2,000
#: digits with Mamba-small, which killed a 24 GiB machine without a word; a chunked forward through the model's cache
#: is not exact for Mamba-1 (docs/platform notes: the SSM state restarts at each multi-token chunk).
#: the evaluation splits: the paper's distribution, then the stress families (docs/FORMATS.md)
EVAL_SPLITS = ("test",) + STRESS_FAMILIES
STEPPED_TEACHER_FORCING_TOKENS = 32768


def teacher_forced(model, refs: list[dict]) -> list[tuple[int, int]]:
    """(correct, total) teacher-forced argmax predictions over each reference's trained positions (``input_ids`` /
    ``labels`` dicts): one forward per reference, except the long ones of a Mamba-1 model off CUDA, which are fed
    together, one row each, through the exact one-token decoding step (a 16-problem, 44k-token evaluation: one
    pass, not 16)."""
    from .fast import MambaStepper, static_stepper_class

    device = next(model.parameters()).device
    stepped = device.type != "cuda" and static_stepper_class(model) is MambaStepper
    long = [i for i, r in enumerate(refs) if stepped and len(r["input_ids"]) > STEPPED_TEACHER_FORCING_TOKENS]
    out = dict(zip(long, _teacher_forced_stepped(MambaStepper(model, len(long), cuda_graph=False), [refs[i] for i in long]))) if long else {}
    for i, r in enumerate(refs):
        if i not in out:
            batch = collate([r])
            out[i] = token_accuracy_counts(model, {k: v.to(device) for k, v in batch.items()})
    return [out[i] for i in range(len(refs))]


def stepped_logits(stepper, ids: torch.Tensor):
    """Feed ``ids`` (rows, L) through ``stepper`` (a :class:`toolssm.fast.StaticStepper` of that many rows) one token a
    step from an empty state, never one full forward; yield ``(t, logits)`` for t = 0..L-2, the logits (rows, vocab)
    after ``ids[:, :t + 1]``, that is the prediction of ``ids[:, t + 1]``. Memory stays (rows, vocab) at any length.
    Shared by the teacher-forced token accuracy below and scripts/graph_copy_margins.py."""
    stepper.max_prefill_tokens = 0  # step, never one full forward
    if ids.shape[1] < 2:
        return
    logits = stepper.prefill(ids[:, :1])[:, 0]  # from an empty state
    yield 0, logits
    for t in range(1, ids.shape[1] - 1):
        yield t, stepper.step(ids[:, t])


def _teacher_forced_stepped(stepper, refs: list[dict]) -> list[tuple[int, int]]:
    """One row per reference (right-padded: a causal model's positions never see the padding, whose labels are
    ignored), fed through the stepper from an empty state one token at a time (:func:`stepped_logits`), each step's
    argmax compared with the next label at once: memory stays (rows, vocab) at any length (keeping every step's
    logits, as a prefill does, took 4.5 GB for 16 x 44k tokens and grows with both)."""
    batch = collate(refs)
    ids = batch["input_ids"].to(stepper.device)
    gold = batch["labels"][:, 1:].to(stepper.device)
    mask = gold != IGNORE_INDEX
    right = torch.zeros(len(refs), dtype=torch.long, device=stepper.device)
    for t, logits in stepped_logits(stepper, ids):
        right += (logits.argmax(-1) == gold[:, t]) & mask[:, t]
    return list(zip(right.tolist(), mask.sum(1).tolist()))


def episode_budget(ref_ids, factor: float = 1.1) -> int:
    """New tokens a row may generate: ``factor`` times its reference trajectory, plus 32."""
    return int(len(ref_ids) * factor) + 32


def evaluate_items(model, task, items, batch_size: int = 16, budget_factor: float = 1.1, token_accuracy: bool = True, progress: bool = False,
                   stop_at_divergence: bool = False, fast: bool | None = None, device_tools: bool | None = None,
                   refs: list[dict] | None = None, splits: list[str] | None = None) -> list[SampleResult]:
    """Run the tool loop on ``items`` (from ``task.make_item``) in batches; score each against its reference.
    With ``stop_at_divergence`` a row stops at its first token off the reference (exact match is unchanged;
    answer accuracy then counts such rows as wrong, so it becomes a lower bound). ``fast`` chooses the decoding
    step (see :func:`toolssm.fast.make_stepper`; False: the model's cache API); ``device_tools`` runs pointer memory on
    the device, many steps per graph replay (:mod:`toolssm.device_loop`; exact match is still scored against the
    reference trajectory and the task's own answer check, so a device-loop error shows as a failure). ``refs``: the
    items' rendered references, when already made (:func:`build_items`); ``splits``: each item's split, recorded in
    its result."""
    if refs is not None and len(refs) != len(items) or splits is not None and len(splits) != len(items):
        raise ValueError(f"evaluate_items: {len(items)} items need as many refs and splits")
    out: list[SampleResult] = []
    was_training = model.training
    model.eval()
    for s in range(0, len(items), batch_size):
        chunk = items[s : s + batch_size]
        chunk_refs = refs[s : s + batch_size] if refs is not None else [render(it.trajectory, train_observations=task.train_observations) for it in chunk]
        chunk_splits = splits[s : s + batch_size] if splits is not None else ["test"] * len(chunk)
        budgets = [episode_budget(r["input_ids"], budget_factor) for r in chunk_refs]
        t0 = time.time()
        tools = [task.inference_tool(it.problem) for it in chunk]
        res = generate_with_tools(model, [it.prompt for it in chunk], tools, max_new_tokens=budgets, progress=progress, fast=fast,
                                  device_tools=device_tools, stop_at_reference=[r["input_ids"] for r in chunk_refs] if stop_at_divergence else None)
        dt = (time.time() - t0) / len(chunk)
        counts = teacher_forced(model, chunk_refs) if token_accuracy else [(0, 0)] * len(chunk_refs)
        for it, ref, r, tool, (tc, tt), sp in zip(chunk, chunk_refs, res, tools, counts, chunk_splits):
            exact = r.finished and r.ids == ref["input_ids"]
            answer = (not r.diverged) and task.score(it.problem, r.output, tool)
            wrong = None if exact else first_difference(r.ids, ref["input_ids"], r.prompt_len)
            if wrong is None and not exact:  # the same ids but no [EOS] of its own (cut by the budget): wrong at its end
                wrong = len(r.generated_ids)
            out.append(SampleResult(it.n, exact, answer, tc, tt, len(r.generated_ids), dt, r.finished, it.problem.get("stress"), sp,
                                    first_wrong=wrong, reference_tokens=len(ref["input_ids"]) - r.prompt_len))
    model.train(was_training)
    return out


def summarize(samples: list[SampleResult]) -> dict:
    """Metrics for one length (see the module docstring)."""
    k = len(samples)
    em = sum(s.exact for s in samples)
    ans = sum(s.answer_correct for s in samples)
    per_tok = [s.token_correct / s.token_total for s in samples if s.token_total]
    by_class: dict[str, dict[str, int]] = {}  # stress splits: exact match per stress class
    for s in samples:
        if s.stress is not None:
            c = by_class.setdefault(s.stress, {"exact": 0, "samples": 0})
            c["exact"] += int(s.exact)
            c["samples"] += 1
    return {
        "n": samples[0].n if samples else None,
        "num_samples": k,
        "exact_match": em / k if k else 0.0,
        "exact_match_ci": list(wilson(em, k)),
        "answer_accuracy": ans / k if k else 0.0,
        "answer_accuracy_ci": list(wilson(ans, k)),
        "token_accuracy": sum(per_tok) / len(per_tok) if per_tok else None,
        "token_accuracy_ci": list(mean_interval(per_tok)) if per_tok else None,
        "tokens_per_sample": sum(s.num_tokens for s in samples) / k if k else 0,
        "seconds_per_sample": sum(s.seconds for s in samples) / k if k else 0,
        "finished": sum(s.finished for s in samples),
        **({"by_class": by_class} if by_class else {}),
        # every problem that is not exact, findable again (scripts/divergence.py --split SPLIT --n N --indices ...):
        # its index, class, whether its answer was still right, and its first wrong generated token of how many
        "failures": [{"index": s.index, **({"class": s.stress} if s.stress is not None else {}), "answer_correct": s.answer_correct,
                      "first_wrong_token": s.first_wrong, "reference_tokens": s.reference_tokens}
                     for s in sorted(samples, key=lambda s: (s.index is None, s.index or 0)) if not s.exact],
    }


#: host memory per trajectory token while a problem is evaluated: building the item and its rendered reference peaks at
#: ~200 B/token (measured with tracemalloc: addition 3,000 digits, Hanoi 9-10 disks), the loop's per-token results add
#: ~40; doubled for the allocator's slack
HOST_BYTES_PER_TOKEN = 500


def available_memory() -> int:
    """Bytes of host memory available now (Linux MemAvailable; else the physical total)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def plan_batch(tokens_per_problem: int, requested: int, available: int | None = None, share: float = 0.6) -> int:
    """The largest batch (<= requested) whose problems fit in ``share`` of the available host memory, or a
    ValueError that gives the numbers when not even one does."""
    available = available_memory() if available is None else available
    need = tokens_per_problem * HOST_BYTES_PER_TOKEN
    fits = int(share * available) // max(1, need)
    if fits < 1:
        raise ValueError(f"one problem ({tokens_per_problem:,} trajectory tokens) needs about {need / 2**30:.1f} GiB of host memory "
                         f"and {available / 2**30:.1f} GiB are available: evaluate smaller sizes or on a larger machine")
    return min(requested, fits)


def evaluate_length(model, task, n: int, indices: list[int], seed: int = 0, split: str = "test", batch_size: int = 16, **kw) -> list[SampleResult]:
    """Evaluate the problems ``indices`` of size n of one split (:func:`evaluate_splits` with one split)."""
    return evaluate_splits(model, task, n, {split: list(indices)}, seed=seed, batch_size=batch_size, **kw)[split]


#: problems of at least this many trajectory tokens are built in worker processes (:func:`build_items`): a
#: 100,000-digit addition takes ~11 s to generate and render on one core (6.2 + 5.1 s, measured on the development
#: machine), so building 16 of them before decoding cost ~4.5 minutes of a 10-minute GPU call on 2026-12-04
PARALLEL_BUILD_TOKENS = 200_000


def _build_one(task, n: int, seed: int, split: str, index: int):
    item = make_test_items(task, n, 1, seed=seed, start=index, split=split)[0]
    return item, render(item.trajectory, train_observations=task.train_observations)


def build_items(task, n: int, specs: list[tuple[str, int]], seed: int = 0, workers: int = 1) -> list[tuple]:
    """(item, rendered reference) for each (split, index) in ``specs``, in order; with ``workers`` > 1 in that many
    worker processes (forked, or spawned where this process holds a CUDA context)."""
    workers = min(workers, len(specs))
    if workers <= 1:
        return [_build_one(task, n, seed, *sp) for sp in specs]
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork is cheap and safe while this process holds no CUDA context; with one, workers are spawned (a forked child of
    # a CUDA process must not touch CUDA, and a spawned one imports toolssm afresh: a few seconds)
    method = "spawn" if torch.cuda.is_initialized() or "fork" not in multiprocessing.get_all_start_methods() else "fork"
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            return list(pool.map(_build_one, *zip(*[(task, n, seed, sp, i) for sp, i in specs])))
    except BrokenProcessPool as e:  # e.g. spawned from a script without `if __name__ == "__main__":`
        warnings.warn(f"build_items: worker processes failed ({e}); building the {len(specs)} problems in this process", RuntimeWarning)
        return [_build_one(task, n, seed, *sp) for sp in specs]


def evaluate_splits(model, task, n: int, indices: dict[str, list[int]], seed: int = 0, batch_size: int = 16,
                    workers: int | None = None, **kw) -> dict[str, list[SampleResult]]:
    """Evaluate the problems of size n given per split (``{"test": [0, 1, ...], "stress": [...]}``) in shared
    decoding batches (one process and one tool loop for several splits: on a GPU, two evaluations in two processes
    get time slices of it each, while one loop of twice the batch costs little more per step), building each batch's
    items only when it runs (a 16-disk Hanoi trajectory alone takes ~4 GB) and in ``workers`` processes (default: one
    per core but one when the first problem has :data:`PARALLEL_BUILD_TOKENS` tokens or more; :func:`build_items`), in
    batches that fit the host's memory (:func:`plan_batch`). Returns each split's results."""
    out: dict[str, list[SampleResult]] = {sp: [] for sp in indices}
    todo = [(sp, i) for sp, idx in indices.items() for i in idx]
    if not todo:
        return out
    # [decision] stress problems batched class by class (index % classes is the class): the classes of one task differ
    # in trajectory length by up to 10x (the graph at 1,000 nodes: `chain` 276k tokens, `fan_in` 28k), and a batch runs
    # as long as its longest row, so mixed batches spend most steps on a few long rows. Results keep the given order.
    order = {t: j for j, t in enumerate(todo)}
    families = task.stress_families() if hasattr(task, "stress_families") else {}
    todo.sort(key=lambda t: (STRESS_FAMILIES.index(t[0]) + 1, t[1] % len(families[t[0]])) if t[0] in families else (0, 0))
    done: list[tuple[int, SampleResult]] = []
    first = build_items(task, n, todo[:1], seed)  # its size sets the batch and whether to build in parallel
    tokens = first[0][0].trajectory.num_tokens()
    batch = plan_batch(tokens, batch_size)
    if workers is None:  # one worker per core but one, for large problems
        workers = max(1, (os.cpu_count() or 1) - 1) if tokens >= PARALLEL_BUILD_TOKENS else 1
    for s in range(0, len(todo), batch):
        group = todo[s : s + batch]
        chunk = first + build_items(task, n, group[1:], seed, workers) if s == 0 else build_items(task, n, group, seed, workers)
        for g, r in zip(group, evaluate_items(model, task, [it for it, _ in chunk], batch_size=batch, refs=[ref for _, ref in chunk],
                                              splits=[sp for sp, _ in group], **kw)):
            r.index = g[1]
            done.append((order[g], r))
    for _, r in sorted(done, key=lambda x: x[0]):
        out[r.split].append(r)
    return out


def make_test_items(task, n: int, num_samples: int, seed: int = 0, start: int = 0, split: str = "test"):
    """The problems of size n of split ``test``, ``stress`` or ``runs``: the same (seed, split=<split>_<n>, index) items
    the dataset builder writes (a stress family's classes in turn, so ``num_samples`` = classes x k gives k of each)."""
    if split not in EVAL_SPLITS:
        raise ValueError(f"split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    return [task.make_item(seed, f"{split}_{n}", i, n, train=False, stress=split if split in STRESS_FAMILIES else False)
            for i in range(start, start + num_samples)]


def plot_results(results: list[dict], path: str, metric: str = "exact_match", title: str | None = None) -> None:
    """Accuracy against length (log x), one curve per model, with 95% intervals as bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = len(results) > 6
    fig, ax = plt.subplots(figsize=(9.6, 4.8) if many else (6.4, 4.2))
    colors = plt.get_cmap("tab20").colors if many else None
    for i, res in enumerate(results):
        rows = sorted(res["lengths"], key=lambda r: r["n"])
        xs = [r["n"] for r in rows]
        ys = [r[metric] for r in rows]
        lo = [r[f"{metric}_ci"][0] for r in rows]
        hi = [r[f"{metric}_ci"][1] for r in rows]
        line, = ax.plot(xs, ys, marker="o", label=res.get("label") or res.get("architecture", "model"),
                        color=colors[i % len(colors)] if colors else None, ls="-" if i < 20 else "--")
        if not many:  # with many curves the bands hide each other
            ax.fill_between(xs, lo, hi, alpha=0.15, color=line.get_color())
    if results and results[0].get("train_max_n"):
        ax.axvline(results[0]["train_max_n"], color="gray", ls=":", lw=1, label="max training size")
    ax.set_xscale("log")
    xs_all = sorted({r["n"] for res in results for r in res["lengths"]})
    if 0 < len(xs_all) <= 12:  # the sizes evaluated as plain numbers, not powers of ten
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xticks(xs_all)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(f"problem size ({results[0].get('size_unit', 'n')})" if results else "n")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title or (f"{results[0]['task']} ({results[0].get('config', '')})" if results else ""))
    ax.grid(True, which="both", alpha=0.3)
    if many:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
