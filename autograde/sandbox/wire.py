"""How values cross between the grader and a submission's sandbox, with no code in them.

A value is written to a folder as `value.json` (its structure) and one `.npy` file per
array (saved and loaded with `allow_pickle=False`). The structure is JSON with markers
for what JSON lacks:

    ndarray           {"array": "a0"}       (a0.npy beside value.json)
    NumPy scalar      {"scalar": "a1"}      (a 0-d a1.npy; read back as a NumPy scalar)
    tuple             {"tuple": [...]}
    dict              {"dict": [[key, value], ...]}   (keys: str or int; order kept)
    list, str, int, float (NaN and inf too), bool, None: themselves
    anything else     {"object": "TypeName"} (outputs only: read back as an `Opaque`)

So `layers` (a list of dicts of arrays), `states=None` or a tuple of arrays all travel.
Reading never unpickles and never follows a symbolic link, and refuses files over a size
limit, so a folder written by a submission can be read safely by the grader.
"""

import io
import json
import os
import re
import stat
from collections.abc import Sequence
from typing import Any

import numpy as np

Folder = str | os.PathLike[str]

MAX_DEPTH = 32
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


class Opaque:
    """Stands for a value that is not data (a function, a tensor, ...): only its type name."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name if _NAME.fullmatch(str(type_name)) else "object"

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


class WireError(ValueError):
    """A value that cannot be written, or a folder that is not a readable value."""


def write(folder: Folder, value: object, inputs: bool = False) -> None:
    """Write `value` into `folder` (created). inputs=True: refuse values that are not data."""
    os.makedirs(folder, exist_ok=True)
    arrays: list[np.ndarray[Any, Any]] = []
    structure = _encode(value, arrays, inputs, 0)
    for i, array in enumerate(arrays):
        with open(os.path.join(folder, f"a{i}.npy"), "wb") as f:
            np.save(f, array, allow_pickle=False)
    with open(os.path.join(folder, "value.json"), "w") as f:
        json.dump(structure, f)


def _encode(value: object, arrays: list[np.ndarray[Any, Any]], inputs: bool,
            depth: int) -> object:
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)  # an ndarray subclass travels as its plain data
        if array.dtype.hasobject:
            if inputs:
                raise WireError("an object array cannot be sent")
            return {"object": "ndarray_of_dtype_object"}
        arrays.append(array)
        kind = "array" if isinstance(value, np.ndarray) else "scalar"
        return {kind: f"a{len(arrays) - 1}"}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = [_encode(v, arrays, inputs, depth + 1) for v in value]
        return items if isinstance(value, list) else {"tuple": items}
    if isinstance(value, dict) and type(value) is dict:
        if not all(type(k) in (str, int) for k in value):
            raise WireError("dict keys must be str or int")
        return {"dict": [[k, _encode(v, arrays, inputs, depth + 1)] for k, v in value.items()]}
    if inputs:
        raise WireError(f"a {type(value).__name__} cannot be sent to the sandbox")
    return {"object": type(value).__name__}


def read(root: Folder, parts: Sequence[str], max_bytes: int) -> Any:
    """The value written in the folder root/parts[0]/parts[1]/...

    No symbolic link is followed below `root` (a trusted folder), so a submission that
    owns the folder cannot point the grader elsewhere. Raises WireError if the value is
    missing, malformed, or its files hold more than `max_bytes` in all.
    """
    fd = _open_folder(root, parts)
    try:
        budget = [max_bytes]
        raw = _read_file(fd, "value.json", budget)
        try:
            structure = json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise WireError(f"value.json is not JSON: {e}") from None
        return _decode(structure, fd, budget, 0)
    finally:
        os.close(fd)


def exists(root: Folder, parts: Sequence[str], name: str) -> bool:
    """True if root/parts/.../name is there (a file or folder; links are not followed)."""
    try:
        fd = _open_folder(root, parts)
    except WireError:
        return False
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _open_folder(root: Folder, parts: Sequence[str]) -> int:
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise WireError(f"{root}: {e.strerror}") from None
    try:
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise WireError(f"bad path component {part!r}")
            try:
                new = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as e:
                raise WireError(f"{part}: {e.strerror}") from None
            os.close(fd)
            fd = new
    except BaseException:
        os.close(fd)
        raise
    return fd


def _decode(node: object, fd: int, budget: list[int], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, fd, budget, depth + 1) for v in node]
    if not isinstance(node, dict) or len(node) != 1:
        raise WireError("malformed value.json")
    (kind, body), = node.items()
    if kind in ("array", "scalar"):
        if not isinstance(body, str) or not re.fullmatch(r"a\d{1,6}", body):
            raise WireError("malformed array name")
        array = _load_npy(_read_file(fd, body + ".npy", budget), body)
        if kind == "array":
            return array
        if array.shape != ():
            raise WireError("a scalar must be 0-d")
        return array[()]
    if kind == "tuple" and isinstance(body, list):
        return tuple(_decode(v, fd, budget, depth + 1) for v in body)
    if kind == "dict" and isinstance(body, list):
        out: dict[str | int, Any] = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (str, int)):
                raise WireError("malformed dict")
            out[pair[0]] = _decode(pair[1], fd, budget, depth + 1)
        return out
    if kind == "object":
        return opaque(body)
    raise WireError(f"unknown marker {str(kind)[:20]!r}")


def _load_npy(data: bytes, name: str) -> np.ndarray[Any, Any]:
    """The array in the bytes of a .npy file, checked before anything is allocated: its
    header's shape and dtype must account for exactly the bytes that follow it."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = header(f, max_header_size=10000)
        if dtype.hasobject:
            raise ValueError("it holds Python objects")
        if np.prod(shape, dtype=object) * dtype.itemsize != len(data) - f.tell():
            raise ValueError("its header does not match its size")
        f.seek(0)
        array: np.ndarray[Any, Any] = np.load(f, allow_pickle=False)
        return array
    except (ValueError, OSError, EOFError, TypeError, MemoryError) as e:
        raise WireError(f"{name}.npy is not a NumPy array file: {e}") from None


def opaque(type_name: object) -> Opaque:
    """A stand-in for a value that is not data, whose type has the given name.

    `type(x).__name__` is the name, so messages such as "got list" read as they
    would for the real value.
    """
    name = type_name if isinstance(type_name, str) and _NAME.fullmatch(type_name) else "object"
    stand_in: type[Opaque] = type(name, (Opaque,), {})
    return stand_in(name)


def _read_file(fd: int, name: str, budget: list[int]) -> bytes:
    """Bytes of a regular file (no symbolic link, FIFO or device) in folder `fd`, within budget."""
    try:
        file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError as e:
        raise WireError(f"cannot open {name}: {e.strerror}") from None
    try:
        info = os.fstat(file_fd)
        if not stat.S_ISREG(info.st_mode):
            raise WireError(f"{name} is not a regular file")
        if info.st_size > budget[0]:
            raise WireError("the outputs are larger than the limit")
        budget[0] -= info.st_size
        with os.fdopen(file_fd, "rb", closefd=False) as f:
            data = f.read(info.st_size + 1)
        if len(data) > info.st_size:
            raise WireError(f"{name} grew while being read")
        return data
    finally:
        os.close(file_fd)
