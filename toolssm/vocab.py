"""The token inventory: every special token and character the models see, declared once.

Everything else (tokenizer, tools, trajectories, the generation loop) imports from here, so the
spelling of a command token can never drift between data and inference.
"""

from __future__ import annotations

PAD = "[PAD]"
EOS = "[EOS]"
ANS = "[ANS]"  # separates thoughts (before) from outputs (after)
BOUNDARY = "[BOUNDARY]"  # what a pointer reads outside memory
ERROR = "[ERROR]"  # the observation of a pointer command the tool cannot run

# Text commands: [COMMAND] <text> [/COMMAND] is answered by [OBSERVATION] <text> [/OBSERVATION].
# Search memory uses  [COMMAND]find[VALUE]<pattern>[/COMMAND];  the calculator  [COMMAND]add(a,b)[/COMMAND].
COMMAND = "[COMMAND]"
VALUE = "[VALUE]"
END_COMMAND = "[/COMMAND]"
OBSERVATION = "[OBSERVATION]"
END_OBSERVATION = "[/OBSERVATION]"

MAX_POINTERS = 8
POINTER_OPS = ("read", "move_left", "move_right")


def pointer_token(k: int, op: str) -> str:
    """The single command token for pointer ``k`` (1-based) doing ``op``."""
    if not 1 <= k <= MAX_POINTERS or op not in POINTER_OPS:
        raise ValueError(f"no pointer command for pointer {k} and op {op!r} (pointers 1..{MAX_POINTERS}, ops {POINTER_OPS})")
    return f"[pointer{k}.{op}()]"


POINTER_TOKENS = [pointer_token(k, op) for k in range(1, MAX_POINTERS + 1) for op in POINTER_OPS]
# token -> (pointer index 0-based, op)
POINTER_COMMANDS = {pointer_token(k, op): (k - 1, op) for k in range(1, MAX_POINTERS + 1) for op in POINTER_OPS}

SPECIAL_TOKENS = [PAD, EOS, ANS, BOUNDARY, ERROR, COMMAND, VALUE, END_COMMAND, OBSERVATION, END_OBSERVATION]
SPECIAL_TOKENS += POINTER_TOKENS

# Character level for everything else: printable ASCII, newline, tab and the multiplication sign.
CHARS = [chr(i) for i in range(32, 127)] + ["\n", "\t", "×"]

VOCAB: list[str] = SPECIAL_TOKENS + CHARS
TOKEN_TO_ID: dict[str, int] = {t: i for i, t in enumerate(VOCAB)}
assert len(TOKEN_TO_ID) == len(VOCAB), "duplicate token in the vocabulary"
CHAR_SET = frozenset(CHARS)

ROLES = ("prompt", "thought", "command", "observation", "output")
ROLE_TO_ID = {r: i for i, r in enumerate(ROLES)}
TRAINED_ROLES = frozenset({"thought", "command", "output"})
