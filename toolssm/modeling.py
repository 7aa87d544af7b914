"""``ToolMambaForCausalLM``: the Hugging Face Mamba model plus a tool loop, with no extra weights.

The classes subclass the stock transformers models and add behaviour only, so a toolssm checkpoint
is a plain Mamba checkpoint (``MambaForCausalLM.from_pretrained`` loads it). ``from_pretrained`` here
also loads the tokenizer saved beside the weights and reads the task's tool from the generation config
(``generation_config.toolssm``), so ``model.generate_with_tools(prompts)`` needs nothing else.

Importing toolssm registers these classes with ``AutoModelForCausalLM`` for the Mamba, Mamba2, GPT-NeoX and
Mistral configs (drop-in subclasses: no extra weights), and the LSTM/GRU baselines under their own
``toolssm_rnn`` type.
"""

from __future__ import annotations

import json
import os
import warnings

from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    JambaConfig,
    JambaForCausalLM,
    Mamba2Config,
    Mamba2ForCausalLM,
    MambaConfig,
    MambaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
)

from .generation import ToolGenerationResult, generate_with_tools
from .kernels import route_kernels_by_device
from .rnn import ToolSSMRNNConfig, ToolSSMRNNForCausalLM
from .tokenizer import ToolSSMTokenizer
from .tools import Tool, make_tool


def read_tool_spec(pretrained_model_name_or_path) -> dict | None:
    """The ``toolssm`` entry of a checkpoint's generation_config.json (GenerationConfig drops unknown keys on
    load, so it is read from the file itself)."""
    from transformers.utils import cached_file

    gc_file = cached_file(pretrained_model_name_or_path, "generation_config.json", _raise_exceptions_for_missing_entries=False)
    if not gc_file:
        return None
    with open(gc_file) as f:
        return json.load(f).get("toolssm")


class ToolCallingMixin:
    """Adds ``generate_with_tools`` and tokenizer/tool loading to a causal LM class."""

    tokenizer = None

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        from transformers import AutoConfig

        if kwargs.get("config") is None:  # read once, passed on
            kwargs["config"] = AutoConfig.from_pretrained(pretrained_model_name_or_path)
        config = kwargs["config"]
        if getattr(config, "model_type", None) != cls.config_class.model_type:  # transformers would warn and build a random model
            raise ValueError(f"{pretrained_model_name_or_path} holds a {config.model_type!r} model, not {cls.config_class.model_type!r}: "
                             f"load it with AutoModelForCausalLM.from_pretrained (after import toolssm)")
        model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        spec = read_tool_spec(pretrained_model_name_or_path)
        if spec:
            model.set_tool_spec(spec)
        path = str(pretrained_model_name_or_path)
        if not os.path.isdir(path) or os.path.exists(os.path.join(path, "tokenizer.json")):
            try:
                model.tokenizer = AutoTokenizer.from_pretrained(pretrained_model_name_or_path)
            except (OSError, ValueError):
                model.tokenizer = None
        return model

    @property
    def tool_spec(self) -> dict | None:
        """The task this checkpoint was trained on (``generation_config.toolssm``: ``{"task", "config"}``; older
        checkpoints: ``{"task", "variant", "k"?}``), if recorded."""
        gc = getattr(self, "generation_config", None)
        return getattr(gc, "toolssm", None) if gc is not None else None

    def set_tool_spec(self, spec: dict) -> None:
        if self.generation_config is None:
            self.generation_config = GenerationConfig()
        self.generation_config.toolssm = dict(spec)

    def make_tool(self) -> Tool | None:
        """A fresh instance of this checkpoint's inference tool."""
        spec = self.tool_spec
        if not spec:
            return None
        if "task" in spec:
            task = self.task()
            if task.input_in_tool:
                raise ValueError(f"{task.name}/{task.config} keeps each problem's input in its tool: use "
                                 "model.task().inference_tool(problem), or generate_with_tools(prompts) without tools")
            return task.inference_tool()
        return make_tool(spec["tool"], **spec.get("tool_kwargs", {}))

    def task(self):
        """The checkpoint's task (``toolssm.tasks``), or None when the checkpoint records none."""
        spec = self.tool_spec
        if not spec or "task" not in spec:
            return None
        from .tasks import task_from_spec

        return task_from_spec(spec)

    def generate_with_tools(self, prompts: list[str], tools: list[Tool | None] | None = None, max_new_tokens: int | list[int] | None = None,
                            hide_input: bool | None = None, **kwargs) -> list[ToolGenerationResult]:
        """Run the tool loop (see :func:`toolssm.generation.generate_with_tools`); ``tools`` defaults to one
        fresh instance of the checkpoint's tool per prompt.

        Where the checkpoint records its task, every prompt is checked against it (a ValueError names the bad prompt
        and character) and ``max_new_tokens`` defaults, per prompt, to 1.25 x the tokens its reference trajectory
        generates + 64, so a long problem is never cut short by a fixed budget. A row that still hits its budget is
        reported with a warning (``result.truncated``).

        ``hide_input`` (pointer-memory tasks): True keeps each problem's input in its tool's memory and gives the model
        only the prompt's last token (``=``); False shows the whole prompt; None (default) does what the checkpoint
        records (``"hide_input"`` in its tool spec; docs/FORMATS.md, "Hidden input")."""
        if isinstance(prompts, str):
            raise TypeError("prompts is a list of strings; wrap a single prompt as [prompt]")
        task, budgets, problems = self.task(), None, None
        if task is None and hide_input:
            raise ValueError("hide_input needs a checkpoint that records its task")
        if task is not None:
            from .tasks import choose_input

            task = choose_input(task, hide_input)
            problems = []
            for i, p in enumerate(prompts):
                try:
                    problems.append(task.parse_prompt(p))
                except NotImplementedError:  # a task whose prompts are not parsed (code fixing): nothing to check
                    problems = None
                    break
                except ValueError as e:
                    raise ValueError(f"prompt {i} is not a valid {task.name} problem for this checkpoint: {e}") from None
            if problems is not None and max_new_tokens is None:
                budgets = [int(1.25 * task.token_budget(pr)) + 64 for pr in problems]
        if max_new_tokens is None:
            max_new_tokens = budgets or 4096
        typed = None
        if problems is not None and not task.input_in_tool:
            # the model reads each problem written as its trace writes it (a typed `12*34=` becomes `12×34=`)
            canonical = [task.prompt(pr) for pr in problems]
            if canonical != list(prompts):
                typed, prompts = list(prompts), canonical
        if task is not None and task.input_in_tool:
            # the input is in the tool only: each row's tool holds its problem, the model gets the prompt's last token
            if problems is None:
                raise ValueError(f"{task.name}/{task.config}: its prompts must be parsed to build each row's tool")
            if tools is not None:
                raise ValueError(f"{task.name}/{task.config} keeps the input in the tool: leave tools=None, each row's "
                                 "tool is made from its prompt")
            typed, prompts = list(prompts), [task.prompt(pr) for pr in problems]
        if tools is None:  # one fresh tool per row: from its problem where the prompts were parsed
            tools = [task.inference_tool(pr) for pr in problems] if problems is not None else [self.make_tool() for _ in prompts]
        results = generate_with_tools(self, prompts, tools, max_new_tokens=max_new_tokens, **kwargs)
        if typed is not None:  # each result names the problem as given; its ids are what the model read and wrote
            for r, p in zip(results, typed):
                r.prompt = p
        cut = [i for i, r in enumerate(results) if r.truncated]
        if cut and budgets is not None:  # the budget was the task's own: a correct trajectory is 1.25x shorter
            warnings.warn(f"{len(cut)} of {len(results)} rows ran past 1.25x the length of their task's correct trajectory "
                          f"without finishing (rows {cut[:10]}): the model left the algorithm there (a loop or a wrong "
                          "walk), so their output is wrong or incomplete; a larger max_new_tokens will not fix it", stacklevel=2)
        elif cut:
            warnings.warn(f"{len(cut)} of {len(results)} rows stopped at their token budget before [EOS] (rows {cut[:10]}); "
                          "their output is incomplete: raise max_new_tokens", stacklevel=2)
        return results


class ToolMambaForCausalLM(ToolCallingMixin, MambaForCausalLM):
    """Mamba-1 (the paper's architecture) with a tool loop."""


class ToolMamba2ForCausalLM(ToolCallingMixin, Mamba2ForCausalLM):
    """Mamba2 with a tool loop."""


class ToolRNNForCausalLM(ToolCallingMixin, ToolSSMRNNForCausalLM):
    """LSTM/GRU baseline with a tool loop."""


class ToolGPTNeoXForCausalLM(ToolCallingMixin, GPTNeoXForCausalLM):
    """Pythia-style Transformer baseline with a tool loop."""


class ToolMistralForCausalLM(ToolCallingMixin, MistralForCausalLM):
    """Mistral-style sliding-window Transformer baseline with a tool loop."""


class ToolJambaForCausalLM(ToolCallingMixin, JambaForCausalLM):
    """Hybrid Mamba-attention baseline (transformers' Jamba: Mamba-1 layers with some attention layers) with a tool loop."""


# AutoTokenizer resolves a checkpoint's ``tokenizer_class`` by name among the classes registered for some config
AutoTokenizer.register(ToolSSMRNNConfig, fast_tokenizer_class=ToolSSMTokenizer, exist_ok=True)
for _config, _cls in [(MambaConfig, ToolMambaForCausalLM), (Mamba2Config, ToolMamba2ForCausalLM), (GPTNeoXConfig, ToolGPTNeoXForCausalLM),
                      (MistralConfig, ToolMistralForCausalLM), (ToolSSMRNNConfig, ToolRNNForCausalLM), (JambaConfig, ToolJambaForCausalLM)]:
    AutoModelForCausalLM.register(_config, _cls, exist_ok=True)



def _register_weight_conversions() -> list[str]:
    """Give each toolssm class the checkpoint key conversions of the stock class it extends. transformers renames
    keys of original Hub checkpoints while loading (EleutherAI/pythia-*: ``embed_out`` -> ``lm_head``), but skips those
    rules for classes defined outside transformers unless they are registered: without this, ``--init_from
    EleutherAI/pythia-1.4b`` loaded a random head beside a warning (tests/test_transplant.py). Returns the classes
    registered."""
    try:
        from transformers.conversion_mapping import get_checkpoint_conversion_mapping, register_checkpoint_conversion_mapping
    except ImportError:  # transformers without conversion mappings: nothing to register
        return []
    done = []
    for cls in (ToolMambaForCausalLM, ToolMamba2ForCausalLM, ToolGPTNeoXForCausalLM, ToolMistralForCausalLM, ToolJambaForCausalLM):
        stock = next(b for b in cls.__mro__[1:] if b.__module__.startswith("transformers.") and b.__name__.endswith("ForCausalLM"))
        rules = get_checkpoint_conversion_mapping(stock.__name__) or get_checkpoint_conversion_mapping(stock.config_class.model_type)
        if rules:
            register_checkpoint_conversion_mapping(cls.__name__, rules, overwrite=True)
            done.append(cls.__name__)
    return done


WEIGHT_CONVERSIONS = _register_weight_conversions()

# mamba-ssm / causal-conv1d, where installed, for CUDA tensors only (transformers binds them for every device)
route_kernels_by_device()
