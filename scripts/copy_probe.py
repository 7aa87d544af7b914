#!/usr/bin/env python
"""Can a preset learn, on its own, the one copy the logical-graph trace asks for first: the queried name, four digits,
across the ~9 tokens between `print(vDDDD)` and `[COMMAND]find[VALUE]v`? A toy run on the CPU, nothing else in the
sequence to learn, the loss on the four copied digits only; it prints the digit accuracy and the share of names
copied whole on fresh names every --every steps.

    python scripts/copy_probe.py --preset lstm-small --steps 1000 --lr 2e-3

Why (2026-12-07): the small LSTM and GRU trained 2,000 steps on the graph task copy no name digit above chance
(results/table1_full/copy-margins-*); this separates "cannot learn the copy" from "does not learn it inside the task".
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None) -> int:
    from toolssm.models import build_model
    from toolssm.tokenizer import encode

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="lstm-small")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--every", type=int, default=50, help="evaluate on 256 fresh names every this many steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    model = build_model(args.preset)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for _ in range(n):
            name = "".join(str(d) for d in torch.randint(0, 10, (4,)).tolist())
            pre, tgt = encode(f"v1234 = True\nprint(v{name})\n[COMMAND]find[VALUE]v"), encode(name)
            xs.append(pre + tgt)
            ys.append([-100] * len(pre) + tgt)
        return torch.tensor(xs), torch.tensor(ys)

    t0 = time.time()
    for step in range(1, args.steps + 1):
        model.train()
        x, y = batch(args.batch_size)
        loss = model(input_ids=x, labels=y).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        if step % args.every == 0:
            model.eval()
            with torch.no_grad():
                x, y = batch(256)
                pred, lab = model(input_ids=x).logits[:, :-1].argmax(-1), y[:, 1:]
                mask = lab != -100
                acc = (pred[mask] == lab[mask]).float().mean().item()
                whole = ((pred == lab) | ~mask).all(1).float().mean().item()
            print(f"{args.preset} step {step} loss {loss.item():.3f} digit accuracy {acc:.3f} names whole {whole:.3f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
