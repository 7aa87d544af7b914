"""The trajectory format: the single source of truth shared by datasets, training and the generation loop.

A trajectory is a prompt followed by segments ``(role, content)`` with role one of ``thought``,
``command``, ``observation``, ``output``. Content is text in which special tokens keep their bracket
spelling (``[pointer1.read()]``, ``[ANS]``); every other character is one token.

- :func:`render` turns a trajectory into token ids, labels (``-100`` on prompt and observation tokens)
  and a role id per token. ``[EOS]`` is appended and trained.
- :class:`Recorder` builds trajectories by driving a real tool, so roles and observations come from the
  tool itself, exactly as at inference time.
- :func:`replay` runs a tool alongside a finished trajectory and reports the first token where the
  trajectory and the tool disagree; :func:`parse` turns generated ids back into segments the same way.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from . import vocab as V
from .tokenizer import split_tokens
from .tools.base import Tool

IGNORE_INDEX = -100


@dataclass
class Trajectory:
    """A prompt and its role-tagged segments."""

    prompt: str
    segments: list[tuple[str, str]] = field(default_factory=list)

    def add(self, role: str, text: str) -> None:
        """Append text with a role, merging with the previous segment when the role is the same."""
        if role not in V.ROLES or role == "prompt":
            raise ValueError(f"segment role must be one of {V.ROLES[1:]}, got {role!r}")
        if not text:
            return
        if self.segments and self.segments[-1][0] == role:
            self.segments[-1] = (role, self.segments[-1][1] + text)
        else:
            self.segments.append((role, text))

    @property
    def output(self) -> str:
        """The output stream: output tokens after ``[ANS]``, without ``[ANS]`` and ``[EOS]``."""
        text = "".join(c for r, c in self.segments if r == "output")
        return text.split(V.ANS, 1)[1] if V.ANS in text else text

    def to_rows(self) -> list[dict[str, str]]:
        """Segments as ``[{"role": ..., "content": ...}]`` (the dataset column)."""
        return [{"role": r, "content": c} for r, c in self.segments]

    @classmethod
    def from_rows(cls, prompt: str, rows) -> "Trajectory":
        t = cls(prompt)
        for row in rows:
            t.add(row["role"], row["content"])
        return t

    def tokens(self) -> list[tuple[str, str]]:
        """(token, role) for every token, prompt included, ``[EOS]`` excluded."""
        out = [(t, "prompt") for t in split_tokens(self.prompt)]
        for role, text in self.segments:
            out.extend((t, role) for t in split_tokens(text))
        return out

    def num_tokens(self) -> int:
        return len(self.tokens()) + 1


def render(traj: Trajectory, train_observations: bool = False, add_eos: bool = True) -> dict[str, list[int]]:
    """Token ids, labels and role ids. Prompt and observation labels are ``-100`` (observations are
    trained only with ``train_observations``, for the no-tool ablation)."""
    ids, labels, roles = [], [], []
    trained = V.TRAINED_ROLES | ({"observation"} if train_observations else set())
    for tok, role in traj.tokens():
        i = V.TOKEN_TO_ID[tok]
        ids.append(i)
        labels.append(i if role in trained else IGNORE_INDEX)
        roles.append(V.ROLE_TO_ID[role])
    if add_eos:
        e = V.TOKEN_TO_ID[V.EOS]
        ids.append(e)
        labels.append(e)
        roles.append(V.ROLE_TO_ID["output"])
    return {"input_ids": ids, "labels": labels, "roles": roles}


class Recorder:
    """Drive a tool like a model would and record the trajectory.

    ``emit(text)`` feeds each token of ``text`` to the tool as model output; any observation the tool
    answers is recorded (role ``observation``) and returned. Roles of emitted tokens come from the tool.
    """

    def __init__(self, tool: Tool, prompt: str):
        self.tool = tool
        self.traj = Trajectory(prompt)
        tool.reset(split_tokens(prompt))

    def emit(self, text: str) -> list[str]:
        obs: list[str] = []
        for tok in split_tokens(text):
            role, obs = self.tool.observe(tok)
            self.traj.add(role, tok)
            if obs:
                self.traj.add("observation", "".join(obs))
        return obs

    def command(self, token: str) -> str:
        """Emit a single-token command and return its (single-token) observation, or "" if none."""
        obs = self.emit(token)
        return obs[0] if obs else ""

    def text_command(self, text: str) -> str:
        """Emit ``[COMMAND]text[/COMMAND]``; return the observation's inner text."""
        obs = self.emit(V.COMMAND + text + V.END_COMMAND)
        return "".join(obs[1:-1])


@dataclass
class ReplayResult:
    """Outcome of :func:`replay`; ``ok`` is False at the first disagreement, described by the other fields."""

    ok: bool
    position: int = -1  # token index in the trajectory (prompt included)
    expected: str = ""  # what the tool says should be there
    found: str = ""  # what the trajectory has
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def replay(traj: Trajectory, tool: Tool) -> ReplayResult:
    """Run ``tool`` alongside ``traj``: every observation must be exactly the tool's answer, placed right
    after its command, and every other token must have the role the tool assigns it."""
    tokens = traj.tokens()
    prompt = [t for t, r in tokens if r == "prompt"]
    tool.reset(prompt)
    pending: deque[str] = deque()
    for pos, (tok, role) in enumerate(tokens):
        if role == "prompt":
            continue
        if pending:
            want = pending.popleft()
            if role != "observation" or tok != want:
                return ReplayResult(False, pos, want, f"{tok} ({role})", "observation differs from the tool's answer")
            continue
        if role == "observation":
            return ReplayResult(False, pos, "(no observation)", tok, "observation where the tool gave none")
        got_role, obs = tool.observe(tok)
        if got_role != role:
            return ReplayResult(False, pos, got_role, role, f"token {tok!r} has the wrong role")
        pending.extend(obs)
    if pending:
        return ReplayResult(False, len(tokens), "".join(pending), "(end)", "trajectory ends before the observation")
    return ReplayResult(True)


def parse(prompt: str, generated: list[int], tool: Tool, forced: list[bool] | None = None) -> Trajectory:
    """Segments of generated ids (everything after the prompt, ``[EOS]`` dropped). Tokens are classified by
    replaying ``tool``; with ``forced`` (from the generation loop), forced tokens are the observations."""
    traj = Trajectory(prompt)
    tool.reset(split_tokens(prompt))
    pending = 0
    for k, i in enumerate(generated):
        tok = V.VOCAB[i]
        is_obs = forced[k] if forced is not None else pending > 0
        if is_obs:
            traj.add("observation", tok)
            pending = max(pending - 1, 0)
            continue
        if tok == V.EOS:
            break
        role, obs = tool.observe(tok)
        traj.add(role, tok)
        pending += len(obs)
    return traj


def window_conflict(trajectories, window: int):
    """The first pair of decisions that the last ``window`` tokens cannot tell apart, or ``None``.

    A decision is every trained token (thought, command, output, ``[EOS]``). If two decisions in ``trajectories``
    follow the same ``window`` tokens but differ, a model that sees only that much context cannot make both, so
    the trace asks it to carry information from further back. Returns ``(context, token_a, token_b)``. Used to
    check that a trace needs no memory growing with the problem size (docs/FORMATS.md, multiplication ``aligned``).
    """
    seen: dict[tuple[str, ...], str] = {}
    for traj in trajectories:
        toks = [t for t, _ in traj.tokens()] + [V.EOS]
        roles = [r for _, r in traj.tokens()] + ["output"]
        padded = [V.PAD] * window + toks
        for i, (tok, role) in enumerate(zip(toks, roles)):
            if role in ("prompt", "observation"):
                continue
            ctx = tuple(padded[i:i + window])
            other = seen.setdefault(ctx, tok)
            if other != tok:
                return ctx, other, tok
    return None


def min_context_window(trajectories, limit: int = 4096) -> int | None:
    """The smallest window for which :func:`window_conflict` finds no conflict (``None`` if even ``limit`` has one).
    Bisects: a window with no conflict stays conflict-free when it grows."""
    trajectories = list(trajectories)
    if window_conflict(trajectories, limit) is not None:
        return None
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if window_conflict(trajectories, mid) is None else (mid + 1, hi)
    return lo


def collate(batch: list[dict]) -> dict:
    """Right-pad rendered examples (:func:`render`) to the longest: [PAD] inputs, -100 labels (causal models never
    look right). Returns ``{"input_ids", "labels"}``, LongTensors of shape (B, T), and ``loss_weight`` (a 0-d float
    tensor) where the examples carry one (batches by length, :class:`toolssm.training.StepDataset`: one per batch)."""
    import torch

    T = max(len(b["input_ids"]) for b in batch)
    pad = V.TOKEN_TO_ID[V.PAD]
    ids = torch.full((len(batch), T), pad, dtype=torch.long)
    labels = torch.full((len(batch), T), IGNORE_INDEX, dtype=torch.long)
    for i, b in enumerate(batch):
        ids[i, : len(b["input_ids"])] = torch.tensor(b["input_ids"])
        labels[i, : len(b["labels"])] = torch.tensor(b["labels"])
    out = {"input_ids": ids, "labels": labels}
    if "loss_weight" in batch[0]:
        out["loss_weight"] = torch.tensor(float(batch[0]["loss_weight"]))
    return out
