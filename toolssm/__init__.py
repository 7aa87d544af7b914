"""toolssm: tool-augmented state space models (Malach et al., 2025), Hugging Face native."""

from . import vocab
from .tokenizer import ToolSSMTokenizer, decode, encode, get_tokenizer, split_tokens
from .tools import Calculator, NoTool, PointerMemory, SearchMemory, Tool, make_tool
from .trajectory import Recorder, ReplayResult, Trajectory, parse, render, replay

__version__ = "0.1.0"

__all__ = [
    "vocab", "ToolSSMTokenizer", "get_tokenizer", "encode", "decode", "split_tokens",
    "Tool", "NoTool", "PointerMemory", "SearchMemory", "Calculator", "make_tool",
    "Trajectory", "Recorder", "ReplayResult", "render", "replay", "parse",
]

from .generation import ToolGenerationResult, generate_with_tools  # noqa: E402
from .modeling import ToolMamba2ForCausalLM, ToolMambaForCausalLM, ToolRNNForCausalLM  # noqa: E402

__all__ += ["generate_with_tools", "ToolGenerationResult", "ToolMambaForCausalLM", "ToolMamba2ForCausalLM", "ToolRNNForCausalLM"]
