"""The grader installs the same way everywhere: as a wheel, and as Colab's first cell does.

- The wheel `pip wheel .` builds holds every package and file of autograde/, solutions/
  and tools/ (a hand list once left out autograde.sandbox, which the TF1 checks import).
- Installed into a fresh virtual environment, with no checkout on the path and the
  development install shadowed, it grades the answer key to full marks.
- A chapter's first cell, run in a kernel of an environment without autograde (the
  frameworks reachable, as on Colab), clones the course from a repository URL (here a
  bare repository in a temporary folder), installs it, and the chapter's check cells
  then pass with the answer key's solutions.

Both environments see this Python's site-packages for the frameworks: the wheel's
through `--system-site-packages`, Colab's through a .pth file, which adds the folder but
not the .pth files in it (so not the editable install of the course).
"""

import inspect
import json
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from platform_copies import copy, open_folder

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograde", "solutions", "tools")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "_build", ".ipynb_checkpoints")


@pytest.fixture
def folder():
    """A temporary folder other users may enter (the grader's sandbox runs submissions
    as another user, who must reach the grader installed here)."""
    return open_folder()


def clean_env(**extra):
    """The environment without this checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    return {**env, **extra}


def build_wheel(out):
    """Build the wheel from a copy of the checkout's sources (the build writes into the
    tree it builds); return its path."""
    source = out / "source"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=SKIP)
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                    "--no-build-isolation", "--no-index", "-q", "-w", str(out / "dist")],
                   check=True, env=clean_env(), cwd=out, capture_output=True, timeout=600)
    [wheel] = (out / "dist").glob("*.whl")
    return wheel


@pytest.mark.slow
def test_the_wheel_holds_every_package_and_grades_the_answer_key(folder):
    wheel = build_wheel(folder)
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(ROOT).as_posix() for name in PACKAGES
               for p in (ROOT / name).rglob("*") if p.is_file()
               and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert sources - names == set()
    assert "autograde/sandbox/guards.py" in names and "autograde/platforms/gradescope.py" in names

    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=600)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel],
                   check=True, env=clean_env(), cwd=folder, timeout=600)
    where = subprocess.run([python, "-c", "import autograde; print(autograde.__file__)"],
                           env=clean_env(), cwd=folder, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout

    key = folder / "key"
    shutil.copytree(copy("solved"), key)
    done = subprocess.run([python, "-m", "autograde", "grade", key / "book", "--format", "json"],
                          env=clean_env(), cwd=folder, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["percent"] == 100.0, [(e["id"], e["feedback"]) for e in report["exercises"]
                                        if e["verdict"] != "passed"]


CHAPTER = "01_rnn_cell.ipynb"
# The URL in the first cell's `git clone` line (the options before it skipped).
CLONE_URL = re.compile(r"(git clone(?:\s+-\S+(?:\s+\d+)?)*\s+)(\S+)")


def learner_repository(folder):
    """(file:// URL of a bare git repository holding the learner's copy, that copy).
    The copy's chapters clone that URL: `release` writes it when it takes one."""
    from autograde import course

    bare = folder / "course.git"
    url = bare.as_uri()
    work = folder / "learner"
    if "clone_url" in inspect.signature(course.release).parameters:
        course.release(work, clone_url=url)
    else:  # a release that cannot take the URL yet: set it as the README tells the learner
        shutil.copytree(copy("empty"), work)
        for path in (work / "book").glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code" and "git clone" in cell.source:
                    cell.source = CLONE_URL.sub(lambda m: m[1] + url, cell.source)
            nbformat.write(nb, path)
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.org"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "my copy"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return url, work


def colab_kernel(folder):
    """A Jupyter kernel in a fresh environment without autograde: a venv (with pip) that
    reaches this Python's site-packages through a .pth file. Returns its kernel name
    (JUPYTER_PATH must include folder/"jupyter") and its python."""
    venv = folder / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    python = venv / "bin" / "python"
    own = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    Path(own, "frameworks.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    spec = folder / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "colab", "language": "python"}))
    return "colab", python


@pytest.mark.slow
def test_a_chapters_first_cell_installs_the_course_as_on_colab(folder, monkeypatch):
    from nbclient import NotebookClient

    url, work = learner_repository(folder)
    first = next(c for c in nbformat.read(work / "book" / CHAPTER, as_version=4).cells
                 if c.cell_type == "code")
    assert url in first.source and "lstm-from-scratch" not in url
    # The chapter as Colab opens it: alone, with the answer key's solutions in it.
    nb = nbformat.read(copy("solved") / "book" / CHAPTER, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[index].source = first.source
    nb.cells.append(nbformat.v4.new_code_cell("import autograde\nprint(autograde.__file__)"))
    kernel, python = colab_kernel(folder)
    session = folder / "content"  # Colab's working folder
    session.mkdir()
    for name, value in clean_env(JUPYTER_PATH=str(folder / "jupyter"), PIP_NO_INDEX="1",
                                 PIP_NO_BUILD_ISOLATION="0", MPLBACKEND="Agg").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    no_autograde = subprocess.run([python, "-c", "import autograde"], cwd=session,
                                  capture_output=True)
    assert no_autograde.returncode != 0  # the fresh environment has no autograde
    NotebookClient(nb, kernel_name=kernel, timeout=600,
                   resources={"metadata": {"path": str(session)}}).execute()

    assert (session / "lstm-from-scratch" / "book" / CHAPTER).is_file()  # it cloned
    where = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
    assert Path(where).is_relative_to(folder / "colab"), where  # installed, not the checkout
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check(")]
    assert checks
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "passed all" in text, (cell.source, text)
