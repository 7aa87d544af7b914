"""The paper's tasks, one module each, behind one registry."""

from .arithmetic import Addition, Multiplication
from .base import DATA_VERSION, Item, Task, item_rng
from .code_fixing import CodeFixing
from .hanoi import Hanoi
from .logical_graph import LogicalGraph

TASKS = {t.name: t for t in (Addition, Multiplication, Hanoi, LogicalGraph, CodeFixing)}


def get_task(name: str, variant: str | None = None, **kwargs) -> Task:
    """Build a task by name, e.g. ``get_task("multiplication", k=2)``."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name](variant, **kwargs)


__all__ = ["TASKS", "get_task", "Task", "Item", "item_rng", "DATA_VERSION", "Addition", "Multiplication", "Hanoi", "LogicalGraph", "CodeFixing"]
