"""train.py's options, as dataclasses that ``transformers.HfArgumentParser`` turns into a command line, and the one
command that retrains a recorded run (:func:`reproduce_command`, for model cards).

Here, not in train.py, so that the package (``toolssm.cards``) can compare a run's recorded options with the defaults:
a card's "How to reproduce" command names every option that shapes the weights and differs from its default, read
from the run's training_args.json, so that it trains the same model with today's train.py.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, fields

from .tasks import TASKS  # the one task registry: --task choices, --config and --train_max_n help

_CONFIGS_HELP = "; ".join(f"{name}: {', '.join(cls.configs)} (default {cls.default_config})" for name, cls in TASKS.items())
_TRAIN_MAX_HELP = ", ".join(f"{name} {cls.train_max_n}" for name, cls in TASKS.items())


@dataclass
class ModelArguments:
    preset: str = field(default="mamba-tiny", metadata={"help": "model preset (toolssm.models.PRESETS): mamba-130m, mamba2-130m, lstm, gru, pythia, mistral, hybrid (Mamba-attention), *-small, *-tiny"})
    init_from: str | None = field(default=None, metadata={"help": "start from this checkpoint instead of a fresh preset (fine-tuning / LoRA)"})
    mamba_path: str = field(default="auto", metadata={"help": "how Mamba-1 layers train (toolssm.kernels.select_mamba_path): kernels (mamba-ssm + causal-conv1d, CUDA), triton (toolssm's Triton scan, CUDA), mambapy, torch; auto: the first the machine has", "choices": ["auto", "kernels", "triton", "mambapy", "torch"]})
    use_mambapy: bool | None = field(default=None, metadata={"help": "old spelling of --mamba_path mambapy"})
    triton_scan: bool | None = field(default=None, metadata={"help": "old spelling of --mamba_path triton"})
    scan_chunk: int = field(default=64, metadata={"help": "Triton scan: keep one state every K steps for the backward pass and recompute the rest (130M shape on an H200: 2.4x less peak memory, 3.7%% slower at K=64); 0 keeps every state"})
    source_tokenizer: str | None = field(default=None, metadata={"help": "with --init_from a pretrained language model (state-spaces/mamba-1.4b-hf, EleutherAI/pythia-1.4b): the tokenizer it was pretrained with; each toolssm token's embedding starts as the mean of its pieces' (toolssm.transplant)"})
    lora: bool = field(default=False, metadata={"help": "train LoRA adapters (peft) on --init_from instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_target_modules: str | None = field(default=None, metadata={"help": "comma-separated module names (default per architecture; peft refuses Mamba's out_proj/conv1d)"})


@dataclass
class DataArguments:
    task: str = field(default="addition", metadata={"help": "the task", "choices": sorted(TASKS)})
    config: str | None = field(default=None, metadata={"help": f"task config: {_CONFIGS_HELP}"})
    hide_input: bool = field(default=False, metadata={"help": "pointer-memory tasks: the model's prompt is only the prompt's last token ('='); the input is in the tool's memory, read through the pointers (recorded in the checkpoint, which then runs that way; docs/FORMATS.md, 'Hidden input')"})
    stress_fraction: float = field(default=0.0, metadata={"help": "generated training data: this share of the items from the task's stress classes (runs of 9s and 0s, unequal operands, degenerate graphs...: docs/FORMATS.md) at sizes min..train_max_n, the rest from the paper's distribution (recorded in training_args.json; default 0: the paper's distribution only)"})
    stress_max_n: int | None = field(default=None, metadata={"help": "with --stress_fraction: the stress items' largest size (default train_max_n); larger trains on longer corners than the random items (say so when reporting)"})
    stress_family: str = field(default="stress", metadata={"help": "with --stress_fraction: which classes the stress items come from: 'stress' (the stress split's corners), 'runs' (long runs of one digit, arithmetic tasks: docs/FORMATS.md, 'Runs splits') or 'stress,runs' (each item from one of the two, even odds)", "choices": ["stress", "runs", "stress,runs"]})
    dataset: str | None = field(default=None, metadata={"help": "train from a built dataset folder or Hub id instead of generating on the fly"})
    verify_data: bool = field(default=True, metadata={"help": "with --dataset: replay every row against its tool and check its answer before training (toolssm.verify); a bad row stops the run before any step"})
    train_max_n: int | None = field(default=None, metadata={"help": f"largest training size when generating (default, the paper's: {_TRAIN_MAX_HELP})"})
    mixture: str | None = field(default=None, metadata={"help": "extra tasks mixed in, 'task:config:weight[:max_n],...' (paper D.8): weight relative to mixture_main_weight; max_n the largest training size of that task (default: the task's own training maximum)"})
    mixture_main_weight: float = field(default=1.0, metadata={"help": "weight of the main task in a mixture"})
    data_seed: int = field(default=0, metadata={"help": "seed of the generated training stream (items are rebuilt from it and their index)"})
    max_length: int | None = field(default=None, metadata={"help": "truncate training sequences to this many tokens"})
    group_by_length: int = field(default=0, metadata={"help": "batch examples of like length: each window of this many steps' examples is sorted by length, cut into batches, and the batches are taken in a shuffled order (the same examples as without it, in other batches; 0 or 1: off). A batch is padded to its longest row, so on Tower of Hanoi (lengths 10x apart) most of a random batch is padding: 8 here cuts the padded tokens of a step 2.85x (recursive) to 3.69x (iterative), benchmarks/bench_group_by_length.py. Each step's loss is scaled by its batch's share of the window's label tokens, so every token weighs as in mixed batches (docs/TRAINING.md)"})
    loss_tokens: str = field(default="all", metadata={"help": "which trained tokens carry the loss: 'all' (thoughts, commands, outputs, [EOS]: the paper's) or 'digits' (only the digits among them; on the logical graph those are the names the model copies: a copy curriculum's first stage, docs/TRAINING.md)", "choices": ["all", "digits"]})
    num_workers: int = field(default=2, metadata={"help": "DataLoader workers generating/rendering trajectories"})


@dataclass
class TrainArguments:
    output_dir: str = field(default="runs/default", metadata={"help": "where checkpoints, metrics and the final model go"})
    max_steps: int = field(default=2000, metadata={"help": "optimizer steps (paper: 2,000)"})
    batch_size: int = field(default=64, metadata={"help": "sequences per process per micro-step"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "micro-steps per optimizer step"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (paper sweeps 0 and 0.01)"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warmup steps"})
    lr_scheduler: str = field(default="cosine", metadata={"help": "transformers scheduler name: cosine, linear, constant_with_warmup, ..."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping"})
    seed: int = field(default=0, metadata={"help": "training seed (initialisation, sampling)"})
    mixed_precision: str = field(default="auto", metadata={"help": "no, bf16 or fp16; auto = bf16 on GPU, no on CPU"})
    eval_every: int = field(default=250, metadata={"help": "validate every N steps (0: only at the end)"})
    eval_samples: int = field(default=16, metadata={"help": "problems per validation length for the tool-loop exact match"})
    eval_lengths: str | None = field(default=None, metadata={"help": "comma-separated sizes for validation exact match (default: the training max and 2x)"})
    save_every: int = field(default=500, metadata={"help": "checkpoint every N steps"})
    save_total_limit: int = field(default=2, metadata={"help": "keep only the newest N step checkpoints"})
    log_every: int = field(default=10, metadata={"help": "log training metrics every N steps"})
    resume: bool = field(default=False, metadata={"help": "continue from the newest checkpoint in output_dir"})
    overwrite_output_dir: bool = field(default=False, metadata={"help": "train a new run into an output_dir that holds another (its step checkpoints and metrics are deleted first); without it such a folder is refused"})
    report_to: str = field(default="tensorboard", metadata={"help": "Accelerate tracker (tensorboard, wandb, ...) or 'none'"})
    push_to_hub: str | None = field(default=None, metadata={"help": "publish the final checkpoint and card to this Hub repo (needs HF_TOKEN and network)"})
    max_time_minutes: float | None = field(default=None, metadata={"help": "end the run early (validate, save the final model) once this much wall time has passed; the steps done are recorded"})
    stop_after: int | None = field(default=None, metadata={"help": "exit (as if killed) after this many steps, for testing --resume"})


#: options that do not change the trained weights (where files go, how often to log, save or validate, resuming,
#: trackers, data-loading workers, checks, which kernel runs the same scan): a reproduce command leaves them out
NOT_SHAPING = frozenset({"output_dir", "eval_every", "eval_samples", "eval_lengths", "save_every", "save_total_limit", "log_every",
                         "resume", "overwrite_output_dir", "report_to", "push_to_hub", "stop_after", "num_workers", "verify_data",
                         "mamba_path", "use_mambapy", "triton_scan", "scan_chunk"})
#: named in every command even at their default, so a reader sees them without knowing the defaults
ALWAYS = ("preset", "init_from", "task", "config", "max_steps", "batch_size", "learning_rate", "weight_decay", "seed", "data_seed")
SECTIONS = {"model": ModelArguments, "data": DataArguments, "train": TrainArguments}
LAUNCH = "accelerate launch --config_file configs/accelerate/one_process.yaml train.py"


def _flag(name: str, value) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"--{name.replace('_', '-')} {shlex.quote(str(value))}"


def reproduce_command(args: dict, launch: str = LAUNCH) -> str:
    """The train.py command that trains the run recorded in ``args`` (training_args.json) again: every option that
    shapes the weights (all but :data:`NOT_SHAPING`) whose recorded value differs from today's default, plus
    :data:`ALWAYS`. An option the record lacks (a run older than the option) is left at its default, which is what
    that run trained with; a recorded key train.py no longer has raises ValueError (the command could not say it)."""
    flags, rest = {}, []
    for section, cls in SECTIONS.items():
        recorded = dict(args.get(section) or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(recorded) - set(known))
        if unknown:
            raise ValueError(f"training_args.json [{section}] has options train.py no longer takes: {unknown}")
        for name, f in known.items():
            if name in NOT_SHAPING or name not in recorded:
                continue
            value = recorded[name]
            if name in ALWAYS and value is not None:
                flags[name] = _flag(name, value)
            elif value != f.default:
                rest.append(_flag(name, value))
    return " ".join([launch] + [flags[n] for n in ALWAYS if n in flags] + rest)
