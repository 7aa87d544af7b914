#!/usr/bin/env python
"""Does the small LSTM/GRU learn the logical graph's name copies *inside the task* when the loss is on nothing else?
And does the copy survive when the whole trace's loss comes back? A toy run on the CPU, on real graph trajectories.

    python scripts/graph_copy_stage.py --preset gru-small --loss names --steps 300 --save /tmp/gru-names
    python scripts/graph_copy_stage.py --preset gru-small --loss all --steps 300 --init-from /tmp/gru-names

Why (2026-12-08): trained 2,000 steps on the graph task (two rates, a short-graph curriculum, the paper's 4 x 1536
size) the LSTM and GRU copy no name digit above chance (results/table1_full/copy-margins-*), while trained on one
copy alone, out of the task, they learn it in 200-1,000 steps (scripts/copy_probe.py). This is the step between: the
task's own trajectories (train split, 4 to --max-n nodes, the trace as train.py renders it), with the loss either on
the trained tokens as train.py has it (``--loss all``) or only on the digits of the names the model writes in its
thoughts and commands (``--loss names``: every digit the model writes in this task is a copied name digit). Every
--every steps it reports, teacher-forced on 64 held-out trajectories (another seed): the name digits right, the names
right whole, and the trained tokens right (all of them, names included). A copy stage that works here is what a copy
curriculum on the GPU would start from (``--save`` writes a folder ``train.py --init-from`` loads).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from toolssm.tasks import task_class  # noqa: E402
from toolssm.trajectory import IGNORE_INDEX as IGNORE  # noqa: E402  (train.py's label mask)


def examples(task, rng: random.Random, count: int, max_n: int, loss: str) -> list[dict]:
    """``count`` rendered training trajectories of 4..max_n nodes; with ``loss == "names"`` the labels keep only the
    digits of written names (a digit in a thought or a command: in this task always a copied name's)."""
    from toolssm.training import LOSS_TOKENS
    from toolssm.trajectory import render

    digits = LOSS_TOKENS["digits"]  # train.py --loss_tokens digits: the same filter
    out = []
    for _ in range(count):
        ex = render(task.trajectory(task.sample(rng, max_n, True)))
        ex["name_digit"] = [lab in digits for lab in ex["labels"]]
        if loss == "names":
            ex["labels"] = [lab if d else IGNORE for lab, d in zip(ex["labels"], ex["name_digit"])]
        out.append(ex)
    return out


def batch_of(exs: list[dict]):
    import torch

    from toolssm.trajectory import collate

    b = collate([{"input_ids": e["input_ids"], "labels": e["labels"]} for e in exs])
    T = b["input_ids"].shape[1]
    nd = torch.zeros_like(b["input_ids"], dtype=torch.bool)
    for i, e in enumerate(exs):
        nd[i, : len(e["name_digit"])] = torch.tensor(e["name_digit"])
    return b["input_ids"], b["labels"], nd[:, :T]


def score(model, held: list[dict]) -> dict:
    """Teacher-forced on the held-out trajectories (their full labels): name digits right, names right whole (4 of
    4 digits), every trained token right."""
    import torch

    model.eval()
    digits = digits_ok = names = names_ok = tokens = tokens_ok = 0
    with torch.no_grad():
        for k in range(0, len(held), 16):
            exs = held[k : k + 16]
            ids, labels, nd = (t.to(model.device) for t in batch_of([dict(e, labels=e["full_labels"]) for e in exs]))
            pred = model(input_ids=ids).logits[:, :-1].argmax(-1)
            lab, nd = labels[:, 1:], nd[:, 1:]
            ok = pred == lab
            trained = lab != IGNORE
            tokens += int(trained.sum())
            tokens_ok += int((ok & trained).sum())
            digits += int(nd.sum())
            digits_ok += int((ok & nd).sum())
            for r in range(ids.shape[0]):  # names: runs of 4 consecutive name digits
                pos = nd[r].nonzero()[:, 0].tolist()
                for j in range(0, len(pos) - 3, 4):
                    names += 1
                    names_ok += int(all(ok[r, p] for p in pos[j : j + 4]))
    model.train()
    return {"name_digits": digits_ok / max(digits, 1), "names_whole": names_ok / max(names, 1),
            "trained_tokens": tokens_ok / max(tokens, 1), "digits": digits, "names": names}


def main(argv=None) -> int:
    import torch

    from toolssm.models import build_model
    from toolssm.tasks import get_task

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="gru-small")
    p.add_argument("--init-from", default=None, help="a checkpoint folder to start from (a --save of an earlier stage)")
    p.add_argument("--loss", choices=("names", "all"), default="names")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-n", type=int, default=5, help="graphs of 4..max_n nodes (the cell trains 4-10)")
    p.add_argument("--config", default="default", choices=tuple(task_class("logical_graph").configs),
                   help="the trace: default (names copied across observations) or value_lines (docs/FORMATS.md: every "
                        "copy from the last observation or the model's own last command)")
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--save", default=None, help="write the trained model here (save_pretrained)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or args.max_n < 4:
        p.error("--steps and --batch-size must be positive, --max-n at least 4 (the task's smallest graph)")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.init_from:
        from transformers import AutoModelForCausalLM

        import toolssm  # noqa: F401  (registers the model classes)

        model = AutoModelForCausalLM.from_pretrained(args.init_from)
    else:
        model = build_model(args.preset)
    dev = torch.device(args.device)
    model.to(dev)
    task = get_task("logical_graph", args.config)
    rng, held_rng = random.Random(args.seed), random.Random(10_000 + args.seed)
    held = examples(task, held_rng, 64, args.max_n, "all")
    for e in held:
        e["full_labels"] = e["labels"]
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    name = args.init_from or args.preset
    print(f"{name}: {args.config} trace, loss on {args.loss}, graphs 4-{args.max_n} nodes, batch {args.batch_size}, lr {args.lr}", flush=True)
    s = score(model, held)
    print(f"step 0 name digits {s['name_digits']:.3f} names whole {s['names_whole']:.3f} trained tokens "
          f"{s['trained_tokens']:.3f} (held out: {s['names']} names)", flush=True)
    t0 = time.time()
    model.train()
    for step in range(1, args.steps + 1):
        ids, labels, _ = (t.to(dev) for t in batch_of(examples(task, rng, args.batch_size, args.max_n, args.loss)))
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        if step % args.every == 0 or step == args.steps:
            s = score(model, held)
            print(f"step {step} loss {loss.item():.3f} name digits {s['name_digits']:.3f} names whole "
                  f"{s['names_whole']:.3f} trained tokens {s['trained_tokens']:.3f} ({time.time() - t0:.0f} s)", flush=True)
    if args.save:
        model.save_pretrained(args.save)
        print(f"saved {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
