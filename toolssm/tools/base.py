"""The tool interface shared by the generation loop, the trajectory recorder and the replayer.

A tool is started on a prompt (``reset``), then sees every token the model emits (``observe``), which
returns the token's role and the observation tokens the tool answers with (usually none). Command
framing lives here once: single-token pointer commands, and multi-token text commands
``[COMMAND] ... [/COMMAND]`` answered by ``[OBSERVATION] ... [/OBSERVATION]``. Nothing the model emits
can raise: malformed or unknown commands are answered with an error observation.
"""

from __future__ import annotations

from .. import vocab as V
from ..tokenizer import split_tokens


class Tool:
    """Base tool: answers every command with an error. Subclasses override the ``run_*`` hooks."""

    name = "none"
    #: a text command longer than this is cut off and answered with an error (bounds garbage input)
    max_command_tokens = 512

    def reset(self, prompt_tokens: list[str]) -> None:
        """Start on a new problem whose prompt is ``prompt_tokens``."""
        self._after_ans = False
        self._command: list[str] | None = None
        self.num_commands = 0
        self.num_errors = 0
        self.start(prompt_tokens)

    def start(self, prompt_tokens: list[str]) -> None:
        """Hook: load the prompt into memory."""

    def write(self, token: str) -> None:
        """Hook: a thought or output token the model wrote."""

    def run_pointer(self, pointer: int, op: str) -> list[str]:
        """Hook: run a pointer command (0-based pointer); returns the observation tokens."""
        self.num_errors += 1
        return [V.ERROR]

    def run_text(self, text: str) -> list[str] | None:
        """Hook: run a text command; returns the observation's inner tokens (None: no answer at all)."""
        return self.text_error(f"unknown command for tool {self.name}")

    def text_error(self, message: str) -> list[str]:
        self.num_errors += 1
        return split_tokens("error: " + message)

    def observe(self, token: str) -> tuple[str, list[str]]:
        """Take one model-emitted token; return (its role, the observation tokens to force next)."""
        if self._command is not None:
            if token == V.END_COMMAND:
                text, self._command = "".join(self._command), None
                self.num_commands += 1
                answer = self.run_text(text)
                return "command", ([] if answer is None else [V.OBSERVATION, *answer, V.END_OBSERVATION])
            self._command.append(token)
            if len(self._command) > self.max_command_tokens:
                self._command = None
                self.num_commands += 1
                return "command", [V.OBSERVATION, *self.text_error("command too long"), V.END_OBSERVATION]
            return "command", []
        if token == V.COMMAND:
            self._command = []
            return "command", []
        if token in V.POINTER_COMMANDS:
            self.num_commands += 1
            return "command", self.run_pointer(*V.POINTER_COMMANDS[token])
        if token == V.EOS:
            return "output", []
        if token == V.ANS:
            self._after_ans = True
        self.write(token)
        return ("output" if self._after_ans else "thought"), []

    @property
    def in_command(self) -> bool:
        """True between ``[COMMAND]`` and ``[/COMMAND]``."""
        return self._command is not None


class NoTool(Tool):
    """No tool at all (the paper's "no tool-use" ablation): commands are emitted but never answered.

    With ``predicted_observations=True`` (the no-tool ablation, whose model writes the pointer's answer itself), the
    token the model emits right after a pointer ``read()`` command gets the role "observation": it is the model's
    guess of what the tool would have said, not part of its thoughts or its output stream.
    """

    name = "none"

    def __init__(self, predicted_observations: bool = False):
        self.predicted_observations = predicted_observations

    def start(self, prompt_tokens: list[str]) -> None:
        self._expect_observation = False

    def observe(self, token: str) -> tuple[str, list[str]]:
        if self._expect_observation and not self.in_command:
            self._expect_observation = False
            return "observation", []
        role, obs = super().observe(token)
        if self.predicted_observations and token in V.POINTER_COMMANDS and V.POINTER_COMMANDS[token][1] == "read":
            self._expect_observation = True
        return role, obs

    def run_pointer(self, pointer: int, op: str) -> list[str]:
        return []

    def run_text(self, text: str) -> None:
        return None
