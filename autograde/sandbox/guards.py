"""What a submission may not do in the child: import `solutions`, or call a framework's
own LSTM/RNN in an exercise that must be written from scratch.

`autograde.frameworks.FRAMEWORK_RNN_NAMES` is the one list of those framework names. The
grader's static check (`autograde.tracks.violations`) refuses a cell that names one; the
TensorFlow checks switch TF's cells off while a learner's graph is built
(`autograde.checks.tf1_run`); and here, `FrameworkGuard` makes every one of them that
the frameworks have raise `ForbiddenFrameworkCall` when the submission's code calls it,
naming the line of the submission that called it (`refusal`).

The checks' own code may call them (to run a ported reference): a call is refused only
if submission code is on the call stack between it and the trust anchor, the grader's
entry into the checks (see `trust_anchor`).

This is a second line, behind the static check: in-process Python cannot be walled off
from code that sets out to attack the grader itself (code compiled under a library's
file name passes for library code; a submission that digs the originals out of the
patched functions can call them), which is why the grader computes every expected
value in its own process and trusts nothing the child reports beyond the outputs.
"""

import sys
import types
from collections.abc import Callable, Iterable
from importlib.abc import Loader
from importlib.machinery import ModuleSpec
from typing import Any, TypeVar

from autograde.frameworks import FRAMEWORK_RNN_NAMES, FRAMEWORKS, ForbiddenFrameworkCall

Function = TypeVar("Function", bound=Callable[..., Any])

__all__ = ["ForbiddenFrameworkCall", "ImportGuard", "FrameworkGuard", "trust_anchor",
           "submission_on_stack", "refusal"]


# ---------------------------------------------------------------------------------------
# The trust anchor

_anchor_code: list[types.CodeType] = []  # [the code object of the function marked with trust_anchor]


def trust_anchor(function: Function) -> Function:
    """Mark `function` as the trust anchor: the grader's own entry into an exercise's checks.

    Why it exists: below the anchor on the call stack is only the grader's runner; above
    it, the checks' code (which may use the framework's LSTM to run a reference) and the
    submission's (which may not). So a framework call is allowed only if every frame
    between it and the anchor is trusted library code (`trust.Trust`).

    Why it is a code object, and the outermost one: the anchor is recognised by the
    identity of its code object, not by a name, so renaming the method changes nothing
    and a submission's function called `check` is just submission code; and only the
    outermost frame running that code counts, so a submission that calls the anchor
    itself (or wraps its code object in a function of its own) does not cut its own
    frames, which lie between that inner call and the real anchor, out of the check.
    Used once, on `child.Runner.check`.
    """
    if _anchor_code and _anchor_code[0] is not function.__code__:
        raise RuntimeError("there is one trust anchor; it is already set")
    _anchor_code[:] = [function.__code__]
    return function


def submission_on_stack(frame: types.FrameType | None,
                        trusted: Callable[[str], bool]) -> bool:
    """True if a frame from `frame` down to the outermost trust-anchor frame is not
    trusted (`trusted(filename)`), or if no anchor is on the stack at all."""
    anchor = _anchor_code[0] if _anchor_code else None
    untrusted_seen, verdict = False, True
    while frame is not None:
        if frame.f_code is anchor:
            verdict = untrusted_seen  # the last assignment is the outermost anchor's
        elif not untrusted_seen and not trusted(frame.f_code.co_filename):
            untrusted_seen = True
        frame = frame.f_back
    return verdict


def _refusing(original: Callable[..., Any], label: str,
              trusted: Callable[[str], bool]) -> Callable[..., Any]:
    """`original`, except that it raises ForbiddenFrameworkCall when called from the
    submission's code (directly, or through autograde.reference or any other library)."""
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if submission_on_stack(sys._getframe(1), trusted):
            raise ForbiddenFrameworkCall(refusal(sys._getframe(1), label, trusted))
        return original(*args, **kwargs)
    return guarded


def refusal(frame: types.FrameType | None, label: str, trusted: Callable[[str], bool]) -> str:
    """What a refused call says: "line 7: torch.nn.LSTM is not allowed: ...", or, when the
    submission called it through one of autograde's shipped references, that reference.

    frame: the frame that made the refused call; trusted(filename) tells library code.
    """
    via = None  # the outermost grader-shipped frame below the submission's
    while frame is not None and trusted(frame.f_code.co_filename):
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(("autograde.references", "autograde.checks")):
            via = f"{module}.{frame.f_code.co_qualname}"
        frame = frame.f_back
    where = f"line {frame.f_lineno}: " if frame is not None else ""
    if via:
        return (f"{where}calls {via}, autograde's shipped reference (which uses {label}), "
                f"not code of its own")
    return f"{where}{label} is not allowed: this exercise must be written from scratch"


# ---------------------------------------------------------------------------------------
# The guards


class ImportGuard:
    """A meta path finder: refuses `solutions`, and lets `on_import` patch frameworks."""

    def __init__(self) -> None:
        self.on_import: Callable[[], None] | None = None

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name == "solutions" or name.startswith("solutions."):
            raise ModuleNotFoundError("the grader does not let a submission import "
                                      "`solutions`", name=name)
        if self.on_import and name in FRAMEWORKS:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, self.on_import)
                    return spec
        return None


class _PatchingLoader(Loader):
    def __init__(self, loader: Loader, after: Callable[[], None]) -> None:
        self.loader, self.after = loader, after

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.loader.exec_module(module)
        self.after()


class FrameworkGuard:
    """While installed, the frameworks' own LSTMs/RNNs raise ForbiddenFrameworkCall.

    Covers every name in FRAMEWORK_RNN_NAMES that torch (torch.nn's recurrent modules,
    torch.lstm and friends, torch._VF), TensorFlow 1 (dynamic_rnn and friends, the
    rnn_cell classes) and Keras (its layers) have, loaded now or later.
    `remove()` puts everything back (for exercises run in the child itself).
    trusted: `trust.Trust`, which tells library code from the submission's.
    """

    saved: list[tuple[object, str, Callable[..., Any]]]  # (owner, name, original)
    done: set[str]  # the frameworks patched already

    def __init__(self, import_guard: ImportGuard, trusted: Callable[[str], bool]) -> None:
        self.import_guard, self.trusted, self.saved, self.done = import_guard, trusted, [], set()

    def install(self) -> None:
        self.import_guard.on_import = self.patch_loaded
        self.patch_loaded()

    def remove(self) -> None:
        self.import_guard.on_import = None
        for owner, name, original in reversed(self.saved):
            try:
                setattr(owner, name, original)
            except (AttributeError, TypeError):
                pass
        self.saved, self.done = [], set()

    def patch_loaded(self) -> None:
        if "torch" in sys.modules and "torch" not in self.done:
            self._torch(sys.modules["torch"])
        if "tensorflow" in sys.modules and "tensorflow" not in self.done:
            self._tensorflow(sys.modules["tensorflow"])
        for keras in ("tf_keras", "keras"):
            if keras in sys.modules and keras not in self.done:
                self._keras(keras, sys.modules[keras])

    def _set(self, owner: object, name: str, label: str) -> None:
        """Make owner.name refuse to run when called from the submission's code."""
        try:
            original = getattr(owner, name)
            setattr(owner, name, _refusing(original, label, self.trusted))
            self.saved.append((owner, name, original))
        except (AttributeError, TypeError, ImportError):
            pass

    def _classes(self, owner: object, methods: Iterable[str], prefix: str) -> None:
        """Patch `methods` of the classes in `owner` named in FRAMEWORK_RNN_NAMES."""
        for name in sorted(FRAMEWORK_RNN_NAMES):
            cls = getattr(owner, name, None)
            if isinstance(cls, type):
                for method in methods:
                    if method in vars(cls):
                        self._set(cls, method, f"{prefix}.{name}")

    def _functions(self, owners: Iterable[object], prefix: str) -> None:
        """Patch the functions in `owners` named in FRAMEWORK_RNN_NAMES."""
        for name in sorted(FRAMEWORK_RNN_NAMES):
            for owner in owners:
                if owner is None:
                    continue
                value = getattr(owner, name, None)
                if callable(value) and not isinstance(value, (type, types.ModuleType)):
                    self._set(owner, name, f"{prefix}.{name}")

    def _torch(self, torch: Any) -> None:
        self.done.add("torch")
        rnn = getattr(getattr(getattr(torch, "nn", None), "modules", None), "rnn", None)
        self._classes(rnn, ("__init__", "forward"), "torch.nn")
        self._functions((torch, getattr(torch, "_VF", None),
                         getattr(getattr(torch, "_C", None), "_VariableFunctions", None)),
                        "torch")

    def _tensorflow(self, tf: Any) -> None:
        self.done.add("tensorflow")
        try:
            from tensorflow.python.ops import rnn
            v1_nn = tf.compat.v1.nn
        except Exception:
            return
        self._functions((rnn, v1_nn), "tf.compat.v1.nn")
        try:
            cells = tf.compat.v1.nn.rnn_cell
        except Exception:
            return
        self._classes(cells, ("__init__", "__call__", "call"), "tf.compat.v1.nn.rnn_cell")

    def _keras(self, name: str, keras: Any) -> None:
        self.done.add(name)
        self._classes(getattr(keras, "layers", None), ("__init__", "call"), f"{name}.layers")
