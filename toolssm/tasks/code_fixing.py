"""Synthetic codebases with the paper's v10 bug (section 3.5): the generator, the fix, and a reference run.

A codebase has n Python functions, one per file, in a call graph rooted at ``main`` (main.py). Function names are
distinct draws from f0..f999, except that the last function added is ``foo``. Each function takes some of v0..v9 as
parameters, assigns others, prints some, and calls its children, passing each child the variables it expects. The
bug: ``v10`` is assigned in main.py and printed in foo.py but never passed down, so running the program raises
NameError. The fix threads v10 through every function on a path from main to foo (parameter + argument at each
call site) and changes nothing else.

This module is the first part of issue 7 (code fixing); the sandboxed shell tool, the hard-coded agents, the
dataset builder and the evaluator are not implemented yet.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

VARS = [f"v{i}" for i in range(10)]


@dataclass
class Function:
    name: str
    params: list[str]
    assigns: dict[str, int]
    prints: list[str]
    children: list[str] = field(default_factory=list)


@dataclass
class Codebase:
    """The functions (creation order; main first, foo last) and the v10 value assigned in main."""

    functions: list[Function]
    v10: int

    @property
    def by_name(self) -> dict[str, Function]:
        return {f.name: f for f in self.functions}

    def paths_to_foo(self) -> set[str]:
        """Functions on some call path from main to foo (both included)."""
        by = self.by_name
        memo: dict[str, bool] = {}

        def reaches(name: str) -> bool:
            if name not in memo:
                memo[name] = name == "foo" or any(reaches(c) for c in by[name].children)
            return memo[name]

        return {f.name for f in self.functions if reaches(f.name)}

    def files(self, fixed: bool = False) -> dict[str, str]:
        """File name -> source. ``fixed`` threads v10 along every path from main to foo."""
        on_path = self.paths_to_foo() if fixed else set()
        by = self.by_name
        out = {}
        for f in self.functions:
            thread = f.name in on_path and f.name != "main"
            params = f.params + (["v10"] if thread else [])
            lines = [f"from {c} import {c}\n" for c in f.children]
            if lines:
                lines.append("\n\n")
            lines.append(f"def {f.name}({', '.join(params)}):\n")
            if f.name == "main":
                lines.append(f"    v10 = {self.v10}\n")
            for v, val in f.assigns.items():
                lines.append(f"    {v} = {val}\n")
            for v in f.prints:
                lines.append(f'    print("{f.name}.{v}", {v})\n')
            if f.name == "foo":
                lines.append('    print("foo.v10", v10)\n')
            for c in f.children:
                args = by[c].params + (["v10"] if c in on_path and fixed else [])
                lines.append(f"    {c}({', '.join(args)})\n")
            if f.name == "main":
                lines.append('\n\nif __name__ == "__main__":\n    main()\n')
            out[f"{f.name}.py"] = "".join(lines)
        return out


def generate_codebase(rng: random.Random, n: int) -> Codebase:
    """A random codebase of n >= 2 functions with the v10 bug."""
    if not isinstance(n, int) or n < 2 or n > 1000:
        raise ValueError(f"a codebase needs 2..1000 functions, got {n!r}")
    names = ["main"] + [f"f{i}" for i in rng.sample(range(1000), n - 2)] + ["foo"]
    funcs: list[Function] = []
    for i, name in enumerate(names):
        params = [] if name == "main" else sorted(rng.sample(VARS, rng.randint(0, 3)), key=VARS.index)
        free = [v for v in VARS if v not in params]
        assigns = {v: rng.randint(0, 99) for v in sorted(rng.sample(free, rng.randint(1, 3)), key=VARS.index)}
        defined = params + list(assigns)
        prints = sorted(rng.sample(defined, rng.randint(0, min(2, len(defined)))), key=VARS.index)
        fn = Function(name, params, assigns, prints)
        if i > 0:  # called by one earlier function, and sometimes by a second one (a DAG: several paths)
            parents = {rng.randrange(i)}
            if i > 2 and rng.random() < 0.3:
                parents.add(rng.randrange(i))
            for p in sorted(parents):
                funcs[p].children.append(name)
        funcs.append(fn)
    # every caller must define the variables its children expect
    for f in funcs:
        for c in f.children:
            for v in next(g for g in funcs if g.name == c).params:
                if v not in f.params and v not in f.assigns:
                    f.assigns[v] = rng.randint(0, 99)
        f.assigns = dict(sorted(f.assigns.items(), key=lambda kv: VARS.index(kv[0])))
    return Codebase(funcs, v10=rng.randint(100, 999))


def run_codebase(files: dict[str, str], timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run main.py of a codebase in a fresh temporary folder (no sandbox: only for trusted, generated code)."""
    with tempfile.TemporaryDirectory() as d:
        for name, src in files.items():
            with open(os.path.join(d, name), "w") as fh:
                fh.write(src)
        return subprocess.run([sys.executable, "main.py"], cwd=d, capture_output=True, text=True, timeout=timeout,
                              env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"})
