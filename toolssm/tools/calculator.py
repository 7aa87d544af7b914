"""Single-turn calculator for the paper's ablation (D.7): ``[COMMAND]add(a,b)[/COMMAND]`` -> the sum."""

from __future__ import annotations

import re

from ..tokenizer import split_tokens
from .base import Tool

MAX_DIGITS = 100_000  # the addition task's largest size
_ADD = re.compile(rf"add\((\d{{1,{MAX_DIGITS}}}),(\d{{1,{MAX_DIGITS}}})\)")


class Calculator(Tool):
    """Answers ``add(a,b)`` for non-negative decimal integers with ``a+b``."""

    name = "calculator"
    # add(a,b) with two operands of the task's largest size (the default 512 tokens cut 254-digit problems short)
    max_command_tokens = 2 * MAX_DIGITS + 8

    def run_text(self, text: str) -> list[str]:
        m = _ADD.fullmatch(text)
        if m is None:
            return self.text_error("expected add(a,b) with non-negative integers a and b")
        return split_tokens(str(int(m.group(1)) + int(m.group(2))))
