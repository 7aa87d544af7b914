"""What every task shares: a validated config, deterministic items from (seed, split, index), a checker.

A task module defines a :class:`Task` subclass with
- ``sample(rng, n, train)``: a problem of size ``n`` (training draws its sizes from ``1..n`` as the paper does),
- ``prompt(problem)`` and ``trajectory(problem)``: the plain algorithm, recorded by driving the real tool,
- ``solve(problem)``: the true answer from an independent oracle (Python integers, Python's own ``exec``,
  a Hanoi solver), never from the trajectory,
- ``check(problem, output)``: whether a model's output stream answers the problem.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

from ..tools import Tool
from ..trajectory import Trajectory

DATA_VERSION = "1.0.0"
#: the stress families a split name can start with (``stress_<n>``, ``runs_<n>``); Task.stress_families
STRESS_FAMILIES = ("stress", "runs")


def item_rng(task: str, variant: str, seed: int, split: str, index: int) -> random.Random:
    """An RNG for one item. Hashing the whole key (not ``seed + index``) keeps items from adjacent seeds,
    splits and indices independent."""
    key = f"{task}|{variant}|{seed}|{split}|{index}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


@dataclass
class Item:
    """One problem with its trajectory, as stored in a dataset row."""

    task: str
    variant: str
    n: int
    prompt: str
    answer: str
    trajectory: Trajectory
    problem: dict

    def to_row(self, seed: int, split: str, index: int) -> dict:
        return {
            "task": self.task,
            "variant": self.variant,
            "n": self.n,
            "prompt": self.prompt,
            "answer": self.answer,
            "trajectory": self.trajectory.to_rows(),
            "num_tokens": self.trajectory.num_tokens(),
            "problem": json.dumps(self.problem, sort_keys=True),
            "seed": seed,
            "split": split,
            "index": index,
            "version": DATA_VERSION,
        }


class Task:
    """Base class. A task module declares, as class attributes, everything the rest of the package needs to know
    about its task (the registry in ``toolssm/tasks/__init__.py`` reads nothing else):

    - ``name``; ``configs``: the named configs (dataset config names, ``--config`` choices), each a dict of settings
      whose ``variant`` picks the trace and whose other keys are task parameters (``configure`` takes them);
      ``default_config``;
    - ``train_max_n`` (the paper's training maximum) and ``test_lengths`` (the default evaluation sizes);
    - ``size_unit``, ``min_n``, ``max_n``, ``stress_classes`` and ``runs_classes``.
    """

    name = "task"
    configs: dict[str, dict] = {"tool": {"variant": "tool"}}
    default_config = "tool"
    train_max_n = 5
    test_lengths: tuple[int, ...] = (5, 10, 20)
    #: how the size ``n`` is counted (shown in dataset cards and plots)
    size_unit = "n"
    min_n = 1
    max_n = 100_000
    #: the corners of the input space at one size, cycled over a ``stress_<n>`` split (docs/FORMATS.md, "Stress
    #: splits"): inputs a model trained on the typical point of each size has rarely or never seen
    stress_classes: tuple[str, ...] = ()
    #: long runs of one digit (at least half the number), cycled over a ``runs_<n>`` split (docs/FORMATS.md, "Runs
    #: splits"): the arithmetic traces repeat one column's commands along a run, a phase whose length the training
    #: sizes bound and a test size does not; ``sample_stress`` draws these classes too
    runs_classes: tuple[str, ...] = ()
    #: True where the model's prompt is not the problem as typed: the tool holds the input (``tool(problem)`` only) and
    #: the model reads it through its commands (tasks made by :func:`hide_input`); ``problem_text`` is what a user
    #: types, ``prompt`` what the model reads
    input_in_tool = False

    def __init__(self, config: str | None = None):
        config = self.default_config if config is None else config
        if config not in self.configs:
            raise ValueError(f"task {self.name!r} has no config {config!r}; choose from {sorted(self.configs)}")
        self.config = config
        settings = dict(self.configs[config])
        self.variant = settings.pop("variant")
        self.configure(**settings)

    @classmethod
    def variants(cls) -> tuple[str, ...]:
        """The trace variants the configs use, in declaration order."""
        return tuple(dict.fromkeys(c["variant"] for c in cls.configs.values()))

    @classmethod
    def find_config(cls, variant: str | None = None, **params) -> str:
        """The config name whose settings are ``variant`` (default: the default config's) and ``params``: the older
        spelling ``get_task("multiplication", "aligned", k=2)`` and checkpoints that recorded a variant."""
        want = {"variant": variant or cls.configs[cls.default_config]["variant"], **params}
        defaults = {k: v for k, v in cls.configs[cls.default_config].items() if k != "variant"}
        for name, settings in cls.configs.items():
            if {**defaults, **settings} == {**defaults, **want}:
                return name
        raise ValueError(f"task {cls.name!r} has no config with {', '.join(f'{k}={v!r}' for k, v in want.items())}; "
                         f"choose a config from {sorted(cls.configs)}")

    #: variant -> the variant whose problems it draws (item_rng's key): a trace added later for the same problems names
    #: the original, so the two are trained and evaluated on identical items (the logical graph's ``value_lines``);
    #: by default every variant has problems of its own
    problem_variants: dict[str, str] = {}

    def configure(self) -> None:
        """Take the task parameters of a config (e.g. multiplication's ``k``); tasks without any have none."""

    def spec(self) -> dict:
        """What a checkpoint records about its task: ``{"task", "config"}`` (``toolssm.tasks.task_from_spec``)."""
        return {"task": self.name, "config": self.config}

    def validate_n(self, n: int) -> None:
        if not isinstance(n, int) or not self.min_n <= n <= self.max_n:
            raise ValueError(f"{self.name}: size n must be an integer in {self.min_n}..{self.max_n}, got {n!r}")

    # hooks -----------------------------------------------------------------------------------------
    def tool(self, problem: dict | None = None) -> Tool:
        """A fresh tool for replaying trajectories (``problem`` matters only for tools holding per-problem state,
        like the code-fixing workspace)."""
        raise NotImplementedError

    def inference_tool(self, problem: dict | None = None) -> Tool:
        """The tool the model talks to at inference (differs from ``tool()`` only for the no-tool ablation)."""
        return self.tool(problem)

    def sample(self, rng: random.Random, n: int, train: bool) -> dict:
        raise NotImplementedError

    def sample_stress(self, rng: random.Random, n: int, kind: str) -> dict:
        """A problem of size ``n`` from stress class ``kind`` (one of :attr:`stress_classes` or :attr:`runs_classes`)."""
        raise NotImplementedError

    def problem_text(self, problem: dict) -> str:
        """The problem as a user types it (``parse_prompt`` reads it back); the model's prompt unless ``input_in_tool``."""
        return self.prompt(problem)

    def prompt(self, problem: dict) -> str:
        raise NotImplementedError

    def parse_prompt(self, prompt: str) -> dict:
        """The problem a prompt states, or a ValueError that names what is wrong with it (user-typed prompts)."""
        raise NotImplementedError(f"{self.name}: prompts cannot be parsed back into problems")

    def token_budget(self, problem: dict) -> int:
        """Tokens a correct trajectory generates after its prompt (the tool loop's default budget): the reference
        trajectory's own count, ``[EOS]`` included."""
        from ..tokenizer import split_tokens

        traj = self.trajectory(problem)
        return traj.num_tokens() - len(split_tokens(traj.prompt))

    def trajectory(self, problem: dict) -> Trajectory:
        raise NotImplementedError

    def solve(self, problem: dict) -> str:
        raise NotImplementedError

    def size(self, problem: dict) -> int:
        raise NotImplementedError

    def check(self, problem: dict, output: str) -> bool:
        """Default: the output stream equals the oracle's answer."""
        return output.strip() == self.solve(problem)

    def score(self, problem: dict, output: str, tool: Tool | None) -> bool:
        """Whether an episode solved the problem, given its output stream and its tool after the episode.
        Default: :meth:`check` on the output; tasks whose result lives in the tool (code fixing) override it."""
        return self.check(problem, output)

    @property
    def train_observations(self) -> bool:
        """Whether observation tokens are trained (only when no tool provides them)."""
        return False

    # shared ------------------------------------------------------------------------------------------
    def stress_families(self) -> dict[str, tuple[str, ...]]:
        """The stress families this task has (``stress``, ``runs``), each its tuple of classes."""
        return {f: c for f, c in (("stress", self.stress_classes), ("runs", self.runs_classes)) if c}

    def make_item(self, seed: int, split: str, index: int, n: int, train: bool, stress: bool | str = False) -> Item:
        """The item at (seed, split, index): always the same. ``stress``: True or ``"stress"`` draws from stress class
        ``stress_classes[index % len(stress_classes)]``, ``"runs"`` likewise from :attr:`runs_classes` (the class is
        recorded in the problem as ``stress``)."""
        self.validate_n(n)
        rng = item_rng(self.name, self.problem_variants.get(self.variant, self.variant), seed, split, index)
        family = "stress" if stress is True else stress
        if family:
            if family not in STRESS_FAMILIES:
                raise ValueError(f"stress family must be one of {STRESS_FAMILIES}, got {family!r}")
            classes = self.stress_families().get(family)
            if not classes:
                raise ValueError(f"task {self.name!r} has no {family} split")
            kind = classes[index % len(classes)]
            problem = dict(self.sample_stress(rng, n, kind), stress=kind)
            if self.size(problem) != n:  # every stress class keeps the size: per-length tables stay honest
                raise AssertionError(f"{self.name} stress class {kind} made a problem of size {self.size(problem)}, not {n}")
        else:
            problem = self.sample(rng, n, train)
        traj = self.trajectory(problem)
        return Item(self.name, self.variant, self.size(problem), traj.prompt, self.solve(problem), traj, problem)

    def verify(self, item: Item) -> str | None:
        """None if the trajectory replays exactly against a fresh tool and its output is correct, else why not."""
        from ..trajectory import replay

        tool = self.tool(item.problem)
        result = replay(item.trajectory, tool)
        if not result:
            return f"replay failed at token {result.position}: {result.reason} (expected {result.expected!r}, found {result.found!r})"
        if tool.num_errors:  # a reference trajectory never needs an error answer (a cut-off command still replays)
            return f"the trajectory's commands drew {tool.num_errors} tool error(s)"
        if not self.score(item.problem, item.trajectory.output, tool):
            return f"output {item.trajectory.output[:80]!r} does not answer the problem (answer {item.answer[:80]!r})"
        return None


_HIDDEN_CLASSES: dict[type, type] = {}


def split_input(prompt: str) -> tuple[list[str], str]:
    """How a task with its input hidden divides a prompt: (the tokens its tool holds, the last token the model reads)."""
    from ..tokenizer import split_tokens

    toks = split_tokens(prompt)
    if len(toks) < 2:
        raise ValueError(f"a prompt of {len(toks)} token cannot hide its input: {prompt!r}")
    return toks[:-1], toks[-1]


def hide_input(task: Task) -> Task:
    """``task`` run with its input in the tool only: the model's prompt is the prompt's last token (``=``, or the
    newline of a Hanoi state) and the tool's memory holds the rest before it (``InputPointerMemory``), so memory,
    commands and observations are those of ``task`` token for token, but the model reads the input only through its
    pointers. For pointer-memory tasks only. A checkpoint trained with the whole prompt can be run this way (its spec
    or ``eval.py --hide-input``); docs/FORMATS.md says why (the state a long run of identical prompt digits leaves).
    The result is an instance of a subclass of ``type(task)`` that keeps ``task`` for everything it computes."""
    if task.input_in_tool:
        raise ValueError(f"{task.name}/{task.config} already keeps its input in the tool")
    cls = type(task)
    if cls not in _HIDDEN_CLASSES:
        _HIDDEN_CLASSES[cls] = type(f"HiddenInput{cls.__name__}", (_HiddenInput, cls), {})
    hidden = object.__new__(_HIDDEN_CLASSES[cls])
    hidden.__dict__.update(task.__dict__)
    hidden._inner = task
    example = task.sample(random.Random(0), task.min_n, train=False)
    hidden.inference_tool(example)  # now, not at the first evaluation: a task whose tool cannot hold the input is refused
    return hidden


class _HiddenInput:
    """Mixed in before a task class by :func:`hide_input`; ``self._inner`` is the task as configured."""

    input_in_tool = True

    def __reduce__(self):  # the class is made at run time: pickle (worker processes, toolssm.evaluation.build_items) rebuilds it
        return hide_input, (self._inner,)

    def spec(self) -> dict:
        return {**self._inner.spec(), "hide_input": True}

    def _split(self, problem: dict) -> tuple[list[str], str]:
        return split_input(self._inner.prompt(problem))

    def prompt(self, problem: dict) -> str:
        return self._split(problem)[1]

    def problem_text(self, problem: dict) -> str:
        return self._inner.problem_text(problem)

    def _hide(self, problem: dict, tool: Tool) -> Tool:
        from ..tools.pointer import InputPointerMemory, PointerMemory

        if type(tool) is not PointerMemory:
            raise ValueError(f"{self.name}/{self.config}: only a pointer-memory tool can hold the input, not {type(tool).__name__}")
        return InputPointerMemory(tool.num_pointers, self._split(problem)[0])

    def tool(self, problem: dict | None = None) -> Tool:
        if problem is None:
            raise ValueError(f"{self.name}/{self.config} with its input hidden: the tool holds the input: tool(problem)")
        return self._hide(problem, self._inner.tool(problem))

    def inference_tool(self, problem: dict | None = None) -> Tool:
        if problem is None:
            raise ValueError(f"{self.name}/{self.config} with its input hidden: the tool holds the input: inference_tool(problem)")
        return self._hide(problem, self._inner.inference_tool(problem))

    def trajectory(self, problem: dict) -> Trajectory:
        full = self._inner.trajectory(problem)
        if full.prompt != self._inner.prompt(problem):
            raise AssertionError(f"{self.name}: the trajectory's prompt is not the task's prompt")
        return Trajectory(self._split(problem)[1], list(full.segments))


def choose_input(task: Task, hide: bool | None) -> Task:
    """``task`` with its input hidden (``hide`` True), shown (False), or as given (None): what ``--hide-input`` /
    ``--no-hide-input`` and ``generate_with_tools(hide_input=...)`` do."""
    if hide is None or hide == task.input_in_tool:
        return task
    if hide:
        return hide_input(task)
    if isinstance(task, _HiddenInput):
        return task._inner
    raise ValueError(f"{task.name}/{task.config} keeps its input in the tool by design; it cannot be shown")
