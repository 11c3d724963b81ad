"""Training runs: `python -m tools.train TASK` (see `__main__` for the tasks and options).

One module per idea: `data` (the data sets), `models` (the LSTM and its read-out),
`loop` (`fit`, `evaluate`, the progress bar), `tasks` (what each task trains, with the
book's `train_step`), `numpy_classifier` (chapter 33's classifier, trained in NumPy and
checked against its PyTorch twin). `data`, `models` (impl="torch") and `loop` need no
answer key: `fit(..., step=your_train_step)` works in a learner's copy too.
"""
