"""The install layout must not change a score.

The answer key scores full marks wherever the frameworks are installed: (a) in the
interpreter's own site-packages; (b) on PYTHONPATH, for a venv made with --without-pip
that sees no system site-packages; (c) in a user site (PYTHONUSERBASE), for an
interpreter whose own site-packages is empty; (d) in a layered environment, where a
`.pth` file in the interpreter's own site-packages points at them. Before the sandbox
trusted the grader's libraries by where they are rather than by sys.prefix, (b) and (c)
could not import numpy in the sandbox and (d) lost tf1_to_numpy ("got NoneType") and
numpy_to_tf1 ("tf.compat.v1.nn.rnn_cell.RNNCell is not allowed"): the checks' own calls
into the frameworks counted as the submission's.

Graded: the two exercises that showed it, and one torch exercise.
"""

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.early, pytest.mark.slow]  # grades in four fresh interpreters

ROOT = Path(__file__).resolve().parent.parent
ONLY = ["tf1_to_numpy", "numpy_to_tf1", "fused_lstm_cell"]
SITE_PACKAGES = [p for p in site.getsitepackages() if os.path.isdir(p)]
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
SETTINGS = ("PYTHONPATH", "PYTHONUSERBASE", "PYTHONHOME", "PYTHONNOUSERSITE", "VIRTUAL_ENV",
            "PYTHONSAFEPATH")


def environment(**settings):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(settings)
    return env


def imports_numpy(python, env):
    return subprocess.run([str(python), "-c", "import numpy"], env=env, cwd="/",
                          capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """The folder of the answer key's notebooks (`python -m autograde solve`)."""
    out = tmp_path_factory.mktemp("key") / "key"
    subprocess.run([sys.executable, "-m", "autograde", "solve", str(out)], cwd=ROOT,
                   env=environment(), check=True, capture_output=True)
    notebooks = sorted(out.rglob("*.ipynb"))
    assert notebooks, f"solve wrote no notebook into {out}"
    return Path(os.path.commonpath([p.parent for p in notebooks]))


@pytest.fixture(scope="module")
def layouts_folder():
    """A folder the sandbox user may read (pytest's own temporary folders are private)."""
    folder = Path(tempfile.mkdtemp(prefix="autograde-layouts-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def own_prefix(folder):
    """An interpreter (this one's binary) whose prefix is `folder`: the standard library
    linked in, an empty site-packages of its own. Skips if this Python cannot be moved."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    lib = folder / "lib" / VERSION
    (lib / "site-packages").mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name != "site-packages":
            (lib / entry.name).symlink_to(entry)
    for shared in Path(sysconfig.get_config_var("LIBDIR") or "/nonexistent").glob("libpython*"):
        (folder / "lib" / shared.name).symlink_to(shared)
    (folder / "bin").mkdir()
    python = folder / "bin" / VERSION
    shutil.copy2(os.path.realpath(sys.executable), python)
    if imports_numpy(python, environment()):
        pytest.skip("a copy of this interpreter still sees the installed libraries")
    return python


def grade(python, key, env):
    """The JSON report of the answer key graded by `python -m autograde` in `env`."""
    result = subprocess.run(
        [str(python), "-m", "autograde", "grade", str(key), "--only", ",".join(ONLY),
         "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def assert_full_marks(report):
    got = {e["id"]: e for e in report["exercises"]}
    assert sorted(got) == sorted(ONLY)
    for entry in got.values():
        assert entry["verdict"] == "passed", entry
    assert report["score"] == report["max_score"] > 0


def test_frameworks_in_the_interpreters_own_site_packages(key):
    assert_full_marks(grade(sys.executable, key, environment()))


def test_frameworks_on_pythonpath(key, layouts_folder):
    venv = layouts_folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   env=environment())
    python = venv / "bin" / "python"
    assert not imports_numpy(python, environment())  # the venv alone has no frameworks
    env = environment(PYTHONPATH=os.pathsep.join(SITE_PACKAGES))
    assert imports_numpy(python, env)
    assert_full_marks(grade(python, key, env))


def test_frameworks_in_a_user_site(key, layouts_folder):
    python = own_prefix(layouts_folder / "user")
    user_base = layouts_folder / "userbase"
    user_site = user_base / "lib" / VERSION / "site-packages"
    user_site.mkdir(parents=True)
    (user_site / "frameworks.pth").write_text("\n".join(SITE_PACKAGES) + "\n")
    env = environment(PYTHONUSERBASE=str(user_base))
    assert imports_numpy(python, env)
    assert_full_marks(grade(python, key, env))


def test_frameworks_outside_the_prefix_through_a_pth_file(key, layouts_folder):
    python = own_prefix(layouts_folder / "layered")
    own_site = layouts_folder / "layered" / "lib" / VERSION / "site-packages"
    (own_site / "frameworks.pth").write_text("\n".join(SITE_PACKAGES) + "\n")
    env = environment(PYTHONNOUSERSITE="1")
    assert imports_numpy(python, env)
    assert_full_marks(grade(python, key, env))
