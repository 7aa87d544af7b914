import random

import pytest

from toolssm.tasks.code_fixing import generate_codebase, run_codebase


@pytest.mark.parametrize("n", [2, 4, 9, 16, 30])
def test_buggy_codebase_fails_and_the_fix_runs(n):
    for seed in range(3):
        cb = generate_codebase(random.Random(f"{n}-{seed}"), n)
        names = [f.name for f in cb.functions]
        assert names[0] == "main" and names[-1] == "foo" and len(set(names)) == n
        assert all(x == "main" or x == "foo" or (x[0] == "f" and 0 <= int(x[1:]) <= 999) for x in names)
        buggy = run_codebase(cb.files())
        assert buggy.returncode != 0 and "NameError" in buggy.stderr and "v10" in buggy.stderr
        fixed_files = cb.files(fixed=True)
        fixed = run_codebase(fixed_files)
        assert fixed.returncode == 0, fixed.stderr
        assert f"foo.v10 {cb.v10}" in fixed.stdout
        # the fix touches only functions on a path from main to foo
        on_path = cb.paths_to_foo()
        for name, src in cb.files().items():
            assert (src == fixed_files[name]) == (name[:-3] not in on_path)


def test_generation_is_deterministic_and_validated():
    a = generate_codebase(random.Random(1), 8).files()
    b = generate_codebase(random.Random(1), 8).files()
    assert a == b
    with pytest.raises(ValueError):
        generate_codebase(random.Random(0), 1)
