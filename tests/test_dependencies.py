"""constraints.txt (the versions CI tests) against pyproject.toml (the ranges a user's pip may pick): docs/DESIGN.md,
'Dependency versions'."""

import os
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pins() -> dict[str, str]:
    pins = {}
    with open(os.path.join(ROOT, "constraints.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            req = Requirement(line)
            specs = list(req.specifier)
            assert len(specs) == 1 and specs[0].operator == "==", f"constraints.txt: not a 'name==version' line: {line!r}"
            name = canonicalize_name(req.name)
            assert name not in pins, f"constraints.txt pins {name} twice"
            pins[name] = specs[0].version
    return pins


def _requirements() -> list[Requirement]:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def test_every_locked_version_lies_in_the_declared_range():
    pins = _pins()
    for req in _requirements():
        name = canonicalize_name(req.name)
        if name == "torch":  # scripts/setup.sh pins the CPU build itself
            assert name not in pins
            continue
        assert name in pins, f"{req.name} is a dependency but constraints.txt does not lock it"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt locks {req.name}=={pins[name]}, outside pyproject.toml's {req}"


def test_the_environment_under_test_is_the_locked_one():
    """scripts/setup.sh installs with -c constraints.txt: in CI, what the suite imports is what constraints.txt names
    (elsewhere the suite may run on any version in the declared range, e.g. to test the next transformers)."""
    if not os.environ.get("CI"):
        pytest.skip("checks the CI environment (CI set)")
    pins = _pins()
    for name in ("transformers", "datasets", "accelerate", "peft", "evaluate", "huggingface-hub"):
        assert metadata.version(name) == pins[canonicalize_name(name)], name
