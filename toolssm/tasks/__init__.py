"""The paper's tasks, one module each, and the one registry of them.

Everything else (the dataset builder, train.py and eval.py's choices and defaults, checkpoints, cards) asks this
registry; a task's configs, training maximum and test lengths are declared on its class (``toolssm.tasks.base``).
Adding a task is one module here plus its tests (docs/DESIGN.md, "Adding a task").
"""

from .arithmetic import Addition, Multiplication
from .base import DATA_VERSION, Item, Task, choose_input, hide_input, item_rng
from .code_fixing import CodeFixing
from .hanoi import Hanoi
from .logical_graph import LogicalGraph
from .long_multiplication import LongMultiplication

TASKS: dict[str, type[Task]] = {t.name: t for t in (Addition, Multiplication, LongMultiplication, Hanoi, LogicalGraph, CodeFixing)}


def task_class(name: str) -> type[Task]:
    """The class registered under ``name``, or a ValueError listing the choices."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name]


def get_task(name: str, config: str | None = None, *, variant: str | None = None, **params) -> Task:
    """A task by name and config, e.g. ``get_task("multiplication", "n_x_2")``.

    The older spelling by variant and parameters still works and names the same config:
    ``get_task("multiplication", k=2)``, ``get_task("addition", "tool_p3")``, ``get_task("multiplication", "aligned", k=2)``."""
    cls = task_class(name)
    if config is not None and config not in cls.configs and config in cls.variants():
        config, variant = None, config  # a variant given where a config is expected
    if config is None and (variant is not None or params):
        config = cls.find_config(variant, **params)
    elif params or variant is not None:
        raise ValueError(f"get_task({name!r}, {config!r}): give a config or a variant with parameters, not both")
    return cls(config)


def task_from_spec(spec: dict) -> Task:
    """The task a checkpoint records: ``{"task", "config"}``, or an older ``{"task", "variant", "k"?}``; with
    ``"hide_input": true`` the task is run with its input in the tool only (:func:`hide_input`)."""
    if spec.get("config") is not None:
        task = get_task(spec["task"], spec["config"])
    else:
        task = get_task(spec["task"], variant=spec.get("variant"), **({"k": spec["k"]} if "k" in spec else {}))
    return hide_input(task) if spec.get("hide_input") else task


__all__ = ["TASKS", "task_class", "get_task", "task_from_spec", "hide_input", "choose_input", "Task", "Item", "item_rng", "DATA_VERSION",
           "Addition", "Multiplication", "LongMultiplication", "Hanoi", "LogicalGraph", "CodeFixing"]
