"""The Gradescope autograder zip, run in a temporary folder laid out as Gradescope lays
out /autograder (source/ holds the unpacked zip, submission/ the upload, results/ what
run_autograder writes), the way `otter run` replicates the container without Docker.
setup.sh needs the network and root, so the frameworks come from this Python
(AUTOGRADE_PYTHON) instead of the virtual environment it would make."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from platform_copies import COPIES, copy, reference

from autograde import formats
from autograde.platforms import TORCH_INDEX, gradescope

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return gradescope.build(tmp_path_factory.mktemp("gradescope") / "autograder.zip")


def test_the_zip_has_what_gradescope_runs(archive):
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "requirements-grading.txt", "grader.zip"} <= names
        for script in ("setup.sh", "run_autograder"):
            assert z.getinfo(script).external_attr >> 16 & stat.S_IXUSR, script
            subprocess.run(["bash", "-n"], input=z.read(script), check=True)  # it parses
        setup = z.read("setup.sh").decode()
        assert z.read("requirements-grading.txt") == (ROOT / "requirements-grading.txt").read_bytes()
    assert f"--extra-index-url {TORCH_INDEX}" in setup
    assert "--no-deps tf-keras==" in setup
    with pytest.raises(ValueError, match="already exists"):
        gradescope.build(archive)


def layout(archive, root, upload):
    """`root` laid out as /autograder: the zip in source/, `upload` in submission/."""
    with zipfile.ZipFile(archive) as z:
        z.extractall(root / "source")
    shutil.copyfile(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    shutil.copytree(upload, root / "submission")
    (root / "results").mkdir()


def run_autograder(root):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADE_PYTHON=sys.executable)
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=900)


def test_a_swapped_grader_is_refused(archive, tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    layout(archive, tmp_path / "autograder", upload)
    with zipfile.ZipFile(tmp_path / "autograder" / "source" / "grader.zip", "a") as z:
        z.writestr("autograde/extra.py", "POINTS = 100\n")
    done = run_autograder(tmp_path / "autograder")
    assert done.returncode != 0
    assert not (tmp_path / "autograder" / "results" / "results.json").exists()


GRADER_ATTACK = '''

def grade(*args, **kwargs):
    raise SystemExit("the upload's grader ran")
'''


def upload_of(name, tmp_path, loose):
    """What a learner uploads: their copy (book/ and all, its autograde/ booby-trapped),
    or only the chapter notebooks, loose."""
    upload = tmp_path / "upload"
    if loose:
        upload.mkdir()
        for notebook in sorted((copy(name) / "book").glob("*.ipynb")):
            shutil.copyfile(notebook, upload / notebook.name)
        return upload
    shutil.copytree(copy(name), upload)
    if (upload / "autograde").is_dir():
        with open(upload / "autograde" / "grader.py", "a") as f:
            f.write(GRADER_ATTACK)
    return upload


@pytest.mark.slow
@pytest.mark.parametrize("name, loose", [(name, False) for name in COPIES] + [("partial", True)])
def test_gradescope_gives_our_scores(archive, tmp_path, name, loose):
    root = tmp_path / "autograder"
    layout(archive, root, upload_of(name, tmp_path, loose))
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, formats.GRADESCOPE_SCHEMA)
    expected = reference(name)
    assert abs(results["score"] - expected["score"]) < 1e-9
    assert [t["name"] for t in results["tests"]] == [e["id"] for e in expected["exercises"]]
    for t, e in zip(results["tests"], expected["exercises"], strict=True):
        assert (t["score"], t["max_score"]) == (e["points"], e["max_points"])
        assert t["visibility"] == "visible"
        assert t["output"].startswith(e["feedback"])
    if name == "partial":
        assert 0 < results["score"] < sum(t["max_score"] for t in results["tests"])
