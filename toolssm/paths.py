"""Checking a checkpoint argument before anything loads it (a missing local folder must not wait on Hub retries)."""

from __future__ import annotations

import os


def checkpoint_path_problem(path: str) -> str | None:
    """None if ``path`` may be a checkpoint (a folder with config.json, or a Hub id to try), else what is wrong:
    a path that is local by its form (absolute, ``./``, or under an existing folder) but not there, a folder without
    config.json, or, with HF_HUB_OFFLINE set, a Hub id that is not in the cache."""
    if os.path.isdir(path):
        return None if os.path.exists(os.path.join(path, "config.json")) else "the folder holds no config.json (not a checkpoint)"
    if os.path.isfile(path):
        return "a file, not a checkpoint folder (give the folder that holds config.json and the weights)"
    parent = os.path.dirname(os.path.normpath(path))
    if os.path.isabs(path) or path.startswith(".") or (parent and os.path.isdir(parent)):
        return "no such checkpoint folder"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(path, "config.json"), str):
            return "no such checkpoint folder, and not in the Hub cache (HF_HUB_OFFLINE is set)"
    return None
