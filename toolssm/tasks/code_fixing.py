"""Synthetic codebases with the paper's v10 bug (section 3.5): the generator, the fix, and a reference run.

A codebase has n Python functions, one per file, in a call graph rooted at ``main`` (main.py). Function names are
distinct draws from f0..f999, except that the last function added is ``foo``. Each function takes some of v0..v9 as
parameters, assigns others, prints some, and calls its children, passing each child the variables it expects. The
bug: ``v10`` is assigned in main.py and printed in foo.py but never passed down, so running the program raises
NameError. The fix threads v10 through every function on a path from main to foo (parameter + argument at each
call site) and changes nothing else.

The task (``CodeFixing``) drives two hard-coded agents against the sandboxed shell (toolssm.tools.shell) and
scores an episode by running the workspace's program in the sandbox against the fixed reference's output. The
paper's third trajectory source, distillation from SWE-agent-LM-32B inside mini-SWE-agent, cannot run here (no
32B model, no network) and is not imitated.
"""

from __future__ import annotations

import os
import random
import re
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


# ---------------------------------------------------------------------------------------------------------------------
# The task: hard-coded agents that produce trajectories against the sandboxed shell, and the evaluator.

from .. import vocab as V  # noqa: E402
from ..tools.shell import SUBMIT, ShellTool, require_sandbox  # noqa: E402
from ..trajectory import Recorder  # noqa: E402
from .base import Task  # noqa: E402

PROMPT = ("Running main.py fails: v10 is assigned in main() and used in foo() but never passed to it. "
          "Fix the bug by passing v10 to foo() and to the functions that lead to it, and only those.\n")


def _write_cmd(name: str, src: str) -> str:
    return f"cat > {name} <<'EOF'\n{src.rstrip(chr(10))}\nEOF"


def sed_cmds(name: str, old_src: str, new_src: str) -> list[str]:
    """``sed -i 's/OLD/NEW/' FILE`` commands that turn ``old_src`` into ``new_src``, one per changed line, OLD being
    the whole line without its indentation. The fix changes lines in place (a signature, a call), never adds or
    removes one; each OLD must be on exactly one line of the file, so that sed changes that line alone."""
    old_lines, new_lines = old_src.split("\n"), new_src.split("\n")
    if len(old_lines) != len(new_lines):
        raise ValueError(f"{name}: the fix adds or removes lines; sed edits cannot express it")
    cmds = []
    for a, b in zip(old_lines, new_lines):
        if a != b:
            indent = len(a) - len(a.lstrip(" "))
            if a[:indent] != b[:indent] or sum(a.strip() in line for line in old_lines) != 1:
                raise ValueError(f"{name}: line {a!r} is not a unique, same-indent edit")
            cmds.append(f"sed -i 's/{a[indent:]}/{b[indent:]}/' {name}")
    return cmds


def _edit(rec: Recorder, name: str, old_src: str, new_src: str, edit: str) -> None:
    """Change one file by the config's edit style: ``write`` (the whole file again) or ``sed`` (the changed lines)."""
    if edit == "write":
        rec.text_command(_write_cmd(name, new_src))
    else:
        for cmd in sed_cmds(name, old_src, new_src):
            rec.text_command(cmd)


def single_turn_agent(rec: Recorder, cb: Codebase, edit: str = "write") -> None:
    """Print every file, then emit every edit at once, then submit (the paper's single-turn agent)."""
    names = rec.text_command("ls").split("\n")
    for n in names:
        rec.text_command(f"cat {n}")
    fixed, original = cb.files(fixed=True), cb.files()
    for n in names:
        if fixed[n] != original[n]:
            _edit(rec, n, original[n], fixed[n], edit)
    rec.text_command(SUBMIT)


def interactive_agent(rec: Recorder, cb: Codebase, max_rounds: int = 200, edit: str = "write") -> None:
    """Run; read the traceback; fix the function it points at and up to 2 of its callers (found with grep); run
    again; until the program runs (the paper's interactive agent: at most 3 files between runs)."""
    fixed, original = cb.files(fixed=True), cb.files()
    done: set[str] = set()
    for _ in range(max_rounds):
        out = rec.text_command("python main.py")
        if out.endswith("[exit code 0]"):
            break
        frames = re.findall(r'File "/mnt/(\w+)\.py"', out)
        if not frames or not ("v10" in out or "positional argument" in out):
            break  # not the bug this agent knows: give up (such a trajectory fails verification and is not kept)
        # NameError in a function: fix it. "f() missing ... 'v10'": the calling function (last frame) must pass it.
        # "f() takes N positional arguments but N+1 were given": f itself must accept v10.
        over = re.search(r"TypeError: (\w+)\(\) takes \d+ positional", out)
        target = over.group(1) if over else frames[-1]
        hits = rec.text_command(f"grep {target}(")  # its call sites: their functions must pass v10 too
        callers = [m.group(1) for m in re.finditer(rf"^(\w+)\.py:\d+:\s+{target}\(", hits, re.M)]
        todo = [n for n in dict.fromkeys([target] + callers) if n not in done][:3]
        for name in todo:
            rec.text_command(f"cat {name}.py")
            if fixed[f"{name}.py"] != original[f"{name}.py"]:
                _edit(rec, f"{name}.py", original[f"{name}.py"], fixed[f"{name}.py"], edit)
            done.add(name)
    rec.text_command(SUBMIT)


class CodeFixing(Task):
    """Fix the v10 bug in a synthetic codebase of n functions through a sandboxed shell.
    Variants: ``interactive`` (run, fix up to 3 files, run again) and ``single_turn`` (read all, edit all); each
    edits by writing whole files (``cat > FILE <<'EOF'``, the paper's configs) or by ``sed -i`` on the changed lines
    (the ``*_sed`` configs: toolssm's, docs/FORMATS.md)."""

    name = "code_fixing"
    configs = {"interactive": {"variant": "interactive", "edit": "write"},
               "single_turn": {"variant": "single_turn", "edit": "write"},
               "interactive_sed": {"variant": "interactive", "edit": "sed"},
               "single_turn_sed": {"variant": "single_turn", "edit": "sed"}}
    default_config = "interactive"
    train_max_n = 16  # the paper's: trajectories for 4..16 functions
    test_lengths = (16, 20, 24, 30)
    size_unit = "functions"
    min_n = 4
    max_n = 200

    def configure(self, edit: str = "write") -> None:
        if edit not in ("write", "sed"):
            raise ValueError(f"code_fixing: edit must be 'write' or 'sed', got {edit!r}")
        self.edit = edit

    def codebase(self, p: dict) -> Codebase:
        return generate_codebase(random.Random(p["cb_seed"]), p["functions"])

    def tool(self, problem=None):
        if problem is None:
            raise ValueError("the code-fixing tool needs the problem (its codebase): tool(problem)")
        return ShellTool(self.codebase(problem).files())

    def sample(self, rng, n, train):
        return {"functions": rng.randint(self.min_n, n) if train else n, "cb_seed": rng.randrange(1 << 32)}

    def size(self, p):
        return p["functions"]

    def prompt(self, p):
        return PROMPT

    def solve(self, p):
        """The fixed program's output (the reference), run here on generated, trusted code."""
        return run_codebase(self.codebase(p).files(fixed=True)).stdout.strip()

    def trajectory(self, p):
        if self.variant == "interactive":  # its scripted agent runs the program: observations come from the sandbox
            require_sandbox("code_fixing/interactive trajectories")
        cb = self.codebase(p)
        tool = ShellTool(cb.files())
        try:
            rec = Recorder(tool, PROMPT)
            (interactive_agent if self.variant == "interactive" else single_turn_agent)(rec, cb, edit=self.edit)
            return rec.traj
        finally:
            tool.close()

    def check(self, p, output):
        raise NotImplementedError("code fixing is scored from the workspace: use score(problem, output, tool)")

    def score(self, p, output, tool):
        """Run the workspace's program in the sandbox: it must exit 0 and print exactly the reference output."""
        if not isinstance(tool, ShellTool) or tool.workspace is None:
            return False
        require_sandbox("scoring code_fixing")
        out = tool._dispatch("python main.py")
        return out.endswith("[exit code 0]") and out[: -len("[exit code 0]")].strip() == self.solve(p)
