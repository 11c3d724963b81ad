"""The grader's parts, one at a time: the safe encoding, reading cells, cleaning text."""

import io
import os

import numpy as np
import pytest

from autograde import notebook
from autograde.formats import clean, quote
from autograde.sandbox import wire

# ---------------------------------------------------------------------------------------
# autograde.sandbox.wire: what crosses into and out of the sandbox


def roundtrip(tmp_path, value, **kwargs):
    wire.write(tmp_path / "v", value, **kwargs)
    return wire.read(tmp_path, ["v"], 2**20)


def test_inputs_of_every_kind_cross_unchanged(tmp_path):
    layers = [{"Wx": np.ones((2, 8)), "Wh": np.zeros((2, 8), np.float32), "b": np.arange(8)}]
    value = {"x": np.arange(6.0).reshape(2, 3), "layers": layers, "states": None,
             "pair": (np.float32(1.5), 3, -2.5, float("inf")), "flag": True, "name": "rnn",
             "ints": np.array([1, 2], np.int64), 7: "seven"}
    got = roundtrip(tmp_path, value, inputs=True)
    assert list(got) == list(value)
    assert got["layers"][0]["Wh"].dtype == np.float32 and got["states"] is None
    assert type(got["pair"]) is tuple and type(got["pair"][0]) is np.float32
    assert got["pair"][3] == float("inf") and got[7] == "seven"
    np.testing.assert_array_equal(got["x"], value["x"])


def test_outputs_that_are_not_data_arrive_as_their_type_name_only(tmp_path):
    class Doctored(np.ndarray):
        def __eq__(self, other):
            return True

    got = roundtrip(tmp_path, {"a": np.zeros(3).view(Doctored), "f": print, "l": [1, 2],
                               "o": np.array([object()])})
    assert type(got["a"]) is np.ndarray  # the data, without the subclass's methods
    assert type(got["f"]).__name__ == "builtin_function_or_method"
    assert got["l"] == [1, 2]
    assert type(got["o"]).__name__ == "ndarray_of_dtype_object"


def test_inputs_must_be_data(tmp_path):
    with pytest.raises(wire.WireError, match="cannot be sent"):
        wire.write(tmp_path / "v", {"f": print}, inputs=True)
    with pytest.raises(wire.WireError, match="object array"):
        wire.write(tmp_path / "v", np.array([None]), inputs=True)


def test_reading_refuses_links_fifos_pickles_and_oversized_files(tmp_path):
    wire.write(tmp_path / "v", {"x": np.ones(1000)})
    with pytest.raises(wire.WireError, match="larger than the limit"):
        wire.read(tmp_path, ["v"], 1000)
    os.symlink(tmp_path / "v", tmp_path / "link")
    with pytest.raises(wire.WireError):
        wire.read(tmp_path, ["link"], 2**20)
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "value.json").write_text('{"array": "a0"}')
    np.save(tmp_path / "w" / "a0.npy", np.array([{"pickled": 1}], dtype=object),
            allow_pickle=True)
    with pytest.raises(wire.WireError, match="not a NumPy array file"):
        wire.read(tmp_path, ["w"], 2**20)
    header = io.BytesIO()  # claims a terabyte, holds 64 bytes: refused before allocating
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (2**40,)})
    (tmp_path / "w" / "a0.npy").write_bytes(header.getvalue() + bytes(64))
    with pytest.raises(wire.WireError, match="does not match its size"):
        wire.read(tmp_path, ["w"], 2**20)
    os.remove(tmp_path / "w" / "a0.npy")
    os.mkfifo(tmp_path / "w" / "a0.npy")
    with pytest.raises(wire.WireError, match="not a regular file"):
        wire.read(tmp_path, ["w"], 2**20)
    (tmp_path / "w" / "value.json").write_text('{"array": "../../etc/passwd"}')
    with pytest.raises(wire.WireError, match="malformed"):
        wire.read(tmp_path, ["w"], 2**20)
    with pytest.raises(wire.WireError, match="bad path"):
        wire.read(tmp_path, [".."], 2**20)


# ---------------------------------------------------------------------------------------
# autograde.notebook: cells, magics, context, framework LSTMs


def test_magics_and_shell_lines_become_pass_with_the_same_line_numbers():
    source = ('%matplotlib inline\nimport numpy as np\n!pip install x\nfiles = !ls\n'
              'np.sum?\ns = """\n%not a magic\n"""\ndef f():\n    %time g()\n    return 1')
    code = notebook.runnable(source)
    assert code.splitlines() == ["pass", "import numpy as np", "pass", "pass", "pass",
                                 's = """', "%not a magic", '"""', "def f():", "    pass",
                                 "    return 1"]
    assert notebook.runnable("%%bash\necho hi") == "\n"
    assert notebook.runnable("%%time\nx = 1") == "\nx = 1"


def cells(*sources):
    return [notebook._cell(i, s, False) for i, s in enumerate(sources)]


def test_the_context_of_an_exercise_is_what_it_needs():
    nb = cells("import numpy as np\nimport matplotlib.pyplot as plt",
               "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
               "x = np.ones(3)\nplt.plot(sigmoid(x))",  # a demonstration
               "scale = 2.0",
               "scale *= 3",  # changes a variable that is needed
               "weights = [1]\nweights.append(2)",
               "print(weights)",
               "def f(x, W):\n    return scale * sigmoid(x @ W) + len(weights)",
               "plt.show()")
    assert notebook.context(nb, {7}) == [0, 1, 3, 4, 5, 7]


def test_a_cell_that_does_not_parse_still_names_what_it_defines():
    [cell] = cells("def lstm_step(x, h:\n    return x")
    assert cell.syntax_error and cell.names == ["lstm_step"]


# ---------------------------------------------------------------------------------------


def test_clean_keeps_untrusted_text_on_one_printable_line():
    text = "ok\n::error::x\r\x1b[2Kscore: 100\u202e\u200b" + "y" * 500
    cleaned = clean(text)
    assert "\n" not in cleaned and "\r" not in cleaned and "\x1b" not in cleaned
    assert cleaned.startswith("ok\\n::error::x\\r\\x1b[2Kscore: 100\\u202e\\u200b")
    assert cleaned.endswith("…") and cleaned.count("y") == 300 - 30  # cut at 300 characters
    assert quote('say "hi"') == '"say "hi""'
