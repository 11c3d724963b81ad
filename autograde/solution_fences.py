"""The book without its solutions: MyST solution directives taken out of the text.

- `strip_solution_cells(cells, inline)`: a notebook's cells without `{solution}`
  directives and without what lies between `{solution-start}` and `{solution-end}`.
- `strip_solutions(text, inline)`: the same for a Markdown page.
- `inline_include(path, options, base, hidden)`: what a `{literalinclude}` of a file in
  `solutions/` becomes in the learner's copy (the code itself, unless it is an answer).
"""

import ast
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograde.notebook import top_level_names

# inline(path, options) -> the code block a {literalinclude} of `path` becomes, or None.
Inline = Callable[[str, dict[str, str]], str | None]

_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}\s*(?P<arg>.*)$")


def strip_solution_cells(cells: list[Any], inline: Inline | None = None) -> list[Any]:
    """The cells without their solutions, for the learner's copy.

    Removes `{solution}` directives and everything from a `{solution-start}` to its
    `{solution-end}` (across cells too, code cells included). A `{literalinclude}` of a
    file in `solutions/` elsewhere (code the text shows, not an answer) becomes what
    `inline(path, options)` returns, the included code itself, or goes if that is None.
    A markdown cell left empty is dropped.
    """
    kept, inside = [], False
    for cell in cells:
        if cell.cell_type != "markdown":
            if not inside:
                kept.append(cell)
            continue
        text, inside = _strip(cell.source, inside, inline)
        if text.strip():
            cell.source = text
            kept.append(cell)
    return kept


def strip_solutions(text: str, inline: Inline | None = None) -> str:
    """Markdown text without its solutions (see `strip_solution_cells`)."""
    return _strip(text, False, inline)[0]


def _strip(text, inside, inline):
    """(text without solutions, whether a {solution-start} is still open at its end)."""
    lines, kept, i, changed = text.splitlines(), [], 0, inside
    while i < len(lines):
        m = _FENCE.match(lines[i])
        name = m["name"] if m else None
        if name in ("solution", "solution-start", "solution-end") or (
                name == "literalinclude" and "solutions/" in m["arg"]):
            end = _block_end(lines, i, m["fence"])
            if name == "literalinclude" and not inside and inline:
                options = dict(re.findall(r"^\s*:([\w-]+):\s*(.*?)\s*$",
                                          "\n".join(lines[i + 1:end]), re.M))
                kept += (inline(m["arg"].strip(), options) or "").splitlines()
            i, changed = end, True
            inside = name == "solution-start" or (inside and name != "solution-end")
            continue
        if not inside:
            kept.append(lines[i])
        i += 1
    if not changed:
        return text, inside
    return "\n".join(kept).strip("\n") + ("\n" if text.endswith("\n") else ""), inside


def inline_include(path: str, options: dict[str, str], base: Path, hidden: set[str]) -> str | None:
    """The code a `{literalinclude}` of `path` (relative to `base`) shows, as a code block.

    Only whole files and `:pyobject:` are reproduced; None for anything else, and for
    code that defines an exercise in `hidden` (the answer to it).
    """
    file = base / path
    if not file.is_file() or set(options) - {"pyobject", "language", "caption", "dedent"}:
        return None
    source = file.read_text()
    if "pyobject" not in options:
        code = None if set(top_level_names(source)) & hidden else source
    elif options["pyobject"].split(".")[0] not in hidden:
        code = _pyobject(source, options["pyobject"])
    else:
        code = None
    if code is None:
        return None
    fence = "````" if "```" in code else "```"
    return f"{fence}python\n{code.rstrip()}\n{fence}"


def _pyobject(source, dotted):
    """The source of the function or class `dotted` (e.g. "LSTM.forward"), or None."""
    lines, body, node = source.splitlines(), ast.parse(source).body, None
    for name in dotted.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                          ast.ClassDef)) and n.name == name), None)
        if node is None:
            return None
        body = node.body
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return textwrap.dedent("\n".join(lines[first - 1:node.end_lineno]))


def _block_end(lines, start, fence):
    """The index after the fence that closes the directive opened at lines[start]."""
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j + 1
    return len(lines)
