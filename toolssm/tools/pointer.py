"""Pointer-based memory (paper section 2.1).

Memory is the prompt followed by every thought and output token the model writes (``[ANS]``
included); commands and observations are not written. Each pointer starts on the first prompt token.
``read`` is answered with the token under the pointer, or ``[BOUNDARY]`` outside memory; moves are
answered with nothing. There is no write command: the model writes by emitting thoughts.
"""

from __future__ import annotations

from .. import vocab as V
from .base import Tool


class PointerMemory(Tool):
    """Pointer memory with ``num_pointers`` pointers (commands for other pointers get ``[ERROR]``)."""

    name = "pointer"

    def __init__(self, num_pointers: int = 2):
        if not 1 <= num_pointers <= V.MAX_POINTERS:
            raise ValueError(f"num_pointers must be in 1..{V.MAX_POINTERS}, got {num_pointers}")
        self.num_pointers = num_pointers

    def start(self, prompt_tokens: list[str]) -> None:
        self.memory: list[str] = list(prompt_tokens)
        self.pointers = [0] * self.num_pointers

    def write(self, token: str) -> None:
        self.memory.append(token)

    def run_pointer(self, pointer: int, op: str) -> list[str]:
        if pointer >= self.num_pointers:
            self.num_errors += 1
            return [V.ERROR]
        p = self.pointers[pointer]
        if op == "read":
            return [self.memory[p] if 0 <= p < len(self.memory) else V.BOUNDARY]
        # Clamp one step outside memory on each side: enough to read the boundary, and garbage
        # move sequences cannot drift arbitrarily far. (The right end grows as the model writes.)
        if op == "move_left":
            self.pointers[pointer] = max(p - 1, -1)
        else:
            self.pointers[pointer] = min(p + 1, len(self.memory))
        return []


class InputPointerMemory(PointerMemory):
    """Pointer memory that holds the problem's input before the model's context begins: memory = ``input_tokens`` +
    the prompt the model reads + everything it writes. With the model's prompt reduced to the input's last token
    (addition's ``=``), memory is laid out exactly as with the whole input in the prompt, so the trace is the same,
    but the model never reads the raw input: only what its pointers read, one token per command
    (:func:`toolssm.tasks.hide_input`; ``--hide-input`` in train.py, eval.py and the scripts; docs/FORMATS.md). The
    device loop holds it with its PyTorch bookkeeping (memory rows wider than the ids rows); its fused kernel does not."""

    def __init__(self, num_pointers: int = 2, input_tokens: list[str] | None = None):
        super().__init__(num_pointers)
        if not input_tokens:
            raise ValueError("InputPointerMemory needs the problem's input tokens (input_tokens=[...])")
        self.input_tokens = list(input_tokens)

    def start(self, prompt_tokens: list[str]) -> None:
        super().start(self.input_tokens + list(prompt_tokens))
