"""The one way the benchmarks file their figures: a JSON file, its folder made first."""

import json
import os


def write_json(path: str | None, obj) -> None:
    """Write ``obj`` to ``path`` as indented JSON (nothing when ``path`` is None)."""
    if not path:
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
