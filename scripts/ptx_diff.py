#!/usr/bin/env python
"""Did a change to the fused RNN kernels (toolssm/rnn_kernel.py) change the code the GPU runs? Compiles every kernel
variant of the working tree and of a git revision for one CUDA arch, without a GPU (Triton's compiler and ptxas), and
compares their PTX instruction by instruction (register numbers, labels, debug locations ignored).

    python scripts/ptx_diff.py HEAD~1              # sm_90, the H200's arch
    python scripts/ptx_diff.py 32880f4 --arch 80

Prints, per variant, "same instructions" or how many instructions differ; exit status 1 if any differ. For a refactor
that was validated on a GPU before: same instructions means the GPU's results and timings carry over.
"""

import argparse
import difflib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)


def instructions(ptx: str) -> list[str]:
    """The PTX's instructions in order, register names, labels and debug locations blanked."""
    out = []
    for line in ptx.split(".section")[0].split("\n"):
        line = re.sub(r"//.*", "", line).strip()
        if not line or line.startswith((".loc", ".file")) or line.endswith(":"):
            continue
        out.append(re.sub(r"%\w+", "%r", re.sub(r"\$L__\w+", "L", line)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rev", help="the git revision to compare the working tree's kernels with")
    ap.add_argument("--arch", type=int, default=90, help="CUDA compute capability x 10 (default 90: H100/H200)")
    args = ap.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") == "1":
        raise SystemExit("unset TRITON_INTERPRET: the interpreter does not compile")
    r = subprocess.run(["git", "show", f"{args.rev}:toolssm/rnn_kernel.py"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"git show {args.rev}:toolssm/rnn_kernel.py failed: {r.stderr.strip()}")
    from toolssm import rnn_kernel

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "rnn_kernel_old.py")  # a file of its own: Triton reads kernels' source from it
        with open(path, "w") as f:
            f.write(r.stdout)
        spec = importlib.util.spec_from_file_location("rnn_kernel_old", path)
        old = importlib.util.module_from_spec(spec)
        sys.modules["rnn_kernel_old"] = old
        spec.loader.exec_module(old)
        before = rnn_kernel.compile_variants(old, arch=args.arch)
    after = rnn_kernel.compile_variants(arch=args.arch)
    differ = 0
    for name in after:
        a, b = instructions(before[name]), instructions(after[name])
        n = sum(1 for x in difflib.ndiff(a, b) if x[:1] in "+-")
        differ += bool(n)
        print(f"{name:<28} {'same instructions' if not n else f'{n} instructions differ'} ({len(a)} -> {len(b)})")
    print(f"{len(after) - differ}/{len(after)} variants compile to the same instructions for sm_{args.arch} ({args.rev} -> working tree)")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
