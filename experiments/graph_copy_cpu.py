"""A CPU pilot of the copy curriculum for the logical graph's small GRU (table1_full's `graph-*-copy-s0` then
`graph-*-copycur-s0` are the GPU version at the cell's own batch 128 and 2,000 steps).

Why: trained on the whole trace (2,000 steps at batch 128, two learning rates, a short-graph curriculum, the paper's
4 x 1536 size) the small LSTM and GRU learn the trace's structure and copy no variable name above chance: 0/16 at every
size, in distribution too (README, Table 1). `scripts/graph_copy_stage.py` showed on the CPU that with the loss on the
copied name digits only (4-5 nodes, batch 32) the GRU copies 86% of them after 600 steps, and that the whole loss
afterwards keeps the copy and learns the rest (teacher-forced token accuracy 0.94 after 200 steps, against 0.745 for
the whole loss from scratch at 600). This pilot runs the same two stages through train.py and evaluates the model as
the agent (eval.py: the search tool answers its commands; exact match of the whole trajectory and answer):

    python scripts/launch.py run graph_copy_cpu --deadline 4200     # on 2 cores, ~40 minutes

Stage 1: 600 steps on graphs of 4-5 nodes with `--loss_tokens digits`; stage 2: the whole loss on 4-10 nodes (the
cell's training sizes) from those weights, as many steps as 28 minutes allow on 2 cores (planned 500). A pilot on a
laptop-sized budget (batch 32, ~1,100 steps in all), not a Table 1 cell [decision].

2026-12-08 (38 minutes, 2 cores): stage 2 ended at loss 0.267 (the whole-loss runs' plateau: 0.63-0.66), 0/16 exact at
5, 10 and 20 nodes and on the stress split at 20; the first divergence moved from the first name copied (tokens 199-240
on eight 10-node problems, the GPU's 2,000-step GRU) to the next name copied across an observation (tokens 260-318):
results/graph_copy_cpu, README "A copy curriculum".

2026-12-08 (thirtieth session, 46 minutes): the value_lines pair (`launch.py run graph_copy_cpu 'gvl-*'`), the whole
loss only: 1,000 steps on 4-5 nodes (loss 0.41, cosine to 0), then 500 on 4-10 (loss 0.307, val token accuracy
0.889): 0/16 at 5, 10 and 20 nodes and on the stress split at 20. Every one of 16 decoded problems (5 and 10 nodes)
diverges at the first or second name it writes (tokens 107-155 at 5 nodes, 201-284 at 10), copies from the prompt's
last line or the observation just before, which the default trace's copy curriculum got right: at this budget the
whole loss has started on the copies (teacher-forced names whole 0.60 and rising at 1,000 steps in graph_copy_stage.py)
but not finished them (results/graph_copy_cpu/divergence-gvl-gru-cur-*.txt).

The same day, both at once (`launch.py run graph_copy_cpu 'gvl-gru-copy*'`, 39 minutes; both stages cut by their time
caps: 582 steps of the names loss on 4-5 nodes, 472 of the whole loss on 4-10): loss 0.161, the lowest of every
pilot (0.267 default-trace curriculum, 0.307 value_lines whole loss), val token accuracy 0.933, still 0/16 at 5, 10
and 20 nodes and stress 20. The first two names are now right; every decoded failure (16 of 16) is later, tokens
148-176 at 5 nodes and 253-302 at 10, mostly in the first stack line `c <- p: E`, copying the parent's name p across
the lookup command (results/graph_copy_cpu/divergence-gvl-gru-copycur-*.txt).
"""

from toolssm.experiments import Eval, Run, Study

COMMON = dict(preset="gru-small", task="logical_graph", config="default", batch_size=32, learning_rate=2e-3, weight_decay=0.01,
              warmup_steps=50, eval_every=0, eval_samples=4, report_to="none", num_workers=1, seed=0, data_seed=0)

STUDY = Study(
    name="graph_copy_cpu",
    claim="CPU pilot: does a copy curriculum (the loss on the copied names first) teach the small GRU the logical graph, "
          "which the whole trace's loss did not in 2,000 steps?",
    runs=[Run("gcopy-gru-copy-s0", dict(COMMON, train_max_n=5, max_steps=600, loss_tokens="digits", max_time_minutes=16,
                                        eval_lengths="5", save_every=300)),
          Run("gcopy-gru-copycur-s0", dict(COMMON, train_max_n=10, max_steps=500, max_time_minutes=28, eval_lengths="10",
                                           save_every=250, init_from="{runs}/gcopy-gru-copy-s0"),
              (Eval("test", (5, 10, 20), num_samples=16, timeout_s=900),
               Eval("stress", (20,), split="stress", num_samples=16, timeout_s=900)),
              after=("gcopy-gru-copy-s0",)),
          # the value_lines trace (every copy from the last observation or the model's own last command:
          # docs/FORMATS.md) with the whole loss: scripts/graph_copy_stage.py saw the GRU learn its copies on 4-5
          # nodes (names whole 0.60 after 1,000 steps, results/table1_full/copy-stage-gru-vl-all*), the default trace's
          # stay at 0.00. Short graphs first, then the cell's sizes; no loss filter.
          Run("gvl-gru-n5-s0", dict(COMMON, config="value_lines", train_max_n=5, max_steps=1000, max_time_minutes=24,
                                    eval_lengths="5", save_every=500)),
          Run("gvl-gru-cur-s0", dict(COMMON, config="value_lines", train_max_n=10, max_steps=500, max_time_minutes=28,
                                     eval_lengths="10", save_every=250, init_from="{runs}/gvl-gru-n5-s0"),
              (Eval("test", (5, 10, 20), num_samples=16, timeout_s=900),
               Eval("stress", (20,), split="stress", num_samples=16, timeout_s=900)),
              after=("gvl-gru-n5-s0",)),
          # both at once: the copy curriculum (names loss first) on the value_lines trace
          Run("gvl-gru-copy-s0", dict(COMMON, config="value_lines", train_max_n=5, max_steps=600, loss_tokens="digits",
                                      max_time_minutes=14, eval_lengths="5", save_every=300)),
          Run("gvl-gru-copycur-s0", dict(COMMON, config="value_lines", train_max_n=10, max_steps=500, max_time_minutes=24,
                                         eval_lengths="10", save_every=250, init_from="{runs}/gvl-gru-copy-s0"),
              (Eval("test", (5, 10, 20), num_samples=16, timeout_s=600),
               Eval("stress", (20,), split="stress", num_samples=16, timeout_s=600)),
              after=("gvl-gru-copy-s0",))],
    parallel=1,
    parallel_evals=1,
)
