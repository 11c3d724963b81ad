"""Tools built on the book's answers: benchmarks, training runs, the performance ladder.

    python -m tools.bench NAME        a benchmark (numpy, torch, gpu, grader); see tools/bench
    python -m tools.train TASK        a training run whose results the training chapters show
    torchrun --nproc_per_node=N -m tools.ddp    data-parallel training

The tools run the reference answers from `solutions/` (the answer key), imported like any
library. The learner's copy of the course (`python -m autograde release`) has no
`solutions/`: there a tool that needs an answer stops with one line saying which, and
exit status 2 (`tools.answer_key.run_main`); what needs no answer (rendering committed
results, `--impl torch` models, the chapters' helpers) works in both. Importing this
package imports nothing heavy.
"""
