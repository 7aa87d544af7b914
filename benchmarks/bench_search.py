#!/usr/bin/env python
"""Search memory speed on large memories: find() latency against the number of lines, compared with a naive
scan (``[l for l in lines if pattern in l]``) in the same process.

    python benchmarks/bench_search.py
"""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from toolssm.tasks.logical_graph import graph_code, random_graph  # noqa: E402
from toolssm.tokenizer import split_tokens  # noqa: E402
from toolssm.tools import SearchMemory  # noqa: E402


def main():
    rows = []
    print(f"{'lines':>7} {'find us':>9} {'naive us':>9} {'speedup':>8}")
    for n in [100, 1000, 4000, 9000]:
        rng = random.Random(0)
        nodes = random_graph(rng, n)
        tool = SearchMemory()
        tool.reset(split_tokens(graph_code(nodes)))
        for tok in split_tokens("".join(f"{name} <- x: y\n" for name, _ in nodes[: n // 2])):  # memory the model wrote
            tool.write(tok)
        lines = tool.lines
        pats = [f"{rng.choice(nodes)[0]} =" for _ in range(300)]
        t0 = time.perf_counter()
        for q in pats:
            a = tool.find(q)
        t_find = (time.perf_counter() - t0) / len(pats)
        t0 = time.perf_counter()
        for q in pats:
            b = [line for line in lines if q in line]
        t_naive = (time.perf_counter() - t0) / len(pats)
        assert a == b
        rows.append({"lines": len(lines), "find_us": t_find * 1e6, "naive_us": t_naive * 1e6, "speedup": t_naive / t_find})
        print(f"{len(lines):>7} {t_find * 1e6:>9.1f} {t_naive * 1e6:>9.1f} {t_naive / t_find:>7.1f}x")
    os.makedirs("benchmarks/results", exist_ok=True)
    json.dump(rows, open("benchmarks/results/search_cpu.json", "w"), indent=1)


if __name__ == "__main__":
    main()
