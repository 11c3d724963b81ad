"""The one registry of exercises: id -> Exercise (points, checks, chapter).

Each chapter's checks live in a module of `autograde/checks/` (one per chapter, except
where two chapters' exercises share their cases) and register themselves with the
`exercise` decorator; this module imports the modules listed below in the order of the
book's chapters (`_toc.yml`), so that reports, gradebooks and runners list them so.
"""

import importlib

from autograde import tracks
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

# The track of every exercise: what its code may use (`autograde.tracks` says the rules).
# Declared here, once; registering an exercise that is not listed fails.
TRACK = {
    tracks.NUMPY: (
        "rnn_step", "rnn_forward", "rnn_backward", "lstm_step", "lstm_forward",
        "lstm_backward", "stacked_lstm_forward", "initial_state_grads",
        "initial_state_from_input", "initial_state_from_input_backward", "gru_step",
        "gru_forward", "gru_backward", "softmax_cross_entropy", "clip_gradients", "adam_update",
        "clinic_rnn_step",
        "clinic_rnn_init", "clinic_lstm_init", "clinic_h_and_c", "clinic_last_step",
        "clinic_h_from_c", "clinic_test_weights", "clinic_initial_state", "clinic_c_from_h",
    ),
    tracks.PYTORCH: (
        "GRU", "NaiveLSTM", "fused_lstm_cell", "lstm_layer", "LSTM", "LearnableInitLSTM",
        "masked_lstm_layer", "train_step", "masked_mse_loss", "hoisted_input_projection",
        "fused_cell_backward", "ClinicNaiveLSTM", "ClinicCarryLSTM",
    ),
    tracks.TF1: (
        "lstm_cell", "tf1_to_numpy", "static_lstm", "dynamic_lstm", "numpy_to_tf1",
        "clinic_layer_cells", "clinic_tf1_weights", "clinic_tf1_squeeze",
    ),
}

# The time limit of every exercise (its cell and all its checks), in seconds of wall time:
# fixed, the same for `grade` and `batch`, and wide (the slowest exercise of the answer key
# takes a few seconds), so that a correct answer never runs into it on a busy machine.
TIME_LIMIT_S = 60.0

_EXERCISES: dict = {}


def track_of(id):
    """The track `id` belongs to (registry.TRACK), or a RuntimeError saying to add it."""
    for track, ids in TRACK.items():
        if id in ids:
            return track
    raise RuntimeError(f"exercise {id!r} has no track: add it to autograde.registry.TRACK")


def exercise(id, *, points, chapter, run, reference=None, solution, from_scratch=True):
    """Decorator for a `make_cases(rng)` function: registers the exercise `id`."""

    def register(make_cases):
        if id in _EXERCISES:
            raise RuntimeError(f"exercise id {id!r} is registered twice")
        ex = Exercise(id, points, chapter, make_cases, run, reference, solution,
                      from_scratch, track=track_of(id))
        ex.run = tracks.enforcing(run, ex)
        _EXERCISES[id] = ex
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
