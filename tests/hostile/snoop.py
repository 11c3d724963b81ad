# expect: raised LookupError: "found nothing"
import glob
import os

import autograde


def ancestors():
    pid = os.getpid()
    while pid > 1:
        yield pid
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])


def rnn_step(x, h, Wx, Wh, b):
    """Look for the grader's secrets and answers: the environment, the grader's process,
    the reference solutions, anything the grader wrote that is not an input."""
    seen = [str(os.environ)]
    for pid in ancestors():
        for name in ("environ", "cmdline", "mem"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    seen.append(f.read(1 << 20).decode(errors="replace"))
            except OSError:
                pass
    course = os.path.dirname(os.path.dirname(autograde.__file__))
    for path in glob.glob(os.path.join(course, "solutions", "*.py")):
        try:
            seen.append(open(path).read())
        except OSError:
            pass
    try:
        import solutions.numpy_rnn  # noqa: F401
        seen.append("def rnn_step")
    except ImportError:
        pass
    for path in glob.glob("/tmp/autograde-*/**", recursive=True):
        if os.path.isfile(path) and "/in/" not in path:
            try:
                seen.append(open(path, errors="replace").read())
            except OSError:
                pass
    found = [what for what in ("__SECRET__", "def rnn_step") if any(what in s for s in seen)]
    raise LookupError(f"found {found}" if found else "found nothing")
