"""Framework LSTMs in from-scratch exercises: `framework_rnn_uses(source, context)`.

The grader refuses a from-scratch exercise whose cell names a framework RNN or LSTM.
`autograde.sandbox.guards.FRAMEWORK_RNN_NAMES` is the one list of them, which the
sandbox's guards also make refuse to run.
"""

import ast
from collections.abc import Iterable

from autograde.notebook import runnable
from autograde.sandbox.guards import FRAMEWORK_RNN_NAMES, FRAMEWORKS

# What a bare name usually means when the cell does not say how it was imported.
_USUAL_ALIASES = {"tf": "tensorflow", "nn": "torch.nn", "F": "torch.nn.functional",
                  "torch": "torch", "keras": "keras", "tensorflow": "tensorflow"}


def framework_rnn_uses(source: str, context: Iterable[str] = ()) -> list[str]:
    """The framework RNN/LSTM names `source` refers to: ["torch.nn.LSTM (line 4)", ...].

    context: the code of the cells before it, whose imports say what names such as
    `nn` or `tf` stand for. Only references that resolve to torch, tensorflow or keras
    count, so the learner's own `self.lstm` or `class LSTM` is not flagged.
    """
    aliases = dict(_USUAL_ALIASES)
    for code in [*context, source]:
        aliases.update(_import_aliases(code))
    try:
        tree = ast.parse(runnable(source))
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)):
            dotted = _dotted(node)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            resolved = aliases.get(head, head) + (f".{rest}" if rest else "")
            parts = resolved.split(".")
            if parts[0] in FRAMEWORKS and FRAMEWORK_RNN_NAMES & set(parts[1:]):
                found.append((node.lineno, resolved))
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if root in FRAMEWORKS and FRAMEWORK_RNN_NAMES & set(full.split(".")[1:]):
                    found.append((node.lineno, full))
    # An attribute chain is seen at every level (torch.nn.LSTM, then torch.nn): keep the
    # longest name on each line.
    best: dict[tuple[int, str], None] = {}
    for line, name in found:
        if not any(other.startswith(name + ".") for ln, other in found if ln == line):
            best.setdefault((line, name), None)
    return [f"{name} (line {line})" for line, name in sorted(best)]


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _import_aliases(code):
    """name -> module path for the imports in `code` (which may not parse: then none)."""
    try:
        tree = ast.parse(runnable(code))
    except (SyntaxError, ValueError):
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    out[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out
