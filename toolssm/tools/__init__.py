"""Tools: pointer memory, search memory, a single-turn calculator, a sandboxed shell, and no tool."""

from .base import NoTool, Tool
from .calculator import Calculator
from .pointer import InputPointerMemory, PointerMemory
from .search import SearchMemory
from .shell import ShellTool

TOOLS = {"pointer": PointerMemory, "search": SearchMemory, "calculator": Calculator, "none": NoTool, "shell": ShellTool}


def make_tool(name: str, **kwargs) -> Tool:
    """Build a tool by name (``pointer`` takes ``num_pointers``)."""
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}; choose from {sorted(TOOLS)}")
    return TOOLS[name](**kwargs)


__all__ = ["Tool", "NoTool", "PointerMemory", "InputPointerMemory", "SearchMemory", "Calculator", "ShellTool", "TOOLS", "make_tool"]
