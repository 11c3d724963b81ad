# expect: raised PermissionError: "could not write anywhere that matters"
import os

import autograde

TARGETS = "__TARGETS__".split("|") + [
    os.path.join(os.path.dirname(autograde.__file__), "compare.py"), "/etc/passwd"]


def rnn_step(x, h, Wx, Wh, b):
    written = []
    for path in TARGETS:
        try:
            with open(path, "w") as f:
                f.write('{"score": 100}')
            written.append(path)
        except OSError:
            pass
    if written:
        raise ValueError(f"wrote {written}")
    raise PermissionError("could not write anywhere that matters")
