"""The requirement files stay one set of pins, and Binder installs only what the chapters need.

- requirements.txt is the one place a version is chosen: every pin of
  requirements-grading.txt and binder/requirements.txt is requirements.txt's (or
  requirements-nodeps.txt's), and no file pins tf-keras where pip would pull its
  dependencies (the full `tensorflow` beside tensorflow-cpu);
- binder/ (repo2docker reads it before the root) takes torch from PyTorch's CPU-only
  index, leaves out the book's toolchain, and still has a distribution for every module
  the chapters' cells import (read from the notebooks, matched with the installed
  distributions' own file lists), with `autograde` installed by postBuild.
"""

import importlib.metadata
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TOOLCHAIN = {"jupyter-book", "playwright", "ruff", "pytest", "pytest-xdist", "nbval", "zizmor",
             "check-jsonschema", "jupytext", "sphinx-exercise", "jsonschema", "tensorflow"}


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    """{normalized name: version} of a requirements file's name==version lines."""
    got = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line!r} is not pinned"
            got[norm(name)] = version
    return got


def options(path):
    return [line.strip() for line in path.read_text().splitlines() if line.startswith("-")]


def test_every_pin_is_requirements_txts():
    course = pins(ROOT / "requirements.txt")
    no_deps = pins(ROOT / "requirements-nodeps.txt")
    assert not course.keys() & no_deps.keys()
    for name in ("requirements-grading.txt", "binder/requirements.txt"):
        for package, version in pins(ROOT / name).items():
            assert package in course, f"{name} pins {package}, which requirements.txt does not"
            assert course[package] == version, (name, package, version, course[package])


def test_tf_keras_is_installed_only_without_its_dependencies():
    """tf-keras requires the full `tensorflow` (its metadata says so, as installed here),
    so it is only in requirements-nodeps.txt, which every installer runs with --no-deps."""
    requires = importlib.metadata.requires("tf-keras") or []
    assert any(norm(re.split(r"[<>=!~ ;\[]", r)[0]) == "tensorflow" for r in requires), requires
    assert "tf-keras" in pins(ROOT / "requirements-nodeps.txt")
    for name in ("requirements.txt", "requirements-grading.txt", "binder/requirements.txt"):
        assert "tf-keras" not in pins(ROOT / name), name
    installers = {".ci/run": ROOT / ".ci" / "run", "binder/postBuild": BINDER / "postBuild",
                  "publish.yml": ROOT / ".github" / "workflows" / "publish.yml"}
    for name, path in installers.items():
        lines = [line for line in path.read_text().splitlines()
                 if "-r requirements-nodeps" in line and not line.lstrip().startswith("#")]
        assert lines and all("--no-deps" in line for line in lines), name


def test_binder_takes_cpu_torch_and_no_toolchain():
    assert f"--extra-index-url {CPU_INDEX}" in options(BINDER / "requirements.txt")
    binder = pins(BINDER / "requirements.txt")
    assert "torch" in binder and "tensorflow-cpu" in binder
    assert not binder.keys() & TOOLCHAIN, binder.keys() & TOOLCHAIN
    assert binder == pins(ROOT / "requirements-grading.txt")  # the chapters' cells = grading's
    post = (BINDER / "postBuild").read_text()
    assert post.startswith("#!/bin/bash") and (BINDER / "postBuild").stat().st_mode & 0o111
    assert "pip install --no-cache-dir --no-deps -e ." in post  # autograde, importable
    assert (BINDER / "runtime.txt").read_text().strip() == \
        f"python-{sys.version_info.major}.{sys.version_info.minor}"


def chapter_imports():
    """Top-level modules imported by the code cells of book/*.ipynb."""
    modules = set()
    for path in (ROOT / "book").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                modules |= {m.split(".")[0] for m in
                            re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.M)}
    return modules


def test_binder_has_a_distribution_for_every_module_the_chapters_import():
    by_module = importlib.metadata.packages_distributions()
    binder = pins(BINDER / "requirements.txt")
    ours = {"autograde", "tools", "solutions"}  # this repository, postBuild's `-e .`
    missing = []
    for module in sorted(chapter_imports() - ours - set(sys.stdlib_module_names)):
        dists = {norm(d) for d in by_module.get(module, [])}
        if not dists:
            pytest.fail(f"the chapters import {module}, which no installed distribution provides")
        needed = {norm(r.split("==")[0]) for d in binder for r in _closure(d)}
        if not dists & needed:
            missing.append((module, sorted(dists)))
    assert not missing, f"binder/requirements.txt provides none of {missing}"


def _closure(name, seen=None):
    """`name` and the distributions it requires, as installed here."""
    seen = set() if seen is None else seen
    if name in seen:
        return seen
    seen.add(name)
    try:
        requires = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return seen
    for r in requires:
        if "extra ==" in r:
            continue
        _closure(norm(re.split(r"[<>=!~ ;\[(]", r)[0]), seen)
    return seen
