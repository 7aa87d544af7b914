"""A sandboxed shell for the code-fixing task (paper section 3.5, the mini-SWE-agent environment, reduced).

``[COMMAND]<command>[/COMMAND]`` is answered by ``[OBSERVATION]<output>[/OBSERVATION]``. The commands are a small,
parsed subset of bash (never passed to a real shell):

- ``ls``                                   the files of the workspace
- ``cat FILE``                             a file
- ``grep PATTERN``                         ``file:line:text`` for every line containing PATTERN (a fixed string)
- ``python main.py``                       run the program (see below)
- ``cat > FILE <<'EOF'`` newline, content, newline, ``EOF``   write a file
- ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``                end the episode

File names are plain ``name.py`` (no paths), so nothing outside the throwaway workspace can be named. The program
runs in new mount, network and PID namespaces (``unshare``: no network; the workspace bound read-only-for-it at
/mnt; /tmp, /var/tmp, /dev/shm and /run/lock replaced by small private tmpfs, so it cannot write anywhere that
outlives it), as user nobody (``setpriv``), with limits on CPU time (5 s), wall time, memory (1 GiB), file size,
open files and processes (32), its output cut at 4,000 characters. It can still *read* world-readable system files
(a chroot with its own Python would close that). If the isolation is unavailable the tool refuses to run code
rather than run it unconfined. Anything else, including
characters the tokenizer cannot represent, gets a clear error or is replaced by ``?``.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

from .. import vocab as V
from ..tokenizer import split_tokens
from .base import Tool

FILE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\.py")
WRITE_RE = re.compile(r"cat > ([^\s]+) <<'EOF'\n(.*)\nEOF\n?", re.S)
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
MAX_OUTPUT = 4000
MAX_FILE = 64 * 1024
MAX_FILES = 256
NOBODY = 65534


def sandbox_available() -> bool:
    """Whether the jail below can run a Python program here (checked end to end, once per process)."""
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = False
        if shutil.which("unshare") and shutil.which("setpriv"):
            ws = tempfile.mkdtemp(prefix="toolssm-shell-check-")
            try:
                os.chmod(ws, 0o755)
                with open(os.path.join(ws, "main.py"), "w") as f:
                    f.write("print('sandbox ok')\n")
                os.chmod(os.path.join(ws, "main.py"), 0o644)
                r = subprocess.run(_jail_cmd(ws), capture_output=True, text=True, timeout=20, preexec_fn=_limits)
                _SANDBOX = r.returncode == 0 and r.stdout.strip() == "sandbox ok"
            except (OSError, subprocess.SubprocessError):
                _SANDBOX = False
            finally:
                shutil.rmtree(ws, ignore_errors=True)
    return _SANDBOX


_SANDBOX: bool | None = None
# The real interpreter, not a virtualenv's link to it: the jail hides /tmp (where a venv may live); -S needs no site.
PYTHON = os.path.realpath(sys.executable)


def _jail_cmd(workspace: str) -> list[str]:
    return ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "sh", "-c", _JAIL, "jail", workspace, PYTHON]


# Inside new mount/net/PID namespaces: the workspace is bound at /mnt, every world-writable directory is replaced by
# a small private tmpfs (writes outside the workspace land there and vanish), then the program runs as nobody.
# (-I would drop the script's folder from sys.path, hence -E -s -S.)
_JAIL = (
    'mount --make-rprivate / && mount --bind "$1" /mnt'
    " && for d in /tmp /var/tmp /dev/shm /run/lock; do [ -d $d ] && mount -t tmpfs -o size=8m,nosuid,nodev tmpfs $d; done"
    f' ; cd /mnt && exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "$2" -E -s -S -B main.py'
)


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (5, 5))
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (32, 32))
    os.setsid()


def clean(text: str) -> str:
    """Make text representable by the tokenizer and bounded in length."""
    text = "".join(c if c in V.CHAR_SET else "?" for c in text)
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + f"\n[output truncated: {len(text) - MAX_OUTPUT} more characters]"
    return text


class ShellTool(Tool):
    """A throwaway workspace holding ``files``; reset on every ``reset``."""

    name = "shell"
    max_command_tokens = 16384  # whole files are written in one command

    def __init__(self, files: dict[str, str], timeout: float = 10.0):
        bad = [f for f in files if not FILE_RE.fullmatch(f)]
        if bad:
            raise ValueError(f"workspace file names must match {FILE_RE.pattern}: {bad}")
        self.files, self.timeout = dict(files), timeout
        self.workspace: str | None = None
        self.submitted = False

    def start(self, prompt_tokens: list[str]) -> None:
        self.close()
        self.workspace = tempfile.mkdtemp(prefix="toolssm-shell-")
        os.chmod(self.workspace, 0o755)
        for name, src in self.files.items():
            self._write(name, src)
        self.submitted = False

    def close(self) -> None:
        if getattr(self, "workspace", None) and os.path.isdir(self.workspace):
            shutil.rmtree(self.workspace, ignore_errors=True)
        self.workspace = None

    def __del__(self):
        self.close()

    def _path(self, name: str) -> str | None:
        return os.path.join(self.workspace, name) if FILE_RE.fullmatch(name) else None

    def _write(self, name: str, content: str) -> None:
        path = self._path(name)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, 0o644)

    def read_files(self) -> dict[str, str]:
        """The workspace's current files (for evaluation)."""
        out = {}
        for n in sorted(os.listdir(self.workspace)):
            if FILE_RE.fullmatch(n):
                with open(os.path.join(self.workspace, n), errors="replace") as f:
                    out[n] = f.read()
        return out

    def run_text(self, text: str) -> list[str]:
        if self.workspace is None:
            return self.text_error("no workspace: reset the tool first")
        try:
            out = self._dispatch(text)
        except Exception as e:  # a tool must never crash the loop; say what happened instead
            return self.text_error(f"{type(e).__name__}: {e}")
        return split_tokens(clean(out))

    def _dispatch(self, text: str) -> str:
        if text.strip() == "ls":
            return "\n".join(sorted(n for n in os.listdir(self.workspace) if FILE_RE.fullmatch(n)))
        if text.strip() == SUBMIT:
            self.submitted = True
            return "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
        m = WRITE_RE.fullmatch(text)
        if m:
            name, content = m.group(1), m.group(2) + "\n"
            if self._path(name) is None:
                return f"error: bad file name {name!r}: use name.py in the workspace"
            if len(content) > MAX_FILE:
                return f"error: file too large ({len(content)} > {MAX_FILE} characters)"
            if not os.path.exists(self._path(name)) and len(os.listdir(self.workspace)) >= MAX_FILES:
                return "error: too many files"
            self._write(name, content)
            return f"wrote {name} ({content.count(chr(10))} lines)"
        parts = text.split(" ", 1)
        if parts[0] == "cat" and len(parts) == 2 and "\n" not in parts[1]:
            path = self._path(parts[1].strip())
            if path is None or not os.path.isfile(path):
                return f"error: no file {parts[1].strip()!r} (files: ls)"
            with open(path, errors="replace") as f:
                return f.read()
        if parts[0] == "grep" and len(parts) == 2 and parts[1] and "\n" not in parts[1]:
            pat, hits = parts[1], []
            for n, src in self.read_files().items():
                hits += [f"{n}:{i}:{line}" for i, line in enumerate(src.split("\n"), 1) if pat in line]
            return "\n".join(hits)
        if text.strip() == "python main.py":
            return self._run()
        return "error: unsupported command; use ls, cat FILE, grep PATTERN, python main.py, cat > FILE <<'EOF' ... EOF, or " + SUBMIT

    def _run(self) -> str:
        if not sandbox_available():
            return "error: no sandbox (unshare/setpriv) on this machine: refusing to run code"
        cmd = _jail_cmd(self.workspace)
        # Output goes to a file outside the workspace, so RLIMIT_FSIZE bounds it (a pipe would not be bounded).
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, cwd=self.workspace, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=_limits, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            try:
                proc.wait(timeout=self.timeout)
                status = f"exit code {proc.returncode}"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)  # unshare and everything in its PID namespace
                proc.wait()
                status = f"killed after {self.timeout:g} s"
            out.seek(0)
            text = out.read(4 * MAX_OUTPUT).decode("utf-8", errors="replace")
        return f"{text.rstrip()}\n[{status}]".lstrip("\n")
