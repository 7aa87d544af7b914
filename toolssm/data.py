"""Build, write and read trace datasets laid out as Hugging Face Hub dataset repositories.

A dataset folder holds one sub-folder per config with a parquet file per split (``train``,
``validation``, and one ``test_<n>`` split per test length) and a README.md card whose YAML
``configs:`` block lets ``datasets.load_dataset(FOLDER, CONFIG, split=...)`` read it offline (and
``load_dataset("toolssm/<task>")`` once pushed). Every row written has replayed exactly against its tool
and its output matched the independent oracle; the builder refuses to write anything else.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context

from .tasks import DATA_VERSION, task_class
from .tasks.base import STRESS_FAMILIES

@dataclass
class BuildSpec:
    """Everything that determines a built config (stored in the card so it can be regenerated)."""

    task: str
    config: str
    seed: int = 0
    train_rows: int = 10000
    validation_rows: int = 200
    test_rows: int = 100
    train_max_n: int = 5
    test_lengths: list[int] = field(default_factory=list)
    stress_rows: int = 0  # rows in each stress_<n> split (one per test length; classes cycle over the rows)
    runs_rows: int = 0  # rows in each runs_<n> split (long runs of one digit; the task's runs classes cycle likewise)

    def validate(self) -> None:
        task = task_class(self.task)(self.config)
        if self.stress_rows and not task.stress_classes:
            raise ValueError(f"task {self.task!r} has no stress split; leave stress_rows at 0")
        if self.runs_rows and not task.runs_classes:
            raise ValueError(f"task {self.task!r} has no runs split (only the arithmetic tasks do); leave runs_rows at 0")
        for name in ("train_rows", "validation_rows", "test_rows", "stress_rows", "runs_rows"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {getattr(self, name)!r}")
        task.validate_n(self.train_max_n)
        for n in self.test_lengths:
            task.validate_n(n)
        if len(set(self.test_lengths)) != len(self.test_lengths):
            raise ValueError(f"test lengths must be distinct, got {self.test_lengths}")

    def splits(self) -> list[tuple[str, int, int, str]]:
        """(split name, rows, n, distribution: train / test / stress / runs) in generation order."""
        out = [("train", self.train_rows, self.train_max_n, "train"), ("validation", self.validation_rows, self.train_max_n, "train")]
        out += [(f"test_{n}", self.test_rows, n, "test") for n in self.test_lengths]
        out += [(f"stress_{n}", self.stress_rows, n, "stress") for n in self.test_lengths]
        out += [(f"runs_{n}", self.runs_rows, n, "runs") for n in self.test_lengths]
        return [s for s in out if s[1] > 0]


def _make_rows(args) -> list[dict | str]:
    task_name, config, seed, split, n, dist, indices = args
    task = task_class(task_name)(config)
    out = []
    for i in indices:
        item = task.make_item(seed, split, i, n, train=dist == "train", stress=dist if dist in STRESS_FAMILIES else False)
        err = task.verify(item)
        if err is not None:  # never written; reported by the builder
            out.append(f"{split}[{i}]: {err}")
            continue
        row = item.to_row(seed, split, i)
        row["config"] = config
        out.append(row)
    return out


def generate_split(spec: BuildSpec, split: str, rows: int, n: int, dist: str, seen: set[str], pool=None, progress: bool = True) -> list[dict]:
    """``rows`` verified rows for one split (``dist``: train / test / stress / runs); problems in ``seen`` (earlier
    splits) are skipped and replaced, except in stress and runs splits, whose corner cases (9...9 + 9...9) may repeat a test problem
    and whose classes must keep their turns. ``pool`` (a multiprocessing pool) spreads the work over processes."""
    from tqdm.auto import tqdm

    out: list[dict] = []
    next_index = 0
    num_proc = pool._processes if pool else 1
    chunk = max(1, min(64, rows // max(1, 4 * num_proc) or 1))
    bar = tqdm(total=rows, desc=f"{spec.task}/{spec.config}/{split}", disable=not progress, unit="row")
    try:
        while len(out) < rows:
            need = rows - len(out)
            jobs = []
            for _ in range(max(1, min(num_proc * 4, (need + chunk - 1) // chunk))):
                jobs.append((spec.task, spec.config, spec.seed, split, n, dist, list(range(next_index, next_index + chunk))))
                next_index += chunk
            results = pool.imap(_make_rows, jobs) if pool else map(_make_rows, jobs)
            for batch in results:
                for row in batch:
                    if isinstance(row, str):
                        raise RuntimeError(f"a generated trajectory failed verification, nothing written: {row}")
                    key = row["prompt"] + "\0" + row["problem"]  # the prompt alone does not identify a code-fixing problem
                    if len(out) < rows and (dist in STRESS_FAMILIES or key not in seen):
                        seen.add(key)
                        out.append(row)
                        bar.update(1)
            if next_index > 50 * rows + 1000:
                raise RuntimeError(f"could not find {rows} distinct problems for {split} at n={n}; ask for fewer rows")
    finally:
        bar.close()
    return out


#: marks a card as written by :func:`write_card`: only such a README.md is ever replaced by a build
CARD_MARKER = "<!-- written by toolssm.data.write_card -->"


def _foreign_entries(out_dir: str) -> list[str]:
    """What in ``out_dir`` a build did not write: anything but our card and config folders holding our build.json
    and the parquet files it lists."""
    foreign = []
    for name in sorted(os.listdir(out_dir)):
        path = os.path.join(out_dir, name)
        if name == "README.md" and os.path.isfile(path):
            with open(path, errors="replace") as f:
                if CARD_MARKER not in f.read():
                    foreign.append(name)
        elif name.startswith(".toolssm-build-"):
            continue  # a crashed build's temporary folder: ours
        elif not os.path.isdir(path) or not os.path.isfile(os.path.join(path, "build.json")):
            foreign.append(name)
        else:
            try:
                with open(os.path.join(path, "build.json")) as f:
                    ours = {f"{split}-00000-of-00001.parquet" for split in json.load(f)["splits"]} | {"build.json"}
            except (OSError, ValueError, KeyError, TypeError):
                ours = set()
            foreign += [f"{name}/{f}" for f in sorted(os.listdir(path)) if f not in ours]
    return foreign


def check_out_dir(out_dir: str, overwrite: bool = False) -> str:
    """The absolute output folder, or a ValueError if a build there could lose a file it did not write: a folder
    holding anything but toolssm configs and their card (the project root, a home folder, another dataset) is
    refused unless ``overwrite``."""
    if not isinstance(out_dir, str) or not out_dir.strip():
        raise ValueError("the output folder is empty; give a folder such as data/addition")
    out = os.path.abspath(out_dir)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"output {out_dir!r} exists and is not a folder")
    if os.path.isdir(out) and not overwrite:
        foreign = _foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ValueError(f"output folder {out_dir!r} holds files a toolssm build did not write ({shown}); "
                             "choose an empty or new folder, or pass overwrite (--overwrite) to replace them")
    return out


def check_same_build(cfg_dir: str, spec: dict) -> None:
    """A ValueError where ``cfg_dir`` holds a finished build of other settings: rebuilding it would replace that data
    (hours of generation for the large configs) by a different dataset. The same settings rebuild the same rows
    (items are made from seed, split and index), so that is allowed."""
    path = os.path.join(cfg_dir, "build.json")
    if not os.path.isfile(path):
        return
    try:
        with open(path) as f:
            old = json.load(f)["spec"]
        old = {"runs_rows": 0, **old}  # builds from before the runs splits had none
    except (OSError, ValueError, KeyError, TypeError):
        old = None
    if old == spec:
        return
    if not isinstance(old, dict):
        diff = "its build.json is unreadable"
    else:
        keys = sorted(set(old) | set(spec), key=lambda k: (k not in spec, k))
        diff = ", ".join(f"{k} {old.get(k)!r} -> {spec.get(k)!r}" for k in keys if old.get(k) != spec.get(k))
    raise ValueError(f"{cfg_dir!r} already holds a build of {spec.get('task')}/{spec.get('config')} with other settings "
                     f"({diff}); choose another folder, or pass overwrite (--overwrite) to replace it")


def build_config(spec: BuildSpec, out_dir: str, num_proc: int = 1, progress: bool = True, overwrite: bool = False) -> dict:
    """Generate every split of one config into ``out_dir/<config>/`` and (re)write the card. Returns stats.

    The config is written into a temporary folder beside it and moved into place only once every split is done, so a
    crash or Ctrl-C leaves the previous build intact; a folder holding files toolssm did not write is refused
    (:func:`check_out_dir`) unless ``overwrite``, and so is a finished build of the same config with other settings
    (:func:`check_same_build`); the same settings rebuild the same rows."""
    spec.validate()
    out_dir = check_out_dir(out_dir, overwrite)
    cfg_dir = os.path.join(out_dir, spec.config)
    if not overwrite:
        check_same_build(cfg_dir, asdict(spec))
    if not progress:
        import datasets

        datasets.disable_progress_bars()
    os.makedirs(out_dir, exist_ok=True)
    tmp_dir = os.path.join(out_dir, f".toolssm-build-{spec.config}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(tmp_dir)
    seen: set[str] = set()
    stats = {"spec": asdict(spec), "version": DATA_VERSION, "splits": {}}
    pool = get_context("spawn").Pool(num_proc) if num_proc > 1 else None
    try:
        for split, rows, n, dist in spec.splits():
            _write_split(spec, tmp_dir, split, rows, n, dist, seen, pool, progress, stats)
        with open(os.path.join(tmp_dir, "build.json"), "w") as f:
            json.dump(stats, f, indent=1)
        old = None
        if os.path.exists(cfg_dir):
            old = cfg_dir + f".old-{os.getpid()}"
            os.rename(cfg_dir, old)
        os.rename(tmp_dir, cfg_dir)
        if old:
            shutil.rmtree(old)
    finally:
        if pool:
            pool.close()
            pool.join()
        shutil.rmtree(tmp_dir, ignore_errors=True)
    write_card(out_dir, spec.task)
    return stats


def _write_split(spec, cfg_dir, split, rows, n, dist, seen, pool, progress, stats) -> None:
    from datasets import Dataset

    t0 = time.time()
    data = generate_split(spec, split, rows, n, dist, seen, pool, progress)
    Dataset.from_list(data).to_parquet(os.path.join(cfg_dir, f"{split}-00000-of-00001.parquet"))
    toks = [r["num_tokens"] for r in data]
    stats["splits"][split] = {
        "rows": len(data), "n": n, "seconds": round(time.time() - t0, 2),
        "mean_tokens": round(sum(toks) / len(toks), 1), "max_tokens": max(toks),
    }


def _example(cfg_dir: str) -> str:
    from datasets import load_dataset

    files = sorted(p for p in os.listdir(cfg_dir) if p.endswith(".parquet"))
    split_file = next((p for p in files if p.startswith("validation")), files[0])
    ds = load_dataset("parquet", data_files=os.path.join(cfg_dir, split_file), split="train")
    row = min(ds, key=lambda r: r["num_tokens"])
    row = dict(row)
    if len(row["trajectory"]) > 24:
        row["trajectory"] = row["trajectory"][:24] + [{"role": "...", "content": f"({len(row['trajectory']) - 24} more segments)"}]
    return json.dumps(row, indent=1, ensure_ascii=False)


def _dataset_info(out_dir: str, built: list) -> list[str]:
    """The card's ``dataset_info`` YAML (features and split sizes per config), read from the written parquet files, so
    the Hub's viewer and ``load_dataset_builder`` see the schema without opening the data."""
    import pyarrow.parquet as pq
    import yaml
    from datasets import Features

    info = []
    for config, st in built:
        first = next(iter(st["splits"]))
        schema = pq.read_schema(os.path.join(out_dir, config, f"{first}-00000-of-00001.parquet"))
        info.append({"config_name": config, "features": Features.from_arrow_schema(schema)._to_yaml_list(),
                     "splits": [{"name": s, "num_bytes": os.path.getsize(os.path.join(out_dir, config, f"{s}-00000-of-00001.parquet")),
                                 "num_examples": v["rows"]} for s, v in st["splits"].items()]})
    return yaml.safe_dump({"dataset_info": info}, sort_keys=False, allow_unicode=True).rstrip("\n").split("\n")


def write_card(out_dir: str, task: str) -> str:
    """(Re)write README.md for every config built in ``out_dir`` so far."""
    import inspect

    built = []
    for config in sorted(os.listdir(out_dir)):
        p = os.path.join(out_dir, config, "build.json")
        if os.path.exists(p):
            with open(p) as f:
                built.append((config, json.load(f)))
    if not built:
        raise ValueError(f"no built config in {out_dir}")
    default = task_class(task).default_config
    default = default if any(c == default for c, _ in built) else built[0][0]
    total = sum(sp["rows"] for _, st in built for sp in st["splits"].values())
    size = next(c for lim, c in [(1e3, "n<1K"), (1e4, "1K<n<10K"), (1e5, "10K<n<100K"), (1e6, "100K<n<1M"), (float("inf"), "n>1M")] if total < lim)
    yaml = ["---", f"pretty_name: toolssm {task} tool-use trajectories", "language:", "- en", "license: apache-2.0",
            "size_categories:", f"- {size}", "task_categories:", "- text-generation", "tags:", "- tool-use", "- length-generalization",
            "- state-space-models", "- synthetic", "configs:"]
    for config, st in built:
        yaml.append(f"- config_name: {config}")
        yaml.append("  data_files:")
        for split in st["splits"]:
            yaml += [f"  - split: {split}", f"    path: {config}/{split}-*.parquet"]
        if config == default:
            yaml.append("  default: true")
    yaml += _dataset_info(out_dir, built)
    yaml.append("---")
    t = task_class(task)(built[0][0])
    module_doc = inspect.getmodule(type(t)).__doc__.strip()
    lines = yaml + [
        CARD_MARKER,
        f"# toolssm/{task}",
        "",
        f"Tool-use trajectories for the **{task}** task of *To Infinity and Beyond: Tool-Use Unlocks Length "
        "Generalization in State Space Models* (Malach et al., 2025), generated by "
        "[toolssm](https://github.com/toolssm/toolssm). Training and validation rows are at training sizes; "
        f"`test_<n>` splits hold problems of exactly size n ({t.size_unit}) to measure length generalization; "
        f"`stress_<n>` splits (where built) hold problems of size n from the corners of the input space, one class "
        f"after another ({', '.join(f'`{c}`' for c in t.stress_classes) or 'none for this task'}; the row's `problem` "
        "names its class as `stress`; docs/FORMATS.md says why each class is there)"
        + (f"; `runs_<n>` splits (where built) hold problems whose operands carry one run of a digit over at least half "
           f"their digits ({', '.join(f'`{c}`' for c in t.runs_classes)})." if t.runs_classes else "."),
        "",
        "Every row was replayed against its tool (each observation equals the tool's answer) and its output "
        "matched an independent oracle before it was written.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("toolssm/{task}", "{default}", split="train")  # or a local folder path',
        "```",
        "",
        "## Configs, splits and sizes",
        "",
        "| config | split | rows | n | mean tokens | max tokens |",
        "|---|---|---|---|---|---|",
    ]
    for config, st in built:
        for split, s in st["splits"].items():
            lines.append(f"| {config} | {split} | {s['rows']} | {'1..' if split in ('train', 'validation') else ''}{s['n']} | {s['mean_tokens']} | {s['max_tokens']} |")
    lines += [
        "",
        "## Schema",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        "| `prompt` | string | the problem as the model sees it |",
        "| `answer` | string | the true answer (independent oracle) |",
        f"| `n` | int | problem size ({t.size_unit}) |",
        "| `trajectory` | list of {role, content} | roles `thought`, `command`, `observation`, `output`; special tokens keep their bracket spelling |",
        "| `num_tokens` | int | tokens of prompt + trajectory + `[EOS]` |",
        "| `problem` | string (JSON) | the sampled problem (operands, disks, graph, codebase seed): what the tool and the checker need |",
        "| `task`, `variant`, `config` | string | what generated the row |",
        "| `seed`, `split`, `index`, `version` | provenance | `get_task(...).make_item(seed, split, index, n, train)` rebuilds the row |",
        "",
        "Training masks the prompt and the observations (labels -100); thoughts, commands, outputs and `[EOS]` "
        "are trained (`toolssm.render`).",
        "",
        "## Generation parameters and how to regenerate",
        "",
    ]
    for config, st in built:
        s = st["spec"]
        lines += [
            f"- `{config}`: seed {s['seed']}, train/validation sizes 1..{s['train_max_n']}, test lengths {s['test_lengths']}, data version {st['version']}:",
            f"  `python dataset_builders/build.py {task} --config {config} --out FOLDER --seed {s['seed']} --train-rows {s['train_rows']} "
            f"--validation-rows {s['validation_rows']} --test-rows {s['test_rows']} --train-max-n {s['train_max_n']} "
            f"--test-lengths {','.join(map(str, s['test_lengths'])) or 'none'} --stress-rows {s.get('stress_rows', 0)} --runs-rows {s.get('runs_rows', 0)}`",
        ]
    lines += [
        "",
        "Validation and test rows never repeat a training prompt (duplicates are skipped and the next index taken; "
        "the stored `index` says which). Stress and runs rows may repeat one (their corner cases are few at small sizes).",
        "",
        "## Format decisions",
        "",
        "The paper leaves several surface details open; toolssm's choices (marked [INF]) are:",
        "",
        module_doc,
        "",
        "## Example",
        "",
        "```json",
        _example(os.path.join(out_dir, built[0][0])),
        "```",
        "",
        "## Citation",
        "",
        "```bibtex",
        "@article{malach2025infinity,",
        "  title={To Infinity and Beyond: Tool-Use Unlocks Length Generalization in State Space Models},",
        "  author={Malach, Eran and Saremi, Omid and Williamson, Sinead and Bradley, Arwen and Lotfi, Aryo and Abbe, Emmanuel and Susskind, Josh and Littwin, Etai},",
        "  journal={arXiv preprint arXiv:2510.14826},",
        "  year={2025}",
        "}",
        "```",
        "",
    ]
    text = "\n".join(lines)
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text)
    return text


def push_to_hub(out_dir: str, repo_id: str, token: str | None = None) -> str:
    """Upload a built dataset folder as a Hub dataset repository (needs a token and network)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    info = api.upload_folder(folder_path=out_dir, repo_id=repo_id, repo_type="dataset", allow_patterns=["README.md", "*/*.parquet", "*/build.json"])
    return str(info)
