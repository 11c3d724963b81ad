"""The one place the project imports TensorFlow: `tf = import_tf()`.

TensorFlow 2 still ships the TensorFlow 1 graph API as `tf.compat.v1`, but two things
must be settled before `import tensorflow` runs for the first time in a process:

- `TF_USE_LEGACY_KERAS=1` makes `tf.keras` (and the `rnn_cell` classes, which are Keras 2
  layers underneath) the `tf_keras` package; without it TF loads Keras 3, which has no
  `rnn_cell`, no `variable_scope` reuse and different layers.
- TensorFlow's C++ and Python logging (oneDNN notices, CUDA probes, deprecation warnings)
  goes to stderr with timestamps, which would change every notebook output on every run.

Solutions, checks, tests and notebooks all call `import_tf()` instead of importing
tensorflow directly, so these settings hold everywhere.
"""

import contextlib
import logging
import os
import sys
import warnings

ENVIRONMENT = {
    "TF_USE_LEGACY_KERAS": "1",  # tf.keras = tf_keras (Keras 2), needed by tf.compat.v1
    "TF_CPP_MIN_LOG_LEVEL": "3",  # the C++ side logs errors only
    # oneDNN reorders float32 sums, so results would differ between machines in the last bits.
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def import_tf():
    """Import TensorFlow with the legacy Keras and quiet logging; return the module.

    Raises RuntimeError if TensorFlow was already imported in this process without
    TF_USE_LEGACY_KERAS=1 (too late to switch Keras versions: restart the kernel and
    import it through this function first).
    """
    if "tensorflow" in sys.modules:
        if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() not in ("1", "true", "yes"):
            raise RuntimeError(
                "tensorflow was imported before autograde.tfcompat.import_tf() could set "
                "TF_USE_LEGACY_KERAS=1, so tf.keras is Keras 3 and the TF1 API will not work. "
                "Restart the kernel (or process) and import TensorFlow only through "
                "`from autograde.tfcompat import import_tf; tf = import_tf()`."
            )
    else:
        os.environ.update(ENVIRONMENT)
    # Deprecation notices from tf.compat.v1 are expected in this track; they are not news.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed",
                            category=UserWarning)
    with _stderr_silenced():
        import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
    logging.getLogger("absl").setLevel(logging.ERROR)
    # tf.compat.v1 functions print "... is deprecated" through this switch.
    from tensorflow.python.util import deprecation

    deprecation._PRINT_DEPRECATION_WARNINGS = False
    return tf


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null for a moment.

    While TensorFlow's shared libraries load, absl prints notices (a missing CUDA driver)
    straight to the process's stderr, before TF_CPP_MIN_LOG_LEVEL is read; Jupyter
    forwards that to the notebook. Python exceptions are unaffected: they are raised
    after stderr is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
