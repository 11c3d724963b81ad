"""The tracks' rules: what an exercise's code may use, checked before it runs and while it runs.

Each exercise belongs to one track, declared once in `autograde.registry.TRACK`:

- NumPy: NumPy only. No torch, TensorFlow, Keras, JAX or autograd, however imported
  (`import torch as t`, `from torch import autograd`, `__import__`, importlib): a
  backward pass written with autograd earns nothing.
- PyTorch and TF1: the framework, but (for exercises written from scratch) not its
  recurrent layers and kernels (`autograde.frameworks.FRAMEWORK_RNN_NAMES`).
- Every track: the exercise's own shipped reference is not an answer (the other
  references are handed out on purpose; calling one that uses a framework in a NumPy
  exercise is using that framework, and is named as a call of the reference).

Two lines enforce them, and both name the call and its line:

- `violations(exercise, source, context)`: the static check of the exercise's cell, run
  by the grader before the cell runs, and by `check()` on the learner's function.
- `enforcing(run, exercise)`: the exercise's `run`, with the NumPy track's ways into the
  frameworks (`frameworks.NUMPY_TRACK_ENTRY_POINTS`) made to raise while it calls the
  learner's code, in `check()` and in the grader's sandbox alike. (The sandbox also bans
  the framework RNNs at run time: `autograde.sandbox.guards.FrameworkGuard`.)
"""

import ast
import contextlib
import functools
import re
import sys
import types

from autograde.frameworks import (
    FRAMEWORK_RNN_NAMES,
    FRAMEWORKS,
    NOT_NUMPY,
    NUMPY_TRACK_ENTRY_POINTS,
    ForbiddenFrameworkCall,
)

NUMPY, PYTORCH, TF1 = "NumPy", "PyTorch", "TF1"
TRACKS = (NUMPY, PYTORCH, TF1)
SHIPPED = ("autograde.references", "autograde.checks")  # the grader's own answers


def chapter_number(exercise):
    """4 for "04_lstm_backward.ipynb"."""
    match = re.match(r"0*(\d+)_", exercise.chapter)
    return int(match.group(1)) if match else exercise.chapter


def numpy_only(exercise):
    """The sentence that says the NumPy track's rule for `exercise`."""
    return (f"{exercise.id} is a NumPy exercise (chapter {chapter_number(exercise)}): NumPy "
            f"only, no torch, TensorFlow, JAX or autograd")


def _why(exercise, name, guessed=False):
    """Why the dotted `name` breaks `exercise`'s track's rules, or None if it does not.

    guessed: the name's head was read with its usual meaning (`tf`, `nn`), not from an
    import; enough to refuse a framework RNN, not to refuse a NumPy exercise's `F`."""
    parts = name.split(".")
    if name.startswith(SHIPPED) and _is_reference(exercise, name):
        return "autograde's shipped reference for this very exercise, not code of its own"
    if exercise.track == NUMPY and parts[0] in NOT_NUMPY and not guessed:
        return numpy_only(exercise)
    if exercise.from_scratch and parts[0] in FRAMEWORKS and FRAMEWORK_RNN_NAMES & set(parts[1:]):
        return (f"{exercise.id} must be written from scratch, not with the framework's "
                f"recurrent layers: build it from matrix products and activations")
    return None


def _is_reference(exercise, name):
    """True if the dotted `name` (inside autograde's shipped modules) is `exercise`'s own
    reference: the object called by its id, or its registered reference. (Others are
    handed out on purpose, e.g. chapter 23's `lstm_cell`, whose loop is the exercise.)"""
    reference = exercise.reference
    qualified = f"{getattr(reference, '__module__', '')}.{getattr(reference, '__qualname__', '')}"
    return name.rsplit(".", 1)[-1] == exercise.id or name == qualified


# ---------------------------------------------------------------------------------------
# The static check

# What a bare name usually means when the cell does not say how it was imported.
USUAL_ALIASES = {"tf": "tensorflow", "nn": "torch.nn", "F": "torch.nn.functional",
                 "torch": "torch", "keras": "keras", "tensorflow": "tensorflow",
                 "jnp": "jax.numpy", "jax": "jax"}
_DYNAMIC_IMPORTS = {"__import__", "import_module", "importlib.import_module"}


def violations(exercise, source, context=(), names=None):
    """["line 7: torch.autograd.grad: lstm_backward is a NumPy exercise ...", ...]: the
    uses in `source` (an exercise's cell, magics already left out) that break the rules
    of `exercise`'s track.

    context: the code of the cells before it, whose imports say what `t` or `nn` are.
    names:   name -> dotted module or object path, known for sure (check() reads them
             from the learner's function's globals).
    Only uses count, not imports: an unused `import torch` costs nothing.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    aliases = {}
    for code in [*context, source]:
        aliases.update(import_aliases(code))
    aliases.update(names or {})
    found = {}  # line -> {dotted name: why}
    for node in ast.walk(tree):
        dotted, guessed = _resolve(node, aliases)
        why = dotted and _why(exercise, dotted, guessed)
        if why:
            found.setdefault(node.lineno, {})[dotted] = why
    out = []
    for line, names_why in sorted(found.items()):
        # An attribute chain is seen at every level (torch.autograd.grad, then
        # torch.autograd, then torch): keep the longest name on each line, a framework
        # RNN first (torch.nn.LSTMCell before the torch.float64 passed to it).
        for name, why in sorted(names_why.items(), key=lambda item: (not _rnn(item[0]), item)):
            if not any(other.startswith(name + ".") for other in names_why):
                out.append(f"line {line}: {name}: {why}")
    return out


def _rnn(name):
    return bool(FRAMEWORK_RNN_NAMES & set(name.split(".")[1:]))


def _resolve(node, aliases):
    """(the dotted path `node`, a name or attribute chain read, refers to, or None;
    whether its head's meaning is only the usual one, guessed)."""
    if not isinstance(node, (ast.Attribute, ast.Name)) or not isinstance(node.ctx, ast.Load):
        return None, False
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    guessed = False
    if isinstance(node, ast.Name):
        guessed = node.id not in aliases and node.id in USUAL_ALIASES
        head = aliases.get(node.id) or USUAL_ALIASES.get(node.id, node.id)
    else:
        head = _imported(node)
        if head is None:
            return None, False
    return ".".join([head, *reversed(parts)]), guessed


def _imported(node):
    """"torch" for `__import__("torch")` or `importlib.import_module("torch")`, else None."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else (
        f"{func.value.id}.{func.attr}" if isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name) else None)
    return node.args[0].value if name in _DYNAMIC_IMPORTS else None


def import_aliases(code):
    """name -> dotted path for the imports in `code` (which may not parse: then none),
    `t = __import__("torch")` and `t = importlib.import_module("torch")` included."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                    a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and _imported(node.value):
            out[node.targets[0].id] = _imported(node.value)
    return out


def names_of(function):
    """name -> dotted path of the modules, classes and functions `function` sees as
    globals (what check() knows for sure about the names its source uses)."""
    out = {}
    for name, value in getattr(function, "__globals__", {}).items():
        if isinstance(value, types.ModuleType):
            out[name] = value.__name__
        elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            module = getattr(value, "__module__", None)
            if isinstance(module, str) and module.split(".")[0] in (*NOT_NUMPY, "autograde"):
                out[name] = f"{module}.{value.__qualname__}"
    return out


# ---------------------------------------------------------------------------------------
# The runtime check


def enforcing(run, exercise):
    """`run` (the exercise's runner: (learner's object, inputs) -> outputs), with the
    NumPy track's ways into the frameworks refused to the learner's code while it runs
    (for other tracks, `run` itself)."""
    if exercise.track != NUMPY:
        return run

    @functools.wraps(run)
    def numpy_only_run(obj, inputs):
        return _in_window(run, exercise, obj, inputs)

    return numpy_only_run


def _in_window(run, exercise, obj, inputs):
    """run(obj, inputs) with the entry points refused (`refused`). Its frame bounds the
    search for the learner's code: what runs below it is the caller's, not the learner's."""
    with refused(exercise):
        return run(obj, inputs)


@contextlib.contextmanager
def refused(exercise):
    """While inside, each loaded framework entry point of the NumPy track raises
    ForbiddenFrameworkCall when the learner's code calls it (directly, or through a
    library or one of autograde's references), naming the learner's line. The checks'
    own calls (a reference run on the learner's weights) go through."""
    saved = []
    try:
        for module, path in NUMPY_TRACK_ENTRY_POINTS:
            owner, attr = _owner(module, path)
            original = getattr(owner, attr, None) if owner is not None else None
            if original is None:
                continue
            with contextlib.suppress(AttributeError, TypeError):
                setattr(owner, attr, _refusing(original, f"{module}.{path}", exercise))
                saved.append((owner, attr, original))
        yield
    finally:
        for owner, attr, original in reversed(saved):
            with contextlib.suppress(AttributeError, TypeError):
                setattr(owner, attr, original)


def _owner(module, path):
    """(the object that holds the last name of `path`, that name), for a loaded module."""
    owner = sys.modules.get(module)
    *middle, attr = path.split(".")
    for name in middle:
        owner = getattr(owner, name, None) if owner is not None else None
    return owner, attr


def _refusing(original, label, exercise):
    def refuse(*args, **kwargs):
        learner, via = _learner_frame(sys._getframe(1))
        if learner is None:
            return original(*args, **kwargs)
        line = f"line {learner.f_lineno}: "
        if via:
            raise ForbiddenFrameworkCall(f"{line}calls {via}, autograde's shipped reference "
                                         f"(which uses {label}), not code of its own")
        raise ForbiddenFrameworkCall(f"{line}{label}: {numpy_only(exercise)}")

    with contextlib.suppress(AttributeError, TypeError):
        functools.update_wrapper(refuse, original)
    return refuse


_AUTOGRADE = __name__.rpartition(".")[0]
# Python's own library and what is installed beside it: never the learner's code.
_INSTALLED = tuple({sys.prefix + "/", sys.base_prefix + "/", sys.exec_prefix + "/"})


def _learner_frame(frame):
    """(the nearest frame of the learner's own code above `frame`, inside the window, or
    None; the outermost of autograde's shipped references it called on the way, if any)."""
    via = None
    while frame is not None and frame.f_code is not _in_window.__code__:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(SHIPPED):
            via = f"{module}.{frame.f_code.co_qualname}"
        filename = frame.f_code.co_filename
        library = (module == _AUTOGRADE or module.startswith(_AUTOGRADE + ".")
                   or module.split(".")[0] in NOT_NUMPY or filename.startswith("<frozen")
                   or filename.startswith(_INSTALLED))
        if not library:
            return frame, via
        frame = frame.f_back
    return None, via
