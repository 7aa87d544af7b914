"""Search-based memory (paper section 2.2): ``find`` returns every memory line containing a pattern.

Memory is the prompt's lines plus every line the model writes (thoughts and outputs; a line ends at
``\\n``; the line being written counts as a line). ``[COMMAND]find[VALUE]x[/COMMAND]`` is answered by
``[OBSERVATION]`` + the matching lines in memory order, joined by ``\\n`` + ``[/OBSERVATION]``; no match
gives an empty observation. Search is ``str.find`` over one joined string plus a bisect over line
starts, so its cost grows with the number of *matching* lines, not with the size of memory.
"""

from __future__ import annotations

from bisect import bisect_right

from .. import vocab as V
from ..tokenizer import split_tokens
from .base import Tool

FIND = "find" + V.VALUE


class SearchMemory(Tool):
    """Grep-like memory over lines."""

    name = "search"

    def start(self, prompt_tokens: list[str]) -> None:
        text = "".join(prompt_tokens)
        self._lines: list[str] = text.split("\n")
        self._partial = self._lines.pop()  # text after the last newline: the line being written
        self._joined = ""
        self._starts: list[int] = []
        self._indexed = 0  # lines already in _joined

    @property
    def lines(self) -> list[str]:
        """All lines currently in memory (including the one being written, if non-empty)."""
        return self._lines + ([self._partial] if self._partial else [])

    def write(self, token: str) -> None:
        if token == "\n":
            self._lines.append(self._partial)
            self._partial = ""
        else:
            self._partial += token

    def _index(self) -> None:
        # Append complete lines to the joined text; each line is followed by "\n" so no match spans lines.
        new = self._lines[self._indexed :]
        if new:
            pos = len(self._joined)
            for line in new:
                self._starts.append(pos)
                pos += len(line) + 1
            self._joined += "\n".join(new) + "\n"
            self._indexed = len(self._lines)

    def find(self, pattern: str) -> list[str]:
        """Every line of memory containing ``pattern``, in memory order."""
        self._index()
        out = []
        if "\n" not in pattern:
            i = self._joined.find(pattern)
            while i >= 0:
                k = bisect_right(self._starts, i) - 1
                out.append(self._lines[k])
                nxt = self._starts[k + 1] if k + 1 < len(self._starts) else len(self._joined)
                i = self._joined.find(pattern, nxt)
        if self._partial and pattern in self._partial:
            out.append(self._partial)
        return out

    def run_text(self, text: str) -> list[str]:
        if not text.startswith(FIND):
            return self.text_error(f"unknown command; use [COMMAND]find{V.VALUE}<pattern>{V.END_COMMAND}")
        pattern = text[len(FIND) :]
        if not pattern:
            return self.text_error("empty pattern")
        return split_tokens("\n".join(self.find(pattern)))
