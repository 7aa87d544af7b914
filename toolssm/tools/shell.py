"""A sandboxed shell for the code-fixing task (paper section 3.5, the mini-SWE-agent environment, reduced).

``[COMMAND]<command>[/COMMAND]`` is answered by ``[OBSERVATION]<output>[/OBSERVATION]``. The commands are a small,
parsed subset of bash (never passed to a real shell):

- ``ls``                                   the files of the workspace
- ``cat FILE``                             a file
- ``grep PATTERN``                         ``file:line:text`` for every line containing PATTERN (a fixed string)
- ``python main.py``                       run the program (see below)
- ``cat > FILE <<'EOF'`` newline, content, newline, ``EOF``   write a file
- ``sed -i 's/OLD/NEW/' FILE``             replace the first OLD on every line of FILE by NEW (literal text: OLD may
                                           not hold ``. [ ] * ^ $``, NEW not ``&``, neither ``/ \\ '`` or a newline, so
                                           the result is GNU sed's on every command accepted); the observation says how
                                           many lines changed, or that none contained OLD
- ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``                end the episode

File names are plain ``name.py`` (no paths), so nothing outside the throwaway workspace can be named. The program
runs in new mount, network and PID namespaces (``unshare``: no network; a fresh /proc that shows only the episode's
own processes; the workspace bound read-only-for-it at /mnt; /tmp, /var/tmp, /dev/shm and /run/lock replaced by
small private tmpfs, so it cannot write anywhere that outlives it), under a user id of its own per episode
(``setpriv``: so the process limit of one episode cannot starve another, and no host process shares its id), with
limits on CPU time (5 s), wall time, memory (1 GiB), file size, open files and processes (32), its output cut at
4,000 characters with the exit status kept. Every isolation step must succeed or the program does not run (the jail
fails closed), and a machine where the jail cannot be built refuses to run code at all. It runs chroot-ed into a
new root that holds only /usr (and its links), the interpreter's installation, the workspace, private tmpfs and
its own /proc and four device nodes, all read-only but the tmpfs: the host's other files (the project, homes,
/etc) are not there to read. Program output cannot forge special
tokens: their spellings are written with parentheses (``[EOS]`` becomes ``(EOS)``). Anything else, including
characters the tokenizer cannot represent, gets a clear error or is replaced by ``?``. docs/SECURITY.md says what
is isolated, what is not, and how it is tested.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

from .. import vocab as V
from ..tokenizer import split_tokens
from .base import Tool

FILE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\.py")
WRITE_RE = re.compile(r"cat > ([^\s]+) <<'EOF'\n(.*)\nEOF\n?", re.S)
SED_RE = re.compile(r"sed -i 's/([^/\n]*)/([^/\n]*)/' ([^\s]+)")
SED_OLD_FORBIDDEN = set(".[]*^$\\'")
SED_NEW_FORBIDDEN = set("&\\'")
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
MAX_OUTPUT = 4000
MAX_FILE = 64 * 1024
MAX_FILES = 256
NOBODY = 65534
#: per-episode user ids are drawn from here (ids no account uses), so RLIMIT_NPROC, which counts per user id, is each
#: episode's own and /proc/<pid> of another episode is not the same user's
EPISODE_UIDS = range(1_200_000, 1_400_000)
_episode_counter = itertools.count()
#: private tmpfs over every world-writable directory of the host (mount options shared by all)
TMPFS_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
TMPFS_OPTS = "size=8m,nosuid,nodev"
WORKSPACE_PREFIX = "toolssm-shell-"


def sandbox_available() -> bool:
    """Whether the jail below can run a Python program here (checked end to end, once per process); where it cannot,
    :func:`sandbox_problem` says why."""
    global _SANDBOX, _SANDBOX_WHY
    if _SANDBOX is None:
        _SANDBOX, _SANDBOX_WHY = False, "unshare or setpriv is not installed"
        if shutil.which("unshare") and shutil.which("setpriv"):
            ws = tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-check-")
            try:
                os.chmod(ws, 0o755)
                with open(os.path.join(ws, "main.py"), "w") as f:
                    f.write("print('sandbox ok')\n")
                os.chmod(os.path.join(ws, "main.py"), 0o644)
                r = subprocess.run(_jail_cmd(ws, NOBODY), capture_output=True, text=True, timeout=20, preexec_fn=_limits)
                _SANDBOX = r.returncode == 0 and r.stdout.strip() == "sandbox ok"
                _SANDBOX_WHY = None if _SANDBOX else f"the check program exited {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}"
            except (OSError, RuntimeError, subprocess.SubprocessError) as e:  # RuntimeError: python_roots refused
                _SANDBOX, _SANDBOX_WHY = False, f"{type(e).__name__}: {e}"
            finally:
                shutil.rmtree(ws, ignore_errors=True)
    return _SANDBOX


def sandbox_problem() -> str | None:
    """None where the sandbox works here, else why it cannot be built (for error messages)."""
    return None if sandbox_available() else _SANDBOX_WHY


def require_sandbox(what: str) -> None:
    """Raise a RuntimeError naming ``what`` and the reason where programs cannot be run in the sandbox here: a task
    whose scores or trajectories come from running code must not quietly score every episode as failed."""
    why = sandbox_problem()
    if why is not None:
        raise RuntimeError(f"{what} runs programs in the shell tool's sandbox, which cannot be built on this machine "
                           f"(needs root, unshare, setpriv, chroot and mount namespaces; docs/SECURITY.md): {why}")


_SANDBOX: bool | None = None
_SANDBOX_WHY: str | None = None
# The real interpreter, not a virtualenv's link to it: the jail hides /tmp (where a venv may live); -S needs no site.
PYTHON = os.path.realpath(sys.executable)
#: where the jail's tools live (the episode's PATH is /usr/bin:/bin, and chroot is in sbin on Debian)
CHROOT = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin")
#: top-level folders of the host shown to the program (read-only), where they are folders; where one is a link (a
#: merged /usr: /bin -> usr/bin) the link is made again inside the new root
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
#: device nodes the program gets (bound from the host's, in a tmpfs /dev of its own)
DEVICES = ("null", "zero", "random", "urandom")


@functools.lru_cache(maxsize=None)
def python_roots() -> tuple[str, ...]:
    """The folders outside /usr that the interpreter needs: its installation (``sys.base_prefix``: the standard
    library and libpython) and the folder above its binary, each bound read-only at the same path in the new root.
    A root of ``/`` would show the whole host: refused (the sandbox is then unavailable). Worked out once per process:
    it depends only on the running interpreter."""
    roots = []
    for d in (os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(PYTHON))):
        if d == "/usr" or d.startswith("/usr/") or any(d == r or d.startswith(r + "/") for r in roots):
            continue
        if d in ("", "/") or not os.path.isabs(d):
            raise RuntimeError(f"the interpreter's installation {d!r} cannot be shown alone to the sandboxed program")
        roots = [r for r in roots if not r.startswith(d + "/")] + [d]
    return tuple(roots)


def _jail_cmd(workspace: str, uid: int) -> list[str]:
    # argv[0] of the jail's shell is its name, which the script checks for as PID 1 of the fresh /proc
    return ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "/bin/sh", "-c", _jail_script(),
            "toolssm-jail", workspace, PYTHON, str(uid), CHROOT or "/nonexistent/chroot", *python_roots()]


JAIL_FAILED = 97  # the jail's exit status when an isolation step failed (the program never ran)


def _jail_script() -> str:
    """Inside new mount/net/PID namespaces with a fresh /proc (``--mount-proc``), a new root is built on a small tmpfs
    (over the host's /mnt, in the private mount namespace) holding only what the program needs, and the program runs
    chroot-ed into it under the episode's user id:

    - ``/usr`` (and ``/bin``, ``/lib``... as folders or as the host's links into usr) and the interpreter's own
      installation (``python_roots``), bound read-only; ``/etc`` holds only ``ld.so.cache``; ``/dev`` only
      null, zero, random, urandom; ``/proc`` is the episode's own; there is no ``/sys``, ``/home``, ``/root`` or
      project folder, so the host's other files (the project, credentials, other users' homes) cannot be read;
    - the workspace bound at /mnt (owned by root: read-only for the program);
    - /tmp, /var/tmp, /dev/shm, /run/lock: small private tmpfs (writes vanish with the episode);
    - the new root itself is remounted read-only.

    Any failed step exits with JAIL_FAILED before the program starts. The program is the inner shell's child, not
    exec'd: a program killed by a signal becomes an exit status 128 + signal (unshare itself only printed
    "sigprocmask unblock failed" for it). (-I would drop the script's folder from sys.path, hence -E -s -S.)"""
    R = "/mnt"
    ro = "mount -o remount,bind,ro"
    links = " ".join(f"/{d}" for d in SYSTEM_DIRS)
    # one process per step where it can be: each spawn costs ~1-3 ms, and a rollout runs the jail several times
    system = (f'L=""; for d in {links}; do if [ -L $d ]; then L="$L $d"; elif [ -d $d ]; then '
              f'{{ mkdir {R}$d && mount --bind $d {R}$d && {ro} {R}$d; }} || fail "bind $d"; fi; done; '
              f'[ -z "$L" ] || cp -P $L {R}/ || fail "links"')  # /bin -> usr/bin made again as a link
    devices = f"touch {' '.join(f'{R}/dev/{n}' for n in DEVICES)} && " + " && ".join(f"mount --bind /dev/{n} {R}/dev/{n}" for n in DEVICES)
    tmpfs = f"mkdir -p {' '.join(R + d for d in TMPFS_DIRS)} && " + " && ".join(f"mount -t tmpfs -o {TMPFS_OPTS} tmpfs {R}{d}" for d in TMPFS_DIRS)
    inner = (f'cd /mnt || {{ echo "jail: cd" >&2; exit {JAIL_FAILED}; }}; '
             'exec 3>&2 2>/dev/null; '  # the shell's own "Killed" notices are not the program's output
             'setpriv --reuid="$2" --regid="$2" --clear-groups "$1" -E -s -S -B main.py 2>&3 3>&-; exit $?')
    return (
        f'fail() {{ echo "jail: $1" >&2; exit {JAIL_FAILED}; }}; '
        'grep -qa "toolssm-jail" /proc/1/cmdline || fail "no private /proc"; '
        'WS="$1"; PY="$2"; ID="$3"; CHROOT="$4"; shift 4; '
        '[ -x "$CHROOT" ] || fail "no chroot"; '
        'mount --make-rprivate / || fail "mount --make-rprivate"; '
        f'mount -t tmpfs -o size=1m,mode=755,nosuid,nodev tmpfs {R} || fail "new root"; '
        f'mkdir -p {R}/mnt {R}/proc {R}/dev {R}/etc || fail "mkdir"; '
        f'{system}; '
        f'if [ -f /etc/ld.so.cache ]; then {{ touch {R}/etc/ld.so.cache && mount --bind /etc/ld.so.cache {R}/etc/ld.so.cache; }} || fail "ld.so.cache"; fi; '
        f'mount -t tmpfs -o size=64k,mode=755,nosuid tmpfs {R}/dev || fail "dev"; '
        f'{{ {devices}; }} || fail "devices"; '
        f'{{ {tmpfs}; }} || fail "private tmpfs"; '
        f'for P in "$@"; do {{ mkdir -p "{R}$P" && mount --bind "$P" "{R}$P" && {ro} "{R}$P"; }} || fail "bind python"; done; '  # after the tmpfs: an interpreter under /tmp stays visible
        f'mount --bind /proc {R}/proc || fail "proc"; '
        f'mount --bind "$WS" {R}/mnt || fail "bind workspace"; '
        f'mount -o remount,ro {R} || fail "read-only root"; '
        'cd / || fail "cd /"; '
        f'exec "$CHROOT" {R} /bin/sh -c \'{inner}\' toolssm-jail "$PY" "$ID"'
    )


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (5, 6))  # SIGXCPU at 5 s (soft); SIGKILL at 6 s if it is caught
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (32, 32))
    os.setsid()


_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in sorted(V.SPECIAL_TOKENS, key=len, reverse=True)))


def clean(text: str, limit: int = MAX_OUTPUT) -> str:
    """Make text representable by the tokenizer, unable to spell a special token, and at most ``limit`` characters
    (plus a note of how much was cut)."""
    text = "".join(c if c in V.CHAR_SET else "?" for c in text)
    text = _SPECIAL_RE.sub(lambda m: "(" + m.group(0)[1:-1] + ")", text)
    if len(text) > limit:
        text = text[:limit] + f"\n(output truncated: {len(text) - limit} more characters)"
    return text


def _sweep_stale_workspaces() -> None:
    """Remove workspaces left by toolssm processes that no longer exist (a killed run cannot clean up after itself)."""
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        m = re.match(rf"{WORKSPACE_PREFIX}(\d+)-", name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except PermissionError:  # alive, someone else's
            pass


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
        _sweep_stale_workspaces()
        self.workspace = tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-")
        self.uid = EPISODE_UIDS[(os.getpid() * 4099 + next(_episode_counter)) % len(EPISODE_UIDS)]
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
        m = SED_RE.fullmatch(text.strip())
        if m:
            return self._sed(*m.groups())
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
        return ("error: unsupported command; use ls, cat FILE, grep PATTERN, python main.py, cat > FILE <<'EOF' ... EOF, "
                "sed -i 's/OLD/NEW/' FILE, or " + SUBMIT)

    def _sed(self, old: str, new: str, name: str) -> str:
        """``sed -i 's/OLD/NEW/' FILE`` on literal text: the first OLD of every line becomes NEW (no ``g`` flag)."""
        path = self._path(name)
        if path is None or not os.path.isfile(path):
            return f"error: no file {name!r} (files: ls)"
        if not old:
            return "error: sed: OLD is empty"
        bad = sorted(set(old) & SED_OLD_FORBIDDEN) + sorted(set(new) & SED_NEW_FORBIDDEN)
        if bad:
            return f"error: sed here replaces literal text: {''.join(bad)!r} not allowed (OLD: no . [ ] * ^ $, NEW: no &)"
        with open(path, errors="replace") as f:
            lines = f.read().split("\n")
        changed = sum(old in line for line in lines)
        if not changed:
            return f"{name}: no line contains {old!r}; nothing changed"
        content = "\n".join(line.replace(old, new, 1) for line in lines)
        if len(content) > MAX_FILE:
            return f"error: file too large ({len(content)} > {MAX_FILE} characters)"
        self._write(name, content)
        return f"{name}: {changed} line{'s' if changed > 1 else ''} changed"

    def _run(self) -> str:
        if not sandbox_available():
            return "error: no sandbox (unshare/setpriv) on this machine: refusing to run code"
        cmd = _jail_cmd(self.workspace, self.uid)
        # Output goes to a file outside the workspace, so RLIMIT_FSIZE bounds it (a pipe would not be bounded).
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, cwd=self.workspace, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=_limits, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            try:
                proc.wait(timeout=self.timeout)
                status = _status(proc.returncode)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)  # unshare and everything in its PID namespace
                proc.wait()
                status = f"killed after {self.timeout:g} s"
            out.seek(0)
            text = out.read(4 * MAX_OUTPUT).decode("utf-8", errors="replace")
        if proc.returncode == JAIL_FAILED and "jail: " in text:
            return "error: the sandbox could not be set up (" + text.split("jail: ", 1)[1].strip()[:80] + "): refusing to run code"
        # unshare's own complaints about a child killed by a limit are noise; the status line says what happened
        text = "\n".join(line for line in text.rstrip().split("\n") if not line.startswith("unshare: "))
        status = f"\n[{status}]"
        return clean(text, MAX_OUTPUT - len(status) - 48).lstrip("\n") + status


def _status(code: int) -> str:
    """The exit status as the model sees it; a signal names its likely limit."""
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    if not sig:
        return f"exit code {code}"
    why = {signal.SIGXCPU: "CPU time limit", signal.SIGXFSZ: "output size limit", signal.SIGSEGV: "crashed"}
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
    return f"killed by {name}" + (f" ({why[sig]})" if sig in why else "")


if __name__ == "__main__":  # python -m toolssm.tools.shell: does the sandbox work on this machine, and if not, why
    ok = sandbox_available()
    print("sandbox: works" if ok else f"sandbox: cannot be built here: {sandbox_problem()}")
    print(f"interpreter {PYTHON}; shown read-only besides /usr: {list(python_roots())}; chroot: {CHROOT}")
    sys.exit(0 if ok else 1)
