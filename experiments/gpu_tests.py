"""The whole test suite on the GPU machine, without and then with mamba-ssm + causal-conv1d installed: the package
must work both ways (GPU-only tests included: -m 'gpu or not slow').

    bash scripts/gpu/run.sh gpu_tests            # first call starts the kernel build and the tests without them

Run it alone on the machine: the 2026-12-01 lease ran both suites beside eight 130M trainings and the kernel build,
and both hit their 540 s timeout (results/paper_scale/gpu-tests*/pytest.log); on 2026-12-02 beside the kernel build and
GPU evaluations, with torch's default threads per worker, they were cut at 440 s after 41 and 51 tests
(results/gpu_tests/). The jobs run one at a time; a call of ~9 minutes runs one suite. Later on 2026-12-02 (beside three
130M trainings, two threads per worker) both ran to the end, 195 s and 255 s: results/gpu_tests/README.md.
"""

from toolssm.experiments import Job, Study

# -v: one line per test as it ends, so a log cut short still says which passed; SIGINT before the job's own timeout
# makes pytest print the failures' tracebacks and the summary of what ran.
# Two threads per worker: torch's default (one per core) times six workers put the 2026-12-02 run at a load average of 60-80.
# The suite runs on a private copy of the repo (runs/ and out/ left out): a suite that outlives its call sees the next
# call's copy of the working tree land under it, and on 2026-12-07 the with-kernels suite, collecting at that moment,
# failed to import 12 of its test modules (`No module named 'toolssm.verify'`).
# Each test that failed in the suite (at most 5) is run again alone, three times, into rerun.log: the exit status stays
# the suite's, and the log tells a failure that comes back alone from one that needed the crowd (2026-12-07: the
# with-kernels suite failed test_three_kernel_mamba_step_decodes_a_shipped_mamba_exactly_on_gpu with a CUDA-graph
# capture invalidated, which passed in the without-kernels suite run beside it; the lease ended before a rerun). At
# b0ac5fc the same test failed in the with-kernels suite and passed alone 3/3 here: a garbage collection inside the
# capture had destroyed an older CUDAGraph (toolssm.fast.graph_capture now pauses the collector while a stream captures).
RERUN = ("for t in $(grep -oE '^(FAILED|ERROR) tests/[^ ]+' $RUN_DIR/pytest.log | cut -d' ' -f2 | sort -u | head -5); do "
         "for k in 1 2 3; do timeout 180 python3 -m pytest -q -m 'gpu or not slow' -p no:cacheprovider -rfE --tb=short \"$t\" > $RUN_DIR/rerun-last.log 2>&1; "
         "echo \"rerun $k alone, $t: $(tail -1 $RUN_DIR/rerun-last.log)\" >> $RUN_DIR/summary.txt; cat $RUN_DIR/rerun-last.log >> $RUN_DIR/rerun.log; done; done; "
         "rm -f $RUN_DIR/rerun-last.log")
# The suite's own limit: 500 s (440 until 2026-12-07, when both suites ran side by side on one H100 and each was cut
# with one or two of its 817 tests unfinished at 441-442 s).
TESTS = ("src=$PWD; d=$(mktemp -d); tar --exclude=./runs --exclude=./out -cf - . | tar -xf - -C $d && cd $d && export PYTHONPATH=${PYTHONPATH//$src/$d} && "
         "OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 timeout -s INT ${PYTEST_TIMEOUT:-500} python3 -m pytest -v -m 'gpu or not slow' -p no:cacheprovider -n ${PYTEST_WORKERS:-6} "
         "-rfEs --tb=short --durations=15 tests > $RUN_DIR/pytest.log 2>&1; s=$?; "
         "grep -E '^(FAILED|ERROR)|passed|failed' $RUN_DIR/pytest.log | tail -40 > $RUN_DIR/summary.txt; "
         f"{RERUN}; cd $src; rm -rf $d; exit $s")

STUDY = Study(
    name="gpu_tests",
    claim="Every test passes on the GPU machine with and without the mamba-ssm kernels installed.",
    runs=[Job("without-kernels", TESTS, timeout_s=1200), Job("with-kernels", TESTS, kernels=True, timeout_s=1200)],
)
