"""Compare a learner's outputs with the expected ones, and say what is wrong."""

import re
from dataclasses import dataclass

import numpy as np

GATES = "ifgo"


@dataclass
class Result:
    """The verdict on one Case: passed, and a one-line message when it did not.

    dtype, degenerate: the case's (see spec.Case); they decide whether a pass earns
    points (autograde.check.earned_fraction).
    """

    label: str
    passed: bool
    message: str = ""
    dtype: str | None = None
    degenerate: bool = False


def compare_case(case, outputs):
    """Compare `outputs` (name -> value from the learner) with `case.expected`.

    The message details the first wrong output, then names every other wrong one (and,
    for outputs with a gate axis, which gate blocks are wrong), then the likely mistake.
    """
    problems = {}
    for name, want in case.expected.items():
        problem = compare_array(name, outputs.get(name), want, case.atol, case.axes.get(name))
        if problem:
            problems[name] = problem
    if not problems:
        return Result(case.label, True, dtype=case.dtype, degenerate=case.degenerate)
    wrong = [name + _wrong_blocks(outputs.get(name), case.expected[name], case.atol,
                                  case.axes.get(name)) for name in problems]
    message = next(iter(problems.values()))
    if len(wrong) > 1 or wrong[0] != next(iter(problems)):
        message += f" Wrong: {', '.join(wrong)}."
    return Result(case.label, False, message + probably(_suspect(case, outputs)),
                  dtype=case.dtype, degenerate=case.degenerate)


def probably(hint):
    """" Probably: <hint>." for a hint, "" for None."""
    if not hint:
        return ""
    return f" Probably: {hint}" + ("" if hint.endswith(("?", ".")) else ".")


def _wrong_blocks(got, want, atol, axes):
    """" (gate blocks f, g)" for an output with a 4H axis whose values are wrong in
    those blocks only; "" otherwise."""
    if not axes or "4H" not in axes or type(got) is not np.ndarray or got.shape != want.shape:
        return ""
    axis = axes.index("4H")
    err = np.abs(got.astype(np.float64) - want) / (1 + np.abs(want.astype(np.float64)))
    err = np.moveaxis(np.nan_to_num(err, nan=np.inf), axis, 0)
    blocks = [GATES[k] for k, block in enumerate(np.split(err, 4)) if block.max() > atol]
    return f" (gate blocks {', '.join(blocks)})" if 0 < len(blocks) < 4 else ""


def compare_array(name, got, want, atol, axes=None):
    """None when `got` equals `want` within tolerance; otherwise what differs."""
    # type() rather than isinstance(): an ndarray subclass could redefine comparison.
    if type(got) is not np.ndarray:
        return f"{name} should be a NumPy array of shape {want.shape}; got {type(got).__name__}."
    if got.shape != want.shape:
        transposed = " (transposed?)" if got.ndim == 2 and got.shape == want.shape[::-1] else ""
        return f"{name} has shape {got.shape}; expected {want.shape}{_dims(axes)}{transposed}."
    if got.dtype != want.dtype:
        return f"{name} has dtype {got.dtype}; expected {want.dtype} (keep the input dtype)."
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if not np.isfinite(got).all():
        return f"{name} contains NaN or inf{_where(np.argwhere(~np.isfinite(got))[0], axes, want)}."
    err = np.abs(got - want) / (1 + np.abs(want))
    if err.size == 0 or err.max() <= atol:
        return None
    at = np.unravel_index(int(err.argmax()), err.shape)
    abs_err = float(np.abs(got - want)[at])
    return (f"{name} is wrong: largest error {abs_err:.3g}{_where(at, axes, want)} "
            f"(tolerance {atol:g}).")


def _dims(axes):
    return f" = ({', '.join(axes)})" if axes else ""


def _where(index, axes, want):
    """Describe an index with the axes' names: timestep, gate block, batch row."""
    if not axes:
        return f" at index {tuple(int(i) for i in index)}"
    parts = []
    for axis, i, size in zip(axes, index, want.shape):
        if axis == "T":
            parts.append(f"timestep t={i} (of {size})")
        elif axis == "4H":
            H = size // 4
            parts.append(f"gate block {GATES[i // H]} (column {i}; blocks are i, f, g, o)")
        elif axis == "B":
            parts.append(f"batch row {i}")
    return " at " + ", ".join(parts) if parts else ""


def _suspect(case, outputs):
    """The name of the first known mistake whose outputs the learner's match."""
    for hint, wrong in case.suspects.items():
        try:
            if all(compare_array(k, outputs.get(k), v, max(case.atol, 1e-6)) is None
                   for k, v in wrong.items()):
                return hint
        except Exception:  # a suspect that does not apply is no diagnosis
            continue
    return None


# ---------------------------------------------------------------------------------------
# Exceptions raised inside the learner's code

_NUMPY_MATMUL = re.compile(r"matmul: Input operand (\d) has a mismatch in its core dimension "
                           r"(\d).*\(size (\d+) is different from (\d+)\)")
_NUMPY_DOT = re.compile(r"shapes \((\d+),(\d+)\) and \((\d+),(\d+)\) not aligned")
_TORCH_MM = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and "
                       r"(\d+)x(\d+)\)")
_TF_MATMUL = re.compile(r"Matrix size-incompatible: In\[0\]: \[(\d+),(\d+)\], "
                        r"In\[1\]: \[(\d+),(\d+)\]")
_BROADCAST = re.compile(r"could not be broadcast together with (?:remapped )?shapes "
                        r"(\([\d, ]*\)) (\([\d, ]*\))")


def explain_error(message, inputs):
    """A likely cause of an exception raised in the learner's code, from its message and
    the case's inputs (name -> array): the text after "Probably: ", or None.

    Matrix products whose shapes do not fit name the operand and the inputs whose shape
    (or transpose) would explain it; a broadcast error names the inputs of those shapes.
    TF's graph-construction errors (shapes or dtypes at MatMul, AddV2, ConcatV2, ...) name
    each operand's shape in the exercise's letters (B, I, H, 4H) and the argument it
    probably came from; dtype mismatches (TF, PyTorch, NumPy) name the tensor made
    without the input's dtype.
    """
    message = str(message)
    for explain in (_explain_tf_node, _explain_dtype, _explain_batch_in_shape,
                    _explain_lost_batch_axis):
        hint = explain(message, inputs)
        if hint:
            return hint
    found = _NUMPY_MATMUL.search(message)
    if found:
        operand, _, got, need = (int(g) for g in found.groups())
        side = "right" if operand == 1 else "left"
        what = (f"a matrix product's {side} operand has {got} "
                f"{'rows' if operand == 1 else 'columns'} where {need} are needed")
        hints = _transposed(got, need, inputs)
        if operand == 1:  # another weight with `got` rows: x @ Wh where x @ Wx belongs?
            hints += [f"{name} has {got} rows: is it used where another weight belongs "
                      f"(e.g. x @ Wh instead of x @ Wx)?" for name, value in inputs.items()
                      if isinstance(value, np.ndarray) and value.ndim == 2
                      and value.shape[0] == got and value.shape[1] != need
                      and not any(h.startswith(name + " ") for h in hints)]
        return what + _suspected_weights(hints)
    for pattern in (_NUMPY_DOT, _TORCH_MM, _TF_MATMUL):
        found = pattern.search(message)
        if found:
            r1, c1, r2, c2 = (int(g) for g in found.groups())
            what = (f"a matrix product of shapes ({r1}, {c1}) and ({r2}, {c2}) does not fit "
                    f"({c1} columns against {r2} rows)")
            return what + _suspected_weights(_transposed(r2, c1, inputs, (r2, c2))
                                             + _transposed(c1, r2, inputs, (r1, c1)))
    found = _BROADCAST.search(message)
    if found:
        shapes = [tuple(int(n) for n in g.strip("()").replace(" ", "").split(",") if n)
                  for g in found.groups()]
        names = [f"{k} {v.shape}" for k, v in inputs.items()
                 if isinstance(v, np.ndarray) and v.shape in shapes]
        return (f"arrays of shapes {shapes[0]} and {shapes[1]} are combined elementwise"
                + (f" ({', '.join(names)}): is one of them the wrong array, or transposed?"
                   if names else "; is an array transposed, or the wrong one?"))
    return None


def _suspected_weights(hints):
    """The end of the explanation: the inputs that would explain it, or a question."""
    if hints:
        return "; " + "; ".join(hints[:2])
    return ": is a weight matrix transposed (or the wrong one)?"


def _transposed(got, need, inputs, operand=None):
    """["Wx has shape (3, 12), ..."] for the 2-D inputs that explain an operand with `got`
    where `need` was needed (used transposed, or needing a transpose)."""
    hints = []
    for name, value in inputs.items():
        if not isinstance(value, np.ndarray) or value.ndim != 2:
            continue
        if operand is not None and value.shape not in (operand, operand[::-1]):
            continue
        if value.shape == (need, got):
            hints.append(f"{name} has shape {value.shape}, which fits as it is: is it used "
                         f"transposed ({name}.T)?")
        elif value.shape == (got, need):
            hints.append(f"{name} has shape {value.shape}: the product needs its transpose "
                         f"({name}.T)")
    return hints


# ---------------------------------------------------------------------------------------
# TensorFlow graph errors, and dtype mismatches in all three frameworks

# "Dimensions must be equal, but are 2 and 3 for '{{node rnn/MatMul}} = MatMul[T=DT_DOUBLE,
# ...](Placeholder, rnn/ReadVariableOp)' with input shapes: [?,2], [3,12]."
_TF_NODE = re.compile(r"(?P<what>[^\n]*?) for '\{\{node (?P<node>[^}]+)\}\}"
                      r"(?: = (?P<op>\w+)[^']*)?' with input shapes: (?P<shapes>[\[\]?,\d ]*)")
# "Graph execution error: ... Node: 'rnn/MatMul'\nIn[0] ndims must be >= 2: 1\n ..."
_TF_RUN = re.compile(r"Node: '(?P<node>[^']+)'\n(?P<what>[^\n]+)")
_TF_DTYPE = re.compile(r"Input '(\w+)' of '(\w+)' Op has type (\w+) that does not match "
                       r"type (\w+) of argument '(\w+)'")
_TF_LIST_DTYPE = re.compile(r"passed to '\w+' of '(\w+)' Op have types \[([\w, ]+)\]")
_TORCH_DTYPE = re.compile(r"(?:expected m1 and m2 to have the same dtype, but got: (\w+) != "
                          r"(\w+)|mat1 and mat2 must have the same dtype(?:, but got (\w+) "
                          r"and (\w+))?|expected scalar type (\w+) but found (\w+)|"
                          r"[Ff]ound dtype (\w+) but expected (\w+))")
_NUMPY_CASTING = re.compile(r"Cannot cast ufunc '(\w+)' output from dtype\('(\w+)'\) to "
                            r"dtype\('(\w+)'\)")
_UNKNOWN_IN_SHAPE = re.compile(r"Failed to convert elements of (\(None[^)]*\)|\[None[^\]]*\])"
                               r"|shape. should be fully defined|Cannot convert a partially "
                               r"known TensorShape (\S+) to a Tensor"
                               r"|Expected int32, but got None of type 'NoneType'")
_OPS = {"MatMul": "tf.matmul", "BatchMatMulV2": "tf.matmul", "AddV2": "+ (AddV2)",
        "Add": "+ (Add)", "Mul": "* (Mul)", "Sub": "- (Sub)", "ConcatV2": "tf.concat",
        "BiasAdd": "tf.nn.bias_add"}
_TORCH_NAMES = {"double": "float64", "float": "float32", "half": "float16",
                "Double": "float64", "Float": "float32", "Half": "float16"}


# The lines of TF's "Graph execution error" that are stack dump, not the error.
_DUMP_LINES = ("Detected at node", "File ", "Node:", "[[", "Original stack trace",
               "(most recent call last)", "Additional GRPC")


def short_error(message):
    """The one line of a framework's error message that matters, without the stack dumps
    and node definitions TensorFlow adds ("Graph execution error: ... Original stack
    trace ...", "{{node x}} = MatMul[T=DT_DOUBLE, ...](...)")."""
    message = str(message)
    found = _TF_RUN.search(message)
    if found:
        return f"{found['what'].strip()} (at node {found['node']})"
    if message.startswith("Graph execution error"):  # the node only in "[[{{node x}}]]"
        node = re.search(r"\[\[\{\{node ([^}]+)\}\}\]\]", message)
        lines = [line.strip() for line in message.splitlines()[1:] if line.strip()
                 and not line.strip().startswith(_DUMP_LINES)]
        if lines:
            return lines[0] + (f" (at node {node[1]})" if node else "")
    found = _tf_node(message)
    if found:
        what, op, node, shapes = found
        return f"{what} for {op or 'an op'} (node {node}) with input shapes: {shapes}"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else message.strip()
    return first if len(first) <= 400 else first[:397] + "..."


def _sizes(inputs):
    """The exercise's sizes, by letter, read from its inputs' usual names: {"I": 2, "H": 3}."""
    sizes = {}

    def put(letter, n):
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0:
            sizes.setdefault(letter, int(n))

    for name, value in inputs.items():
        if isinstance(value, (int, np.integer)) and name in ("I", "H", "B", "T"):
            put(name, value)
        elif name == "num_units":
            put("H", value if isinstance(value, (int, np.integer)) else
                (value[0] if isinstance(value, (list, tuple)) and value else None))
    for name, value in inputs.items():
        shape = getattr(value, "shape", None)
        if not isinstance(shape, tuple) or not shape:
            continue
        if name in ("x", "inputs", "x_t"):
            put("I", shape[-1])
            put("B", shape[-2] if len(shape) == 2 else None)
        elif name in ("h", "c", "h0", "c0", "h_prev", "c_prev"):
            put("H", shape[-1])
            put("B", shape[0] if len(shape) == 2 else None)
        elif name in ("Wx", "W_ih", "Wh", "W_hh") and len(shape) == 2:
            put("H", shape[1] // 4)
            put("I", shape[0] if name in ("Wx",) else None)
    state = inputs.get("initial_state")
    if isinstance(state, tuple) and state and hasattr(state[0], "shape"):
        put("H", state[0].shape[-1])
    return sizes


def _letter(n, sizes):
    """The letter that names size n ("I", "H", "4H", "I + H"), if exactly one does."""
    if n is None:
        return "B"
    names = {"I": sizes.get("I"), "H": sizes.get("H"), "T": sizes.get("T")}
    if "H" in sizes:
        names["4H"] = 4 * sizes["H"]
        if "I" in sizes:
            names["I + H"] = sizes["I"] + sizes["H"]
    hits = [letter for letter, size in names.items() if size == n]
    return hits[0] if len(hits) == 1 else None


def _shape_text(shape, sizes):
    """"(?, 2) = (B, I)" for a TF shape, with letters where every size has one."""
    dims = ", ".join("?" if n is None else str(n) for n in shape)
    letters = [_letter(n, sizes) for n in shape]
    text = f"({dims}{',' if len(shape) == 1 else ''})"
    if shape and all(letters):
        text += f" = ({', '.join(letters)}{',' if len(shape) == 1 else ''})"
    return text


# The same, as `short_error` writes it: "... for MatMul (node rnn/MatMul) with input shapes: ..."
_TF_NODE_SHORT = re.compile(r"(?P<what>[^\n]*?) for (?P<op>\w+) \(node (?P<node>[^)]+)\) "
                            r"with input shapes: (?P<shapes>[\[\]?,\d ]*)")


def _tf_node(message):
    """(what, op, node, shapes text) of a TF graph-construction error, or None."""
    found = _TF_NODE.search(message) or _TF_NODE_SHORT.search(message)
    if not found:
        return None
    return (found["what"].strip(), found["op"], found["node"],
            found["shapes"].strip().rstrip("."))


def _tf_shapes(text):
    return [tuple(None if n.strip() == "?" else int(n) for n in s.split(",") if n.strip())
            for s in re.findall(r"\[([^\]]*)\]", text)]


def _explain_tf_node(message, inputs):
    """A TF op that refused its operands' shapes while the graph was built."""
    found = _tf_node(message)
    if not found or not found[1]:
        return None
    what, op, node, shapes = found
    shapes, sizes = _tf_shapes(shapes), _sizes(inputs)
    where = f"{_OPS.get(op, op)} at node {node}"
    if op in ("MatMul", "BatchMatMulV2") and len(shapes) >= 2 and all(len(s) == 2 for s in shapes[:2]):
        (_, k), (rows, cols) = shapes[:2]
        I, H = sizes.get("I"), sizes.get("H")
        if I and H and I != H and {k, rows} == {I, H}:
            first = "x" if k == I else "h"
            return (f"{where} multiplies {first} {_shape_text(shapes[0], sizes)} by a "
                    f"matrix {_shape_text(shapes[1], sizes)} with {rows} = "
                    f"{'H' if rows == H else 'I'} rows: x is multiplied by the recurrent "
                    f"weights (H, ...) and h by the input weights (I, ...); the input "
                    f"weights (the kernel's first I = {I} rows) go with x, the recurrent "
                    f"ones (its last H = {H} rows) with h")
        return (f"{where} cannot multiply {_shape_text(shapes[0], sizes)} by "
                f"{_shape_text(shapes[1], sizes)} ({k} columns against {rows} rows): "
                f"is the wrong weight used, or one transposed?")
    described = " and ".join(_shape_text(s, sizes) for s in shapes if s or op != "ConcatV2")
    if op == "ConcatV2":
        ranks = {len(s) for s in shapes[:-1]}
        return (f"{where} joins tensors of shapes {described}"
                + (": their ranks differ (is a step's input (B, T, I) or (I,) where "
                   "(B, I) belongs?)" if len(ranks) > 1 else
                   ": only the concat axis may differ (concat([x, h], axis=1) joins "
                   "(B, I) and (B, H) into (B, I + H))"))
    if op in ("AddV2", "Add", "Mul", "Sub", "BiasAdd"):
        hint = ""
        lasts = {s[-1] for s in shapes if s}
        if "H" in sizes and lasts == {sizes["H"], 4 * sizes["H"]}:
            hint = (": a (B, H) tensor meets a 4H-wide one (is a gate's slice combined "
                    "with the whole bias or pre-activation z?)")
        return f"{where} combines shapes {described}{hint or ': is one of them the wrong tensor?'}"
    return f"{where} refused shapes {described}: {what}"


def _dtype_name(name):
    return _TORCH_NAMES.get(name, name)


def _input_dtype(inputs):
    for name in ("x", "inputs", "x_t"):
        if hasattr(inputs.get(name), "dtype"):
            return str(inputs[name].dtype)
    return next((str(v.dtype) for v in inputs.values()
                 if isinstance(v, np.ndarray) and v.dtype.kind == "f"), None)


def _default_state(inputs):
    """The name of a state argument the case leaves out (None), if any."""
    return next((name for name in ("initial_state", "state", "h0", "states", "hx")
                 if name in inputs and inputs[name] is None), None)


def _explain_dtype(message, inputs):
    """Operands of two dtypes: name the one that is not the input's."""
    x_dtype = _input_dtype(inputs)
    found = _TF_DTYPE.search(message)
    if found:
        b, op, b_type, a_type, a = found.groups()
        dtypes = {a_type, b_type}
        other = next((t for t in dtypes if t != x_dtype), b_type)
        odd = a if other == a_type and other != b_type else b
        return (f"{_OPS.get(op, op)}'s operand '{odd}' is {other} while the other is "
                f"{(dtypes - {other}).pop() if len(dtypes) > 1 else other}"
                f"{f' (the input x is {x_dtype})' if x_dtype else ''}: "
                + _float32_made(other, x_dtype, "tf"))
    found = _TF_LIST_DTYPE.search(message)
    if found:
        types = [t.strip() for t in found[2].split(",")]
        other = next((t for t in types if t != x_dtype), types[-1])
        return (f"{_OPS.get(found[1], found[1])} joins tensors of dtypes "
                f"{', '.join(types)}: " + _float32_made(other, x_dtype, "tf"))
    found = _TORCH_DTYPE.search(message)
    if found:
        got = [_dtype_name(g) for g in found.groups() if g]
        other = next((t for t in got if t != x_dtype), "float32")
        state = _default_state(inputs)
        if state and other == "float32" and x_dtype and x_dtype != "float32":
            return (f"the initial state is float32 (torch.zeros(1, H) makes float32) while "
                    f"the input is {x_dtype}: {state} was not given, so the default state "
                    f"is used; make the default state with x's dtype "
                    f"(torch.zeros(B, H, dtype=x.dtype))")
        return (f"a matrix product mixes {' and '.join(got) or 'two dtypes'}"
                f"{f' (the input x is {x_dtype})' if x_dtype else ''}: "
                + _float32_made(other, x_dtype, "torch"))
    found = _NUMPY_CASTING.search(message)
    if found:
        ufunc, source, target = found.groups()
        return (f"an in-place {ufunc} (+=, *=, out=...) writes {source} values into an "
                f"array of dtype {target}: that array was made with another dtype "
                f"(np.zeros(..., dtype=int), or from integer data); make it with the "
                f"input's dtype (np.zeros(shape, dtype=x.dtype))")
    return None


def _float32_made(other, x_dtype, framework):
    if other == "float32" and x_dtype and x_dtype != "float32":
        made = ("tf.constant(1.0), tf.zeros, tf.ones, get_variable and placeholder(tf.float32) "
                "make float32 unless given a dtype" if framework == "tf" else
                "torch.zeros, torch.randn and nn.Parameter(torch.randn(...)) make float32 "
                "unless given a dtype")
        return f"a tensor made without a dtype is float32 ({made}); make it with x's dtype"
    return f"make every tensor and variable with the input's dtype ({x_dtype or 'x.dtype'})"


def _explain_batch_in_shape(message, inputs):
    """A variable or constant whose shape holds the batch size, unknown (None) in a graph."""
    found = _UNKNOWN_IN_SHAPE.search(message)
    if not found:
        return None
    shape = f" {found[1] or found[2]}" if found[1] or found[2] else ""
    return (f"a variable's shape{shape} uses the batch size, which is None (unknown) while "
            f"the graph is built: weights and biases must not depend on the batch; give the "
            f"bias shape (4H,) (or (H,) per gate) and let it broadcast over the batch rows "
            f"(a tensor that needs the batch size takes tf.shape(x)[0])")


def _explain_lost_batch_axis(message, inputs):
    """A step's input of rank 1 at batch size 1: tf.squeeze / np.squeeze dropped B."""
    found = _TF_RUN.search(message)
    what = found["what"] if found else message
    if re.search(r"ndims must be >= 2: 1|has different ndims: \[\d+\] vs|"
                 r"must be rank 2 but is rank 1|In\[0\] is not a matrix|"
                 r"Ranks of all input tensors should match: shape\[0\] = \[\d+\] vs|"
                 r"Expected concatenating dimensions in the range \[-1, 1\)", what):
        return ("a step's input has lost an axis (rank 1 where (B, I) belongs): tf.squeeze "
                "removes every axis of size 1, so at batch size 1 it drops the batch axis "
                "too (and at I = 1 the input axis); squeeze only the time axis "
                "(tf.squeeze(x_t, axis=1)) or index the step (inputs[:, t])")
    return None
