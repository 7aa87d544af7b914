"""Single-turn calculator for the paper's ablation (D.7): ``[COMMAND]add(a,b)[/COMMAND]`` -> the sum."""

from __future__ import annotations

import re

from ..tokenizer import split_tokens
from .base import Tool

_ADD = re.compile(r"add\((\d{1,4000}),(\d{1,4000})\)")


class Calculator(Tool):
    """Answers ``add(a,b)`` for non-negative decimal integers with ``a+b``."""

    name = "calculator"

    def run_text(self, text: str) -> list[str]:
        m = _ADD.fullmatch(text)
        if m is None:
            return self.text_error("expected add(a,b) with non-negative integers a and b")
        return split_tokens(str(int(m.group(1)) + int(m.group(2))))
