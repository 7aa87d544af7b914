"""The one way the benchmarks file their figures: a JSON file, its folder made first; and the record the
teacher-forced A/B loop benchmarks (bench_host_loop.py, bench_kv_cache.py) share."""

import json
import os
import platform
import statistics
import sys


def write_json(path: str | None, obj) -> None:
    """Write ``obj`` to ``path`` as indented JSON (nothing when ``path`` is None)."""
    if not path:
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def ab_record(args, device, preset: str, batch: int, refs, prompt_lengths, times: dict, base: str, variant: str, **extra) -> dict:
    """The record of a benchmark that decodes the same teacher-forced rows two ways (``times[base]`` and
    ``times[variant]``, wall seconds per repeat): the machine, the task and its trajectory lengths, the loop steps
    after the shared prefill, each way's median seconds and steps per second, and ``speedup`` (base / variant)."""
    import torch

    lengths = sorted(len(r) for r in refs)
    steps = lengths[-1] - min(prompt_lengths)  # loop steps after the shared prefill
    out = {"preset": preset, "device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
           "machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "task": args.task, "n": args.n,
           "batch": batch, "trajectory_tokens_min_median_max": [lengths[0], lengths[len(lengths) // 2], lengths[-1]],
           "loop_steps": steps}
    for k in (base, variant):
        out[f"{k}_s"] = statistics.median(times[k])
    out["all_times_s"] = times
    out.update(extra)
    out["command"] = " ".join(["python", *sys.argv])
    for k in (base, variant):
        out[f"{k}_steps_per_s"] = steps / out[f"{k}_s"]
    out["speedup"] = out[f"{base}_s"] / out[f"{variant}_s"]
    return out
