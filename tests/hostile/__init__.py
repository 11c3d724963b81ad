"""A corpus of hostile and broken submissions for the grader's tests.

Each `<name>.py` here is the code of one exercise cell that defines `rnn_step` and
misbehaves (loops, forks, prints, exits, lies...). Its first line says what the
grader's feedback must say about it: `# expect: <regular expression>`. Placeholders
in capitals between double underscores (__PORT__, __SECRET__, __TARGETS__) are filled
in by the test. `notebook(...)` below builds the small notebooks the tests grade.
"""

import re
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

IMPORTS = "import numpy as np\nfrom autograde import check, use_working"

RNN_STEP = '''def rnn_step(x, h, Wx, Wh, b):
    return np.tanh(x @ Wx + h @ Wh + b)'''

RNN_FORWARD = '''def rnn_forward(x, h0, Wx, Wh, b):
    hs = np.empty(x.shape[:2] + h0.shape[1:], dtype=x.dtype)
    h = h0
    for t in range(x.shape[1]):
        h = hs[:, t] = np.tanh(x[:, t] @ Wx + h @ Wh + b)
    return hs'''

LSTM_STEP = '''def lstm_step(x, h, c, Wx, Wh, b):
    i, f, g, o = np.split(x @ Wx + h @ Wh + b, 4, axis=1)
    sig = lambda z: 1 / (1 + np.exp(-z))
    c_next = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c_next), c_next'''


def names():
    """The hostile cells in this folder."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem != "__init__")


def source(name, **fill):
    """The cell's code, with its placeholders filled in; and its `# expect:` pattern."""
    text = (HERE / f"{name}.py").read_text()
    for key, value in fill.items():
        text = text.replace(f"__{key.upper()}__", str(value))
    expect = re.match(r"# expect: (.*)\n", text)
    return text, expect.group(1) if expect else None


def notebook(path, *cells, tagged=True, version=4):
    """Write a notebook of code cells; each cell is a string, or (string, tagged)."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        code, tag = cell if isinstance(cell, tuple) else (cell, tagged)
        c = nbformat.v4.new_code_cell(code)
        if tag and code not in (IMPORTS,):
            c.metadata["tags"] = ["exercise"]
        nb.cells.append(c)
    nbformat.write(nb, str(path))
    return path
