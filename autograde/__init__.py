"""Checks and grading for *LSTM from Scratch*.

In a notebook: `from autograde import check, use_working`. The grader's command line
is `python -m autograde` (see the README). Importing this package imports NumPy only;
the framework references import torch or TensorFlow when a check first needs them.
"""

from autograde.check import check, use_working

__all__ = ["check", "use_working"]
