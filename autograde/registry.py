"""The one registry of exercises: id -> Exercise (points, checks, chapter).

Each chapter's checks live in a module of `autograde/checks/` (one per chapter, except
where two chapters' exercises share their cases) and register themselves with the
`exercise` decorator; this module imports the modules listed below in the order of the
book's chapters (`_toc.yml`), so that reports, gradebooks and runners list them so.
"""

import importlib

from autograde.spec import Exercise

TRACKS = [
    "autograde.checks.numpy_rnn",
    "autograde.checks.numpy_lstm",
    "autograde.checks.initial_states",
    "autograde.checks.gru",
    "autograde.checks.torch_naive",
    "autograde.checks.torch_dropin",
    "autograde.checks.tf1_cell",
    "autograde.checks.tf1_loop",
    "autograde.checks.tf1_port",
    "autograde.checks.training_torch",
    "autograde.checks.training_numpy",
    "autograde.checks.batching",
    "autograde.checks.ladder",
    "autograde.checks.bug_clinic",
]

_EXERCISES: dict = {}


def exercise(id, *, points, chapter, run, reference=None, solution, from_scratch=True):
    """Decorator for a `make_cases(rng)` function: registers the exercise `id`."""

    def register(make_cases):
        if id in _EXERCISES:
            raise RuntimeError(f"exercise id {id!r} is registered twice")
        _EXERCISES[id] = Exercise(id, points, chapter, make_cases, run, reference, solution,
                                  from_scratch)
        return make_cases

    return register


def exercises():
    """All registered exercises, in book order: {id: Exercise}."""
    for module in TRACKS:
        importlib.import_module(module)
    return dict(_EXERCISES)


def get(id):
    """The Exercise called `id`, or a KeyError that lists the known ids.

    An exercise whose track module is already imported is returned without importing
    the others (the grader's child imports only the tracks it runs)."""
    if id in _EXERCISES:
        return _EXERCISES[id]
    known = exercises()
    if id not in known:
        raise KeyError(f"no exercise is called {id!r}; the exercises are: {', '.join(known)}")
    return known[id]
